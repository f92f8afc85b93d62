"""Regenerate this rule's fixtures (from the repository root):  .venv/bin/python <this file>

Entra ID diagnostic records, 2020-09-01 to 2020-09-11, for a ten-person think-tank in
Washington: office hours, evenings at home, phones on a mobile carrier. Locations are those
Entra reports (city and coordinates of the address).

benign.ndjson — eleven days of ordinary sign-ins, and the situations a location rule must not
shout about:
  * lena flies to London for a conference (Tuesday evening to Wednesday morning, ~12 hours for
    5,900 km) and works there with her registered laptop: a new country, plausible travel;
    her registered phone roams home-routed, so Entra keeps placing it in Washington, minutes
    away from her laptop in London;
  * mo, at home in Washington, switches on NordVPN with an Amsterdam exit twenty minutes after
    signing in without it (proxies create false journeys);
  * omar's own phone (not registered) is on T-Mobile, whose addresses Entra places in Chicago
    although he is in Washington: laptop and phone alternate "between" the two cities every
    few minutes, as they have for days;
  * nia started on Thursday and signs in from Toronto on Friday (too little history to know
    what is new for her).
attack.ndjson — someone else using the accounts:
  * pia signs in at the office, then 45 minutes later her account signs in from Moscow on a
    Rostelecom address with another browser, then again from the office (impossible travel,
    medium);
  * quinn is on leave on Friday; that morning her account signs in from Istanbul with a stock
    Chrome on a machine Entra does not know (a country never seen in ten days, low).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from tocsin.enrich.data import tor_exits_active, vpn_servers
from tocsin.simulate.entra_records import Place, signin_record

HERE = Path(__file__).resolve().parent
START = datetime(2020, 9, 1, tzinfo=UTC)  # a Tuesday
DAYS = 11
TENANT = "5e8a1d3c-9f2b-4c7e-a6d1-3b8f0e2c4a97"
DOMAIN = "northbridge-institute.example"
OFFICE = Place("198.51.100.140", "US", "Washington", "District of Columbia", 38.9, -77.03, 174)
NAMES = ["jo", "kai", "lena", "mo", "omar", "pia", "quinn", "rosa", "sam", "tariq"]
Agent = tuple[str, str, str]
CHROME: Agent = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/85.0.4183.83 Safari/537.36", "Chrome 85.0.4183", "Windows10")  # fmt: skip
EDGE: Agent = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/85.0.4183.83 Safari/537.36 Edg/85.0.564.44", "Edge 85.0.564", "Windows10")  # fmt: skip
SAFARI: Agent = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_6) AppleWebKit/605.1.15 (KHTML, "
                 "like Gecko) Version/13.1.2 Safari/605.1.15", "Safari 13.1.2", "MacOs")  # fmt: skip
OUTLOOK_IOS: Agent = ("Outlook-iOS/709.2226530.prod.iphone (4.2035.0)", "Mobile Safari", "Ios")
YANDEX: Agent = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/84.0.4147.135 YaBrowser/20.8.3.115 Yowser/2.5 Safari/537.36",
                 "YaBrowser 20.8.3", "Windows10")  # fmt: skip
OFFICE_HOME = ("OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca")
OUTLOOK_MOBILE = ("Outlook Mobile", "27922004-5251-4030-b22d-91ecd9a37ea4")


class Log:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.records: list[dict[str, Any]] = []

    def add(self, moment: datetime, name: str, place: Place, *, agent: Agent = CHROME,
            device: str = "", app: tuple[str, str] = OFFICE_HOME) -> None:  # fmt: skip
        self.seed += 1
        self.records.append(signin_record(
            moment=moment, user=f"{name}@{DOMAIN}", place=place, tenant_id=TENANT,
            seed=self.seed, user_agent=agent[0], browser=agent[1], operating_system=agent[2],
            device_id=device, app=app[0], app_id=app[1],
            client_app="Browser" if app == OFFICE_HOME else "Mobile Apps and Desktop clients",
        ))  # fmt: skip


def device_of(thing: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{thing}.{DOMAIN}"))


def kit(name: str) -> tuple[Agent, str]:
    """Registered laptops for half the staff; the others use their own machines."""
    if name in ("kai", "lena", "rosa", "tariq", "omar"):
        return EDGE, device_of(f"laptop.{name}")
    return (SAFARI if name in ("jo", "sam") else CHROME), ""


def home(i: int) -> Place:
    return Place(f"71.163.{20 + i}.{30 + 3 * i}", "US", "Washington", "District of Columbia",
                 38.9, -77.03, 701)  # fmt: skip


def tmobile(rng: random.Random) -> Place:
    """T-Mobile's carrier-grade NAT: addresses rotate, Entra places them in Chicago."""
    return Place(f"172.58.{rng.randint(96, 127)}.{rng.randint(2, 254)}", "US", "Chicago",
                 "Illinois", 41.88, -87.63, 21928)  # fmt: skip


def verizon(rng: random.Random) -> Place:
    """Verizon Wireless, placed in Washington (also when the phone roams home-routed)."""
    return Place(f"174.226.{rng.randint(0, 255)}.{rng.randint(2, 254)}", "US", "Washington",
                 "District of Columbia", 38.9, -77.03, 6167)  # fmt: skip


