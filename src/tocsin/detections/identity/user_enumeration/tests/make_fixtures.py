"""Regenerate this rule's fixtures (from the repository root):  .venv/bin/python <this file>

Entra ID diagnostic records, 2020-09-07 to 2020-09-11, for a 24-person Senate campaign whose
addresses are first names (ana@marlow2020.example). A name that does not exist fails with
AADSTS50034; a sign-in name whose domain is in no tenant fails with AADSTS50128.

benign.ndjson — a week of office and home sign-ins, and unknown names that are not an attack:
  * five people mistype their sign-in name on different days and places, then get in;
  * volunteer onboarding on Tuesday: eight volunteers sign in for the first time at the office
    within an hour, four of them with the domain misspelt;
  * the office scanner still tries the deleted scanner@ mailbox over SMTP every ten minutes,
    all day;
  * rosa mistypes her name at a hotel during the night the enumeration below happens, and
    signs in a minute later.
attack.ndjson — somebody learning which accounts exist:
  * Tuesday night, one Vultr server tries 40 first.last and flast style names in 50 minutes;
    none exists (medium, no account touched);
  * Thursday night, six residential-proxy addresses probe 30 names (eight real, which answer
    "wrong password"); two hours later the same addresses spray the eight real accounts with
    one password, and ivan's is right (the MFA prompt, AADSTS50076, proves it) (high);
  * Friday afternoon, a script on a computer inside the office (the office's own address)
    checks 15 names in half an hour (medium: an address the campaign uses).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from tocsin.enrich.data import tor_exits_active, vpn_servers
from tocsin.simulate.entra_records import Place, signin_record

HERE = Path(__file__).resolve().parent
START = datetime(2020, 9, 7, tzinfo=UTC)  # a Monday
TENANT = "7a2f5c9e-1d4b-4e8a-b3c6-9f0d2e7a1b54"
DOMAIN = "marlow2020.example"
OFFICE = Place("198.51.100.200", "US", "Columbus", "Ohio", 39.96, -83.0, 7018)
NAMES = ["ana", "ben", "chloe", "dev", "eli", "fay", "gus", "hana", "ivan", "jo", "kai", "lena",
         "mo", "nia", "omar", "pia", "quinn", "rosa", "sam", "tariq", "uma", "vic", "wes", "zoe"]  # fmt: skip
SURNAMES = ["marlow", "smith", "johnson", "williams", "brown", "jones", "garcia", "miller",
            "davis", "wilson", "anderson", "taylor", "thomas", "moore", "martin", "jackson",
            "white", "harris", "clark", "lewis"]  # fmt: skip
Agent = tuple[str, str, str]
CHROME: Agent = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/85.0.4183.83 Safari/537.36", "Chrome 85.0.4183", "Windows10")  # fmt: skip
TOOL: Agent = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
               "Gecko) Chrome/79.0.3945.130 Safari/537.36", "Chrome 79.0.3945", "Windows10")  # fmt: skip
SCANNER: Agent = ("", "", "")
SCRIPT: Agent = ("python-requests/2.24.0", "", "")


class Log:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.records: list[dict[str, Any]] = []

    def add(self, moment: datetime, login: str, place: Place, code: int = 0, *,
            agent: Agent = CHROME, client_app: str = "Browser") -> None:  # fmt: skip
        self.seed += 1
        self.records.append(signin_record(
            moment=moment, user=login if "@" in login else f"{login}@{DOMAIN}", place=place,
            error_code=code, tenant_id=TENANT, seed=self.seed, user_agent=agent[0],
            browser=agent[1], operating_system=agent[2], client_app=client_app,
            app="OfficeHome", app_id="4765445b-32c6-49b0-83e6-1d93765276ca",
        ))  # fmt: skip


def home(i: int) -> Place:
    return Place(f"76.181.{60 + i}.{9 + 4 * i}", "US", "Columbus", "Ohio", 39.96, -83.0, 10796)


def ordinary_week(log: Log, rng: random.Random) -> None:
    for day in range(5):
        for i, name in enumerate(NAMES):
            for _ in range(rng.randint(2, 3)):
                log.add(START + timedelta(days=day, hours=rng.uniform(12.5, 22.0)), name, OFFICE)
            log.add(START + timedelta(days=day, hours=rng.uniform(22.5, 26.0)), name, home(i))


def benign() -> list[dict[str, Any]]:
    log = Log(150_000)
    rng = random.Random(9)
    ordinary_week(log, rng)
    # mistyped sign-in names, each followed by the right one
    for day, hour, typo, name, place in (
        (0, 14.2, "chole", "chloe", OFFICE), (1, 23.4, "benn", "ben", home(1)),
        (2, 15.7, "tarik", "tariq", OFFICE), (3, 13.1, "omar.k", "omar", OFFICE),
        (4, 23.9, "quin", "quinn", home(16)),
    ):  # fmt: skip
        moment = START + timedelta(days=day, hours=hour)
        log.add(moment, typo, place, 50034)
        log.add(moment + timedelta(seconds=40), name, place)
    # volunteer onboarding: first sign-ins, four with the domain misspelt
    onboarding = START + timedelta(days=1, hours=14)
    for k, volunteer in enumerate(("amir", "bea", "carlos", "dana", "erin", "femi", "gia", "hal")):
        moment = onboarding + timedelta(minutes=7 * k)
        if k % 2 == 0:
            log.add(moment, f"{volunteer}@marlow2020.exmaple", OFFICE, 50128)
            moment += timedelta(seconds=55)
        log.add(moment, volunteer, OFFICE)
    # the office scanner, retrying a deleted mailbox over SMTP all day
    for k in range(60):
        log.add(START + timedelta(days=2, hours=12, minutes=10 * k), "scanner", OFFICE, 50034,
                agent=SCANNER, client_app="Authenticated SMTP")  # fmt: skip
    # rosa at a hotel in Chicago, during the Tuesday-night enumeration
    hotel = Place("67.186.41.201", "US", "Chicago", "Illinois", 41.88, -87.63, 7922)
    log.add(START + timedelta(days=1, hours=27, minutes=20), "rossa", hotel, 50034)
    log.add(START + timedelta(days=1, hours=27, minutes=21), "rosa", hotel)
    return log.records


def guesses(rng: random.Random, count: int) -> list[str]:
    firsts = ["james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda",
              "david", "susan", "karen", "mark", "paul", "laura", "steven", "emily"]  # fmt: skip
    out: set[str] = set()
    while len(out) < count:
        first, last = rng.choice(firsts), rng.choice(SURNAMES)
        out.add(rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[0]}")))
    return sorted(out)


def attack() -> list[dict[str, Any]]:
    log = Log(160_000)
    rng = random.Random(4)
    # Tuesday night: one Vultr server, 40 guessed names, none real
    vultr = Place("45.77.148.20", "US", "Piscataway", "New Jersey", 40.55, -74.46, 20473)
    night = START + timedelta(days=1, hours=27)
    for k, name in enumerate(guesses(rng, 40)):
        log.add(night + timedelta(seconds=75 * k), name, vultr, 50034, agent=TOOL)
    # Thursday night: six residential proxies probe 30 names, then spray the real ones
    proxies = [Place(ip, country, city, "", lat, lon, asn) for ip, country, city, lat, lon, asn in (
        ("24.14.87.133", "US", "Chicago", 41.88, -87.63, 7922),
        ("71.58.201.17", "US", "Pittsburgh", 40.44, -80.0, 7922),
        ("98.220.33.54", "US", "Detroit", 42.33, -83.05, 7922),
        ("47.184.12.240", "US", "Dallas", 32.78, -96.8, 5650),
        ("108.49.77.6", "US", "Boston", 42.36, -71.06, 701),
        ("174.53.190.88", "US", "Minneapolis", 44.98, -93.27, 7922),
    )]  # fmt: skip
    real = ["ana", "dev", "fay", "ivan", "kai", "nia", "sam", "zoe"]
    names = guesses(rng, 22) + real
    rng.shuffle(names)
    night = START + timedelta(days=3, hours=5)
    for k, name in enumerate(names):
        code = 50126 if name in real else 50034
        log.add(night + timedelta(seconds=90 * k), name, proxies[k % 6], code, agent=TOOL)
    spray = night + timedelta(hours=2, minutes=45)
    for k, name in enumerate(real):
        code = 50076 if name == "ivan" else 50126
        log.add(spray + timedelta(minutes=4 * k), name, proxies[(k + 2) % 6], code, agent=TOOL)
    # Friday afternoon: a script on a computer in the office checks 15 names in half an hour
    friday = START + timedelta(days=4, hours=18)
    for k, name in enumerate(guesses(rng, 15)):
        log.add(friday + timedelta(minutes=2 * k), name, OFFICE, 50034, agent=SCRIPT)
    return log.records


def check_untagged(records: list[dict[str, Any]]) -> None:
    """The residential and office addresses here must not be known Tor exits or VPN servers."""
    anonymous = {v.ip for v in vpn_servers()}
    anonymous |= set(tor_exits_active(START.date(), (START + timedelta(days=5)).date()))
    assert not {r["properties"]["ipAddress"] for r in records} & anonymous


def write(name: str, records: list[dict[str, Any]]) -> None:
    check_untagged(records)
    records.sort(key=lambda r: (r["time"], r["properties"]["id"]))
    (HERE / name).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


if __name__ == "__main__":
    write("benign.ndjson", benign())
    write("attack.ndjson", attack())
