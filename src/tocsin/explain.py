"""Why did an alert fire? Everything needed to check it by hand, from the state and the lake."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tocsin.attribution.store import get_campaign
from tocsin.detect.rules import Rule, load_rules
from tocsin.store.duck import connect
from tocsin.store.lake import Lake, create_views
from tocsin.store.state import StateStore, default_url

SAMPLE_COLUMNS = (
    "time", "user", "src_ip", "src_country", "src_asn", "ip_tags", "outcome", "reason",
    "reason_code", "client_app", "user_agent", "origin_file", "origin_line",
)  # fmt: skip


class AlertNotFound(LookupError):
    pass


@dataclass(slots=True)
class Explanation:
    alert: dict[str, Any]
    rule: Rule | None
    parameters: dict[str, Any] = field(default_factory=dict)
    evidence_total: int = 0
    sample: list[dict[str, Any]] = field(default_factory=list)
    lake_query: str = ""
    campaign: dict[str, Any] | None = None  # the alert's campaign and its attribution
    evidence_kind: str = "events"  # "events" in the lake, or "messages" (a mail alert)


def explain(alert_id: str, data_dir: Path, state_url: str | None, sample: int = 10) -> Explanation:
    store = StateStore(state_url or default_url(data_dir))
    try:
        store.migrate()
        alert = store.get_alert(alert_id)
        if alert is None:
            matches = store.find_alerts(alert_id)
            if len(matches) != 1:
                hint = f"; did you mean one of {', '.join(matches)}" if matches else ""
                raise AlertNotFound(f"no alert {alert_id!r} in {store.url}{hint}")
            alert = store.get_alert(matches[0])
            assert alert is not None
        campaign = get_campaign(store, alert["campaign"]) if alert.get("campaign") else None
    finally:
        store.dispose()
    rules = load_rules()
    rule = next((r for r in rules.rules if r.id == alert["rule"]), None)
    result = Explanation(alert=alert, rule=rule, parameters=rule.params() if rule else {})
    result.campaign = campaign
    if alert["evidence"].get("file") == "messages.jsonl":
        # A mail alert: its evidence is messages, listed in messages.jsonl, not lake events.
        result.evidence_kind = "messages"
        result.evidence_total = int(alert.get("evidence_count") or 0)
        result.lake_query = str(alert["evidence"].get("query", ""))
        return result
    lake = Lake(data_dir)
    con = connect()
    try:
        create_views(con, lake)
        query = alert["evidence"]["query"]
        result.evidence_total = int(con.execute(f"SELECT count(*) FROM ({query})").fetchall()[0][0])
        columns = ", ".join(f'"{c}"' for c in SAMPLE_COLUMNS)
        rows = con.execute(f"SELECT {columns} FROM ({query}) LIMIT {int(sample)}").fetchall()
        result.sample = [dict(zip(SAMPLE_COLUMNS, row, strict=True)) for row in rows]
    finally:
        con.close()
    glob = str(lake.events_dir / "*" / "*" / "*.parquet")
    result.lake_query = (
        f"WITH events AS (SELECT * FROM read_parquet('{glob}', hive_partitioning = true))\n"
        f"{alert['evidence']['query']}"
    )
    return result
