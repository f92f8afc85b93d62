"""The notification outbox in the state database (migration ``0003_outbox``).

One row per message to one destination, keyed by an idempotency key derived from (person or
organisation, campaign, kind, destination): inserting the same key twice does nothing, so
re-scans and restarts never queue a message again. Every change of state is written to
``notify_audit`` in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.store.state import Base

PENDING, SENDING, SENT, DEAD, CANCELLED = "pending", "sending", "sent", "dead", "cancelled"
STATES = (PENDING, SENDING, SENT, DEAD, CANCELLED)


class OutboxRow(Base):
    """A message waiting to be sent, being sent, sent, or given up on (dead letter)."""

    __tablename__ = "notify_outbox"
    __table_args__ = (
        Index("ix_notify_outbox_due", "state", "next_attempt_at"),
        Index("ix_notify_outbox_destination_sent", "destination", "sent_at"),
        Index("ix_notify_outbox_domain_sent", "domain", "sent_at"),
        Index("ix_notify_outbox_subject", "person", "campaign", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))  # "email" or "webhook"
    destination: Mapped[str] = mapped_column(String(320))  # address, or the webhook's name
    domain: Mapped[str] = mapped_column(String(255))  # for the per-domain rate limit
    organisation: Mapped[str | None] = mapped_column(String(64), nullable=True)
    person: Mapped[str | None] = mapped_column(String(200), nullable=True)
    campaign: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    alert_ids: Mapped[list[str]] = mapped_column(JSON)
    # For digests: the people known compromised when it was queued (a digest is sent again
    # only when this set grows).
    compromised: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditRow(Base):
    """What happened to a notification, when: queued, claimed, sent, retry, deferred, dead…"""

    __tablename__ = "notify_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
