"""The durable outbox: queue once, claim with a lease, send, record — crash-safe.

Life of a notification::

    pending ──claim──► sending ──sent──► sent
       ▲                  │
       └──retry (backoff)─┤──permanent failure / attempts used up──► dead (dead letter)
       └──deferred (rate limit, not an attempt)

* ``add`` inserts a row keyed by the notice's idempotency key; a key already there is left
  alone, so planning the same alerts again (a re-scan, a restart) queues nothing new.
* ``claim`` moves due rows to ``sending`` under a lease (owner + expiry) — in one UPDATE on
  SQLite, after ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL — so two senders never
  claim the same row; a sender that dies leaves rows whose lease expires and
  which the next sender claims again. Only a message the server accepted in the instant
  before the crash, and not yet marked, is sent twice — at most one per sender crash, since a
  sender sends one message at a time and marks it sent at once.
* Every transition writes an audit row in the same transaction.

Times come from an injectable clock (tests drive backoff and rate limits with it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.config import NotifySettings
from tocsin.notify.models import CANCELLED, DEAD, PENDING, SENDING, SENT, AuditRow, OutboxRow
from tocsin.notify.planner import Notice
from tocsin.notify.render import Rendered
from tocsin.store.state import StateStore

Clock = Callable[[], datetime]
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
RECIPIENT_WINDOW = timedelta(hours=1)
DOMAIN_WINDOW = timedelta(minutes=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes: they are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def backoff(key: str, attempts: int) -> timedelta:
    """Exponential backoff (1 min, 2, 4, … capped at 6 h) with ±20% jitter derived from the
    key, so retries of many messages spread out yet every run is reproducible."""
    base: timedelta = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)
    digest = hashlib.sha256(f"{key}:{attempts}".encode()).digest()
    jitter = 0.8 + 0.4 * (int.from_bytes(digest[:4], "big") / 0xFFFFFFFF)
    delay: timedelta = base * jitter
    return delay


@dataclass(frozen=True, slots=True)
class Message:
    """A claimed row, detached from the database: what a channel needs to deliver it."""

    id: int
    key: str
    kind: str
    language: str
    channel: str
    destination: str
    domain: str
    organisation: str | None
    campaign: str
    severity: str
    subject: str
    body_text: str
    body_html: str | None
    payload: dict[str, Any] | None
    attempts: int
    created_at: datetime


@dataclass(slots=True)
class EnqueueResult:
    queued: int = 0
    already: int = 0
    superseded: int = 0
    keys: list[str] = field(default_factory=list)


class Outbox:
    def __init__(
        self,
        store: StateStore,
        settings: NotifySettings | None = None,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.settings = settings or NotifySettings()
        self.clock = clock

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self.store.session() as session:
            yield session

    # -- queueing ------------------------------------------------------------------------

    def known(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` are already in the outbox (any state)."""
        found: set[str] = set()
        with self._session() as session:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                found.update(session.scalars(select(OutboxRow.key).where(OutboxRow.key.in_(chunk))))
        return found

    def add(self, notice: Notice, rendered: Rendered, payload: dict[str, Any] | None) -> str:
        """Queue one notice. Returns "queued", "already" or "superseded"."""
        now = self.clock()
        with self._session() as session:
            if notice.kind == "targeted" and notice.person is not None:
                urgent = session.scalar(
                    select(func.count()).where(
                        OutboxRow.person == notice.person,
                        OutboxRow.campaign == notice.campaign,
                        OutboxRow.organisation == notice.organisation,
                        OutboxRow.kind == "compromised",
                    )
                )
                if urgent:
                    return "superseded"
            if notice.kind == "digest":
                told = session.scalars(
                    select(OutboxRow.compromised).where(
                        OutboxRow.organisation == notice.organisation,
                        OutboxRow.campaign == notice.campaign,
                        OutboxRow.kind == "digest",
                        OutboxRow.channel == notice.channel,
                        OutboxRow.destination == notice.destination,
                    )
                ).all()
                if any(set(notice.compromised) <= set(earlier) for earlier in told):
                    return "already"
            row = OutboxRow(
                key=notice.key,
                kind=notice.kind,
                language=rendered.language,
                channel=notice.channel,
                destination=notice.destination,
                domain=notice.domain.lower(),
                organisation=notice.organisation,
                person=notice.person,
                campaign=notice.campaign,
                severity=notice.severity,
                alert_ids=list(notice.alert_ids),
                compromised=list(notice.compromised),
                subject=rendered.subject,
                body_text=rendered.text,
                body_html=rendered.html if notice.channel == "email" else None,
                payload=payload,
                state=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
            try:
                with session.begin_nested():
                    session.add(row)
                    session.flush()
            except IntegrityError:
                return "already"
            detail = f"{notice.kind} in {rendered.language} to {notice.destination}"
            if rendered.language != notice.language:
                detail += f" (wanted {notice.language}; fell back)"
            self._audit(session, row.id, row.key, "queued", detail, now)
            if notice.kind == "compromised" and notice.person is not None:
                self._cancel_calm_notice(session, notice, now)
        return "queued"

    def _cancel_calm_notice(self, session: Session, notice: Notice, now: datetime) -> None:
        """The person is about to hear "act now": a "targeted" notice for the same campaign
        that has not gone yet would only contradict it. One already sent stays in the record."""
        calm = session.scalars(
            select(OutboxRow).where(
                OutboxRow.person == notice.person,
                OutboxRow.campaign == notice.campaign,
                OutboxRow.organisation == notice.organisation,
                OutboxRow.kind == "targeted",
                OutboxRow.state == PENDING,
            )
        ).all()
        for row in calm:
            row.state, row.updated_at = CANCELLED, now
            self._audit(
                session, row.id, row.key, "cancelled", "superseded by the compromised notice", now
            )

    # -- sending -------------------------------------------------------------------------

    def claim(self, owner: str, limit: int, lease: timedelta) -> list[Message]:
        """Take up to ``limit`` due messages for ``owner`` until ``now + lease``."""
        now = self.clock()
        due = or_(
            and_(OutboxRow.state == PENDING, OutboxRow.next_attempt_at <= now),
            and_(OutboxRow.state == SENDING, OutboxRow.lease_until < now),
        )
        with self._session() as session:
            candidates = (
                select(OutboxRow.id)
                .where(due)
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
                .limit(limit)
            )
            picked: Any
            if session.get_bind().dialect.name == "postgresql":
                # Lock the chosen rows first, then update exactly those. PostgreSQL may run
                # an "IN (… LIMIT n FOR UPDATE SKIP LOCKED)" subquery again for each row it
                # updates, and so claim more than ``limit`` rows.
                picked = list(session.scalars(candidates.with_for_update(skip_locked=True)))
                if not picked:
                    return []
            else:
                # SQLite has one writer at a time: the single UPDATE is atomic.
                picked = candidates.scalar_subquery()
            ids = session.scalars(
                update(OutboxRow)
                .where(OutboxRow.id.in_(picked), due)
                .values(
                    state=SENDING,
                    lease_owner=owner,
                    lease_until=now + lease,
                    attempts=OutboxRow.attempts + 1,
                    updated_at=now,
                )
                .returning(OutboxRow.id)
                .execution_options(synchronize_session=False)
            ).all()
            if not ids:
                return []
            rows = session.scalars(
                select(OutboxRow)
                .where(OutboxRow.id.in_(ids))
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            ).all()
            messages = []
            for row in rows:
                self._audit(session, row.id, row.key, "claimed", f"attempt {row.attempts}", now)
                messages.append(_message(row))
            return messages

    def due(self, limit: int) -> list[Message]:
        """What ``claim`` would take now, without taking it (for --dry-run)."""
        now = self.clock()
        with self._session() as session:
            rows = session.scalars(
                select(OutboxRow)
                .where(
                    or_(
                        and_(OutboxRow.state == PENDING, OutboxRow.next_attempt_at <= now),
                        and_(OutboxRow.state == SENDING, OutboxRow.lease_until < now),
                    )
                )
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
                .limit(limit)
            ).all()
            return [_message(r) for r in rows]

    def rate_limited_until(self, message: Message) -> datetime | None:
        """When ``message`` may go, if sending it now would break a rate limit."""
        now = self.clock()
        checks = [
            (
                OutboxRow.destination == message.destination,
                RECIPIENT_WINDOW,
                self.settings.max_per_recipient_per_hour,
            ),
            (
                OutboxRow.domain == message.domain,
                DOMAIN_WINDOW,
                self.settings.max_per_domain_per_minute,
            ),
        ]
        latest: datetime | None = None
        with self._session() as session:
            for condition, window, limit in checks:
                times = session.scalars(
                    select(OutboxRow.sent_at)
                    .where(condition, OutboxRow.state == SENT, OutboxRow.sent_at > now - window)
                    .order_by(OutboxRow.sent_at.desc())
                    .limit(limit)
                ).all()
                if len(times) >= limit and times[-1] is not None:
                    # The oldest of the last `limit` sends must leave the window first.
                    free_at = as_utc(times[-1]) + window
                    latest = free_at if latest is None or free_at > latest else latest
        return latest

    def renew(self, message: Message, owner: str, lease: timedelta) -> bool:
        """Extend ``owner``'s lease on ``message`` just before sending it. False if the lease
        ran out and another sender took the message: then it must not be sent from here."""
        now = self.clock()
        with self._session() as session:
            done = session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id == message.id,
                    OutboxRow.lease_owner == owner,
                    OutboxRow.state == SENDING,
                )
                .values(lease_until=now + lease, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(done, "rowcount", 0))

    def mark_sent(self, message: Message, owner: str, detail: str) -> bool:
        """Record a delivery. False if the lease was lost (another sender took over)."""
        now = self.clock()
        with self._session() as session:
            done = session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id == message.id,
                    OutboxRow.lease_owner == owner,
                    OutboxRow.state == SENDING,
                )
                .values(
                    state=SENT,
                    sent_at=now,
                    lease_owner=None,
                    lease_until=None,
                    last_error=None,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            self._audit(session, message.id, message.key, "sent", detail, now)
            return bool(getattr(done, "rowcount", 0))

    def mark_failed(self, message: Message, owner: str, error: str, *, permanent: bool) -> str:
        """A failed attempt: retry later with backoff, or dead-letter. Returns the new state."""
        now = self.clock()
        dead = permanent or message.attempts >= self.settings.max_attempts
        state = DEAD if dead else PENDING
        next_at = now if dead else now + backoff(message.key, message.attempts)
        with self._session() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message.id, OutboxRow.lease_owner == owner)
                .values(
                    state=state,
                    next_attempt_at=next_at,
                    lease_owner=None,
                    lease_until=None,
                    last_error=error[:2000],
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if dead:
                why = "permanent failure" if permanent else f"{message.attempts} attempts"
                self._audit(session, message.id, message.key, "dead", f"{why}: {error}", now)
            else:
                self._audit(
                    session,
                    message.id,
                    message.key,
                    "retry",
                    f"{error}; next attempt at {next_at.isoformat()}",
                    now,
                )
        return state

    def defer(self, message: Message, owner: str, until: datetime, reason: str) -> None:
        """Put a claimed message back until ``until`` without counting an attempt."""
        now = self.clock()
        with self._session() as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message.id, OutboxRow.lease_owner == owner)
                .values(
                    state=PENDING,
                    next_attempt_at=until,
                    lease_owner=None,
                    lease_until=None,
                    attempts=OutboxRow.attempts - 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            self._audit(
                session,
                message.id,
                message.key,
                "deferred",
                f"{reason} until {until.isoformat()}",
                now,
            )

    def release(self, messages: list[Message], owner: str) -> None:
        """Give back claimed messages not attempted (a sender stopping early)."""
        for message in messages:
            self.defer(message, owner, self.clock(), "released")

    # -- operators -----------------------------------------------------------------------

    def requeue_dead(self, ids: list[int] | None = None) -> int:
        """Dead letters back to pending (after fixing the configuration)."""
        now = self.clock()
        with self._session() as session:
            stmt = select(OutboxRow).where(OutboxRow.state == DEAD)
            if ids:
                stmt = stmt.where(OutboxRow.id.in_(ids))
            rows = session.scalars(stmt).all()
            for row in rows:
                row.state, row.attempts, row.next_attempt_at = PENDING, 0, now
                row.updated_at = now
                self._audit(session, row.id, row.key, "requeued", row.last_error, now)
            return len(rows)

    def cancel(self, ids: list[int]) -> int:
        now = self.clock()
        with self._session() as session:
            rows = session.scalars(
                select(OutboxRow).where(OutboxRow.id.in_(ids), OutboxRow.state.in_([PENDING, DEAD]))
            ).all()
            for row in rows:
                row.state, row.updated_at = CANCELLED, now
                self._audit(session, row.id, row.key, "cancelled", None, now)
            return len(rows)

    def counts(self) -> dict[str, int]:
        with self._session() as session:
            result = session.execute(
                select(OutboxRow.state, func.count()).group_by(OutboxRow.state)
            ).all()
            return {state: int(n) for state, n in result}

    def rows(self, state: str | None = None, limit: int = 100) -> list[OutboxRow]:
        with self._session() as session:
            stmt = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)
            if state:
                stmt = stmt.where(OutboxRow.state == state)
            return list(session.scalars(stmt).all())

    def audit(self, key_or_id: str | int) -> list[AuditRow]:
        with self._session() as session:
            column = AuditRow.outbox_id if isinstance(key_or_id, int) else AuditRow.key
            stmt = select(AuditRow).where(column == key_or_id).order_by(AuditRow.id)
            return list(session.scalars(stmt).all())

    @staticmethod
    def _audit(
        session: Session,
        row_id: int | None,
        key: str,
        event: str,
        detail: str | None,
        at: datetime,
    ) -> None:
        session.add(AuditRow(outbox_id=row_id, key=key, at=at, event=event, detail=detail))


def _message(row: OutboxRow) -> Message:
    return Message(
        id=row.id,
        key=row.key,
        kind=row.kind,
        language=row.language,
        channel=row.channel,
        destination=row.destination,
        domain=row.domain,
        organisation=row.organisation,
        campaign=row.campaign,
        severity=row.severity,
        subject=row.subject,
        body_text=row.body_text,
        body_html=row.body_html,
        payload=row.payload,
        attempts=row.attempts,
        created_at=as_utc(row.created_at),
    )
