"""Campaigns in the state database (table ``campaigns``, migration 0004).

A re-scan recomputes every campaign from every alert, so saving replaces: campaigns are
inserted or updated by id, and a stored campaign whose alerts now all belong to other
campaigns (it was merged into one) is removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tocsin.attribution.campaigns import Campaign
from tocsin.store.state import Base, StateStore


class CampaignRow(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    severity: Mapped[str] = mapped_column(String(16))
    first_seen: Mapped[str] = mapped_column(String(32), index=True)
    last_seen: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(200), index=True, nullable=True)
    actor_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    alerts: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


_CHUNK = 500  # ids per IN (...) query: well under every database's parameter limit


def _rows(session: Session, ids: Sequence[str]) -> dict[str, CampaignRow]:
    rows: dict[str, CampaignRow] = {}
    for i in range(0, len(ids), _CHUNK):
        stmt = select(CampaignRow).where(CampaignRow.id.in_(ids[i : i + _CHUNK]))
        rows.update((row.id, row) for row in session.scalars(stmt))
    return rows


def save_campaigns(store: StateStore, campaigns: Sequence[Campaign]) -> tuple[int, int, int]:
    """Insert or update each campaign; drop the ones merged away. (new, updated, removed).

    Rows are read in a few IN queries and written in one flush: a scan with thousands of
    campaigns costs one round trip per 500, not one per campaign."""
    now = datetime.now(UTC)
    new = updated = 0
    current = {c.id: c for c in campaigns}
    alert_ids = {a for c in campaigns for a in c.alert_ids}
    with store.session() as session, session.no_autoflush:
        existing = _rows(session, sorted(current))
        for campaign in campaigns:
            data = campaign.to_dict()
            actor = data["actor"] or {}
            values = {
                "severity": campaign.severity,
                "first_seen": campaign.first_seen,
                "last_seen": campaign.last_seen,
                "actor": actor.get("name"),
                "actor_confidence": actor.get("confidence"),
                "alerts": len(campaign.alert_ids),
                "data": data,
            }
            row = existing.get(campaign.id)
            if row is None:
                session.add(CampaignRow(id=campaign.id, created_at=now, updated_at=now, **values))
                new += 1
            elif row.data != data:
                for key, value in values.items():
                    setattr(row, key, value)
                row.updated_at = now
                updated += 1
        others = sorted(set(session.scalars(select(CampaignRow.id))) - set(current))
        stale = [
            row.id
            for row in _rows(session, others).values()
            if set(row.data.get("alert_ids", [])) <= alert_ids
        ]
        for i in range(0, len(stale), _CHUNK):
            session.execute(delete(CampaignRow).where(CampaignRow.id.in_(stale[i : i + _CHUNK])))
    return new, updated, len(stale)


def get_campaign(store: StateStore, campaign_id: str) -> dict[str, Any] | None:
    """A stored campaign by id or unique prefix (None if none or several match)."""
    with store.session() as session:
        row = session.get(CampaignRow, campaign_id)
        if row is not None:
            return dict(row.data)
        stmt = select(CampaignRow).where(CampaignRow.id.startswith(campaign_id)).limit(2)
        rows = list(session.scalars(stmt))
        return dict(rows[0].data) if len(rows) == 1 else None


def list_campaigns(store: StateStore, limit: int = 100) -> list[dict[str, Any]]:
    with store.session() as session:
        stmt = select(CampaignRow).order_by(CampaignRow.first_seen).limit(limit)
        return [dict(r.data) for r in session.scalars(stmt)]
