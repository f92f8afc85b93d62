"""What a campaign's attempts looked like, measured in the event lake (for attribution).

For each campaign, the sign-in attempts (``auth`` and ``mfa`` events) from its source
addresses between its first and last alert are measured once, in DuckDB:

* ``attempts``, ``addresses``, ``accounts``, ``tenants``, ``active_days``;
* ``tor_share``, ``hosting_share``, ``vpn_share`` — of attempts, from the enrichment tags;
* ``ioc_actors`` — actor key → addresses of the campaign that are indicators of that actor
  (``ioc:<key>`` tags from ``tocsin intel import``);
* ``failure_share`` — attempts that failed or were blocked;
* ``pace_median`` / ``pace_max`` — attempts per account per active hour (an hour in which the
  account was tried), the median and the highest over the accounts;
* ``rotation_median`` — distinct addresses per account per active hour (median);
* ``uncommon_agent_share`` — attempts with a user agent nobody signed in with successfully
  from outside the campaign's addresses;
* ``office365_share`` — attempts at Microsoft 365 (Exchange, Outlook, SharePoint, OneDrive,
  Teams, Office) apps or resources, or from Microsoft 365 logs' legacy mail clients;
* ``personal_share`` — attempts on personal (consumer) accounts.

Alert-level facts complete them: ``rules``, ``techniques``, ``alerts``, ``organisations``,
``targets``, ``compromised``, and ``named_actors`` (actors the alerts already name, from an
indicator a rule matched — mail links to a known actor's domain, for one).
A campaign with no events in the lake (mail alerts) gets only the alert-level facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import duckdb
import pyarrow as pa

from tocsin.attribution.campaigns import Campaign

_OFFICE = (
    r"(?i)(office|exchange|outlook|sharepoint|onedrive|teams|microsoft 365|"
    r"exchange activesync|imap|pop3|smtp|mapi|ews)"
)
_MEASURES: Final = f"""
WITH members AS (SELECT * FROM _campaign_ips),
attempts AS (
    SELECT m.campaign, e.*
    FROM events e JOIN members m ON e.src_ip = m.ip
    WHERE e.event_type IN ('auth', 'mfa') AND e.time BETWEEN m.lo AND m.hi
),
ok_agents AS (
    SELECT DISTINCT e.user_agent FROM events e
    WHERE e.outcome = 'success' AND e.user_agent IS NOT NULL
      AND e.src_ip NOT IN (SELECT ip FROM members)
),
per_hour AS (
    SELECT campaign, "user", date_trunc('hour', time) AS hour, count(*) AS n,
           count(DISTINCT src_ip) AS ips
    FROM attempts WHERE "user" IS NOT NULL GROUP BY ALL
),
per_account AS (
    SELECT campaign, "user", sum(n) / count(*) AS pace, avg(ips) AS rotation
    FROM per_hour GROUP BY ALL
),
paces AS (
    SELECT campaign, median(pace) AS pace_median, max(pace) AS pace_max,
           median(rotation) AS rotation_median
    FROM per_account GROUP BY ALL
),
totals AS (
    SELECT campaign,
        count(*) AS attempts,
        count(DISTINCT src_ip) AS addresses,
        count(DISTINCT "user") AS accounts,
        count(DISTINCT tenant) AS tenants,
        count(DISTINCT CAST(time AS DATE)) AS active_days,
        avg(CASE WHEN list_contains(ip_tags, 'tor') THEN 1 ELSE 0 END) AS tor_share,
        avg(CASE WHEN list_contains(ip_tags, 'hosting') THEN 1 ELSE 0 END) AS hosting_share,
        avg(CASE WHEN list_contains(ip_tags, 'vpn') THEN 1 ELSE 0 END) AS vpn_share,
        avg(CASE WHEN outcome IN ('failure', 'blocked') THEN 1 ELSE 0 END) AS failure_share,
        avg(CASE WHEN user_agent IS NOT NULL
                  AND user_agent NOT IN (SELECT user_agent FROM ok_agents) THEN 1 ELSE 0 END)
            AS uncommon_agent_share,
        avg(CASE WHEN regexp_matches(coalesce(app, '') || ' ' || coalesce(resource, '') || ' '
                                     || coalesce(client_app, ''), '{_OFFICE}')
                 THEN 1 ELSE 0 END) AS office365_share,
        avg(CASE WHEN user_type = 'personal' THEN 1 ELSE 0 END) AS personal_share
    FROM attempts GROUP BY ALL
),
iocs AS (
    SELECT campaign, map_from_entries(list({{'k': k, 'v': n}})) AS ioc_actors
    FROM (
        SELECT campaign, substr(tag, 5) AS k, count(DISTINCT src_ip) AS n
        FROM (SELECT campaign, src_ip, unnest(ip_tags) AS tag FROM attempts)
        WHERE tag LIKE 'ioc:%' GROUP BY ALL
    ) GROUP BY ALL
)
SELECT t.*, p.pace_median, p.pace_max, p.rotation_median, i.ioc_actors
FROM totals t LEFT JOIN paces p USING (campaign) LEFT JOIN iocs i USING (campaign)
"""


def _alert_facts(campaign: Campaign) -> dict[str, Any]:
    return {
        "alerts": len(campaign.alert_ids),
        "rules": list(campaign.rules),
        "techniques": list(campaign.techniques),
        "organisations": len(campaign.tenants),
        "targets": len(campaign.users),
        "compromised": len(campaign.compromised_users),
        "addresses": len(campaign.src_ips),
    }


def _rounded(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value


def measure(con: duckdb.DuckDBPyConnection | None, campaigns: Sequence[Campaign]) -> None:
    """Fill each campaign's ``features`` from the ``events`` view of ``con`` (alert-level
    facts only without one)."""
    for campaign in campaigns:
        campaign.features.update(_alert_facts(campaign))
    rows: dict[str, list[Any]] = {"campaign": [], "ip": [], "lo": [], "hi": []}
    for c in campaigns:
        for ip in c.src_ips:
            rows["campaign"].append(c.id)
            rows["ip"].append(ip)
            rows["lo"].append(c.first_seen)
            rows["hi"].append(c.last_seen)
    if con is None or not rows["ip"]:
        return
    con.register("_campaign_ips_arrow", pa.table(rows))
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _campaign_ips AS SELECT campaign, ip, "
            "CAST(lo AS TIMESTAMPTZ) AS lo, CAST(hi AS TIMESTAMPTZ) AS hi "
            "FROM _campaign_ips_arrow"
        )
    finally:
        con.unregister("_campaign_ips_arrow")
    cursor = con.execute(_MEASURES)
    names = [d[0] for d in cursor.description or []]
    by_id = {c.id: c for c in campaigns}
    for row in cursor.fetchall():
        values = dict(zip(names, row, strict=True))
        campaign = by_id[str(values.pop("campaign"))]
        iocs = values.pop("ioc_actors") or {}
        campaign.features.update({k: _rounded(v) for k, v in values.items() if v is not None})
        campaign.features["ioc_actors"] = {str(k): int(v) for k, v in dict(iocs).items()}
    con.execute("DROP TABLE IF EXISTS _campaign_ips")
