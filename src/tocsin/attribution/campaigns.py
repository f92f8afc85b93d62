"""Campaigns: alerts that share attacking infrastructure, across people and organisations.

Rules see one organisation's logs at a time (``distributed_spray`` already joins addresses
across organisations, but only its own alerts). Here every alert of a scan — any rule, any
tenant, mail included — is joined with every other alert it shares infrastructure with, while
both are active within :data:`SLACK` of each other:

* a **source address** (one is enough: the same machine attacked both);
* two **netblocks** (IPv4 /24, IPv6 /48), or one netblock and a **user agent**: rotating
  addresses from the same provider's ranges with the same tooling;
* an **AS number** and a **user agent** together (either alone is too common);
* the **same campaign id** given by a rule (``distributed_spray`` names its campaigns);
* the **same accounts** (the later alert's accounts all among the earlier's): one attack on
  the same people seen by two rules.

Joined alerts form connected components (union-find); each component is a campaign, and a
lone alert is a campaign of one. The id is ``cp-`` and 16 hex digits of a hash of the
campaign's *anchor*, its earliest alert (by first seen, then id). Alert ids are stable across
re-scans of the same data, so campaign ids are too, and a campaign keeps its id as it grows
later in time; it changes only if an earlier alert joins it.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from tocsin.attribution import actors
from tocsin.events import Alert, severity_rank

SLACK: Final = timedelta(days=3)
_MAX_LINKS: Final = 50  # link explanations kept per campaign


def netblock(ip: str) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) an address is in; None for a non-address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


@dataclass(slots=True)
class Campaign:
    """Alerts sharing infrastructure; what they hit and from where."""

    id: str
    first_seen: str
    last_seen: str
    severity: str
    alert_ids: list[str]
    rules: list[str]
    tenants: list[str]  # organisations hit (tenant ids or domains)
    users: list[str]  # people targeted (accounts)
    compromised_users: list[str]
    src_ips: list[str]
    netblocks: list[str]
    src_asns: list[int]
    countries: list[str]
    user_agents: list[str]
    techniques: list[str]
    evidence_count: int
    links: list[str] = field(default_factory=list)  # why the alerts were joined
    features: dict[str, Any] = field(default_factory=dict)  # measured behaviour (attribution)
    attribution: dict[str, Any] = field(default_factory=dict)  # see tocsin.attribution.score

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "id": self.id,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "severity": self.severity,
            "actor": self.attribution.get("actor"),
            "attribution": self.attribution,
            "tenants": self.tenants,
            "users": self.users,
            "compromised_users": self.compromised_users,
            "alert_ids": self.alert_ids,
            "rules": self.rules,
            "src_ips": self.src_ips,
            "netblocks": self.netblocks,
            "src_asns": self.src_asns,
            "countries": self.countries,
            "user_agents": self.user_agents,
            "techniques": self.techniques,
            "evidence_count": self.evidence_count,
            "links": self.links,
            "features": self.features,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Campaign:
        names = (
            "id", "first_seen", "last_seen", "severity", "alert_ids", "rules", "tenants",
            "users", "compromised_users", "src_ips", "netblocks", "src_asns", "countries",
            "user_agents", "techniques", "evidence_count", "links", "features", "attribution",
        )  # fmt: skip
        return cls(**{n: data[n] for n in names if n in data})


class _Links:
    """Union-find over alert indices, remembering why two alerts were joined."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))
        self.why: list[tuple[int, int, str]] = []

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, i: int, j: int, why: str) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)
            self.why.append((i, j, why))


@dataclass(slots=True)
class _Facts:
    start: datetime
    end: datetime
    ips: set[str]
    blocks: set[str]
    asns: set[int]
    agents: set[str]
    accounts: set[str]
    rule_campaign: str | None


def _facts(alert: Alert) -> _Facts:
    ips = set(alert.src_ips)
    return _Facts(
        start=_when(alert.first_seen),
        end=_when(alert.last_seen),
        ips=ips,
        blocks={b for ip in ips if (b := netblock(ip))},
        asns=set(alert.src_asns),
        agents=set(alert.user_agents),
        accounts=set(alert.users) | set(alert.compromised_users),
        rule_campaign=alert.campaign,
    )


def _overlap(a: _Facts, b: _Facts) -> bool:
    return a.start <= b.end + SLACK and b.start <= a.end + SLACK


