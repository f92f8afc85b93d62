"""``tocsin serve`` responds to alerts as they reach the state database (from scans, or from
connectors): every alert new or changed since the last pass goes through the policy."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

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
        self.cursor: datetime | None = None

    def run_once(self) -> Outcome:
        stmt = select(AlertRow.updated_at, AlertRow.data).order_by(AlertRow.updated_at)
        if self.cursor is not None:
            stmt = stmt.where(AlertRow.updated_at > self.cursor)
        with self.store.state.session() as session:
            rows = list(session.execute(stmt.limit(5000)))
        if not rows:
            self.store.sweep_expired("serve")
            return Outcome()
        alerts = [alert_from_dict(dict(data)) for _, data in rows]
        self.cursor = rows[-1][0]
        proposals = propose(self.config, alerts, created_by="serve", data_dir=self.data_dir)
        outcome = self.store.apply(proposals) if proposals else Outcome()
        self.store.sweep_expired("serve")
        return outcome
