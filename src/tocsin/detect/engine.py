"""Run rules over the ``events`` view and turn their rows into alerts (contract 2).

The engine does no I/O of its own: it is given a DuckDB connection on which ``events``
exists. Heavy work (windows, grouping, counting) is the rules' SQL; Python only shapes the
already-aggregated rows, so the same rules can run on any engine that speaks the SQL.
"""

from __future__ import annotations

import hashlib
import math
import string
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb

from tocsin.detect.rules import REQUIRED_COLUMNS, Rule
from tocsin.detect.views import create_rule_views
from tocsin.events import SEVERITIES, Alert, Severity, severity_rank
from tocsin.store.duck import within_memory

EVIDENCE_SAMPLE = 20
_LIST_FIELDS = ("users", "compromised_users", "src_ips", "countries", "user_agents")


@dataclass(slots=True)
class RuleRun:
    rule: str
    alerts: int = 0
    rows: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass(slots=True)
class Evaluation:
    alerts: list[Alert] = field(default_factory=list)
    runs: list[RuleRun] = field(default_factory=list)
    views_seconds: float = 0.0  # building the shared views of each organisation's normal


def alert_id(rule_id: str, group_key: str) -> str:
    """Stable across re-scans of the same data: a hash of the rule and its grouping key."""
    digest = hashlib.sha256(f"{rule_id}\x1f{group_key}".encode()).hexdigest()
    return f"al-{digest[:20]}"


