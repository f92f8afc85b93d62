"""Flagged messages → alerts (contract 2): one per campaign of similar messages.

Messages judged phish or suspicious are grouped by what a campaign shares: the sender's
registrable domain (or the address, for free mail) on one UTC day, or — when a targeted web
beacon is the main finding — the beacon's domain on one day. The alert id is a hash of the
rule and that key (``tocsin.detect.engine.alert_id``), so re-scanning the same mail gives the
same alerts, and every message's line in messages.jsonl names its alert.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tocsin.events import Actor, Alert, Severity
from tocsin.mail.analyze import RULE_BEACON, Report
from tocsin.mail.urls import display_host, registrable
from tocsin.text import printable

_SAMPLE = 20


@dataclass(slots=True)
class _Group:
    rule: str
    key: str
    alert_id: str
    times: list[datetime] = field(default_factory=list)
    users: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)
    techniques: set[str] = field(default_factory=set)
    verdicts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    evidence: dict[str, str] = field(default_factory=dict)  # code → one evidence sentence
    subjects: list[str] = field(default_factory=list)
    senders: set[str] = field(default_factory=set)
    link_domains: Counter[str] = field(default_factory=Counter)
    beacon_hosts: set[str] = field(default_factory=set)
    messages: list[dict[str, object]] = field(default_factory=list)
    count: int = 0
    score: float = 0.0
    actors: dict[str, str] = field(default_factory=dict)  # actor → evidence
    critical: bool = False
    recipient_domains: set[str] = field(default_factory=set)


class AlertBuilder:
    def __init__(self, tenant_of_domain: dict[str, str] | None = None) -> None:
        self._groups: dict[str, _Group] = {}
        self._tenant_of_domain = tenant_of_domain or {}

    def add(self, report: Report) -> None:
        if report.alert is None or report.rule is None or report.group_key is None:
            return
        group = self._groups.get(report.alert)
        if group is None:
            group = _Group(report.rule, report.group_key, report.alert)
            self._groups[report.alert] = group
        parsed = report.parsed
        group.count += 1
        group.score = max(group.score, report.score)
        if parsed.time:
            group.times.append(parsed.time)
        group.users.update(parsed.recipients)
        group.recipient_domains.update(r.rsplit("@", 1)[-1] for r in parsed.recipients)
        if parsed.sender_ip:
            group.ips.add(parsed.sender_ip)
        group.techniques.update(report.techniques)
        group.verdicts[report.verdict] += 1
        for reason in report.reasons:
            if reason.weight <= 0:
                continue
            group.reasons[reason.code] += 1
            group.evidence.setdefault(reason.code, printable(reason.evidence, 200))
            if reason.actor:
                group.actors.setdefault(reason.actor, printable(reason.evidence, 200))
            if reason.code in ("vip_impersonation", "own_domain_spoofed") or reason.actor:
                group.critical = group.critical or report.verdict == "phish"
        if len(group.subjects) < 5 and parsed.subject:
            subject = printable(parsed.subject, 120)
            if subject not in group.subjects:
                group.subjects.append(subject)
        if parsed.sender.address:
            group.senders.add(printable(parsed.sender.address, 120))
        for link in report.view.links[:50]:
            group.link_domains[display_host(registrable(link.url.host))] += 1
        group.beacon_hosts.update(b.host for b in report.beacons if b.kind == "targeted")
        if len(group.messages) < _SAMPLE:
            group.messages.append(
                {
                    "file": report.raw.file,
                    "index": report.raw.index,
                    "message_id": parsed.message_id or None,
                    "sha256": parsed.sha256,
                }
            )

    def alerts(self) -> list[Alert]:
        return [self._alert(g) for g in sorted(self._groups.values(), key=lambda g: g.alert_id)]

    def _alert(self, group: _Group) -> Alert:
        beacon = group.rule == RULE_BEACON
        phish = group.verdicts["phish"]
        severity: Severity = "critical" if group.critical else ("high" if phish else "medium")
        if beacon and not phish:
            severity = "medium"
        times = sorted(group.times) or [datetime.now(UTC)]
        users = sorted(group.users)
        tenants = {self._tenant_of_domain.get(d) for d in group.recipient_domains}
        tenant = next(iter(tenants)) if len(tenants) == 1 else None
        if tenant is None and len(group.recipient_domains) == 1:
            tenant = next(iter(group.recipient_domains))
        actor = None
        if group.actors:
            name, why = next(iter(group.actors.items()))
            actor = Actor(name, round(min(0.9, group.score), 2), [why])
        return Alert(
            id=group.alert_id,
            rule=group.rule,
            title="Web beacons tracking who opens mail" if beacon else "Phishing e-mail",
            severity=severity,
            confidence=round(group.score, 3),
            first_seen=_iso(times[0]),
            last_seen=_iso(times[-1]),
            tenant=tenant,
            users=users,
            compromised_users=[],
            src_ips=sorted(group.ips),
            src_asns=[],
            countries=[],
            user_agents=[],
            techniques=sorted(group.techniques),
            evidence_count=group.count,
            evidence={
                "group_key": group.key,
                "messages": group.messages,
                "file": "messages.jsonl",
                "query": f"jq -c 'select(.alert == \"{group.alert_id}\")' messages.jsonl",
            },
            summary=_summary(group, beacon, users),
            recommended_actions=_actions(group, beacon),
            actor=actor,
            metrics={
                "messages": group.count,
                "verdicts": dict(group.verdicts),
                "grouped_by": group.key,
                "reasons": dict(group.reasons.most_common()),
                "subjects": group.subjects,
                "senders": sorted(group.senders)[:10],
                "link_domains": [d for d, _ in group.link_domains.most_common(10)],
                "beacon_hosts": sorted(group.beacon_hosts)[:10],
            },
        )


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _summary(group: _Group, beacon: bool, users: list[str]) -> str:
    who = f"{len(users)} recipient(s)" if users else "unknown recipients"
    senders = ", ".join(sorted(group.senders)[:3]) or "an unknown sender"
    kind = "track who opens them" if beacon else "look like phishing"
    top = [group.evidence[c] for c, _ in group.reasons.most_common(3)]
    subject = f" Subject: “{group.subjects[0]}”." if group.subjects else ""
    return printable(
        f"{group.count} e-mail(s) from {senders} to {who} {kind}: "
        + "; ".join(top)
        + "."
        + subject,
        1000,
    )


def _actions(group: _Group, beacon: bool) -> list[str]:
    domains = [d for d, _ in group.link_domains.most_common(5)]
    senders = sorted(group.senders)[:3]
    actions = [
        "Tell the recipients not to open links or attachments in these messages and not to "
        "reply; delete the messages from every mailbox that received them.",
        "Ask each recipient whether they clicked a link, opened an attachment or typed a "
        "password after receiving it. If so: change that password now, sign out every "
        "session, and check that multi-factor authentication is on and shows no new device.",
    ]
    if senders:
        actions.append(f"Block the sender(s) at your mail provider: {', '.join(senders)}.")
    if domains and not beacon:
        actions.append(f"Block these link domains on your web filter or DNS: {', '.join(domains)}.")
    if beacon or group.beacon_hosts:
        hosts = ", ".join(sorted(group.beacon_hosts)[:5]) or "the tracking domains"
        actions.append(
            "Turn off automatic loading of remote images in the recipients' mail apps (this "
            f"stops web beacons), and block {hosts}."
        )
    if "vip_impersonation" in group.reasons:
        actions.append(
            "Someone is using a protected person's name: confirm any request from them by "
            "calling a number you already know, never one from the message."
        )
    if group.actors:
        actions.append(
            "A known threat actor is linked to this mail: report it to your security contact "
            "or ISAC with the alert id, and keep the messages as evidence."
        )
    return actions
