"""Decisions as CrowdSec's Local API sends them to bouncers (``/v1/decisions``, ``/stream``).

The wire contract is CrowdSec's swagger (``pkg/models/localapi_swagger.yaml``): a decision has
``id``, ``origin``, ``type``, ``scope``, ``value``, ``duration`` (Go duration string of the
time left, negative once expired), ``scenario`` and ``until``. Semantics followed:

* only enforced decisions are served; simulated ones never reach a bouncer;
* only actions a traffic enforcement point can apply are served (``ban``, ``captcha``,
  ``mfa_stepup``); account actions go through the checklist (``respond.accounts``);
* decisions are de-duplicated per (scope, type, value), keeping the one that lasts longest;
* ``startup=true``: ``new`` is everything active, ``deleted`` everything that stopped applying
  within the retention window; otherwise ``new`` is what changed since the bouncer's last
  successful pull and ``deleted`` what stopped applying since then (2 s overlap each, so a
  write racing a pull is sent twice rather than never);
* ``scopes`` defaults to ``ip,range``; names are case-insensitive and may be CrowdSec's
  (``Ip``, ``Range``, ``AS``, ``Country``, ``Username``) or tocsin's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from tocsin.respond.decision import Decision, iso
from tocsin.respond.durations import go_duration
from tocsin.respond.targets import TRAFFIC_ACTIONS, Allowlist, TargetError, parse_address

WIRE_SCOPE: Final = {
    "ip": "Ip",
    "range": "Range",
    "asn": "AS",
    "country": "Country",
    "user": "Username",
    "user_agent": "User-Agent",
}
_SCOPE_NAMES: Final = {
    **{k: k for k in WIRE_SCOPE},
    **{v.lower(): k for k, v in WIRE_SCOPE.items()},
    "as": "asn",
    "useragent": "user_agent",
}
OVERLAP: Final = timedelta(seconds=2)
RETENTION: Final = timedelta(days=7)


class FilterError(ValueError):
    """A query parameter a bouncer sent that means nothing; answered with 400."""


def parse_scopes(text: str | None) -> tuple[str, ...]:
    if text is None or not text.strip():
        return ("ip", "range")
    out: list[str] = []
    for part in text.split(","):
        name = part.strip().lower()
        if name not in _SCOPE_NAMES:
            known = ", ".join(sorted({*WIRE_SCOPE.values(), *WIRE_SCOPE}))
            raise FilterError(f"unknown scope {part.strip()[:40]!r}; known: {known}")
        out.append(_SCOPE_NAMES[name])
    return tuple(dict.fromkeys(out))


def _words(text: str | None) -> list[str]:
    return [w.strip().lower() for w in (text or "").split(",") if w.strip()]


@dataclass(frozen=True, slots=True)
class Filters:
    scopes: tuple[str, ...] = ("ip", "range")
    origins: tuple[str, ...] = ()
    containing: tuple[str, ...] = ()
    not_containing: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls,
        scopes: str | None = None,
        origins: str | None = None,
        scenarios_containing: str | None = None,
        scenarios_not_containing: str | None = None,
    ) -> Filters:
        return cls(
            parse_scopes(scopes),
            tuple(_words(origins)),
            tuple(_words(scenarios_containing)),
            tuple(_words(scenarios_not_containing)),
        )

    def accepts(self, d: Decision) -> bool:
        if d.simulated or d.action not in TRAFFIC_ACTIONS or d.scope not in self.scopes:
            return False
        if self.origins and d.origin.lower() not in self.origins:
            return False
        scenario = d.scenario.lower()
        if self.containing and not any(w in scenario for w in self.containing):
            return False
        return not any(w in scenario for w in self.not_containing)


def wire(d: Decision, now: datetime) -> dict[str, Any]:
    """One decision, exactly the fields CrowdSec sends."""
    return {
        "id": d.id,
        "origin": d.origin,
        "type": d.action,
        "scope": WIRE_SCOPE[d.scope],
        "value": d.value,
        "duration": go_duration((d.ends_at - now).total_seconds()),
        "until": iso(d.ends_at),
        "scenario": d.scenario,
        "simulated": False,
    }


def allowlisted(d: Decision, allowlist: Allowlist) -> bool:
    """A network decision the allowlist now overlaps (it may have grown since): never served."""
    if d.scope not in ("ip", "range"):
        return False
    return bool(allowlist.overlapping(ipaddress.ip_network(d.value)))


def _groups(decisions: Iterable[Decision]) -> dict[tuple[str, str, str], list[Decision]]:
    groups: dict[tuple[str, str, str], list[Decision]] = {}
    for d in decisions:
        groups.setdefault((d.scope, d.action, d.value), []).append(d)
    return groups


def _longest(ds: Sequence[Decision]) -> Decision:
    return max(ds, key=lambda d: (d.ends_at, d.id))


def stream(
    decisions: Iterable[Decision],
    *,
    now: datetime,
    last_pull: datetime | None,
    startup: bool,
    filters: Filters,
    allowlist: Allowlist,
    allowlist_since: datetime | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The ``{"new": [...], "deleted": [...]}`` answer for one bouncer pull.

    ``decisions``: every decision that is active or ended within the retention window.
    ``allowlist_since``: when this allowlist took effect (the API started with it). A bouncer
    that last pulled before then may hold decisions the allowlist now covers: they are sent
    as deleted, once, so the organisation's own addresses are unblocked at once.
    """
    accepted = [d for d in decisions if filters.accepts(d)]
    kept = [d for d in accepted if not allowlisted(d, allowlist)]
    since = None if startup or last_pull is None else last_pull - OVERLAP
    new: list[Decision] = []
    deleted: list[Decision] = []
    if since is None or allowlist_since is None or since < allowlist_since:
        served = {id(d) for d in kept}
        shielded = [d for d in accepted if id(d) not in served and d.active(now)]
        deleted += [_longest(group) for group in _groups(shielded).values()]
    for group in _groups(kept).values():
        active = [d for d in group if d.active(now)]
        if active:
            if since is None or any(d.changed_at > since for d in group):
                new.append(_longest(active))
            continue
        last = _longest(group)
        horizon = now - RETENTION if since is None else since
        if last.ends_at > horizon:
            deleted.append(last)
    return {
        "new": [wire(d, now) for d in sorted(new, key=lambda d: d.id)],
        "deleted": [wire(d, now) for d in sorted(deleted, key=lambda d: d.id)],
    }


