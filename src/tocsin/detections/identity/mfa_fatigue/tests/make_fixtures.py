"""Regenerate this rule's fixtures (from the repository root):  .venv/bin/python <this file>

Entra ID diagnostic records, 2020-09-07 to 2020-09-11, for a twelve-person newsroom in
Philadelphia. Every push-MFA attempt is logged the way Entra logs it: an interrupt asking for
the second factor (AADSTS50074, which already proves the password) and then the answer —
AADSTS500121 with "user declined", "did not respond" or "reported fraud" in its details, or
success with the second factor satisfied.

benign.ndjson — a week of ordinary sign-ins, and the situations that look like push bombing:
  * hana's phone is out of battery: two prompts time out, she charges it and approves the third;
  * ivan's new phone has no working Authenticator: six prompts time out over forty minutes, all
    from his usual home address, then he gives up and calls IT;
  * jo is in London with her registered laptop and her phone has no data: five prompts time
    out, then she signs in with a code;
  * kai denies a single prompt he did not expect.
attack.ndjson — push bombing at night (US time) by someone who has the password:
  * dev (the editor) gets twelve prompts in forty minutes from an M247 hosting address, declines
    or ignores eleven and approves the twelfth; the intruder then reads mail (critical);
  * eli gets eight prompts from a Tor exit, declines them and reports fraud on the last, then
    opens her mail from home herself — no prompt was approved (high).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from tocsin.enrich.data import tor_exits_active
from tocsin.simulate.entra_records import Place, signin_record

HERE = Path(__file__).resolve().parent
START = datetime(2020, 9, 7, tzinfo=UTC)  # a Monday
TENANT = "9b1e4c2d-7a3f-4e8b-a1c6-5d2f8e0b3a71"
DOMAIN = "riversidegazette.example"
OFFICE = Place("198.51.100.20", "US", "Philadelphia", "Pennsylvania", 39.95, -75.16, 7922)
NAMES = ["ana", "ben", "chloe", "dev", "eli", "fay", "gus", "hana", "ivan", "jo", "kai", "lena"]
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/85.0.4183.83 Safari/537.36", "Chrome 85.0.4183", "Windows10")  # fmt: skip
SAFARI = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_6) AppleWebKit/605.1.15 (KHTML, like "
          "Gecko) Version/13.1.2 Safari/605.1.15", "Safari 13.1.2", "MacOs")  # fmt: skip
# The intruder's browser: a stock Chrome like everyone's, on a machine Entra does not know.
INTRUDER = CHROME
DECLINED = "MFA denied; user declined the authentication"
NO_ANSWER = "MFA denied; user did not respond to mobile app notification"
FRAUD = "MFA denied; Phone App Reported Fraud"
PUSH = "Mobile app notification"
CODE = "OATH verification code"


class Log:
    """Collects records with reproducible ids."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.records: list[dict[str, Any]] = []

    def add(self, moment: datetime, name: str, place: Place, code: int = 0, *,
            agent: tuple[str, str, str] = CHROME, device: str = "", detail: str | None = None,
            mfa: str | None = None, interactive: bool = True) -> None:  # fmt: skip
        self.seed += 1
        record = signin_record(
            moment=moment, user=f"{name}@{DOMAIN}", place=place, error_code=code,
            tenant_id=TENANT, seed=self.seed, user_agent=agent[0], browser=agent[1],
            operating_system=agent[2], device_id=device, additional_details=detail,
            interactive=interactive, app="OfficeHome", app_id="4765445b-32c6-49b0-83e6-1d93765276ca",
        )  # fmt: skip
        if code == 500121 or mfa:
            _second_factor(record, mfa or PUSH, ok=code == 0, detail=detail)
        self.records.append(record)

    def push(self, moment: datetime, name: str, place: Place, answer: str | None, *,
             agent: tuple[str, str, str] = CHROME, device: str = "") -> None:  # fmt: skip
        """One push attempt: the MFA interrupt, then the answer (None = approved)."""
        self.add(moment, name, place, 50074, agent=agent, device=device)
        wait = timedelta(seconds=70 if answer == NO_ANSWER else 14)
        if answer is None:
            self.add(moment + wait, name, place, 0, agent=agent, device=device, mfa=PUSH)
        else:
            self.add(moment + wait, name, place, 500121, agent=agent, device=device, detail=answer)


def _second_factor(record: dict[str, Any], method: str, *, ok: bool, detail: str | None) -> None:
    props = record["properties"]
    props["authenticationRequirement"] = "multiFactorAuthentication"
    if ok:
        props["mfaDetail"] = {"authMethod": method, "authDetail": None}
    props["authenticationDetails"].append({
        "authenticationStepDateTime": props["createdDateTime"],
        "authenticationMethod": method,
        "authenticationMethodDetail": None,
        "succeeded": ok,
        "authenticationStepResultDetail": "MFA successfully completed" if ok else detail,
        "authenticationStepRequirement": "Multi-factor authentication",
    })  # fmt: skip


