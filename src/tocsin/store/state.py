"""The state database: alerts (and, later, campaigns, decisions, the notification outbox).

One SQLAlchemy model for SQLite (the default, ``<data-dir>/state.db``) and PostgreSQL (a
shared deployment: ``--state-url postgresql+psycopg://…``); the schema is created and upgraded
by Alembic migrations shipped in ``tocsin/store/migrations``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import JSON, DateTime, Float, Integer, String, Text, create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from tocsin.events import Alert

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_FETCH_CHUNK = 500  # ids per IN (…) query; well under SQLite's and PostgreSQL's limits


class Base(DeclarativeBase):
    pass


class AlertRow(Base):
    """One alert. Re-scans update it in place: the id is stable, the evidence grows."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule: Mapped[str] = mapped_column(String(100), index=True)
    severity: Mapped[str] = mapped_column(String(16), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    title: Mapped[str] = mapped_column(Text)
    tenant: Mapped[str | None] = mapped_column(String(200), index=True, nullable=True)
    campaign: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    first_seen: Mapped[str] = mapped_column(String(32), index=True)
    last_seen: Mapped[str] = mapped_column(String(32))
    evidence_count: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'state.db'}"


class StateStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, future=True)

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            # "heads": each feature adds its tables as its own branch from 0001.
            command.upgrade(config, "heads")

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def upsert_alerts(self, alerts: Iterable[Alert]) -> tuple[int, int]:
        """Insert new alerts, update known ones; return (new, updated)."""
        now = datetime.now(UTC)
        new = updated = 0
        batch = list(alerts)
        with self.session() as session:
            # Known rows are fetched a few hundred ids per query, not one query per alert:
            # a large scan saves thousands of alerts.
            known: dict[str, AlertRow] = {}
            ids = [a.id for a in batch]
            for start in range(0, len(ids), _FETCH_CHUNK):
                stmt = select(AlertRow).where(AlertRow.id.in_(ids[start : start + _FETCH_CHUNK]))
                known.update((row.id, row) for row in session.scalars(stmt))
            for alert in batch:
                data = alert.to_dict()
                row = known.get(alert.id)
                if row is None:
                    known[alert.id] = _row(alert, data, now, now)
                    session.add(known[alert.id])
                    new += 1
                elif row.data != data:
                    fresh = _row(alert, data, row.created_at, now)
                    for column in ("severity", "confidence", "title", "tenant", "campaign",
                                   "first_seen", "last_seen", "evidence_count", "data",
                                   "updated_at"):  # fmt: skip
                        setattr(row, column, getattr(fresh, column))
                    updated += 1
        return new, updated

    def get_alert(self, alert_id: str) -> dict[str, Any] | None:
        with self.session() as session:
            row = session.get(AlertRow, alert_id)
            return None if row is None else dict(row.data)

    def find_alerts(self, prefix: str) -> list[str]:
        with self.session() as session:
            stmt = select(AlertRow.id).where(AlertRow.id.startswith(prefix)).limit(10)
            return list(session.scalars(stmt))

    def dispose(self) -> None:
        self.engine.dispose()


def _row(alert: Alert, data: dict[str, Any], created: datetime, updated: datetime) -> AlertRow:
    return AlertRow(
        id=alert.id,
        rule=alert.rule,
        severity=alert.severity,
        confidence=alert.confidence,
        title=alert.title,
        tenant=alert.tenant,
        campaign=alert.campaign,
        first_seen=alert.first_seen,
        last_seen=alert.last_seen,
        evidence_count=alert.evidence_count,
        data=data,
        created_at=created,
        updated_at=updated,
    )


# Each feature's tables join Base.metadata here (Alembic's env and the metadata tests see them).
from tocsin.respond import models as _decision_models  # noqa: E402, F401
