"""What happens besides ordinary work: campaigns and traps, as plans that emit events by day."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import NamedTuple

from tocsin.simulate.render import Client, Shape, Spot, Who
from tocsin.simulate.truth import CampaignKind, TrapKind
from tocsin.simulate.writer import Stream

DAY = 86400.0
HOUR = 3600.0
MINUTE = 60.0


class Spec(NamedTuple):
    """One planned sign-in attempt."""

    ts: float
    shape: Shape
    who: Who
    spot: Spot
    client: Client
    correlation: str | None = None


@dataclass(slots=True)
class DayOverride:
    """How one person's ordinary day changes (travel, a VPN, a day at the office)."""

    owner: int  # events from the override's places belong to this trap
    laptop: Spot | None = None  # where the laptop signs in from that day
    phone: Spot | None = None  # where the phone does (else its usual networks)
    tz: str | None = None  # local time zone of the place (travel)
    at_office: bool | None = None
    active: bool | None = None
    mfa: bool = False  # every interactive sign-in is challenged (a new place)


Overrides = dict[tuple[str, int], DayOverride]  # (user, local day index) → override


class Plan:
    """A campaign or a trap: emits its events for one organisation and one UTC day."""

    def __init__(self, owner: int, tag: str, start_ts: float, days: int) -> None:
        self.owner = owner
        self.tag = tag  # seeds the ids drawn when the events are written
        self.start_ts = start_ts
        self.days = days
        self.events: dict[tuple[int, int], list[Spec]] = {}
        self.overrides: Overrides = {}

    def overrides_users(self) -> list[str]:
        return sorted({user for user, _ in self.overrides})

    def add(self, org: int, spec: Spec) -> None:
        day = int((spec.ts - self.start_ts) // DAY)
        if 0 <= day < self.days:
            self.events.setdefault((org, day), []).append(spec)

    def emit(self, org: int, day: int, stream: Stream) -> None:
        specs = self.events.get((org, day))
        if not specs:
            return
        rng = random.Random(f"{self.tag}:{org}:{day}")  # noqa: S311 - simulation
        for s in specs:
            stream.emit(s.ts, self.owner, s.shape, s.who, s.spot, s.client, rng, s.correlation)


class CampaignPlan(Plan):
    info: CampaignInfo


class TrapPlan(Plan):
    info: TrapInfo


@dataclass(slots=True)
class CampaignInfo:
    id: str
    kind: CampaignKind
    actor: str | None
    techniques: list[str]
    notes: str
    compromised: set[str] = field(default_factory=set)


@dataclass(slots=True)
class TrapInfo:
    kind: TrapKind
    tenant: str
    notes: str = ""
