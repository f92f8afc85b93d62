"""Who gets told what: from alerts to planned notices.

* Alerts below ``notify.min_severity`` are left out, unless they name a compromised account.
* Alerts of one organisation about the same attack are grouped: those sharing a campaign id,
  and those without one that share an account and overlap in time (a day of slack). A group
  is one *campaign* for the people in it; its key is the campaign id, else its earliest alert.
* Each person (matched with ``config.person_by_account``) gets one notice per campaign: the
  urgent ``compromised`` kind if any of their accounts is believed compromised, otherwise
  ``targeted``. ``targeted`` goes to their work address; ``compromised`` goes to their personal
  addresses when they have any (the attacker may be reading the work mailbox), else to work.
* The organisation's security contacts and every configured webhook get a ``digest`` per
  campaign, sent again only when the set of compromised people changes.

Person notices carry the minimum: their own name and accounts, the dates, the organisation.
Only digests name other people or list addresses.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from tocsin.config import Config, Organisation, Person, severity_at_least
from tocsin.events import SEVERITIES, Alert
from tocsin.notify.i18n import resolve_language
from tocsin.text import printable

Kind = Literal["targeted", "compromised", "digest"]
KINDS: tuple[Kind, ...] = ("targeted", "compromised", "digest")
Channel = Literal["email", "webhook"]
MAX_ADDRESSES_SHOWN = 50
_SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PersonStatus:
    """One line of a digest's "people affected"."""

    name: str
    accounts: tuple[str, ...]
    compromised: bool
    language: str
    reached: bool  # at least one address to tell them at


@dataclass(frozen=True, slots=True)
class Decision:
    """What the response policy does about a campaign (from ``[[response.policy]]``)."""

    action: str
    scope: str
    duration: str
    enforced: bool


@dataclass(slots=True)
class Campaign:
    """Alerts of one organisation about one attack, as the people and contacts hear of it."""

    key: str
    organisation: Organisation
    alerts: list[Alert]
    start: datetime
    end: datetime
    severity: str
    accounts: list[str]
    compromised_accounts: list[str]
    people: list[tuple[Person, list[str], bool]]  # person, their accounts here, compromised
    unknown_accounts: list[str]
    actor: dict[str, Any] | None
    src_ips: list[str]
    countries: list[str]
    techniques: list[str]
    rules: list[tuple[str, str]]  # (rule id, title)
    attempts: int
    decisions: list[Decision] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Notice:
    """One message to one destination. ``key`` makes it happen once."""

    key: str
    kind: Kind
    language: str
    channel: Channel
    destination: str  # an e-mail address, or a webhook's name
    domain: str
    organisation: str
    person: str | None  # the person's id (their first account), for person notices
    campaign: str
    severity: str
    alert_ids: tuple[str, ...]
    context: dict[str, Any]
    compromised: tuple[str, ...] = ()  # digests: the people known compromised


@dataclass(slots=True)
class Plan:
    notices: list[Notice] = field(default_factory=list)
    campaigns: list[Campaign] = field(default_factory=list)
    skipped_below_severity: int = 0
    alerts_without_organisation: int = 0
    people_unreachable: int = 0


def notice_key(*parts: str) -> str:
    """The idempotency key: a hash of what makes a message the same message."""
    return hashlib.sha256("\x1f".join(("tocsin-notify-v1", *parts)).encode()).hexdigest()


def person_id(person: Person) -> str:
    return person.accounts[0]


def plan_notifications(config: Config, alerts: Iterable[Alert]) -> Plan:
    """Every notice the alerts call for (nothing is sent or stored here)."""
    plan = Plan()
    by_org: dict[str, list[Alert]] = {}
    for alert in alerts:
        if not _qualifies(config, alert):
            plan.skipped_below_severity += 1
            continue
        orgs = _organisations_of(config, alert)
        if not orgs:
            plan.alerts_without_organisation += 1
        for org_id in orgs:
            by_org.setdefault(org_id, []).append(alert)
    for org_id in sorted(by_org):
        org = config.organisation(org_id)
        for group in _group(by_org[org_id]):
            campaign = _campaign(config, org, group)
            plan.campaigns.append(campaign)
            plan.notices.extend(_person_notices(config, campaign, plan))
            plan.notices.extend(_digest_notices(config, campaign))
    return plan