def evaluate(
    con: duckdb.DuckDBPyConnection,
    rules: Iterable[Rule],
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Evaluation:
    """Run each rule; a failing rule is reported in its RuleRun and the others still run."""
    result = Evaluation()
    rules_list = list(rules)
    started = time.perf_counter()
    create_rule_views(con)
    result.views_seconds = time.perf_counter() - started
    for rule in rules_list:
        run = RuleRun(rule.id)
        started = time.perf_counter()
        try:
            params = rule.params(dict((overrides or {}).get(rule.id, {})))
            rows = run_rule_sql(con, rule, params)
            run.rows = len(rows)
            if rule.combine is not None:
                rows = rule.combine(rows, params)
            for row in rows:
                refined = rule.refine(row, params) if rule.refine else row
                if refined is None:
                    continue
                result.alerts.append(build_alert(rule, refined))
                run.alerts += 1
        except (duckdb.Error, ValueError, KeyError, TypeError) as exc:
            run.error = f"{type(exc).__name__}: {exc}"
        run.seconds = time.perf_counter() - started
        result.runs.append(run)
    result.alerts = fold_alerts(result.alerts, {r.id: r.meta.supersedes for r in rules_list})
    result.alerts.sort(key=lambda a: (-severity_rank(a.severity), a.first_seen, a.id))
    return result


_FOLD_SLACK = timedelta(days=1)


def fold_alerts(alerts: list[Alert], supersedes: Mapping[str, list[str]]) -> list[Alert]:
    """Fold narrower alerts into the campaign-level alerts that cover the same attack.

    An alert of rule R is absorbed by an alert of a rule that supersedes R when both concern
    the same organisation, overlap in time (a day of slack) and share a source address or
    the narrower alert's accounts are all in the wider one. The wider alert takes the accounts,
    compromised accounts and highest severity, and lists what it absorbed in
    ``metrics["also_detected"]``. Wider rules absorb first (those superseding the most).

    Addresses are adopted as the attack's only when they are evidence of it: the narrower
    alert shares an address with the wider one, or it is about accounts the attack
    compromised (the attacker then signing in from elsewhere). A narrower alert matched by
    its accounts alone — a targeted person's own VPN sign-in, say — is folded for reading but
    its addresses stay in ``also_detected``: listing them as attacking addresses would turn
    a staff member's network into a block.
    """
    order = sorted(
        (a for a in alerts if supersedes.get(a.rule)),
        key=lambda a: (-len(supersedes[a.rule]), a.first_seen, a.id),
    )
    folded: set[str] = set()
    for wide in order:
        if wide.id in folded:
            continue
        matches = [
            narrow
            for narrow in alerts
            if narrow.id != wide.id
            and narrow.id not in folded
            and narrow.rule in supersedes[wide.rule]
            and _same_attack(wide, narrow)
        ]
        # Address-sharing alerts first: they bring the compromised accounts the rest are
        # judged against.
        matches.sort(key=lambda n: not set(n.src_ips) & set(wide.src_ips))
        for narrow in matches:
            shares_address = bool(set(narrow.src_ips) & set(wide.src_ips))
            on_compromised = bool(narrow.users) and set(narrow.users) <= set(wide.compromised_users)
            _absorb(wide, narrow, adopt_addresses=shares_address or on_compromised)
            folded.add(narrow.id)
    return [a for a in alerts if a.id not in folded]


def _same_attack(wide: Alert, narrow: Alert) -> bool:
    if wide.tenant != narrow.tenant:
        return False
    if _when(narrow.first_seen) > _when(wide.last_seen) + _FOLD_SLACK:
        return False
    if _when(narrow.last_seen) < _when(wide.first_seen) - _FOLD_SLACK:
        return False
    accounts = set(wide.users) | set(wide.compromised_users)
    return bool(set(narrow.src_ips) & set(wide.src_ips)) or (
        bool(narrow.users) and set(narrow.users) <= accounts
    )


def _absorb(wide: Alert, narrow: Alert, *, adopt_addresses: bool) -> None:
    wide.users = sorted(set(wide.users) | set(narrow.users))
    wide.compromised_users = sorted(set(wide.compromised_users) | set(narrow.compromised_users))
    if adopt_addresses:
        wide.src_ips = sorted(set(wide.src_ips) | set(narrow.src_ips))
    if severity_rank(narrow.severity) > severity_rank(wide.severity):
        wide.severity = narrow.severity
    wide.metrics.setdefault("also_detected", []).append(
        {
            "rule": narrow.rule,
            "id": narrow.id,
            "severity": narrow.severity,
            "first_seen": narrow.first_seen,
            "users": narrow.users[:20],
            "compromised_users": narrow.compromised_users,
            "src_ips": narrow.src_ips[:20],
            "addresses_adopted": adopt_addresses,
            "summary": narrow.summary,
        }
    )


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def run_rule_sql(
    con: duckdb.DuckDBPyConnection, rule: Rule, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    # DuckDB refuses named parameters the statement does not use (rule.py may use them).
    used = {k: v for k, v in params.items() if f"${k}" in rule.sql}

    def run() -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = con.execute(rule.sql, used)
        return [d[0] for d in cursor.description or []], cursor.fetchall()

    # A rule must not be lost to a memory peak that depends on thread timing.
    names, rows = within_memory(con, run, f"rule {rule.id}")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise ValueError(f"rule {rule.id} returned no {missing} column(s)")
    return [dict(zip(names, row, strict=True)) for row in rows]


def build_alert(rule: Rule, row: dict[str, Any]) -> Alert:
    meta = rule.meta
    data = dict(row)
    severity = str(data.pop("severity", None) or meta.severity)
    if severity not in SEVERITIES:
        raise ValueError(f"rule {rule.id} produced severity {severity!r}")
    confidence = data.pop("confidence", None)
    confidence = float(meta.confidence if confidence is None else confidence)
    group_key = str(data.pop("group_key"))
    lists = {name: sorted({str(v) for v in data.pop(name, None) or [] if v is not None})
             for name in _LIST_FIELDS}  # fmt: skip
    asns = sorted({int(v) for v in data.pop("src_asns", None) or [] if v is not None})
    first_seen, last_seen = data.pop("first_seen"), data.pop("last_seen")
    evidence_ids = [str(v) for v in (data.pop("evidence_ids", None) or [])][:EVIDENCE_SAMPLE]
    evidence_count = int(data.pop("evidence_count"))
    tenant = data.pop("tenant", None)
    campaign = data.pop("campaign", None)
    metrics = {k: _json_value(v) for k, v in data.items() if not k.startswith("_")}
    context = {
        **metrics,
        **lists,
        "tenant": tenant,
        "first_seen": _iso(first_seen),
        "last_seen": _iso(last_seen),
        "evidence_count": evidence_count,
        "user_count": len(lists["users"]),
        "ip_count": len(lists["src_ips"]),
        "user": lists["users"][0] if len(lists["users"]) == 1 else None,
        "src_ip": lists["src_ips"][0] if len(lists["src_ips"]) == 1 else None,
    }
    where = render_sql(meta.evidence, {**context, **row})
    return Alert(
        id=alert_id(rule.id, group_key),
        rule=rule.id,
        title=meta.title,
        severity=_severity(severity),
        confidence=round(confidence, 3),
        first_seen=_iso(first_seen),
        last_seen=_iso(last_seen),
        tenant=None if tenant is None else str(tenant),
        users=lists["users"],
        compromised_users=lists["compromised_users"],
        src_ips=lists["src_ips"],
        src_asns=asns,
        countries=lists["countries"],
        user_agents=lists["user_agents"],
        techniques=list(meta.techniques),
        evidence_count=evidence_count,
        evidence={
            "event_ids": evidence_ids,
            "query": f"SELECT * FROM events WHERE {where} ORDER BY time",
            "group_key": group_key,
        },
        summary=render_text(meta.summary, context),
        recommended_actions=[render_text(a, context) for a in meta.recommended_actions],
        metrics=metrics,
        campaign=None if campaign is None else str(campaign),
    )


def _severity(value: str) -> Severity:
    for s in SEVERITIES:
        if s == value:
            return s
    raise ValueError(value)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return str(value.isoformat(timespec="seconds")).replace("+00:00", "Z")
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_text(template: str, context: Mapping[str, Any]) -> str:
    """Fill ``{name}`` placeholders; lists are joined, unknown names are left as they are."""
    values = _Missing()
    for key, value in context.items():
        if isinstance(value, list):
            shown = ", ".join(str(v) for v in value[:5])
            if len(value) > 5:
                shown += f" and {len(value) - 5} more"
            values[key] = shown
        elif isinstance(value, float):
            values[key] = f"{value:.2f}".rstrip("0").rstrip(".")
        else:
            values[key] = "" if value is None else value
    return string.Formatter().vformat(template, (), values)


def sql_literal(value: Any) -> str:
    """A DuckDB literal for a value taken from data (quotes doubled, never interpolated raw)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        return f"TIMESTAMPTZ '{_iso(value)}'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def render_sql(template: str, row: Mapping[str, Any]) -> str:
    values = {k: sql_literal(v) for k, v in row.items()}
    return string.Formatter().vformat(template.strip(), (), _Missing(values))
