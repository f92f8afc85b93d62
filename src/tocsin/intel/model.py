"""The indicator: one normalised value from one source, with its actor and validity."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

SOURCE_KINDS: Final = ("stix", "misp", "csv", "maltrail")
DEFAULT_CONFIDENCE: Final = 50
# Labels that keep an indicator in the store (and in lookups) but out of matching.
NO_MATCH_LABELS: Final = frozenset({"sinkhole"})

State = Literal["active", "expired", "not yet valid"]


def indicator_id(kind: str, value: str, source: str) -> str:
    """Stable id: the same value from the same source is one indicator, however often imported."""
    digest = hashlib.sha256(f"{kind}\x00{value}\x00{source}".encode()).hexdigest()
    return digest[:32]


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    type: str  # ipv4, ipv6, cidr, domain, url, email, asn, sha256, sha1, md5
    value: str  # normalised (see tocsin.intel.values)
    source: str  # feed name: the STIX identity, the MISP organisation, the file, or --source
    source_kind: str  # stix, misp, csv, maltrail
    actor: str | None  # canonical display name: Forest Blizzard (STRONTIUM, APT28, G0007)
    actor_key: str | None  # forest_blizzard
    actor_aliases: tuple[str, ...]
    confidence: int  # 0-100
    valid_from: datetime | None  # UTC; None: no start given
    valid_until: datetime | None  # UTC, exclusive; None: does not expire
    labels: tuple[str, ...]
    description: str | None
    reference: str | None
    origin: str | None  # file and place it was read from
    imported_at: datetime
    updated_at: datetime

    def state(self, at: datetime) -> State:
        if self.valid_from is not None and at < self.valid_from:
            return "not yet valid"
        if self.valid_until is not None and at >= self.valid_until:
            return "expired"
        return "active"

    def valid_at(self, at: datetime) -> bool:
        return self.state(at) == "active"

    @property
    def matches(self) -> bool:
        """False for indicators kept for reference only (a sinkhole is not the actor)."""
        return not NO_MATCH_LABELS.intersection(self.labels)

    @property
    def tag(self) -> str:
        """The ``ip_tags`` value a match adds: ``ioc:<actor key>``, or ``ioc``."""
        return f"ioc:{self.actor_key}" if self.actor_key else "ioc"

    def content(self) -> tuple[object, ...]:
        """What an import can change (re-importing the same content is not an update)."""
        return (
            self.type, self.value, self.source, self.source_kind, self.actor, self.actor_key,
            self.actor_aliases, self.confidence, self.valid_from, self.valid_until, self.labels,
            self.description, self.reference,
        )  # fmt: skip