def _qualifies(config: Config, alert: Alert) -> bool:
    return bool(alert.compromised_users) or severity_at_least(
        alert.severity, config.notify.min_severity
    )


def _organisations_of(config: Config, alert: Alert) -> list[str]:
    org = config.organisation_of_tenant(alert.tenant)
    found = {org.id} if org else set()
    for account in [*alert.users, *alert.compromised_users]:
        person = config.person_by_account(account)
        if person is not None and (org is None or person.organisation == org.id):
            found.add(person.organisation)
    return sorted(found)


def _group(alerts: list[Alert]) -> list[list[Alert]]:
    """Union of alerts that share a campaign id, or (without one) an account and a time."""
    parent = list(range(len(alerts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(alerts):
        for j in range(i):
            b = alerts[j]
            if (a.campaign and a.campaign == b.campaign) or (
                not (a.campaign and b.campaign) and _same_people_same_time(a, b)
            ):
                parent[find(i)] = find(j)
    groups: dict[int, list[Alert]] = {}
    for i, alert in enumerate(alerts):
        groups.setdefault(find(i), []).append(alert)
    return sorted(groups.values(), key=lambda g: min((_when(a.first_seen), a.id) for a in g))


def _same_people_same_time(a: Alert, b: Alert) -> bool:
    if not (set(a.users) | set(a.compromised_users)) & (set(b.users) | set(b.compromised_users)):
        return False
    return (
        _when(a.first_seen) <= _when(b.last_seen) + _SLACK
        and _when(b.first_seen) <= _when(a.last_seen) + _SLACK
    )


def _campaign(config: Config, org: Organisation, alerts: list[Alert]) -> Campaign:
    alerts = sorted(alerts, key=lambda a: (_when(a.first_seen), a.id))
    ids = sorted({a.campaign for a in alerts if a.campaign})
    key = ids[0] if ids else alerts[0].id
    accounts = sorted({u.lower() for a in alerts for u in [*a.users, *a.compromised_users]})
    compromised = sorted({u.lower() for a in alerts for u in a.compromised_users})
    people: dict[str, tuple[Person, list[str], bool]] = {}
    unknown: list[str] = []
    for account in accounts:
        person = config.person_by_account(account)
        if person is None or person.organisation != org.id:
            unknown.append(account)
            continue
        _, mine, hit = people.get(person_id(person), (person, [], False))
        people[person_id(person)] = (person, [*mine, account], hit or account in compromised)
    actors = [a.actor for a in alerts if a.actor is not None]
    best = max(actors, key=lambda x: x.confidence) if actors else None
    # Reasons may quote what the logs hold (user agents, names): made printable like the rest.
    actor = (
        {
            "name": printable(best.name, 100),
            "confidence": best.confidence,
            "reasons": [printable(r, 300) for r in best.reasons[:10]],
        }
        if best
        else None
    )
    return Campaign(
        key=key,
        organisation=org,
        alerts=alerts,
        start=min(_when(a.first_seen) for a in alerts),
        end=max(_when(a.last_seen) for a in alerts),
        severity=max((a.severity for a in alerts), key=SEVERITIES.index),
        accounts=accounts,
        compromised_accounts=compromised,
        people=sorted(people.values(), key=lambda p: (not p[2], p[0].name)),
        unknown_accounts=unknown,
        actor=actor,
        src_ips=sorted({ip for a in alerts for ip in a.src_ips}, key=_address_order),
        countries=sorted({c for a in alerts for c in a.countries}),
        techniques=sorted({t for a in alerts for t in a.techniques}),
        rules=sorted({(a.rule, printable(a.title, 200)) for a in alerts}),
        attempts=sum(a.evidence_count for a in alerts),
        decisions=_decisions(config, alerts),
    )


def _decisions(config: Config, alerts: list[Alert]) -> list[Decision]:
    enforced = config.response.mode == "enforce"
    found: dict[tuple[str, str, str], Decision] = {}
    for alert in alerts:
        for rule in config.response.policy:
            if (
                ("*" in rule.rules or alert.rule in rule.rules)
                and severity_at_least(alert.severity, rule.min_severity)
                and alert.confidence >= rule.min_confidence
            ):
                found[(rule.action, rule.scope, rule.duration)] = Decision(
                    rule.action, rule.scope, rule.duration, enforced
                )
    return list(found.values())


def _person_notices(config: Config, campaign: Campaign, plan: Plan) -> list[Notice]:
    org = campaign.organisation
    notices: list[Notice] = []
    contact = org.security_contacts[0] if org.security_contacts else None
    for person, accounts, compromised in campaign.people:
        kind: Kind = "compromised" if compromised else "targeted"
        language = resolve_language(person.language, *org.languages)
        work = [a for a in accounts if _is_address(a)] or [
            a for a in person.accounts if _is_address(a)
        ]
        personal = [a for a in person.personal if _is_address(a)]
        # The urgent message goes out of band when it can: the attacker may read the mailbox.
        destinations = (personal or work) if kind == "compromised" else (work or personal)
        if not destinations:
            plan.people_unreachable += 1
            continue
        context = {
            "name": person.name,
            "accounts": accounts,
            "organisation": org.name,
            "start": campaign.start,
            "end": campaign.end,
            "state_backed": campaign.actor is not None,
            "contact": contact,
            "contact_informed": bool(org.security_contacts),
        }
        for destination in destinations:
            notices.append(
                Notice(
                    key=notice_key(
                        "person", org.id, person_id(person), campaign.key, kind, destination
                    ),
                    kind=kind,
                    language=language,
                    channel="email",
                    destination=destination,
                    domain=destination.rpartition("@")[2],
                    organisation=org.id,
                    person=person_id(person),
                    campaign=campaign.key,
                    severity=campaign.severity,
                    alert_ids=tuple(a.id for a in campaign.alerts),
                    context=context,
                )
            )
    return notices


def _digest_notices(config: Config, campaign: Campaign) -> list[Notice]:
    org = campaign.organisation
    language = resolve_language(*org.languages)
    compromised_people = sorted(person_id(p) for p, _, hit in campaign.people if hit)
    revision = hashlib.sha256("\n".join(compromised_people).encode()).hexdigest()[:16]
    statuses = []
    for person, accounts, hit in campaign.people:
        reachable = any(_is_address(a) for a in [*person.accounts, *person.personal])
        statuses.append(
            PersonStatus(
                name=person.name,
                accounts=tuple(accounts),
                compromised=hit,
                language=resolve_language(person.language, *org.languages),
                reached=reachable,
            )
        )
    context = {
        "organisation": org.name,
        "organisation_id": org.id,
        "campaign": campaign.key,
        "severity": campaign.severity,
        "start": campaign.start,
        "end": campaign.end,
        "actor": campaign.actor,
        "rules": campaign.rules,
        "techniques": campaign.techniques,
        "attempts": campaign.attempts,
        "src_ips": [printable(ip, 64) for ip in campaign.src_ips[:MAX_ADDRESSES_SHOWN]],
        "ip_count": len(campaign.src_ips),
        "countries": campaign.countries,
        "people": statuses,
        "account_count": len(campaign.accounts),
        "compromised_count": len(campaign.compromised_accounts),
        # Accounts from the logs that match no one: attacker-chosen text, made printable.
        "unknown_accounts": [printable(a, 120) for a in campaign.unknown_accounts[:100]],
        "decisions": campaign.decisions,
        "alert_ids": [a.id for a in campaign.alerts],
        "contact": org.security_contacts[0] if org.security_contacts else None,
    }
    alert_ids = tuple(a.id for a in campaign.alerts)

    def digest(channel: Channel, destination: str, domain: str) -> Notice:
        return Notice(
            key=notice_key("digest", org.id, campaign.key, channel, destination, revision),
            kind="digest",
            language=language,
            channel=channel,
            destination=destination,
            domain=domain,
            organisation=org.id,
            person=None,
            campaign=campaign.key,
            severity=campaign.severity,
            alert_ids=alert_ids,
            context=context,
            compromised=tuple(compromised_people),
        )

    notices = [digest("email", c, c.rpartition("@")[2]) for c in org.security_contacts]
    notices += [digest("webhook", h.name, _host(h.url)) for h in config.channels.webhooks]
    return notices


def _address_order(value: str) -> tuple[int, int, str]:
    """IPv4 before IPv6, each in numeric order (185.220.101.4 before 185.220.101.17)."""
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return (9, 0, value)
    return (ip.version, int(ip), value)


def _is_address(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain and " " not in value)


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].rpartition("@")[2].lower()


def _when(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
