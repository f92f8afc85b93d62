"""A decision as the rest of tocsin sees it (a plain value, not a database row)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tocsin.respond.models import DecisionRow


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything tocsin stores is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return utc(value).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Decision:
    id: int
    scope: str
    value: str
    action: str
    origin: str
    origin_ref: str | None
    scenario: str
    reason: str
    simulated: bool
    created_by: str
    tenant: str | None
    created_at: datetime
    changed_at: datetime
    until: datetime
    ends_at: datetime
    deleted_at: datetime | None = None
    deleted_by: str | None = None

    @classmethod
    def from_row(cls, row: DecisionRow) -> Decision:
        return cls(
            id=row.id,
            scope=row.scope,
            value=row.value,
            action=row.action,
            origin=row.origin,
            origin_ref=row.origin_ref,
            scenario=row.scenario,
            reason=row.reason,
            simulated=row.simulated,
            created_by=row.created_by,
            tenant=row.tenant,
            created_at=utc(row.created_at),
            changed_at=utc(row.changed_at),
            until=utc(row.until),
            ends_at=utc(row.ends_at),
            deleted_at=utc(row.deleted_at) if row.deleted_at else None,
            deleted_by=row.deleted_by,
        )

    def active(self, now: datetime) -> bool:
        return self.ends_at > now

    def status(self, now: datetime) -> str:
        if self.deleted_at is not None:
            return "deleted"
        return "active" if self.active(now) else "expired"

    def to_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "scope": self.scope,
            "value": self.value,
            "action": self.action,
            "origin": self.origin,
            "origin_ref": self.origin_ref,
            "scenario": self.scenario,
            "reason": self.reason,
            "simulated": self.simulated,
            "status": self.status(now),
            "created_by": self.created_by,
            "tenant": self.tenant,
            "created_at": iso(self.created_at),
            "until": iso(self.until),
            "ends_at": iso(self.ends_at),
            "deleted_at": iso(self.deleted_at),
            "deleted_by": self.deleted_by,
        }


@dataclass(slots=True)
class Proposal:
    """A decision someone or something wants; it may be refused, split or merged."""

    scope: str
    value: str
    action: str
    seconds: int
    origin: str  # alert, campaign, manual
    scenario: str
    reason: str
    simulated: bool
    created_by: str
    origin_ref: str | None = None
    tenant: str | None = None
    key: str | None = None  # same key = same cause: a re-scan extends instead of copying
    alert_last_seen: str | None = None
    refuse: str | None = None  # set by a check before the store: why it must not exist


@dataclass(frozen=True, slots=True)
class Refusal:
    scope: str
    value: str
    action: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {
            "scope": self.scope,
            "value": self.value,
            "action": self.action,
            "reason": self.reason,
        }


@dataclass(slots=True)
class Outcome:
    created: list[Decision] = field(default_factory=list)
    extended: list[Decision] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    split: int = 0  # proposals cut around an allowlisted network
    unchanged: int = 0

    def merge(self, other: Outcome) -> None:
        self.created += other.created
        self.extended += other.extended
        self.refused += other.refused
        self.split += other.split
        self.unchanged += other.unchanged

    def summary(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "extended": len(self.extended),
            "unchanged": self.unchanged,
            "split_around_allowlist": self.split,
            "refused": len(self.refused),
            "refusals": [r.to_dict() for r in self.refused[:20]],
        }
