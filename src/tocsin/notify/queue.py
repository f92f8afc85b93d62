"""From alerts to outbox rows: plan, render (in each person's language), queue once."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tocsin.config import Config
from tocsin.events import Actor, Alert
from tocsin.notify.i18n import SOURCE_LANGUAGE
from tocsin.notify.outbox import Outbox
from tocsin.notify.planner import Notice, Plan, plan_notifications
from tocsin.notify.render import Rendered, render
from tocsin.store.state import AlertRow, StateStore

log = logging.getLogger("tocsin.notify")


def render_notice(notice: Notice) -> Rendered:
    """The notice in its language; in English if that rendering fails (never nothing)."""
    try:
        return render(notice.kind, notice.language, notice.context)
    except Exception:
        if notice.language == SOURCE_LANGUAGE:
            raise
        log.exception("rendering %s in %s failed; using English", notice.kind, notice.language)
        return render(notice.kind, SOURCE_LANGUAGE, notice.context)


def webhook_data(notice: Notice) -> dict[str, Any] | None:
    """The digest as data, for generic webhooks (JSON-safe)."""
    if notice.channel != "webhook":
        return None
    c = notice.context
    return {
        "organisation": {"id": c["organisation_id"], "name": c["organisation"]},
        "campaign": c["campaign"],
        "severity": c["severity"],
        "first_seen": _iso(c["start"]),
        "last_seen": _iso(c["end"]),
        "actor": c["actor"],
        "rules": [{"rule": rule, "title": title} for rule, title in c["rules"]],
        "techniques": c["techniques"],
        "attempts": c["attempts"],
        "src_ips": c["src_ips"],
        "src_ip_count": c["ip_count"],
        "countries": c["countries"],
        "people": [
            {
                "name": p.name,
                "accounts": list(p.accounts),
                "compromised": p.compromised,
                "language": p.language,
                "told_directly": p.reached,
            }
            for p in c["people"]
        ],
        "other_accounts": c["unknown_accounts"],
        "decisions": [
            {"action": d.action, "scope": d.scope, "duration": d.duration, "enforced": d.enforced}
            for d in c["decisions"]
        ],
        "alert_ids": c["alert_ids"],
    }


def enqueue(outbox: Outbox, plan: Plan, *, dry_run: bool = False) -> dict[str, Any]:
    """Queue every notice of ``plan`` not already queued; a summary for scan.json."""
    known = outbox.known([n.key for n in plan.notices])
    summary: dict[str, Any] = {
        "planned": len(plan.notices),
        "queued": 0,
        "already_queued": 0,
        "superseded": 0,
        "failed": 0,
        "campaigns": len(plan.campaigns),
        "people_unreachable": plan.people_unreachable,
        "alerts_below_min_severity": plan.skipped_below_severity,
        "alerts_without_organisation": plan.alerts_without_organisation,
        "by_kind": {},
    }
    errors: list[str] = []
    for notice in plan.notices:
        if notice.key in known:
            summary["already_queued"] += 1
            continue
        if dry_run:
            summary["queued"] += 1
            summary["by_kind"][notice.kind] = summary["by_kind"].get(notice.kind, 0) + 1
            continue
        try:
            outcome = outbox.add(notice, render_notice(notice), webhook_data(notice))
        except Exception as exc:  # one bad notice must not stop the others
            log.exception("queueing %s for %s failed", notice.kind, notice.destination)
            summary["failed"] += 1
            errors.append(f"{notice.kind} → {notice.destination}: {type(exc).__name__}: {exc}")
            continue
        if outcome == "queued":
            summary["queued"] += 1
            summary["by_kind"][notice.kind] = summary["by_kind"].get(notice.kind, 0) + 1
        elif outcome == "already":
            summary["already_queued"] += 1
        else:
            summary["superseded"] += 1
    if errors:
        summary["errors"] = errors[:20]
    return summary


def queue_for_alerts(
    config: Config, alerts: Iterable[Alert], outbox: Outbox, *, dry_run: bool = False
) -> dict[str, Any]:
    return enqueue(outbox, plan_notifications(config, alerts), dry_run=dry_run)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def alert_from_dict(data: dict[str, Any]) -> Alert:
    """An alert from its contract-2 dictionary (alerts.jsonl, the state database)."""
    actor = data.get("actor")
    return Alert(
        id=str(data["id"]),
        rule=str(data["rule"]),
        title=str(data.get("title", data["rule"])),
        severity=data["severity"],
        confidence=float(data.get("confidence", 0)),
        first_seen=str(data["first_seen"]),
        last_seen=str(data["last_seen"]),
        tenant=data.get("tenant"),
        users=list(data.get("users") or []),
        compromised_users=list(data.get("compromised_users") or []),
        src_ips=list(data.get("src_ips") or []),
        src_asns=list(data.get("src_asns") or []),
        countries=list(data.get("countries") or []),
        user_agents=list(data.get("user_agents") or []),
        techniques=list(data.get("techniques") or []),
        evidence_count=int(data.get("evidence_count", 0)),
        evidence=dict(data.get("evidence") or {}),
        summary=str(data.get("summary", "")),
        recommended_actions=list(data.get("recommended_actions") or []),
        actor=Actor(
            str(actor["name"]), float(actor.get("confidence", 0)), list(actor.get("reasons") or [])
        )
        if actor
        else None,
        campaign=data.get("campaign"),
        metrics=dict(data.get("metrics") or {}),
    )


def stored_alerts(store: StateStore) -> list[Alert]:
    """Every alert in the state database."""
    with store.session() as session:
        return [alert_from_dict(dict(d)) for d in session.scalars(select(AlertRow.data))]
