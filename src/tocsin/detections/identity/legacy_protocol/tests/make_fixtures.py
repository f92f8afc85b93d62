"""Regenerate this rule's fixtures (from the repository root):  .venv/bin/python <this file>

Entra ID diagnostic records, 2020-09-07 to 2020-09-11, for a twelve-person state party office
that still allows basic authentication for mail (IMAP4, POP3, Authenticated SMTP, Exchange
ActiveSync): the protocols that take a password and nothing else.

benign.ndjson — a week of browser and Outlook sign-ins, and legacy clients that misbehave
without anybody attacking:
  * kai changes his password on Wednesday; his old iPhone keeps retrying the old one over
    Exchange ActiveSync from his home every few minutes for three days (Smart Lockout now and
    then);
  * a retired IMAP4 poller in the office keeps using the info@ mailbox's old password;
  * the office copier sends scans as scanner@ over Authenticated SMTP every hour, and it works;
  * lena's old Android phone, on a mobile-carrier address the office has never seen, retries
    her old password over ActiveSync for a day.
attack.ndjson — legacy protocols used to get past MFA:
  * Tuesday night, a Hetzner server tries IMAP4 against seven accounts, twice each, and never
    gets in (medium);
  * Thursday night, a Tor exit tries Authenticated SMTP and IMAP4 against four accounts: mo's
    password works and the mailbox is read over IMAP4; pia's is right too, but Conditional
    Access blocks legacy sign-ins for her (AADSTS53003) (high).
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
TENANT = "3f6b8d0a-2c5e-4a9f-b7d1-8e4c6a2f0b39"
DOMAIN = "greenfieldparty.example"
OFFICE = Place("198.51.100.30", "US", "Madison", "Wisconsin", 43.07, -89.4, 7018)
NAMES = ["ana", "ben", "chloe", "dev", "eli", "fay", "gus", "hana", "ivan", "kai", "lena", "mo",
         "pia"]  # fmt: skip
Client = tuple[str, str, str, str, str]  # client app, user agent, browser, OS, app
BROWSER: Client = ("Browser", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                   "(KHTML, like Gecko) Chrome/85.0.4183.83 Safari/537.36", "Chrome 85.0.4183",
                   "Windows10", "OfficeHome")  # fmt: skip
OUTLOOK: Client = ("Mobile Apps and Desktop clients", "Microsoft Office/16.0 (Windows NT 10.0; "
                   "Microsoft Outlook 16.0.13127; Pro)", "Rich Client 4.61.0.0", "Windows10",
                   "Microsoft Office")  # fmt: skip
OLD_IPHONE: Client = ("Exchange ActiveSync", "Apple-iPhone9C1/1602.92", "", "Ios",
                      "Office 365 Exchange Online")  # fmt: skip
OLD_ANDROID: Client = ("Exchange ActiveSync", "Android-Mail/7.9.26.246227193.release", "",
                       "Android", "Office 365 Exchange Online")  # fmt: skip
IMAP: Client = ("IMAP4", "", "", "", "Office 365 Exchange Online")
SMTP: Client = ("Authenticated SMTP", "", "", "", "Office 365 Exchange Online")
# Exchange Online names the basic-auth proxy flow itself in the user agent.
ROPC_IMAP: Client = ("IMAP4", "BAV2ROPC", "", "", "Office 365 Exchange Online")
ROPC_SMTP: Client = ("Authenticated SMTP", "BAV2ROPC", "", "", "Office 365 Exchange Online")
APP_IDS = {"OfficeHome": "4765445b-32c6-49b0-83e6-1d93765276ca",
           "Microsoft Office": "d3590ed6-52b3-4102-aeff-aad2292ab01c",
           "Office 365 Exchange Online": "00000002-0000-0ff1-ce00-000000000000"}  # fmt: skip


class Log:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.records: list[dict[str, Any]] = []

    def add(self, moment: datetime, name: str, place: Place, code: int = 0,
            client: Client = BROWSER) -> None:  # fmt: skip
        self.seed += 1
        client_app, agent, browser, system, app = client
        self.records.append(signin_record(
            moment=moment, user=f"{name}@{DOMAIN}", place=place, error_code=code,
            tenant_id=TENANT, seed=self.seed, user_agent=agent, browser=browser,
            operating_system=system, client_app=client_app, app=app, app_id=APP_IDS[app],
        ))  # fmt: skip


def home(i: int) -> Place:
    return Place(f"69.131.{40 + i}.{12 + 3 * i}", "US", "Madison", "Wisconsin", 43.07, -89.4, 5650)


def retry(log: Log, rng: random.Random, name: str, place: Place, client: Client,
          start: datetime, days: float) -> None:  # fmt: skip
    """A client with a stale password retrying every few minutes; Smart Lockout now and then."""
    moment, k = start, 0
    while moment < start + timedelta(days=days):
        k += 1
        log.add(moment, name, place, 50053 if k % 12 == 0 else 50126, client)
        moment += timedelta(minutes=rng.uniform(3, 12))


def benign() -> list[dict[str, Any]]:
    log = Log(170_000)
    rng = random.Random(12)
    for day in range(5):
        for i, name in enumerate(NAMES):
            for _ in range(rng.randint(2, 3)):
                moment = START + timedelta(days=day, hours=rng.uniform(13.0, 22.0))
                log.add(moment, name, OFFICE, client=rng.choice((BROWSER, OUTLOOK)))
            log.add(START + timedelta(days=day, hours=rng.uniform(23.0, 26.0)), name, home(i))
        # the copier's scan-to-email, every hour of the working day
        for hour in range(13, 23):
            log.add(START + timedelta(days=day, hours=hour, minutes=17), "scanner", OFFICE,
                    client=SMTP)  # fmt: skip
    # kai's old iPhone syncs fine at home until Wednesday's password change
    kai_home = home(NAMES.index("kai"))
    for day in range(2):
        for sync in (0.5, 2.0, 12.5, 23.5):
            moment = START + timedelta(days=day, hours=sync, minutes=rng.uniform(0, 40))
            log.add(moment, "kai", kai_home, client=OLD_IPHONE)
    retry(log, rng, "kai", kai_home, OLD_IPHONE, START + timedelta(days=2, hours=12.5), 2.9)
    # the retired IMAP poller in the office, with the shared mailbox's old password
    retry(log, rng, "info", OFFICE, IMAP, START + timedelta(days=1, hours=14), 3.5)
    # lena's old Android on a carrier address nobody here has used
    carrier = Place("172.56.21.140", "US", "Milwaukee", "Wisconsin", 43.04, -87.91, 21928)
    retry(log, rng, "lena", carrier, OLD_ANDROID, START + timedelta(days=3, hours=12), 1.0)
    return log.records


def attack() -> list[dict[str, Any]]:
    log = Log(180_000)
    # Tuesday night: IMAP4 password guessing from a Hetzner server
    hetzner = Place("95.216.66.201", "FI", "Helsinki", "Uusimaa", 60.17, 24.94, 24940)
    night = START + timedelta(days=1, hours=7)
    for k, name in enumerate(("ana", "ben", "dev", "eli", "gus", "hana", "ivan") * 2):
        log.add(night + timedelta(minutes=3 * k), name, hetzner, 50126, ROPC_IMAP)
    # Thursday night: a Tor exit; mo's password works over IMAP4, pia's is blocked by policy
    day = START + timedelta(days=3)
    exits = [ip for ip in tor_exits_active(day.date(), day.date()) if ":" not in ip]
    tor = Place(exits[230], "NL", "Amsterdam", "North Holland", 52.37, 4.89)
    night = day + timedelta(hours=6, minutes=30)
    for k, (name, code, client) in enumerate((
        ("chloe", 50126, ROPC_SMTP), ("fay", 50126, ROPC_SMTP), ("pia", 53003, ROPC_SMTP),
        ("mo", 50126, ROPC_SMTP), ("mo", 0, ROPC_IMAP),
    )):  # fmt: skip
        log.add(night + timedelta(minutes=6 * k), name, tor, code, client)
    for k in range(1, 6):  # the mailbox is synchronised
        log.add(night + timedelta(minutes=30 + 11 * k), "mo", tor, 0, ROPC_IMAP)
    return log.records


def check_untagged(records: list[dict[str, Any]]) -> None:
    """Only the Tor exit may be a known anonymizer here."""
    anonymous = {v.ip for v in vpn_servers()}
    anonymous |= set(tor_exits_active(START.date(), (START + timedelta(days=5)).date()))
    assert len({r["properties"]["ipAddress"] for r in records} & anonymous) <= 1


def write(name: str, records: list[dict[str, Any]]) -> None:
    check_untagged(records)
    records.sort(key=lambda r: (r["time"], r["properties"]["id"]))
    (HERE / name).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


if __name__ == "__main__":
    write("benign.ndjson", benign())
    write("attack.ndjson", attack())
