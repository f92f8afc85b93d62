"""``tocsin serve`` responds to alerts as they reach the state database (from scans, or from
connectors): every alert new or changed since the last pass goes through the policy."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select

from tocsin.config import Config
from tocsin.events import Actor, Alert
from tocsin.respond.decision import Outcome
from tocsin.respond.policy import propose
from tocsin.respond.store import DecisionStore
from tocsin.store.state import AlertRow

_ALERT_FIELDS = {f.name for f in fields(Alert)}


def alert_from_dict(data: dict[str, Any]) -> Alert:
    """An Alert back from its contract-2 dictionary (as stored in the state database)."""
    values = {k: v for k, v in data.items() if k in _ALERT_FIELDS}
    actor = values.get("actor")
    values["actor"] = Actor(**actor) if isinstance(actor, dict) else None
    return Alert(**values)


class AlertWatcher:
    """Remembers how far it has read the alerts table; each pass handles what changed."""

    def __init__(self, store: DecisionStore, config: Config, data_dir: Path | None) -> None:
        self.store = store
        self.config = config
        self.data_dir = data_dir
        # (updated_at, id) of the last alert handled: a scan stores many alerts with the same
        # time, and a batch may end in the middle of them.
        self.cursor: tuple[datetime, str] | None = None

    def run_once(self, batch: int = 5000) -> Outcome:
        stmt = select(AlertRow.updated_at, AlertRow.id, AlertRow.data).order_by(
            AlertRow.updated_at, AlertRow.id
        )
        if self.cursor is not None:
            at, last_id = self.cursor
            stmt = stmt.where(
                or_(
                    AlertRow.updated_at > at, and_(AlertRow.updated_at == at, AlertRow.id > last_id)
                )
            )
        with self.store.state.session() as session:
            rows = list(session.execute(stmt.limit(batch)))
        if not rows:
            self.store.sweep_expired("serve")
            return Outcome()
        alerts = [alert_from_dict(dict(data)) for _, _, data in rows]
        self.cursor = (rows[-1][0], rows[-1][1])
        proposals = propose(self.config, alerts, created_by="serve", data_dir=self.data_dir)
        outcome = self.store.apply(proposals) if proposals else Outcome()
        self.store.sweep_expired("serve")
        return outcome
