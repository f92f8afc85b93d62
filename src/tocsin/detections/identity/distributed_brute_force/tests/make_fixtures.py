"""Regenerate this rule's fixtures:  .venv/bin/python <this file>

Entra ID diagnostic records, 2020-09-09. attack.ndjson: two accounts of a campaign office are
hammered from ~200 rotating Tor and hosting addresses at about 335 attempts an hour (the rate
Microsoft reported for STRONTIUM in 2020); the second one's password is found and the sign-in
reaches MFA. benign.ndjson: ordinary sign-ins, and a shared press mailbox whose old password
is stuck in a few devices retrying from the office and a carrier network all afternoon.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from tocsin.enrich.data import tor_exits_active
from tocsin.simulate.entra_records import Place, signin_record

HERE = Path(__file__).resolve().parent
DAY = datetime(2020, 9, 9, tzinfo=UTC)
TENANT = "4d6f8a2b-1c3e-4a5f-9b7d-2e8c0f1a3b5c"
DOMAIN = "harper2020.example"
OFFICE = Place("203.0.113.10", "US", "Philadelphia", "Pennsylvania", 39.95, -75.16, 7922)
CARRIER = Place("172.58.12.9", "US", "Philadelphia", "Pennsylvania", 39.95, -75.16, 21928)
UA = "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/72.0.3626.121 Safari/537.36"


def benign(rng: random.Random, seed: list[int]) -> list[dict[str, Any]]:
    out = []

    def add(**kw: Any) -> None:
        seed[0] += 1
        out.append(signin_record(seed=seed[0], tenant_id=TENANT, **kw))

    for n in range(20):
        user = f"staff{n:02d}@{DOMAIN}"
        for _ in range(4):
            add(moment=DAY + timedelta(hours=rng.uniform(12, 22)), user=user, place=OFFICE)
    # the press mailbox's old password, retried by a laptop and two phones every few minutes
    for i in range(60):
        place = OFFICE if i % 3 == 0 else CARRIER
        add(moment=DAY + timedelta(hours=13, minutes=4 * i), user=f"press@{DOMAIN}", place=place,
            error_code=50126, client_app="Exchange ActiveSync", user_agent="Outlook-iOS/2.0")  # fmt: skip
    return out


def attack(rng: random.Random, seed: list[int]) -> list[dict[str, Any]]:
    pool = [ip for ip in tor_exits_active(DAY.date(), DAY.date()) if ":" not in ip]
    rng.shuffle(pool)
    tor = pool[:150]
    hosting = [f"45.153.{160 + i // 200}.{i % 200 + 2}" for i in range(50)]
    out = []
    for n, (user, start, hours) in enumerate(
        ((f"comms.director@{DOMAIN}", DAY + timedelta(hours=2), 1.2),
         (f"cfo@{DOMAIN}", DAY + timedelta(hours=5), 1.0))
    ):  # fmt: skip
        count = int(335 * hours)
        for i in range(count):
            seed[0] += 1
            use_tor = rng.random() < 0.75
            ip = rng.choice(tor) if use_tor else rng.choice(hosting)
            place = Place(ip, "DE" if use_tor else "NL", "Frankfurt am Main" if use_tor else "Amsterdam",
                          "", 50.11, 8.68, 60729 if use_tor else 9009)  # fmt: skip
            code = 50053 if i % 40 == 39 else 50126
            if n == 1 and i == count - 1:
                code = 50074  # the right password: MFA asked
            out.append(signin_record(
                moment=start + timedelta(seconds=hours * 3600 * i / count), user=user,
                place=place, error_code=code, tenant_id=TENANT, seed=seed[0], user_agent=UA,
                browser="Chrome 72.0.3626", operating_system="Windows7",
            ))  # fmt: skip
    return out


def write(name: str, records: list[dict[str, Any]]) -> None:
    records.sort(key=lambda r: (r["time"], r["properties"]["id"]))
    (HERE / name).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


if __name__ == "__main__":
    write("benign.ndjson", benign(random.Random(1), [30_000]))
    write("attack.ndjson", attack(random.Random(2), [40_000]))
