"""API keys for enforcement points (CrowdSec bouncers, reverse proxies, identity-provider hooks).

A key is shown once when it is created and stored only as its SHA-256: keys are 256 random
bits, so a plain hash is enough (no password-stretching needed) and a stolen database does not
reveal them. Keys are compared by hash lookup, never by string comparison of secrets.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from tocsin.respond.models import BouncerRow, DecisionAuditRow
from tocsin.store.state import StateStore

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
KEY_PREFIX = "tcs_"
ROLES = ("bouncer", "admin")


class BouncerError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Bouncer:
    id: int
    name: str
    created_at: datetime
    last_pull: datetime | None
    user_agent: str | None
    revoked: bool
    role: str = "bouncer"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _bouncer(row: BouncerRow) -> Bouncer:
    def utc(value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    created = utc(row.created_at)
    assert created is not None
    return Bouncer(
        row.id, row.name, created, utc(row.last_pull), row.user_agent, row.revoked, row.role
    )


class Bouncers:
    def __init__(self, state: StateStore) -> None:
        self.state = state

    def add(self, name: str, actor: str, key: str | None = None, role: str = "bouncer") -> str:
        """Register ``name``; return its new API key (the only time it is visible).

        Role ``bouncer`` reads decisions and checks requests; ``admin`` may also create and
        delete decisions through the API."""
        if role not in ROLES:
            raise BouncerError(f"role is one of {', '.join(ROLES)}")
        if not _NAME.match(name):
            raise BouncerError(
                "a bouncer name is 1-100 letters, digits, '.', '_', '@' or '-', "
                "starting with a letter or digit"
            )
        if key is not None and len(key) < 32:
            raise BouncerError("an API key must be at least 32 characters")
        key = key or KEY_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.state.session() as session:
            if session.scalar(select(BouncerRow.id).where(BouncerRow.name == name)):
                raise BouncerError(f"a bouncer named {name!r} already exists")
            session.add(
                BouncerRow(
                    name=name, key_hash=hash_key(key), created_at=now, revoked=False, role=role
                )
            )
            session.add(_audit("bouncer_added", actor, now, name, role))
        return key

    def delete(self, name: str, actor: str) -> bool:
        now = datetime.now(UTC)
        with self.state.session() as session:
            row = session.scalar(select(BouncerRow).where(BouncerRow.name == name))
            if row is None:
                return False
            session.delete(row)
            session.add(_audit("bouncer_deleted", actor, now, name, row.role))
        return True

    def list(self) -> list[Bouncer]:
        with self.state.session() as session:
            return [_bouncer(r) for r in session.scalars(select(BouncerRow).order_by("id"))]

    def get(self, bouncer_id: int) -> Bouncer | None:
        with self.state.session() as session:
            row = session.get(BouncerRow, bouncer_id)
            return None if row is None or row.revoked else _bouncer(row)

    def by_key(self, key: str) -> Bouncer | None:
        if not key or len(key) > 200:
            return None
        with self.state.session() as session:
            row = session.scalar(select(BouncerRow).where(BouncerRow.key_hash == hash_key(key)))
            return None if row is None or row.revoked else _bouncer(row)

    def key_hashes(self) -> dict[str, Bouncer]:
        with self.state.session() as session:
            rows = session.scalars(select(BouncerRow).where(BouncerRow.revoked.is_(False)))
            return {r.key_hash: _bouncer(r) for r in rows}

    def record_pull(self, bouncer_id: int, at: datetime, user_agent: str | None) -> None:
        """Move ``last_pull`` forward (never back): call only after a complete answer."""
        with self.state.session() as session:
            row = session.get(BouncerRow, bouncer_id)
            if row is None:
                return
            last = row.last_pull
            if last is not None and last.tzinfo is None:
                last = last.replace(tzinfo=UTC)
            if last is None or at > last:
                row.last_pull = at
            if user_agent:
                row.user_agent = user_agent[:300]


def _audit(event: str, actor: str, at: datetime, name: str, role: str) -> DecisionAuditRow:
    return DecisionAuditRow(
        at=at, event=event, actor=actor[:200], scope=None, value=None, action=None,
        detail={"bouncer": name, "role": role},
    )  # fmt: skip
