"""Regenerate this rule's fixtures:  .venv/bin/python <this file>

Two small organisations (a campaign office and a consultancy) on 2020-09-08, Entra ID
diagnostic records. attack.ndjson: six hours of a STRONTIUM-style spray from rotating Tor exit
addresses (about 4 attempts per targeted account per hour, each from a different address),
against 20% of the accounts of both organisations plus a few invented names; one account
enters the right password and reaches MFA (AADSTS50074). benign.ndjson: the same day without
the attack — ordinary sign-ins, typos fixed a minute later, a forced password change behind
the office NAT, and two people failing alone from a hotel and a café.
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
DAY = datetime(2020, 9, 8, tzinfo=UTC)
ORGS = {
    "harper2020.example": ("4d6f8a2b-1c3e-4a5f-9b7d-2e8c0f1a3b5c", 30,
                           Place("203.0.113.10", "US", "Philadelphia", "Pennsylvania", 39.95, -75.16, 7922)),
    "northbridge-consult.example": ("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", 15,
                                    Place("198.51.100.200", "US", "Boston", "Massachusetts", 42.36, -71.06, 701)),
}  # fmt: skip
ATTACK_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0"


def users(domain: str, count: int) -> list[str]:
    return [f"staff{n:02d}@{domain}" for n in range(count)]


def background(rng: random.Random, records: list[dict[str, Any]], seed: list[int]) -> None:
    def add(**kw: Any) -> None:
        seed[0] += 1
        records.append(signin_record(seed=seed[0], **kw))

    for domain, (tenant, count, office) in ORGS.items():
        for i, user in enumerate(users(domain, count)):
            home = Place(f"100.{64 + i}.{rng.randrange(256)}.{rng.randrange(1, 255)}", "US",
                         office.city, office.state, office.lat, office.lon, 7922)  # fmt: skip
            for _ in range(rng.randint(3, 6)):
                moment = DAY + timedelta(hours=rng.uniform(12, 22))
                place = office if rng.random() < 0.7 else home
                if rng.random() < 0.05:  # a typo, fixed
                    add(moment=moment, user=user, place=place, error_code=50126, tenant_id=tenant)
                    moment += timedelta(seconds=rng.randint(5, 60))
                add(moment=moment, user=user, place=place, tenant_id=tenant)
        # forced password change: most people fail once behind the NAT, then get in
        change = DAY + timedelta(hours=14)
        for i, user in enumerate(users(domain, count)[: int(count * 0.8)]):
            add(moment=change + timedelta(seconds=40 * i), user=user, place=office,
                error_code=50126, tenant_id=tenant)  # fmt: skip
            add(moment=change + timedelta(seconds=40 * i + 30), user=user, place=office,
                tenant_id=tenant)  # fmt: skip
    # two people failing alone, far from home, who never get in from there
    hotel = Place("81.2.69.160", "GB", "London", "England", 51.5, -0.12, 2856)
    cafe = Place("89.160.20.112", "SE", "Stockholm", "Stockholm", 59.33, 18.06, 29518)
    tenant = ORGS["harper2020.example"][0]
    for n, (user, place) in enumerate(((users("harper2020.example", 30)[3], hotel),
                                       (users("harper2020.example", 30)[4], cafe))):  # fmt: skip
        for k in range(2):
            add(moment=DAY + timedelta(hours=8 + n, minutes=3 * k), user=user, place=place,
                error_code=50126, tenant_id=tenant)  # fmt: skip


def attack(rng: random.Random, records: list[dict[str, Any]], seed: list[int]) -> None:
    pool = tor_exits_active(DAY.date(), DAY.date())
    rng.shuffle(pool)
    pool = [ip for ip in pool if ":" not in ip][:40]
    targets: list[tuple[str, str]] = []
    for domain, (tenant, count, _) in ORGS.items():
        staff = users(domain, count)
        targets += [(tenant, u) for u in rng.sample(staff, max(3, count // 5))]
        targets += [(tenant, f"{name}@{domain}") for name in ("admin", "info")]
    compromised = targets[1]
    start = DAY + timedelta(hours=1)
    for hour in range(6):
        for tenant, user in targets:
            for k in range(4):
                seed[0] += 1
                ip = pool[rng.randrange(len(pool))]
                moment = start + timedelta(hours=hour, minutes=15 * k + rng.uniform(0, 14))
                code = 50034 if user.split("@")[0] in ("admin", "info") else 50126
                if (tenant, user) == compromised and hour == 5 and k == 3:
                    code = 50074  # the right password: MFA asked, which proves it
                records.append(signin_record(
                    moment=moment, user=user, tenant_id=tenant, error_code=code, seed=seed[0],
                    place=Place(ip, "DE", "Frankfurt am Main", "Hesse", 50.11, 8.68, 60729),
                    user_agent=ATTACK_UA, browser="Firefox 68.0",
                ))  # fmt: skip


def write(name: str, records: list[dict[str, Any]]) -> None:
    records.sort(key=lambda r: (r["time"], r["properties"]["id"]))
    (HERE / name).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


def main() -> None:
    benign: list[dict[str, Any]] = []
    background(random.Random(1), benign, [10_000])
    write("benign.ndjson", benign)
    spray: list[dict[str, Any]] = []
    attack(random.Random(2), spray, [20_000])
    write("attack.ndjson", spray)


if __name__ == "__main__":
    main()
