"""Decisions in the state database: create (checked, allowlist first), extend, delete, expire,
with an audit row for every change and every refusal, in the same transaction."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.config import Config
from tocsin.respond.decision import Decision, Outcome, Proposal, Refusal
from tocsin.respond.durations import MAX_SECONDS
from tocsin.respond.models import DecisionAuditRow, DecisionRow
from tocsin.respond.targets import (
    ACTIONS,
    Allowlist,
    Limits,
    TargetError,
    internal_network,
    normalize,
)
from tocsin.store.state import StateStore

Clock = Callable[[], datetime]


_VERSION_SQL = f"SELECT max(id) FROM {DecisionAuditRow.__tablename__}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class DecisionStore:
    """The one way decisions are written. ``clock`` is injectable so tests control time."""

    def __init__(
        self, state: StateStore, config: Config | None = None, clock: Clock = utcnow
    ) -> None:
        self.state = state
        self.config = config
        self.clock = clock
        self.limits = Limits.from_config(config)
        self.allowlist = Allowlist.from_config(config)

    # --- writing -------------------------------------------------------------------------

    def apply(self, proposals: Sequence[Proposal]) -> Outcome:
        """Create, extend or refuse each proposal; one transaction, one audit row each."""
        outcome = Outcome()
        now = self.clock()
        with self.state.session() as session:
            known = self._by_key(session, {p.key for p in proposals if p.key})
            for proposal in proposals:
                self._apply_one(session, proposal, now, known, outcome)
        return outcome

    def _apply_one(
        self,
        session: Session,
        p: Proposal,
        now: datetime,
        known: dict[str, list[DecisionRow]],
        outcome: Outcome,
    ) -> None:
        try:
            if p.refuse:
                raise TargetError(p.refuse)
            if p.action not in ACTIONS:
                raise TargetError(f"unknown action {p.action[:40]!r}; one of {', '.join(ACTIONS)}")
            if not 0 < p.seconds <= MAX_SECONDS:
                raise TargetError("a decision lasts between one second and 366 days")
            scope, value = normalize(p.scope, p.value, self.limits)
            if p.origin != "manual" and scope in ("ip", "range"):
                block = internal_network(ipaddress.ip_network(value))
                if block is not None:
                    raise TargetError(
                        f"{value} is in {block}, a private or carrier-NAT network: the "
                        "organisation's own proxy or NAT, speaking for many people; not "
                        "blocked automatically (add it by hand if you mean it)"
                    )
        except TargetError as exc:
            self._refuse(session, p, str(exc), now, outcome)
            return
        if p.key is not None:
            rows = known.setdefault(p.key, [])
            same = [r for r in rows if r.simulated == p.simulated]
            live = [r for r in same if _utc(r.ends_at) > now]
            if live:
                newer = _later(p.alert_last_seen, live[0].alert_last_seen)
                for row in live:
                    if newer:
                        self._extend(session, row, p, now, outcome)
                    else:
                        outcome.unchanged += 1
                return
            if same and not _later(p.alert_last_seen, max(r.alert_last_seen or "" for r in same)):
                # The same evidence already produced a decision that ended (expired, or deleted
                # by a person): do not bring it back until the attack shows new activity.
                outcome.unchanged += 1
                return
        try:
            targets = self._around_allowlist(session, p, scope, value, now, outcome)
        except TargetError as exc:
            self._refuse(session, p, str(exc), now, outcome)
            return
        for scope_, value_ in targets:
            row = self._insert(session, p, scope_, value_, now)
            if p.key is not None:
                known.setdefault(p.key, []).append(row)
            outcome.created.append(Decision.from_row(row))

    def _around_allowlist(
        self,
        session: Session,
        p: Proposal,
        scope: str,
        value: str,
        now: datetime,
        outcome: Outcome,
    ) -> list[tuple[str, str]]:
        """The targets left once allowlisted networks are taken out (maybe none: refused)."""
        if scope not in ("ip", "range"):
            return [(scope, value)]
        net = ipaddress.ip_network(value)
        covering = self.allowlist.covering(net)
        if covering is not None:
            raise TargetError(
                f"{value} is allowlisted ({covering.source}: {covering.network}); "
                "the organisation's own addresses are never blocked"
            )
        overlaps = self.allowlist.overlapping(net)
        if not overlaps:
            return [(scope, value)]
        pieces = self.allowlist.split(net)
        outcome.split += 1
        self._audit(
            session,
            "split",
            p.created_by,
            now,
            scope=scope,
            value=value,
            action=p.action,
            detail={
                "allowlisted": [f"{e.source}: {e.network}" for e in overlaps],
                "pieces": [str(n) for n in pieces],
                "reason": p.reason,
            },
        )
        return [("ip" if n.num_addresses == 1 else "range", _net_value(n)) for n in pieces]

    def _insert(
        self, session: Session, p: Proposal, scope: str, value: str, now: datetime
    ) -> DecisionRow:
        until = now + timedelta(seconds=p.seconds)
        row = DecisionRow(
            scope=scope,
            value=value,
            action=p.action,
            origin=p.origin,
            origin_ref=p.origin_ref,
            scenario=p.scenario,
            reason=p.reason,
            simulated=p.simulated,
            created_by=p.created_by,
            tenant=p.tenant,
            created_at=now,
            changed_at=now,
            until=until,
            ends_at=until,
            expiry_noted=False,
            key=p.key,
            alert_last_seen=p.alert_last_seen,
        )
        session.add(row)
        session.flush()
        self._audit(
            session,
            "created",
            p.created_by,
            now,
            decision_id=row.id,
            scope=scope,
            value=value,
            action=p.action,
            detail={
                "simulated": p.simulated,
                "until": until.isoformat(),
                "origin": p.origin,
                "origin_ref": p.origin_ref,
                "reason": p.reason,
            },
        )
        return row

    def _extend(
        self, session: Session, row: DecisionRow, p: Proposal, now: datetime, outcome: Outcome
    ) -> None:
        until = max(_utc(row.until), now + timedelta(seconds=p.seconds))
        before = _utc(row.until)
        row.until = row.ends_at = until
        row.changed_at = now
        row.alert_last_seen = p.alert_last_seen
        row.expiry_noted = False
        self._audit(
            session,
            "extended",
            p.created_by,
            now,
            decision_id=row.id,
            scope=row.scope,
            value=row.value,
            action=row.action,
            detail={"from": before.isoformat(), "to": until.isoformat(), "reason": p.reason},
        )
        outcome.extended.append(Decision.from_row(row))

    def _refuse(
        self, session: Session, p: Proposal, reason: str, now: datetime, outcome: Outcome
    ) -> None:
        value = p.value if isinstance(p.value, str) else repr(p.value)
        self._audit(
            session,
            "refused",
            p.created_by,
            now,
            scope=p.scope[:16],
            value=value[:1100],
            action=p.action[:24],
            detail={"why": reason, "reason": p.reason, "origin_ref": p.origin_ref},
        )
        outcome.refused.append(Refusal(p.scope[:16], value[:200], p.action[:24], reason))

    def delete(
        self, ids: Iterable[int] | None = None, *, actor: str, reason: str, **filters: Any
    ) -> list[Decision]:
        """Stop decisions now (by id, or by scope/value/origin_ref/simulated filters)."""
        now = self.clock()
        done: list[Decision] = []
        with self.state.session() as session:
            stmt = select(DecisionRow).where(DecisionRow.ends_at > now)
            if ids is not None:
                stmt = stmt.where(DecisionRow.id.in_(list(ids)))
            for name, wanted in filters.items():
                if wanted is not None:
                    stmt = stmt.where(getattr(DecisionRow, name) == wanted)
            for row in session.scalars(stmt.order_by(DecisionRow.id)):
                row.deleted_at = row.ends_at = row.changed_at = now
                row.deleted_by = actor
                row.expiry_noted = True
                self._audit(
                    session,
                    "deleted",
                    actor,
                    now,
                    decision_id=row.id,
                    scope=row.scope,
                    value=row.value,
                    action=row.action,
                    detail={"reason": reason},
                )
                done.append(Decision.from_row(row))
        return done

    def sweep_expired(self, actor: str = "tocsin") -> int:
        """Write an ``expired`` audit row for each decision whose time ran out."""
        now = self.clock()
        count = 0
        with self.state.session() as session:
            stmt = select(DecisionRow).where(
                DecisionRow.ends_at <= now, DecisionRow.expiry_noted.is_(False)
            )
            for row in session.scalars(stmt):
                row.expiry_noted = True
                self._audit(
                    session,
                    "expired",
                    actor,
                    now,
                    decision_id=row.id,
                    scope=row.scope,
                    value=row.value,
                    action=row.action,
                    detail={"until": _utc(row.until).isoformat()},
                )
                count += 1
        return count

    def note(self, event: str, actor: str, detail: dict[str, Any], **fields: Any) -> None:
        """An audit row about something other than a change (an export, an account action)."""
        with self.state.session() as session:
            self._audit(session, event, actor, self.clock(), detail=detail, **fields)

    @staticmethod
    def _audit(
        session: Session,
        event: str,
        actor: str,
        at: datetime,
        *,
        detail: dict[str, Any],
        decision_id: int | None = None,
        scope: str | None = None,
        value: str | None = None,
        action: str | None = None,
    ) -> None:
        session.add(
            DecisionAuditRow(
                at=at,
                event=event,
                decision_id=decision_id,
                actor=actor[:200],
                scope=scope,
                value=value,
                action=action,
                detail=detail,
            )
        )

    # --- reading -------------------------------------------------------------------------

    def get(self, decision_id: int) -> Decision | None:
        with self.state.session() as session:
            row = session.get(DecisionRow, decision_id)
            return None if row is None else Decision.from_row(row)

    def query(
        self,
        *,
        active_only: bool = True,
        simulated: bool | None = None,
        scopes: Sequence[str] | None = None,
        ended_after: datetime | None = None,
        limit: int | None = None,
    ) -> list[Decision]:
        """Decisions, oldest first: active ones, or also those that ended after a time."""
        now = self.clock()
        stmt = select(DecisionRow)
        if active_only:
            stmt = stmt.where(DecisionRow.ends_at > now)
        elif ended_after is not None:
            stmt = stmt.where(DecisionRow.ends_at > ended_after)
        if simulated is not None:
            stmt = stmt.where(DecisionRow.simulated.is_(simulated))
        if scopes is not None:
            stmt = stmt.where(DecisionRow.scope.in_(list(scopes)))
        stmt = stmt.order_by(DecisionRow.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.state.session() as session:
            return [Decision.from_row(r) for r in session.scalars(stmt)]

    def audit(self, decision_id: int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        stmt = select(DecisionAuditRow).order_by(DecisionAuditRow.id)
        if decision_id is not None:
            stmt = stmt.where(DecisionAuditRow.decision_id == decision_id)
        with self.state.session() as session:
            rows = list(session.scalars(stmt.limit(limit)))
            return [
                {
                    "id": r.id,
                    "at": _utc(r.at).isoformat(timespec="seconds").replace("+00:00", "Z"),
                    "event": r.event,
                    "decision_id": r.decision_id,
                    "actor": r.actor,
                    "scope": r.scope,
                    "value": r.value,
                    "action": r.action,
                    "detail": r.detail,
                }
                for r in rows
            ]

    def version(self) -> int:
        """Grows with every change (each writes an audit row): caches reload when it moves.

        Asked every second by ``tocsin serve``: one plain query, without an ORM session
        (a quarter of the time, and less time holding the interpreter lock that the request
        loop waits for)."""
        with self.state.engine.connect() as con:
            return int(con.exec_driver_sql(_VERSION_SQL).scalar() or 0)

    @staticmethod
    def _by_key(session: Session, keys: set[str]) -> dict[str, list[DecisionRow]]:
        found: dict[str, list[DecisionRow]] = {}
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            stmt = select(DecisionRow).where(DecisionRow.key.in_(chunk)).order_by(DecisionRow.id)
            for row in session.scalars(stmt):
                found.setdefault(row.key or "", []).append(row)
        return found


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _later(candidate: str | None, known: str | None) -> bool:
    """Whether the alert's last activity moved on (ISO 8601 UTC strings sort by time)."""
    return bool(candidate) and (not known or str(candidate) > known)


def _net_value(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    return str(net.network_address) if net.num_addresses == 1 else str(net)