def workday(log: Log, rng: random.Random, day: int, i: int, name: str,
            place: Place = OFFICE) -> None:  # fmt: skip
    agent, device = kit(name)
    for _ in range(rng.randint(2, 3)):
        log.add(START + timedelta(days=day, hours=rng.uniform(13.0, 21.0)), name, place,
                agent=agent, device=device)  # fmt: skip


def benign() -> list[dict[str, Any]]:
    log = Log(130_000)
    rng = random.Random(3)
    london = Place("81.2.69.142", "GB", "London", "England", 51.51, -0.13, 2856)
    amsterdam = next(v.ip for v in vpn_servers() if v.provider == "NordVPN" and v.country == "NL")
    nord = Place(amsterdam, "NL", "Amsterdam", "North Holland", 52.37, 4.89)
    for day in range(DAYS):
        weekend = (START + timedelta(days=day)).weekday() >= 5
        for i, name in enumerate(NAMES):
            if name == "quinn" and day == 10:
                continue  # on leave
            agent, device = kit(name)
            abroad = name == "lena" and 8 <= day <= 10
            if not weekend:
                workday(log, rng, day, i, name, london if abroad else OFFICE)
            if name == "omar" or (name == "lena" and day == 7):
                continue  # omar's evenings are on his phone; lena is at the airport
            evening = START + timedelta(days=day, hours=rng.uniform(23.0, 25.5))
            if abroad:
                evening -= timedelta(hours=4)  # her evening is earlier in UTC
            log.add(evening, name, london if abroad else home(i), agent=agent, device=device)
            if name == "mo" and day % 2 == 1:
                log.add(evening + timedelta(minutes=20), name, nord, agent=agent, device=device)
    # lena's flight: last sign-in in Washington Tuesday 21:05 UTC, London Wednesday 08:40 UTC
    agent, device = kit("lena")
    log.add(START + timedelta(days=7, hours=21, minutes=5), "lena", OFFICE, agent=agent,
            device=device)  # fmt: skip
    log.add(START + timedelta(days=8, hours=8, minutes=40), "lena", london, agent=agent,
            device=device)  # fmt: skip
    # lena's registered phone, every few hours all week; home-routed while she is in London
    phone = device_of("phone.lena")
    for day in range(DAYS):
        for hour in (15.5, 19.5, 24.5):
            moment = START + timedelta(days=day, hours=hour, minutes=rng.uniform(0, 20))
            log.add(moment, "lena", verizon(rng), agent=OUTLOOK_IOS, device=phone,
                    app=OUTLOOK_MOBILE)  # fmt: skip
    # omar's own (unregistered) phone: Chicago on paper. The first two days only in the
    # evening, then alongside his laptop all day long.
    for day in range(DAYS):
        times = [26.0] if day < 2 else [14.0, 16.0, 18.0, 20.0, 26.0]
        for hour in times:
            moment = START + timedelta(days=day, hours=hour, minutes=rng.uniform(0, 9))
            log.add(moment, "omar", tmobile(rng), agent=OUTLOOK_IOS, app=OUTLOOK_MOBILE)  # fmt: skip
    # nia: starts on Thursday in Washington, at a conference in Toronto on Friday
    log.add(START + timedelta(days=9, hours=14), "nia", OFFICE)
    log.add(START + timedelta(days=9, hours=23), "nia", home(12))
    toronto = Place("99.230.14.77", "CA", "Toronto", "Ontario", 43.65, -79.38, 812)
    log.add(START + timedelta(days=10, hours=15), "nia", toronto)
    return log.records


def attack() -> list[dict[str, Any]]:
    log = Log(140_000)
    thursday = START + timedelta(days=9)
    agent, device = kit("pia")
    log.add(thursday + timedelta(hours=14, minutes=5), "pia", OFFICE, agent=agent, device=device)
    moscow = Place("95.165.133.41", "RU", "Moscow", "Moscow", 55.75, 37.62, 12389)
    log.add(thursday + timedelta(hours=14, minutes=50), "pia", moscow, agent=YANDEX)
    log.add(thursday + timedelta(hours=15, minutes=2), "pia", moscow, agent=YANDEX)
    log.add(thursday + timedelta(hours=15, minutes=20), "pia", OFFICE, agent=agent, device=device)
    istanbul = Place("88.230.171.20", "TR", "Istanbul", "Istanbul", 41.01, 28.98, 9121)
    log.add(thursday + timedelta(days=1, hours=12, minutes=35), "quinn", istanbul, agent=CHROME)
    return log.records


def check_untagged(records: list[dict[str, Any]]) -> None:
    """The residential addresses used here must not be known Tor exits or VPN servers."""
    anonymous = {v.ip for v in vpn_servers()}
    anonymous |= set(tor_exits_active(START.date(), (START + timedelta(days=DAYS)).date()))
    nord = {r["properties"]["ipAddress"] for r in records} & anonymous
    assert len(nord) <= 1, nord  # only mo's NordVPN exit


def write(name: str, records: list[dict[str, Any]]) -> None:
    check_untagged(records)
    records.sort(key=lambda r: (r["time"], r["properties"]["id"]))
    (HERE / name).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


if __name__ == "__main__":
    write("benign.ndjson", benign())
    write("attack.ndjson", attack())