def _reason(a: _Facts, b: _Facts) -> str | None:
    """Why two alerts active at about the same time are one campaign, or None."""
    shared_ips = a.ips & b.ips
    if shared_ips:
        return f"{len(shared_ips)} shared address(es), e.g. {min(shared_ips)}"
    if a.rule_campaign and a.rule_campaign == b.rule_campaign:
        return f"same campaign found by the rule ({a.rule_campaign})"
    blocks, agents = a.blocks & b.blocks, a.agents & b.agents
    if len(blocks) >= 2 or (blocks and agents):
        extra = " and a shared user agent" if agents and len(blocks) < 2 else ""
        return f"{len(blocks)} shared netblock(s), e.g. {min(blocks)}{extra}"
    asns = a.asns & b.asns
    if asns and agents:
        return f"shared AS{min(asns)} and user agent {min(agents)[:80]!r}"
    small, big = (a, b) if len(a.accounts) <= len(b.accounts) else (b, a)
    if small.accounts and small.accounts <= big.accounts:
        return f"the same account(s), e.g. {min(small.accounts)}"
    return None


def _candidates(facts: Sequence[_Facts]) -> set[tuple[int, int]]:
    """Pairs sharing some key (address, netblock, AS and user agent, account, rule campaign):
    the only pairs that can be linked, found without comparing every alert with every other."""
    index: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(facts):
        keys = [*(f"ip:{x}" for x in f.ips), *(f"nb:{x}" for x in f.blocks),
                *(f"ac:{x}" for x in f.accounts),
                # an AS joins only together with a user agent: index the pair
                *(f"au:{a}|{u}" for a in f.asns for u in f.agents)]  # fmt: skip
        if f.rule_campaign:
            keys.append(f"rc:{f.rule_campaign}")
        for key in set(keys):
            index[key].append(i)
    pairs: set[tuple[int, int]] = set()
    for members in index.values():
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                pairs.add((i, j))
    return pairs


def campaign_id(anchor_alert_id: str) -> str:
    return "cp-" + hashlib.sha256(anchor_alert_id.encode()).hexdigest()[:16]


def cluster(alerts: Sequence[Alert]) -> list[Campaign]:
    """Group alerts into campaigns and set each alert's ``campaign`` to its campaign's id."""
    facts = [_facts(a) for a in alerts]
    links = _Links(len(alerts))
    for i, j in sorted(_candidates(facts)):
        if links.find(i) == links.find(j) or not _overlap(facts[i], facts[j]):
            continue
        why = _reason(facts[i], facts[j])
        if why is not None:
            links.join(i, j, why)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(alerts)):
        groups[links.find(i)].append(i)
    why_by_group: dict[int, list[str]] = defaultdict(list)
    for i, j, why in links.why:
        why_by_group[links.find(i)].append(f"{alerts[i].id} ↔ {alerts[j].id}: {why}")
    campaigns = []
    for root, members in groups.items():
        group = [alerts[i] for i in members]
        campaign = _build(group, why_by_group[root][:_MAX_LINKS])
        for alert in group:
            alert.campaign = campaign.id
        campaigns.append(campaign)
    campaigns.sort(key=lambda c: (-severity_rank(c.severity), c.first_seen, c.id))
    return campaigns


def _union(values: Iterable[Iterable[Any]]) -> list[Any]:
    return sorted({v for vs in values for v in vs if v is not None})


def _build(group: list[Alert], links: list[str]) -> Campaign:
    anchor = min(group, key=lambda a: (a.first_seen, a.id))
    ips = _union(a.src_ips for a in group)
    return Campaign(
        id=campaign_id(anchor.id),
        first_seen=min(a.first_seen for a in group),
        last_seen=max(a.last_seen for a in group),
        severity=max((a.severity for a in group), key=severity_rank),
        alert_ids=sorted(a.id for a in group),
        rules=_union([a.rule] for a in group),
        tenants=_union([a.tenant] for a in group),
        users=_union(a.users for a in group),
        compromised_users=_union(a.compromised_users for a in group),
        src_ips=ips,
        netblocks=sorted({b for ip in ips if (b := netblock(ip))}),
        src_asns=_union(a.src_asns for a in group),
        countries=_union(a.countries for a in group),
        user_agents=_union(a.user_agents for a in group),
        techniques=_union(a.techniques for a in group),
        evidence_count=sum(a.evidence_count for a in group),
        links=links,
        features={"named_actors": _named_actors(group)},
    )


def _named_actors(group: list[Alert]) -> dict[str, int]:
    """Actors the alerts already name (a rule matched an indicator): key → alerts."""
    counts: dict[str, int] = {}
    for alert in group:
        if alert.actor is not None:
            key = actors.resolve(alert.actor.name).key
            counts[key] = counts.get(key, 0) + 1
    return counts
