"""Regenerate this rule's fixtures:  .venv/bin/python <this file>

Entra ID diagnostic records, 2020-09-07 to 2020-09-11. Everyone has three days of ordinary
history (office and home). attack.ndjson: on 09-10 two accounts are attacked from Tor and
hosting addresses; one then proves its password from a Tor address (MFA prompt, AADSTS50074),
the other is used two hours later from a network, country and device it never used.
benign.ndjson: the history; accounts attacked that then sign in from the office or home; a
colleague travelling inside the country with her own laptop; a traveller abroad who was not
attacked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from tocsin.enrich.data import tor_exits_active
from tocsin.simulate.entra_records import Place, signin_record

HERE = Path(__file__).resolve().parent
START = datetime(2020, 9, 7, tzinfo=UTC)
TENANT = "4d6f8a2b-1c3e-4a5f-9b7d-2e8c0f1a3b5c"
OFFICE = Place("203.0.113.10", "US", "Philadelphia", "Pennsylvania", 39.95, -75.16, 7922)
LAPTOP = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_6) AppleWebKit/605.1.15 (KHTML, like "
          "Gecko) Version/14.0 Safari/605.1.15", "Safari 14.0", "MacOs")  # fmt: skip
ATTACKER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0",
            "Firefox 68.0", "Windows10")  # fmt: skip
NAMES = ["ana", "ben", "chloe", "dev", "eli", "fay"]
seed = [70_000]


def user(name: str) -> str:
    return f"{name}@harper2020.example"


def home(i: int) -> Place:
    return Place(f"100.80.{i}.{20 + i}", "US", "Philadelphia", "Pennsylvania", 39.95, -75.16, 7922)


def rec(moment: datetime, name: str, place: Place, code: int = 0,
        agent: tuple[str, str, str] = LAPTOP) -> dict[str, Any]:  # fmt: skip
    seed[0] += 1
    return signin_record(moment=moment, user=user(name), place=place, error_code=code,
                         tenant_id=TENANT, seed=seed[0], user_agent=agent[0], browser=agent[1],
                         operating_system=agent[2])  # fmt: skip


def history() -> list[dict[str, Any]]:
    out = []
    for day in range(3):
        for i, name in enumerate(NAMES):
            out.append(rec(START + timedelta(days=day, hours=13, minutes=i), name, OFFICE))
            out.append(rec(START + timedelta(days=day, hours=23, minutes=i), name, home(i)))
    return out


def attempts(name: str, ips: list[str], asn: int, at: datetime, count: int) -> list[dict[str, Any]]:
    return [rec(at + timedelta(minutes=25 * k), name, Place(ips[k % len(ips)], "DE", "Frankfurt am Main",
                "", 50.11, 8.68, asn), 50126, ATTACKER) for k in range(count)]  # fmt: skip


def main() -> None:
    day = START + timedelta(days=3)
    tor = [ip for ip in tor_exits_active(day.date(), day.date()) if ":" not in ip][:12]
    benign = history()
    # attacked, then the real person signs in from the office / home: not a compromise
    benign += attempts("chloe", tor[6:9], 60729, day + timedelta(hours=1), 4)
    benign.append(rec(day + timedelta(hours=13), "chloe", OFFICE))
    benign += attempts("dev", tor[9:12], 60729, day + timedelta(hours=2), 3)
    benign.append(rec(day + timedelta(hours=22), "dev", home(3)))
    # eli travels to Chicago with her laptop; fay goes abroad but nobody attacks her
    benign.append(rec(day + timedelta(hours=15), "eli",
                      Place("73.44.12.8", "US", "Chicago", "Illinois", 41.88, -87.63, 7922)))  # fmt: skip
    benign.append(rec(day + timedelta(hours=16), "fay",
                      Place("81.2.69.160", "GB", "London", "England", 51.5, -0.12, 2856)))  # fmt: skip
    attack = attempts("ana", tor[:3], 60729, day + timedelta(hours=1), 6)
    attack.append(rec(day + timedelta(hours=4), "ana", Place(tor[1], "DE", "Frankfurt am Main",
                      "", 50.11, 8.68, 60729), 50074, ATTACKER))  # fmt: skip
    hosting = ["45.153.160.2", "45.153.160.9", "45.153.161.40"]
    attack += attempts("ben", hosting, 9009, day + timedelta(hours=2), 5)
    attack.append(rec(day + timedelta(hours=6), "ben", Place("5.188.10.77", "RU", "Moscow", "",
                      55.75, 37.62, 49505), 0, ATTACKER))  # fmt: skip
    for name, records in (("benign.ndjson", benign), ("attack.ndjson", attack)):
        records.sort(key=lambda r: (r["time"], r["properties"]["id"]))
        (HERE / name).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


if __name__ == "__main__":
    main()
