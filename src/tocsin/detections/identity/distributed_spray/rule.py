"""Join foreign failing addresses that share infrastructure into campaigns (union-find).

rule.sql returns one row per (tenant, address) with the link keys of that address: the
address itself, its /24 (or /48), an ASN or user agent the organisation's own people never
sign in with, and the Tor tag. Two addresses sharing any key are the same infrastructure, so
connected components over address–key links are campaigns. A campaign spans organisations:
one alert is raised per organisation it hit, all carrying the same campaign id.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime
from typing import Any


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        parent = self.parent.setdefault(node, node)
        if parent != node:
            parent = self.parent[node] = self.find(parent)
        return parent

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # Deterministic: the smaller name becomes the root, whatever the row order.
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def combine(rows: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    links = _UnionFind()
    for row in rows:
        node = "ip:" + row["src_ip"]
        for key in row["keys"]:
            links.union(node, key)
    campaigns: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        campaigns[links.find("ip:" + row["src_ip"])].append(row)
    big = [m for m in campaigns.values() if _is_campaign(m, params)]
    baseline = _baseline([m for m in campaigns.values() if not _is_campaign(m, params)])
    alerts: list[dict[str, Any]] = []
    for members in big:
        alerts.extend(_campaign_alerts(members, params, baseline))
    return alerts


def _is_campaign(rows: list[dict[str, Any]], params: dict[str, Any]) -> bool:
    users = {(r["tk"], u) for r in rows for u in r["users"]}
    return bool(len(users) >= params["min_users"] and len(rows) >= params["min_ips"])


def _user_days(rows: list[dict[str, Any]]) -> set[str]:
    # user_hours holds "user|YYYY-MM-DD HH"; the first 10 characters of the hour are the day.
    return {h[: h.rindex("|") + 11] for r in rows for h in r["user_hours"]}


def _baseline(small: list[list[dict[str, Any]]]) -> dict[str, float]:
    """Per tenant: accounts a day failing from foreign addresses outside any campaign.

    That is the organisation's normal — a lost phone, a colleague abroad — which a campaign
    must clearly exceed.
    """
    days: dict[str, float] = {}
    user_days: dict[str, set[str]] = defaultdict(set)
    for members in small:
        for row in members:
            days[row["tk"]] = max(row["tenant_days"], 1)
            user_days[row["tk"]] |= _user_days([row])
    return {tk: len(user_days[tk]) / days[tk] for tk in days}


def _campaign_alerts(
    rows: list[dict[str, Any]], params: dict[str, Any], baseline: dict[str, float]
) -> list[dict[str, Any]]:
    all_users = {(r["tk"], u) for r in rows for u in r["users"]}
    all_ips = {r["src_ip"] for r in rows}
    first = min(rows, key=lambda r: (r["first_seen"], r["first_event"]))
    campaign_id = "cmp-" + hashlib.sha256(first["first_event"].encode()).hexdigest()[:16]
    tenants = sorted({r["tk"] for r in rows})
    by_tenant: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_tenant[row["tk"]].append(row)
    out = []
    for tk, members in sorted(by_tenant.items()):
        alert = _tenant_alert(tk, members, params, baseline.get(tk, 0.0))
        if alert is None:
            continue
        alert.update(
            campaign=campaign_id,
            group_key=f"{campaign_id}|{tk}",
            campaign_tenants=len(tenants),
            campaign_accounts=len(all_users),
            campaign_addresses=len(all_ips),
        )
        out.append(alert)
    return out


def _tenant_alert(
    tk: str, rows: list[dict[str, Any]], params: dict[str, Any], baseline: float
) -> dict[str, Any] | None:
    users = sorted({u for r in rows for u in r["users"]})
    if len(users) < params["min_tenant_users"]:
        return None
    first_seen: datetime = min(r["first_seen"] for r in rows)
    last_seen: datetime = max(r["last_seen"] for r in rows)
    days = max((last_seen - first_seen).total_seconds() / 86400, 1 / 24)
    # The campaign's daily reach: accounts attacked on an average day it was active.
    user_days = _user_days(rows)
    active_days = {d.split("|")[1] for d in user_days}
    accounts_per_day = len(user_days) / max(len(active_days), 1)
    if accounts_per_day < params["baseline_factor"] * baseline:
        return None
    attempts = sum(r["attempts"] for r in rows)
    # (account, hour) pairs attacked, and (address, account, hour) triples: their ratios are
    # the campaign's pace per account and its rotation of addresses per account.
    user_hours = len({h for r in rows for h in r["user_hours"]})
    address_user_hours = sum(len(r["user_hours"]) for r in rows)
    landed = sorted({u for r in rows for u in (r["landed_users"] or []) if u in users})
    tor = sum(r["attempts"] for r in rows if r["tor"])
    hosting = sum(r["attempts"] for r in rows if r["hosting"] and not r["tor"])
    unknown = sum(r["unknown_user_attempts"] for r in rows)
    ips = sorted({r["src_ip"] for r in rows})
    return {
        "tk": tk,
        "tenant": rows[0]["tenant"],
        "users": users,
        "compromised_users": landed,
        "severity": "critical" if landed else None,
        "src_ips": ips,
        "src_asns": sorted({a for r in rows for a in r["src_asns"]}),
        "countries": sorted({c for r in rows for c in r["countries"]}),
        "user_agents": sorted({a for r in rows for a in r["user_agents"]})[:20],
        "first_seen": first_seen,
        "last_seen": last_seen,
        "evidence_count": attempts,
        "evidence_ids": [
            e for r in sorted(rows, key=lambda r: r["first_seen"]) for e in r["evidence_ids"]
        ][:20],
        "attempts": attempts,
        "accounts": len(users),
        "addresses": len(ips),
        "days": round(days, 1),
        "active_days": len(active_days),
        "attempts_per_account_hour": round(attempts / user_hours, 1) if user_hours else None,
        "addresses_per_account_hour": round(address_user_hours / user_hours, 1)
        if user_hours
        else None,
        "tor_percent": round(100 * tor / attempts),
        "hosting_percent": round(100 * hosting / attempts),
        "unknown_user_percent": round(100 * unknown / attempts),
        "baseline_accounts_per_day": round(baseline, 2),
        "accounts_per_day": round(accounts_per_day, 1),
        "_ip_list": ips,
        "compromised_note": (
            f" {len(landed)} account(s) then entered the right password from these addresses "
            f"({', '.join(landed[:5])}): treat them as compromised."
            if landed
            else ""
        ),
    }
