"""Regenerate this rule's fixtures (from the repository root):  .venv/bin/python <this file>

Entra ID diagnostic records, 2020-09-07 to 2020-09-11, for a ten-person election-monitoring NGO
in Washington. Addresses are real: Tor exits that were active that week (tocsin's bundled exit
history), commercial VPN egress addresses from the bundled NordVPN and Private Internet Access
lists, a DigitalOcean (AS14061) server; enrichment tags them tor, vpn and hosting on ingest.

benign.ndjson — a week of office and home sign-ins, and the situations an anonymizer rule
must not shout about:
  * fatima, privacy-minded, signs in every evening through NordVPN with her registered
    (Entra-joined) laptop — from the first evening on;
  * gus uses Private Internet Access at home from his own Mac, whose Firefox only he uses here
    (a browser the account has signed in with from the office);
  * hana mistypes her password once through Tor, and never gets in that way (a failure is not
    a sign-in).
attack.ndjson — the account's password in someone else's hands:
  * ana (the director) signs in through Tor at night with Tor Browser and the session keeps
    refreshing through other exits (high);
  * ben's password is entered from a DigitalOcean server and stops at the MFA prompt
    (AADSTS50074: the password is right) (medium);
  * chloe signs in through a NordVPN server with a stock Chrome on a machine Entra does not
    know (low).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from tocsin.enrich.data import hosting_asns, tor_exits_active, vpn_servers
from tocsin.simulate.entra_records import Place, signin_record

HERE = Path(__file__).resolve().parent
START = datetime(2020, 9, 7, tzinfo=UTC)  # a Monday
TENANT = "2c7d9e1f-4b3a-4f6e-8d2c-7a9b1e3f5d08"
DOMAIN = "openballot.example"
OFFICE = Place("198.51.100.77", "US", "Washington", "District of Columbia", 38.9, -77.03, 7922)
NAMES = ["ana", "ben", "chloe", "dev", "eli", "fatima", "gus", "hana", "ivan", "jo"]
Agent = tuple[str, str, str]
CHROME: Agent = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/85.0.4183.83 Safari/537.36", "Chrome 85.0.4183", "Windows10")  # fmt: skip
SAFARI: Agent = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_6) AppleWebKit/605.1.15 (KHTML, "
                 "like Gecko) Version/13.1.2 Safari/605.1.15", "Safari 13.1.2", "MacOs")  # fmt: skip
FIREFOX_MAC: Agent = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:80.0) Gecko/20100101 "
                      "Firefox/80.0", "Firefox 80.0", "MacOs")  # fmt: skip
TOR_BROWSER: Agent = ("Mozilla/5.0 (Windows NT 10.0; rv:68.0) Gecko/20100101 Firefox/68.0",
                      "Firefox 68.0", "Windows10")  # fmt: skip
OUTLOOK_WEB = ("OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca")
EXCHANGE = ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000")


class Log:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.records: list[dict[str, Any]] = []

    def add(self, moment: datetime, name: str, place: Place, code: int = 0, *,
            agent: Agent = CHROME, device: str = "", interactive: bool = True) -> None:  # fmt: skip
        self.seed += 1
        app = OUTLOOK_WEB if interactive else EXCHANGE
        self.records.append(signin_record(
            moment=moment, user=f"{name}@{DOMAIN}", place=place, error_code=code,
            tenant_id=TENANT, seed=self.seed, user_agent=agent[0], browser=agent[1],
            operating_system=agent[2], device_id=device, interactive=interactive,
            app=app[0], app_id=app[1],
        ))  # fmt: skip


def device_of(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"laptop.{name}.{DOMAIN}"))


def kit(name: str) -> tuple[Agent, str]:
    """What each person signs in with: registered laptops for some, their own Macs for others."""
    if name == "gus":
        return FIREFOX_MAC, ""
    if name in ("ana", "dev", "fatima", "ivan"):
        return CHROME, device_of(name)
    return (SAFARI if name in ("eli", "jo") else CHROME), ""


def home(i: int) -> Place:
    return Place(f"96.255.{30 + i}.{17 + 5 * i}", "US", "Washington", "District of Columbia",
                 38.9, -77.03, 701)  # fmt: skip


def vpn(provider: str, k: int) -> Place:
    """A US egress address of a commercial VPN (2020 sign-in logs carry no ASN)."""
    servers = [v.ip for v in vpn_servers() if v.provider == provider and v.country == "US"]
    return Place(servers[k], "US", "New York", "New York", 40.71, -74.01)


def tor(day: datetime, k: int) -> Place:
    exits = [ip for ip in tor_exits_active(day.date(), day.date()) if ":" not in ip]
    return Place(exits[k], "DE", "Frankfurt am Main", "Hesse", 50.11, 8.68)


def benign() -> list[dict[str, Any]]:
    log = Log(110_000)
    rng = random.Random(5)
    nord = vpn("NordVPN", 3)
    pia = vpn("Private Internet Access", 2)
    for day in range(5):
        for i, name in enumerate(NAMES):
            agent, device = kit(name)
            for _ in range(rng.randint(2, 4)):
                moment = START + timedelta(days=day, hours=rng.uniform(13.0, 21.5))
                log.add(moment, name, OFFICE, agent=agent, device=device)
            evening = START + timedelta(days=day, hours=rng.uniform(23.0, 26.0))
            place = {"fatima": nord, "gus": pia}.get(name, home(i))
            log.add(evening, name, place, agent=agent, device=device)
            log.add(evening + timedelta(minutes=50), name, place, agent=agent, device=device,
                    interactive=False)  # fmt: skip
    log.add(START + timedelta(days=2, hours=23), "hana", tor(START + timedelta(days=2), 40), 50126,
            agent=TOR_BROWSER)  # fmt: skip
    return log.records


def attack() -> list[dict[str, Any]]:
    log = Log(120_000)
    night = START + timedelta(days=2, hours=7, minutes=40)  # 03:40 in Washington
    log.add(night, "ana", tor(night, 7), agent=TOR_BROWSER)
    for k in range(1, 5):  # the stolen session refreshes through other exits
        log.add(night + timedelta(minutes=35 * k), "ana", tor(night, 7 + 3 * k),
                agent=TOR_BROWSER, interactive=False)  # fmt: skip
    assert hosting_asns()[14061][0] == "DigitalOcean"
    droplet = Place("157.245.128.33", "US", "North Bergen", "New Jersey", 40.79, -74.02, 14061)
    log.add(START + timedelta(days=3, hours=8, minutes=5), "ben", droplet, 50074)
    nord = vpn("NordVPN", 11)
    log.add(START + timedelta(days=4, hours=5, minutes=20), "chloe", nord)
    return log.records


def write(name: str, records: list[dict[str, Any]]) -> None:
    records.sort(key=lambda r: (r["time"], r["properties"]["id"]))
    (HERE / name).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


if __name__ == "__main__":
    write("benign.ndjson", benign())
    write("attack.ndjson", attack())