def home(i: int) -> Place:
    return Place(f"73.165.{40 + i}.{11 + 7 * i}", "US", "Philadelphia", "Pennsylvania",
                 39.95, -75.16, 7922)  # fmt: skip


def laptop(i: int) -> tuple[tuple[str, str, str], str]:
    """Half the newsroom has registered (Entra-joined) laptops; the rest use their own."""
    agent = SAFARI if i % 3 == 0 else CHROME
    registered = NAMES[i] in ("ana", "chloe", "eli", "gus", "jo", "lena")
    device = (
        str(uuid.uuid5(uuid.NAMESPACE_DNS, f"laptop.{NAMES[i]}.{DOMAIN}")) if registered else ""
    )
    return agent, device


def ordinary_week(log: Log, rng: random.Random) -> None:
    for day in range(5):
        for i, name in enumerate(NAMES):
            agent, device = laptop(i)
            for _ in range(rng.randint(2, 4)):
                moment = START + timedelta(days=day, hours=rng.uniform(12.5, 21.5))
                log.add(moment, name, OFFICE, agent=agent, device=device)
            moment = START + timedelta(days=day, hours=rng.uniform(22.0, 26.0))
            log.add(moment, name, home(i), agent=agent, device=device)  # the evening at home
            if rng.random() < 0.5:  # the daily MFA prompt, answered at once
                moment = START + timedelta(days=day, hours=rng.uniform(12.5, 14.0))
                log.push(moment, name, OFFICE, None, agent=agent, device=device)


def benign() -> list[dict[str, Any]]:
    log = Log(80_000)
    ordinary_week(log, random.Random(7))
    tuesday = START + timedelta(days=1)
    # hana: flat phone, two timeouts, approved after charging it
    agent, device = laptop(7)
    log.push(tuesday + timedelta(hours=13, minutes=5), "hana", OFFICE, NO_ANSWER, agent=agent)
    log.push(tuesday + timedelta(hours=13, minutes=8), "hana", OFFICE, NO_ANSWER, agent=agent)
    log.push(tuesday + timedelta(hours=13, minutes=31), "hana", OFFICE, None, agent=agent)
    # ivan: new phone without Authenticator, six timeouts from his usual home address
    agent, device = laptop(8)
    wednesday = START + timedelta(days=2, hours=23)
    for k in range(6):
        log.push(wednesday + timedelta(minutes=7 * k), "ivan", home(8), NO_ANSWER, agent=agent,
                 device=device)  # fmt: skip
    # jo: in London with her registered laptop; the phone has no data abroad
    agent, device = laptop(9)
    hotel = Place("81.2.69.160", "GB", "London", "England", 51.51, -0.13, 2856)
    thursday = START + timedelta(days=3, hours=8)
    for k in range(5):
        log.push(thursday + timedelta(minutes=4 * k), "jo", hotel, NO_ANSWER, agent=agent,
                 device=device)  # fmt: skip
    log.add(thursday + timedelta(minutes=25), "jo", hotel, agent=agent, device=device, mfa=CODE)
    # kai: one unexpected prompt, declined
    agent, device = laptop(10)
    log.push(START + timedelta(days=4, hours=15), "kai", OFFICE, DECLINED, agent=agent,
             device=device)  # fmt: skip
    return log.records


def attack() -> list[dict[str, Any]]:
    log = Log(90_000)
    rng = random.Random(11)
    # dev: twelve prompts in forty minutes from a hosting address; the twelfth is approved
    m247 = Place("89.38.225.114", "RO", "Bucharest", "Bucharest", 44.43, 26.1, 9009)
    night = START + timedelta(days=3, hours=6, minutes=12)  # 02:12 in Philadelphia
    for k in range(12):
        answer = None if k == 11 else (DECLINED if rng.random() < 0.35 else NO_ANSWER)
        log.push(night + timedelta(minutes=k * 40 / 11), "dev", m247, answer)
    for k in range(4):  # the intruder keeps the session and reads mail
        log.add(night + timedelta(minutes=48 + 9 * k), "dev", m247, interactive=False)
    # eli: eight prompts from a Tor exit, all declined, fraud reported; then she checks her
    # mail from home
    day = START + timedelta(days=4)
    exits = [ip for ip in tor_exits_active(day.date(), day.date()) if ":" not in ip]
    tor = Place(exits[101], "DE", "Frankfurt am Main", "Hesse", 50.11, 8.68)
    night = day + timedelta(hours=7, minutes=3)
    for k in range(8):
        log.push(night + timedelta(minutes=4 * k), "eli", tor, FRAUD if k == 7 else DECLINED)
    agent, device = laptop(4)
    log.add(night + timedelta(minutes=45), "eli", home(4), agent=agent, device=device)
    return log.records


def write(name: str, records: list[dict[str, Any]]) -> None:
    records.sort(key=lambda r: (r["time"], r["properties"]["id"]))
    (HERE / name).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


if __name__ == "__main__":
    write("benign.ndjson", benign())
    write("attack.ndjson", attack())
