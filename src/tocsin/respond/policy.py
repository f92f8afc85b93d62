"""From alerts to proposed decisions, per ``[[response.policy]]`` in tocsin.toml.

Every policy rule whose ``rules`` (names or shell patterns, ``*`` for all), ``min_severity``
and ``min_confidence`` match an alert proposes its ``action`` on the alert's targets of its
``scope``:

* ``ip``: each attacking address; ``range``: the /24 (IPv4) or /64 (IPv6) around each, merged;
* ``asn``, ``country``, ``user_agent``: the attacking networks, countries and user agents seen,
  each unless someone outside the attack signed in successfully with it or from it (checked
  in the event lake) — a ban on a common browser, a home carrier or the home country would
  lock staff out;
* ``user``: for ``ban``, ``reset_password`` and ``revoke_sessions`` only the accounts believed
  compromised; for the gentler actions every targeted account.

Decisions from a campaign are keyed by the campaign, so one address attacking many people of
a campaign gets one decision, extended as the campaign goes on.
"""

from __future__ import annotations

import fnmatch
import hashlib
import ipaddress
from collections.abc import Sequence
from pathlib import Path

from tocsin.config import Config, PolicyRule, duration_seconds, severity_at_least
from tocsin.events import Alert
from tocsin.respond.decision import Proposal
from tocsin.respond.targets import Limits, TargetError, collapse, parse_address

MAX_TARGETS_PER_ALERT = 5000
_STRICT_USER_ACTIONS = ("ban", "reset_password", "revoke_sessions")


def matches(rule: PolicyRule, alert: Alert) -> bool:
    if not any(fnmatch.fnmatchcase(alert.rule, pattern) for pattern in rule.rules):
        return False
    return severity_at_least(alert.severity, rule.min_severity) and (
        alert.confidence >= rule.min_confidence
    )


def propose(
    config: Config,
    alerts: Sequence[Alert],
    *,
    created_by: str,
    data_dir: Path | None = None,
) -> list[Proposal]:
    """The decisions the policy asks for (not yet checked against limits or the allowlist)."""
    simulated = config.response.mode != "enforce"
    limits = Limits.from_config(config)
    proposals: list[Proposal] = []
    shared: list[tuple[Proposal, Alert]] = []
    for alert in alerts:
        for rule in config.response.policy:
            if not matches(rule, alert):
                continue
            origin, ref = ("campaign", alert.campaign) if alert.campaign else ("alert", alert.id)
            actor = f" attributed to {alert.actor.name}" if alert.actor else ""
            reason = (
                f"{alert.title} ({alert.severity}, confidence {alert.confidence:.2f}){actor}; "
                f"alert {alert.id}"
            )
            for value in _values(rule, alert, limits)[:MAX_TARGETS_PER_ALERT]:
                p = Proposal(
                    scope=rule.scope,
                    value=value,
                    action=rule.action,
                    seconds=duration_seconds(rule.duration),
                    origin=origin,
                    origin_ref=ref,
                    scenario=f"tocsin/{alert.rule}",
                    reason=reason,
                    simulated=simulated,
                    created_by=created_by,
                    tenant=alert.tenant,
                    key=_key(ref, rule.action, rule.scope, value, simulated),
                    alert_last_seen=alert.last_seen,
                )
                proposals.append(p)
                if rule.scope in SHARED_SCOPES:
                    shared.append((p, alert))
    if shared:
        _guard_shared(shared, data_dir)
    return proposals


def _values(rule: PolicyRule, alert: Alert, limits: Limits) -> list[str]:
    scope = rule.scope
    if scope == "ip":
        return list(dict.fromkeys(alert.src_ips))
    if scope == "range":
        nets = []
        for text in alert.src_ips:
            try:
                address = parse_address(text)
            except TargetError:
                nets.append(text)  # kept, so the refusal is recorded with its reason
                continue
            width = (
                max(24, limits.max_ipv4_prefix)
                if address.version == 4
                else max(64, limits.max_ipv6_prefix)
            )
            nets.append(str(ipaddress.ip_network(f"{address}/{width}", strict=False)))
        good = [ipaddress.ip_network(n) for n in nets if "/" in n]
        return [str(n) for n in collapse(good)] + [n for n in nets if "/" not in n]
    if scope == "asn":
        return [str(a) for a in dict.fromkeys(alert.src_asns)]
    if scope == "country":
        return list(dict.fromkeys(c for c in alert.countries if c))
    if scope == "user_agent":
        return list(dict.fromkeys(u for u in alert.user_agents if u))
    if rule.action in _STRICT_USER_ACTIONS:
        return list(dict.fromkeys(alert.compromised_users))
    return list(dict.fromkeys([*alert.compromised_users, *alert.users]))


def _key(ref: str | None, action: str, scope: str, value: str, simulated: bool) -> str:
    raw = "\x1f".join([ref or "", action, scope, value, "sim" if simulated else "enf"])
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:40]


# Scopes that name something many people share: before a decision about one of them exists,
# the event lake must show that no one outside the attack signs in successfully through it.
SHARED_SCOPES = {
    "user_agent": ("user_agent", "user agent"),
    "asn": ("src_asn", "network (AS)"),
    "country": ("src_country", "country"),
}


def _guard_shared(checks: list[tuple[Proposal, Alert]], data_dir: Path | None) -> None:
    """Refuse user-agent, AS and country decisions that would lock out people outside the
    attack: someone not among its accounts signed in successfully with that user agent, from
    that network or from that country (outside the attacking addresses)."""
    if data_dir is None or not (data_dir / "events").exists():
        for p, _ in checks:
            what = SHARED_SCOPES[p.scope][1]
            p.refuse = f"no event lake to check that staff do not use this {what}"
        return
    from tocsin.store.duck import connect
    from tocsin.store.lake import Lake, create_views

    lake = Lake(data_dir)
    con = connect(temp_directory=lake.tmp_dir)
    try:
        create_views(con, lake)
        for p, alert in checks:
            column, what = SHARED_SCOPES[p.scope]
            value: str | int = p.value
            if p.scope == "asn":
                digits = p.value.strip().upper().removeprefix("AS")
                if not digits.isdigit() or len(digits) > 10:
                    continue  # not an AS number: the store refuses it, with the reason
                value = int(digits)
            elif p.scope == "country":
                value = p.value.strip().upper()
            # ``column`` comes from SHARED_SCOPES, never from the alert.
            rows = con.execute(
                "SELECT count(DISTINCT user) FROM events WHERE outcome = 'success' "
                f"AND {column} = ? AND NOT list_contains(?, user) "
                "AND NOT list_contains(?, src_ip)",
                [value, list(alert.compromised_users) or [""], alert.src_ips or [""]],
            ).fetchall()
            others = int(rows[0][0]) if rows else 0
            if others:
                p.refuse = (
                    f"{others} account(s) outside this attack signed in successfully with this "
                    f"{what}; a decision on it would lock them out"
                )
    finally:
        con.close()
