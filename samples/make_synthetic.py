"""Regenerate samples/logs/synthetic/ — tocsin's own synthetic sample (no third-party data).

    .venv/bin/python samples/make_synthetic.py

A week of Entra ID sign-ins (Azure Monitor diagnostic-settings records) for a 40-person
campaign office, with ordinary noise (working hours, typos, a phone with a stale password,
a forced password change behind the office NAT) and two attacks of the kind Microsoft
reported in September 2020: password guessing against one account from rotating Tor exit
addresses that ends with the password proven (MFA prompt reached), and a password spray from
one hosting address that lands on one account. Deterministic: the same file every run.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from tocsin.simulate.entra_records import Place, signin_record

OUT = Path(__file__).resolve().parent / "logs" / "synthetic" / "campaign-office-2020-09.ndjson"
TENANT = "4d6f8a2b-1c3e-4a5f-9b7d-2e8c0f1a3b5c"
DOMAIN = "harper2020.example"
FIRST = [
    "ana",
    "ben",
    "chloe",
    "dev",
    "eli",
    "fatima",
    "gus",
    "hana",
    "ivan",
    "jo",
    "kai",
    "lena",
    "mo",
    "nia",
    "omar",
    "pia",
    "quinn",
    "rosa",
    "sam",
    "tariq",
    "uma",
    "vic",
    "wes",
    "xena",
    "yan",
    "zoe",
    "adam",
    "beth",
    "carl",
    "dina",
    "emil",
    "faye",
    "gary",
    "hugo",
    "iris",
    "jake",
    "kira",
    "liam",
    "mia",
    "noah",
]
OFFICE = Place("203.0.113.10", "US", "Philadelphia", "Pennsylvania", 39.95, -75.16)
TOR = [
    Place(f"185.220.101.{n}", "DE", "Frankfurt am Main", "Hesse", 50.11, 8.68)
    for n in (7, 33, 47, 132)
]
SPRAY = Place("45.153.160.2", "NL", "Amsterdam", "North Holland", 52.37, 4.9, asn=60117)
TOR_UA = "Mozilla/5.0 (Windows NT 10.0; rv:102.0) Gecko/20100101 Firefox/102.0"
SCRIPT_UA = "python-requests/2.24.0"


def main() -> None:
    rng = random.Random(2020)
    users = [f"{name}@{DOMAIN}" for name in FIRST]
    homes = {u: Place(f"198.51.100.{i + 10}", "US", "Philadelphia", "Pennsylvania", 39.95, -75.16)
             for i, u in enumerate(users)}  # fmt: skip
    seed = 0
    records = []

    def add(moment: datetime, user: str, place: Place, code: int = 0, **kw: object) -> None:
        nonlocal seed
        seed += 1
        records.append(signin_record(moment=moment, user=user, place=place, error_code=code,
                                     tenant_id=TENANT, seed=seed, **kw))  # type: ignore[arg-type]  # fmt: skip

    start = datetime(2020, 9, 7, tzinfo=UTC)
    for day in range(7):
        for user in users:
            if day >= 5 and rng.random() < 0.6:
                continue  # weekends are quiet
            for _ in range(rng.randint(2, 6)):
                moment = start + timedelta(days=day, hours=rng.uniform(12.5, 22.5))
                place = OFFICE if rng.random() < 0.7 else homes[user]
                if rng.random() < 0.03:  # a typo, then the right password
                    add(moment, user, place, 50126)
                    moment += timedelta(seconds=rng.randint(5, 40))
                add(moment, user, place)
    # A phone with a stale password, retrying every 20 minutes for a working day.
    phone = Place("172.58.12.9", "US", "Philadelphia", "Pennsylvania", 39.95, -75.16)
    for i in range(24):
        add(start + timedelta(days=2, hours=12, minutes=20 * i), users[9], phone, 50126,
            client_app="Exchange ActiveSync", user_agent="Android-Mail/2020.08.02",
            browser="Mobile Safari", operating_system="Android")  # fmt: skip
    # Forced password change: most of the office fails once behind the NAT, then signs in.
    change = start + timedelta(days=1, hours=13)
    for i, user in enumerate(users[:30]):
        add(change + timedelta(minutes=i), user, OFFICE, 50126)
        add(change + timedelta(minutes=i, seconds=50), user, OFFICE)
    # Attack 1: password guessing from rotating Tor exits against the communications director;
    # the 15th guess is right and reaches the MFA prompt (AADSTS50074 proves the password).
    target = users[2]
    night = start + timedelta(days=3, hours=6)
    for i in range(14):
        add(night + timedelta(seconds=83 * i), target, TOR[i % 4], 50126, user_agent=TOR_UA,
            browser="Firefox 102.0")  # fmt: skip
    add(
        night + timedelta(minutes=22),
        target,
        TOR[0],
        50074,
        user_agent=TOR_UA,
        browser="Firefox 102.0",
    )
    # Attack 2: a spray from one hosting address, one try per account; one lands.
    spray = start + timedelta(days=4, hours=3)
    for i, user in enumerate(users[10:26]):
        add(spray + timedelta(minutes=3 * i), user, SPRAY, 50126, user_agent=SCRIPT_UA,
            browser="python-requests 2.24.0", operating_system="")  # fmt: skip
    add(spray + timedelta(minutes=55), users[12], SPRAY, 0, user_agent=SCRIPT_UA,
        browser="python-requests 2.24.0", operating_system="")  # fmt: skip
    records.sort(key=lambda r: r["time"])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    print(f"wrote {len(records)} records to {OUT}")


if __name__ == "__main__":
    main()
