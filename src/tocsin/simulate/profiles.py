"""Simulation profiles (what happens) and sizes (to how many people).

Attack parameters follow Microsoft's public reporting on STRONTIUM (APT28), 10 September 2020:

* Microsoft Security blog, "STRONTIUM: Detecting new patterns in credential harvesting"
  (https://www.microsoft.com/en-us/security/blog/2020/09/10/strontium-detecting-new-patters-credential-harvesting/):
  password spray "low and slow" at about four attempts per targeted account per hour, nearly
  every attempt from a different address, for days to weeks; brute force at about 335
  attempts per account per hour against a few accounts; through a pool of about 1,100
  mostly-Tor addresses with about 20 rotated in and out each day; 6,912 accounts at 28
  organisations targeted between 18 August and 3 September 2020.
* Microsoft On the Issues, "New cyberattacks targeting U.S. elections" (Tom Burt), same day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final


@dataclass(frozen=True, slots=True)
class OrgSpec:
    domain: str
    name: str
    kind: str
    country: str
    city: str
    upn_style: str  # "first.last", "flast" or "firstl"


ORGS: Final = (
    OrgSpec("harper2020.example", "Harper for Senate 2020", "campaign", "US", "Philadelphia",
            "first.last"),
    OrgSpec("civicbridge.example", "Civic Bridge Strategies", "consultancy", "US", "Washington",
            "flast"),
    OrgSpec("progressalliance.example", "Progress Alliance", "party", "GB", "London",
            "first.last"),
    OrgSpec("northstar-institute.example", "Northstar Institute", "think tank", "US",
            "Arlington", "first.last"),
    OrgSpec("freiheit-stiftung.example", "Freiheit Stiftung", "foundation", "DE", "Berlin",
            "first.last"),
    OrgSpec("ledger-news.example", "The Ledger", "newsroom", "US", "New York", "firstl"),
    OrgSpec("openvote-uk.example", "OpenVote UK", "NGO", "GB", "Manchester", "first.last"),
    OrgSpec("keystone-dems.example", "Keystone State Democrats", "party", "US", "Pittsburgh",
            "flast"),
)  # fmt: skip

# size → (index into ORGS, accounts) for each organisation simulated.
SIZES: Final[dict[str, tuple[tuple[int, int], ...]]] = {
    "small": ((0, 25), (1, 40), (2, 60)),
    "medium": ((0, 150), (1, 300), (2, 600)),
    "large": ((0, 1500), (2, 3000)),
    "huge": ((0, 1000), (1, 1500), (2, 2000), (3, 2500), (4, 3000), (5, 3000), (6, 3500),
             (7, 3500)),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class SprayParams:
    """STRONTIUM's low-and-slow spray (one campaign across every organisation)."""

    target_share: float = 0.20  # of each organisation's accounts
    unknown_share: float = 0.25  # extra non-existent names, relative to the targets
    attempts_per_hour: float = 4.0  # per targeted account
    pool: int = 1100  # addresses in use at any time
    rotate_per_day: int = 20  # addresses swapped out (and in) each day
    tor_share: float = 0.9  # the rest are hosting addresses
    account_days: tuple[float, float] = (2.0, 6.0)  # how long one account is sprayed
    lockout_share: float = 0.03  # attempts answered with Smart Lockout (50053)


@dataclass(frozen=True, slots=True)
class BruteParams:
    """STRONTIUM's brute force: many passwords, fast, against a handful of accounts."""

    attempts_per_hour: float = 335.0
    addresses: int = 200
    hours: tuple[float, float] = (3.0, 8.0)
    lockout_threshold: int = 10  # Entra Smart Lockout defaults: 10 failures, 60 s lockout
    lockout_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class StuffingParams:
    share: float = 0.35  # of each organisation's accounts found in the breach list
    departed_share: float = 0.4  # extra names of people who left (no longer accounts)
    hours: tuple[float, float] = (2.0, 5.0)
    success_share: float = 0.05  # of existing accounts whose breached password still works


@dataclass(frozen=True, slots=True)
class MfaFatigueParams:
    victims: int = 3  # one per organisation; the last one never gives in
    prompts: tuple[int, int] = (10, 30)
    minutes: tuple[float, float] = (30.0, 90.0)


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    summary: str
    default_size: str = "small"
    spray: SprayParams | None = None
    brute: BruteParams | None = None
    stuffing: StuffingParams | None = None
    mfa_fatigue: MfaFatigueParams | None = None
    traps: tuple[str, ...] = field(
        default=("nat_password_change", "cgnat", "legacy_retry", "travel", "commercial_vpn")
    )


PROFILES: Final = {
    p.name: p
    for p in (
        Profile(
            "strontium-2020",
            "STRONTIUM's 2020 tooling in both modes: a low-and-slow spray across every "
            "organisation from a rotating pool of ~1,100 mostly-Tor addresses, and a brute "
            "force against a handful of accounts at one organisation; a few accounts fall.",
            spray=SprayParams(),
            brute=BruteParams(),
        ),
        Profile(
            "stuffing",
            "Credential stuffing: breached name/password pairs (current and departed staff) "
            "tried once or twice each from residential-proxy addresses within hours.",
            stuffing=StuffingParams(),
        ),
        Profile(
            "mfa-fatigue",
            "MFA fatigue: an intruder with the password sends 10-30 push prompts in the middle "
            "of the night until the person approves one.",
            mfa_fatigue=MfaFatigueParams(),
        ),
        Profile("benign", "No attack: ordinary work and the traps only (false positives)."),
        Profile(
            "scale",
            "About 5,000,000 events from ~20,000 people at 8 organisations over 14 days, with "
            "one STRONTIUM spray: for throughput and memory tests.",
            default_size="huge",
            spray=SprayParams(account_days=(1.0, 3.0)),
        ),
    )
}


def brute_hours(size: str) -> tuple[float, float]:
    """Brute force runs for hours against small organisations, up to days against large ones."""
    return (3.0, 8.0) if size in ("small", "medium") else (8.0, 36.0)
