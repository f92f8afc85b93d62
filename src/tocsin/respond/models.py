"""Decisions, their audit trail and the bouncers' API keys in the state database.

Migration ``0002_decisions`` creates these tables; keep the two in step (a test compares them).

A decision never loses its history: deleting one sets ``deleted_at`` and moves ``ends_at``
(when it stops applying) to the deletion time, and every change, refusal and export is a row in
``decision_audit`` written in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.store.state import Base


class DecisionRow(Base):
    """One decision: do ``action`` to ``scope``/``value`` until ``until``."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_target", "scope", "value"),
        Index("ix_decisions_ends_at", "ends_at"),
        Index("ix_decisions_changed_at", "changed_at"),
        Index("ix_decisions_key", "key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))  # ip, range, asn, country, user_agent, user
    value: Mapped[str] = mapped_column(String(1100))
    action: Mapped[str] = mapped_column(String(24))  # ban, captcha, mfa_stepup, …
    origin: Mapped[str] = mapped_column(String(16))  # alert, campaign, manual
    origin_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)  # alert/campaign id
    scenario: Mapped[str] = mapped_column(String(200))  # tocsin/<rule>, tocsin/manual
    reason: Mapped[str] = mapped_column(Text)
    simulated: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(200))
    tenant: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the planned expiry
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # until, or deleted_at
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deleted_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    expiry_noted: Mapped[bool] = mapped_column(Boolean, default=False)
    # What created it, so a re-scan extends it instead of adding a copy.
    key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    alert_last_seen: Mapped[str | None] = mapped_column(String(32), nullable=True)


class DecisionAuditRow(Base):
    """Who did what to which decision, when, and why. Refusals have no decision id."""

    __tablename__ = "decision_audit"
    __table_args__ = (Index("ix_decision_audit_decision", "decision_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[str] = mapped_column(String(24))
    decision_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str | None] = mapped_column(String(16), nullable=True)
    value: Mapped[str | None] = mapped_column(String(1100), nullable=True)
    action: Mapped[str | None] = mapped_column(String(24), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class BouncerRow(Base):
    """An enforcement point allowed to read decisions, known by the SHA-256 of its API key."""

    __tablename__ = "bouncers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_pull: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(16), default="bouncer")  # bouncer, admin
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
