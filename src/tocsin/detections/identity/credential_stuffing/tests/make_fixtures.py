"""Regenerate this rule's fixtures:  .venv/bin/python <this file>

Entra ID diagnostic records, 2020-09-10, a 40-person campaign office. attack.ndjson: in one
hour, 30 of its accounts plus 12 names that do not exist there are each tried once or twice
from residential-proxy addresses in 25 networks with one stuffing tool's user agent; three
leaked passwords still work. benign.ndjson: ordinary sign-ins, typos fixed at once, and a few
people failing alone from new places during the day.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from tocsin.simulate.entra_records import Place, signin_record

HERE = Path(__file__).resolve().parent
DAY = datetime(2020, 9, 10, tzinfo=UTC)
TENANT = "4d6f8a2b-1c3e-4a5f-9b7d-2e8c0f1a3b5c"
DOMAIN = "harper2020.example"
OFFICE = Place("203.0.113.10", "US", "Philadelphia", "Pennsylvania", 39.95, -75.16, 7922)
TOOL_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/84.0.4147.105 Safari/537.36"
# residential broadband networks the proxies sit in (ASN, country, city)
NETWORKS = [(7922, "US", "Chicago"), (701, "US", "Dallas"), (209, "US", "Denver"),
            (20115, "US", "St. Louis"), (22773, "US", "Phoenix"), (5650, "US", "Tampa"),
            (3320, "DE", "Berlin"), (3215, "FR", "Lyon"), (2856, "GB", "Leeds"),
            (12322, "FR", "Paris"), (6830, "NL", "Utrecht"), (1136, "NL", "Amsterdam"),
            (5089, "GB", "London"), (3269, "IT", "Rome"), (3352, "ES", "Madrid"),
            (12389, "RU", "Moscow"), (8151, "MX", "Mexico City"), (28573, "BR", "Sao Paulo"),
            (4766, "KR", "Seoul"), (4134, "CN", "Shanghai"), (9829, "IN", "Delhi"),
            (45899, "VN", "Hanoi"), (17974, "ID", "Jakarta"), (8452, "EG", "Cairo"),
            (36947, "DZ", "Algiers")]  # fmt: skip


def users() -> list[str]:
    return [f"staff{n:02d}@{DOMAIN}" for n in range(40)]


def benign(rng: random.Random, seed: list[int]) -> list[dict[str, Any]]:
    out = []

    def add(**kw: Any) -> None:
        seed[0] += 1
        out.append(signin_record(seed=seed[0], tenant_id=TENANT, **kw))

    for i, user in enumerate(users()):
        home = Place(
            f"100.{70 + i}.3.{10 + i}", "US", "Philadelphia", "Pennsylvania", 39.95, -75.16, 7922
        )
        for _ in range(rng.randint(3, 6)):
            moment = DAY + timedelta(hours=rng.uniform(12, 22))
            place = OFFICE if rng.random() < 0.7 else home
            if rng.random() < 0.05:
                add(moment=moment, user=user, place=place, error_code=50126)
                moment += timedelta(seconds=30)
            add(moment=moment, user=user, place=place)
    # people failing alone from new places, spread over the day
    for k in range(6):
        asn, country, city = NETWORKS[k]
        add(moment=DAY + timedelta(hours=9 + 2 * k), user=users()[k], error_code=50126,
            place=Place(f"73.{20 + k}.{k}.9", country, city, "", 40.0, -80.0, asn))  # fmt: skip
    return out


def attack(rng: random.Random, seed: list[int]) -> list[dict[str, Any]]:
    out = []
    names = rng.sample(users(), 30) + [f"{n}@{DOMAIN}" for n in (
        "jsmith", "mary.k", "intern2019", "volunteer", "events", "finance.old", "r.jones",
        "press2016", "hr", "team", "office.manager", "fundraising")]  # fmt: skip
    landed = set(names[:3])
    start = DAY + timedelta(hours=3)
    for i, user in enumerate(names):
        tries = 2 if rng.random() < 0.3 else 1
        for k in range(tries):
            seed[0] += 1
            asn, country, city = NETWORKS[rng.randrange(len(NETWORKS))]
            ip = f"{rng.randint(24, 200)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(2, 254)}"
            real = user in users()
            code = 50034 if not real else (0 if user in landed and k == tries - 1 else 50126)
            out.append(signin_record(
                moment=start + timedelta(seconds=80 * i + 20 * k), user=user, error_code=code,
                place=Place(ip, country, city, "", 0.0, 0.0, asn), tenant_id=TENANT,
                seed=seed[0], user_agent=TOOL_UA, browser="Chrome 84.0.4147",
            ))  # fmt: skip
    return out


def write(name: str, records: list[dict[str, Any]]) -> None:
    records.sort(key=lambda r: (r["time"], r["properties"]["id"]))
    (HERE / name).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


if __name__ == "__main__":
    write("benign.ndjson", benign(random.Random(1), [50_000]))
    write("attack.ndjson", attack(random.Random(2), [60_000]))