def _bool(text: str | None, name: str, default: bool) -> bool:
    if text is None:
        return default
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise FilterError(f"{name} must be true or false")


def query(
    decisions: Iterable[Decision],
    *,
    now: datetime,
    allowlist: Allowlist,
    params: dict[str, str],
) -> list[dict[str, Any]]:
    """``GET /v1/decisions``: active decisions matching CrowdSec's list filters."""
    filters = Filters.parse(
        params.get("scopes") or params.get("scope") or ",".join(WIRE_SCOPE),
        params.get("origins"),
        params.get("scenarios_containing"),
        params.get("scenarios_not_containing"),
    )
    contains = _bool(params.get("contains"), "contains", True)
    value = params.get("value")
    kind = params.get("type")
    target = None
    for key in ("ip", "range"):
        if params.get(key):
            text = params[key].strip()
            try:
                if "/" in text:
                    target = ipaddress.ip_network(text[:64], strict=False)
                else:
                    target = ipaddress.ip_network(parse_address(text))
            except (TargetError, ValueError):
                raise FilterError(f"{key}: not an IP address or range") from None
    chosen: list[Decision] = []
    for d in decisions:
        if not d.active(now) or not filters.accepts(d) or allowlisted(d, allowlist):
            continue
        if value is not None and d.value != value:
            continue
        if kind is not None and d.action != kind:
            continue
        if target is not None:
            if d.scope not in ("ip", "range"):
                continue
            net = ipaddress.ip_network(d.value)
            if net.version != target.version:
                continue
            inside = target.subnet_of(net) if contains else net.subnet_of(target)  # type: ignore[arg-type]
            if not inside:
                continue
        chosen.append(d)
    best = [_longest(g) for g in _groups(chosen).values()]
    return [wire(d, now) for d in sorted(best, key=lambda d: d.id)]
