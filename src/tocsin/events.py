"""The two contracts every stage shares: the normalized authentication event and the alert.

Event field names follow OCSF Authentication (class 3002) where a counterpart exists; the
vendor's native value is kept next to the normalized one (``reason_code``, ``action``).
See ``docs/events.md`` for the per-source mapping tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

import pyarrow as pa

OUTCOMES: Final = ("success", "failure", "challenge", "blocked")
REASONS: Final = (
    "ok",
    "bad_password",
    "unknown_user",
    "locked",
    "disabled",
    "password_expired",
    "mfa_required",
    "mfa_denied",
    "mfa_timeout",
    "blocked_policy",
    "blocked_ip",
    "other",
)
# What kind of record an event is. Sign-in rules read `auth` and `mfa`; the mailbox kinds feed
# the mailbox-abuse rules; `vendor_alert` keeps the IdP's own warnings (Google's
# government-backed attack warning, for one) as evidence without counting them as attempts.
EVENT_TYPES: Final = (
    "auth",  # a sign-in attempt (first factor, token or session start)
    "mfa",  # a second-factor step
    "logoff",
    "policy",  # a sign-on policy evaluation
    "mailbox_access",
    "inbox_rule",
    "vendor_alert",
)
USER_TYPES: Final = ("member", "guest", "personal", "service")
SEVERITIES: Final = ("low", "medium", "high", "critical")

Severity = Literal["low", "medium", "high", "critical"]

# Longest value kept for free-text fields an attacker controls (user agents, display names).
# Longer values are cut and marked so a 10 MB user agent cannot bloat the lake or a report.
MAX_TEXT: Final = 1024

_TS = pa.timestamp("us", tz="UTC")

# Column order is the lake's column order. `day` and `source` are also the partition keys.
_FIELDS: list[pa.Field[Any]] = [
    pa.field("event_id", pa.string(), nullable=False),
    pa.field("time", _TS, nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("format", pa.string(), nullable=False),
    pa.field("event_type", pa.string(), nullable=False),
    pa.field("action", pa.string()),
    pa.field("tenant", pa.string()),
    pa.field("user", pa.string()),
    pa.field("user_id", pa.string()),
    pa.field("user_type", pa.string()),
    pa.field("user_name", pa.string()),
    pa.field("src_ip", pa.string()),
    pa.field("src_host", pa.string()),
    pa.field("src_asn", pa.int64()),
    pa.field("src_org", pa.string()),
    pa.field("src_country", pa.string()),
    pa.field("src_city", pa.string()),
    pa.field("src_lat", pa.float64()),
    pa.field("src_lon", pa.float64()),
    pa.field("ip_tags", pa.list_(pa.string())),
    pa.field("app", pa.string()),
    pa.field("app_id", pa.string()),
    pa.field("resource", pa.string()),
    pa.field("client_app", pa.string()),
    pa.field("user_agent", pa.string()),
    pa.field("device_id", pa.string()),
    pa.field("os", pa.string()),
    pa.field("browser", pa.string()),
    pa.field("outcome", pa.string(), nullable=False),
    pa.field("reason", pa.string(), nullable=False),
    pa.field("reason_code", pa.string()),
    pa.field("reason_detail", pa.string()),
    pa.field("credential_valid", pa.bool_()),
    pa.field("interactive", pa.bool_()),
    pa.field("mfa_used", pa.bool_()),
    pa.field("vendor_risk", pa.string()),
    pa.field("correlation_id", pa.string()),
    pa.field("vendor_id", pa.string()),
    pa.field("details", pa.string()),
    pa.field("origin_file", pa.string(), nullable=False),
    pa.field("origin_line", pa.int64()),
    pa.field("origin_record", pa.int64(), nullable=False),
    pa.field("day", pa.date32(), nullable=False),
]
EVENT_SCHEMA: Final = pa.schema(_FIELDS)

# DuckDB type of each event column, derived from the Arrow schema above (one source of truth).
_DUCK_TYPES: Final = {
    pa.string(): "VARCHAR",
    _TS: "TIMESTAMPTZ",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.list_(pa.string()): "VARCHAR[]",
    pa.date32(): "DATE",
}


def duckdb_type(column: str) -> str:
    """The DuckDB SQL type of an event column."""
    return _DUCK_TYPES[EVENT_SCHEMA.field(column).type]


EVENT_COLUMNS: Final = tuple(EVENT_SCHEMA.names)
# Filled by the reader from where each record was found, not by a format's mapping.
EVENTS_ADDED_BY_READER: Final = ("origin_file", "origin_line", "origin_record")


@dataclass(slots=True)
class Actor:
    """Who we believe is behind an alert, how sure we are, and why."""

    name: str
    confidence: float
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "confidence": self.confidence, "reasons": list(self.reasons)}


@dataclass(slots=True)
class Alert:
    """Contract 2: one alert, schema version 1. Serialized one per line in ``alerts.jsonl``."""

    id: str
    rule: str
    title: str
    severity: Severity
    confidence: float
    first_seen: str
    last_seen: str
    tenant: str | None
    users: list[str]
    compromised_users: list[str]
    src_ips: list[str]
    src_asns: list[int]
    countries: list[str]
    user_agents: list[str]
    techniques: list[str]
    evidence_count: int
    evidence: dict[str, Any]
    summary: str
    recommended_actions: list[str]
    actor: Actor | None = None
    campaign: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    schema_version: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "id": self.id,
            "rule": self.rule,
            "title": self.title,
            "severity": self.severity,
            "confidence": self.confidence,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "tenant": self.tenant,
            "users": self.users,
            "compromised_users": self.compromised_users,
            "src_ips": self.src_ips,
            "src_asns": self.src_asns,
            "countries": self.countries,
            "user_agents": self.user_agents,
            "techniques": self.techniques,
            "actor": self.actor.to_dict() if self.actor else None,
            "campaign": self.campaign,
            "evidence_count": self.evidence_count,
            "evidence": self.evidence,
            "metrics": self.metrics,
            "summary": self.summary,
            "recommended_actions": self.recommended_actions,
        }


def severity_rank(severity: str) -> int:
    """Order severities: low=0 … critical=3."""
    return SEVERITIES.index(severity)
