"""Score alerts (contract 2) against what a simulation really contains (``truth.json``).

The same arithmetic scores tocsin's alerts and the per-address baselines' alerts, so a
benchmark compares like with like. Definitions, for one run (one truth, one list of alerts):

Campaign window
    ``[campaign.window.start - slack, campaign.window.end + slack]``, slack = 1 day by
    default (an alert raised on the evening after the last attempt still counts).

Overlapping alert
    An alert whose ``[first_seen, last_seen]`` intersects the campaign window *and* that
    shares an attacker address with the campaign (``src_ips`` ∩ ``attacker_ips``) or a
    targeted account (``users`` ∪ ``compromised_users`` ∩ ``target_users``). Any severity.

Detecting alert
    An overlapping alert with severity ≥ ``medium`` (a ``low`` alert is a hint, not a
    detection).

Detected
    At least one detecting alert.

Targeted-user recall
    |target_users ∩ ⋃ (users ∪ compromised_users) of the detecting alerts| / |target_users|.

Attacker-IP recall
    |attacker_ips ∩ ⋃ src_ips of the detecting alerts| / |attacker_ips|.

Compromised-user recall
    |truth compromised_users ∩ ⋃ compromised_users of the detecting alerts| /
    |truth compromised_users|. Naming a compromised account only as *targeted* does not count:
    the alert must say it is compromised.

Alerts per campaign
    The number of overlapping alerts (any severity) — what an analyst has to read to see the
    campaign: "one campaign, a handful of alerts" rather than "one alert per address".

False-positive users
    Distinct accounts named by *any* alert (any severity, ``users`` ∪ ``compromised_users``)
    that the truth does not explain there: an account is explained in an alert when it is a
    target (or compromised account) of a campaign whose window (± slack) the alert overlaps,
    or a user of a trap whose window (± slack) the alert overlaps. So a targeted or trap
    account flagged days away from its campaign or trap, for something else, is a false
    positive too. The rate is per 10,000 benign user-days:
    ``fp_users × 10,000 / benign.user_days`` ("FP users per 10,000 benign users per day").

Trap alerts
    Per trap: the alerts whose ``[first_seen, last_seen]`` intersects the trap's window
    (no slack) and that name one of the trap's users or addresses *that no campaign the alert
    overlaps explains* (not a target, compromised account or attacker address of a campaign
    whose window ± slack the alert overlaps); and how many of those are ``high`` or
    ``critical``. A spray alert naming a trap user who is also a spray target is about the
    spray, not the trap; one naming a trap user the spray never targeted has swept the trap in.

Aggregating over campaigns (per kind, and over runs), recalls are pooled (micro-averaged):
the sum of accounts (addresses) found over the sum of accounts (addresses) in truth, so a
large campaign weighs more than a small one. A campaign with nothing to find (no compromised
account, say) adds nothing to that recall; a recall with nothing to find at all is ``None``.
The median alerts per campaign is taken over *detected* campaigns (a missed campaign has zero
alerts, which would flatter a detector that misses). False-positive rates over several runs
pool the false-positive users and the benign user-days of the runs.

Users and addresses are compared lower-cased; alerts missing a required field or carrying an
unknown severity raise ``ValueError`` (a broken alert must not score as a quiet detector).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tocsin.events import SEVERITIES, severity_rank
from tocsin.simulate.truth import Campaign, Trap, Truth, Window

SLACK = timedelta(days=1)
MIN_SEVERITY = "medium"
HIGH = "high"
PER_USER_DAYS = 10_000.0

_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_time(value: str) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime (``Z``, offsets, >6 fraction digits)."""
    text = _FRACTION.sub(r"\1", value.strip())
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ScoredAlert:
    """The parts of an alert that scoring reads."""

    id: str
    rule: str
    severity: str
    first_seen: datetime
    last_seen: datetime
    users: frozenset[str]  # users ∪ compromised_users
    compromised: frozenset[str]
    ips: frozenset[str]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoredAlert:
        ident = str(data.get("id") or data.get("rule") or "?")
        try:
            severity = str(data["severity"])
            if severity not in SEVERITIES:
                raise ValueError(f"unknown severity {severity!r}")
            first, last = parse_time(data["first_seen"]), parse_time(data["last_seen"])
            compromised = _lowered(data.get("compromised_users"))
            return cls(
                id=ident,
                rule=str(data["rule"]),
                severity=severity,
                first_seen=min(first, last),
                last_seen=max(first, last),
                users=_lowered(data["users"]) | compromised,
                compromised=compromised,
                ips=_lowered(data["src_ips"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"alert {ident}: cannot score it ({type(exc).__name__}: {exc})"
            ) from exc

    @property
    def detecting(self) -> bool:
        return severity_rank(self.severity) >= severity_rank(MIN_SEVERITY)

    @property
    def high(self) -> bool:
        return severity_rank(self.severity) >= severity_rank(HIGH)

    def during(self, start: datetime, end: datetime) -> bool:
        return self.first_seen <= end and self.last_seen >= start


@dataclass(slots=True)
class CampaignScore:
    id: str
    kind: str
    alerts: int  # overlapping, any severity
    detecting_alerts: int  # overlapping, severity >= medium
    targets: int
    targets_found: int
    attacker_ips: int
    ips_found: int
    compromised: int
    compromised_found: int
    rules: list[str] = field(default_factory=list)  # rules of the detecting alerts

    @property
    def detected(self) -> bool:
        return self.detecting_alerts > 0

    @property
    def target_recall(self) -> float | None:
        return _ratio(self.targets_found, self.targets)

    @property
    def ip_recall(self) -> float | None:
        return _ratio(self.ips_found, self.attacker_ips)

    @property
    def compromised_recall(self) -> float | None:
        return _ratio(self.compromised_found, self.compromised)


@dataclass(slots=True)
class TrapScore:
    kind: str
    tenant: str
    alerts: int
    high_alerts: int  # high or critical
    rules: list[str] = field(default_factory=list)  # rules of the alerts touching the trap


@dataclass(slots=True)
class RunScore:
    campaigns: list[CampaignScore]
    traps: list[TrapScore]
    fp_users: list[str]
    benign_user_days: float
    alerts: int

    @property
    def fp_rate(self) -> float | None:
        """False-positive users per 10,000 benign user-days."""
        return fp_rate([self])

    @property
    def trap_alerts(self) -> int:
        return sum(t.alerts for t in self.traps)

    @property
    def trap_high_alerts(self) -> int:
        return sum(t.high_alerts for t in self.traps)


def score(
    truth: Truth, alerts: Iterable[Mapping[str, Any]], *, slack: timedelta = SLACK
) -> RunScore:
    """Score one run's alerts against its truth (see the module docstring for definitions)."""
    parsed = [ScoredAlert.from_dict(a) for a in alerts]
    campaigns = [_score_campaign(c, parsed, slack) for c in truth.campaigns]
    spans = [_CampaignSpan.of(c, slack) for c in truth.campaigns]
    explained = [_explained_by_campaigns(a, spans) for a in parsed]
    traps = [_score_trap(t, parsed, explained) for t in truth.traps]
    return RunScore(
        campaigns=campaigns,
        traps=traps,
        fp_users=_false_positive_users(truth, parsed, slack),
        benign_user_days=float(truth.benign.user_days),
        alerts=len(parsed),
    )


def _false_positive_users(
    truth: Truth, alerts: Sequence[ScoredAlert], slack: timedelta
) -> list[str]:
    """Accounts named by an alert that no campaign or trap overlapping it explains."""
    explained: dict[str, list[tuple[datetime, datetime]]] = {}
    labelled = [(_lowered(c.target_users) | _lowered(c.compromised_users), c.window)
                for c in truth.campaigns]  # fmt: skip
    labelled += [(_lowered(t.users), t.window) for t in truth.traps]
    for users, window in labelled:
        start, end = _window(window)
        for user in users:
            explained.setdefault(user, []).append((start - slack, end + slack))
    false: set[str] = set()
    for a in alerts:
        for user in a.users - false:
            if not any(a.during(start, end) for start, end in explained.get(user, ())):
                false.add(user)
    return sorted(false)


def _score_campaign(
    campaign: Campaign, alerts: Sequence[ScoredAlert], slack: timedelta
) -> CampaignScore:
    start, end = _window(campaign.window)
    targets = _lowered(campaign.target_users) | _lowered(campaign.compromised_users)
    ips = _lowered(campaign.attacker_ips)
    compromised = _lowered(campaign.compromised_users)
    overlapping = [
        a
        for a in alerts
        if a.during(start - slack, end + slack) and (a.ips & ips or a.users & targets)
    ]
    detecting = [a for a in overlapping if a.detecting]
    seen_users: set[str] = set()
    seen_ips: set[str] = set()
    seen_compromised: set[str] = set()
    for a in detecting:
        seen_users |= a.users
        seen_ips |= a.ips
        seen_compromised |= a.compromised
    return CampaignScore(
        id=campaign.id,
        kind=campaign.kind,
        alerts=len(overlapping),
        detecting_alerts=len(detecting),
        targets=len(targets),
        targets_found=len(targets & seen_users),
        attacker_ips=len(ips),
        ips_found=len(ips & seen_ips),
        compromised=len(compromised),
        compromised_found=len(compromised & seen_compromised),
        rules=sorted({a.rule for a in detecting}),
    )


@dataclass(frozen=True, slots=True)
class _CampaignSpan:
    start: datetime  # window start - slack
    end: datetime  # window end + slack
    users: frozenset[str]  # targets and compromised accounts
    ips: frozenset[str]

    @classmethod
    def of(cls, campaign: Campaign, slack: timedelta) -> _CampaignSpan:
        start, end = _window(campaign.window)
        users = _lowered(campaign.target_users) | _lowered(campaign.compromised_users)
        return cls(start - slack, end + slack, users, _lowered(campaign.attacker_ips))


def _explained_by_campaigns(
    alert: ScoredAlert, spans: Sequence[_CampaignSpan]
) -> tuple[frozenset[str], frozenset[str]]:
    """The accounts and addresses an alert names that a campaign it overlaps accounts for."""
    users: set[str] = set()
    ips: set[str] = set()
    for span in spans:
        if alert.during(span.start, span.end):
            users |= alert.users & span.users
            ips |= alert.ips & span.ips
    return frozenset(users), frozenset(ips)


def _score_trap(
    trap: Trap,
    alerts: Sequence[ScoredAlert],
    explained: Sequence[tuple[frozenset[str], frozenset[str]]],
) -> TrapScore:
    start, end = _window(trap.window)
    users, ips = _lowered(trap.users), _lowered(trap.ips)
    touching = [
        a
        for a, (by_users, by_ips) in zip(alerts, explained, strict=True)
        if a.during(start, end) and ((a.users - by_users) & users or (a.ips - by_ips) & ips)
    ]
    return TrapScore(
        kind=trap.kind,
        tenant=trap.tenant,
        alerts=len(touching),
        high_alerts=sum(1 for a in touching if a.high),
        rules=sorted({a.rule for a in touching}),
    )


@dataclass(slots=True)
class KindSummary:
    """Campaigns of one kind, pooled over runs."""

    kind: str
    campaigns: int = 0
    detected: int = 0
    targets: int = 0
    targets_found: int = 0
    attacker_ips: int = 0
    ips_found: int = 0
    compromised: int = 0
    compromised_found: int = 0
    alerts_per_detected: list[int] = field(default_factory=list)

    def add(self, c: CampaignScore) -> None:
        self.campaigns += 1
        self.detected += int(c.detected)
        self.targets += c.targets
        self.targets_found += c.targets_found
        self.attacker_ips += c.attacker_ips
        self.ips_found += c.ips_found
        self.compromised += c.compromised
        self.compromised_found += c.compromised_found
        if c.detected:
            self.alerts_per_detected.append(c.alerts)

    @property
    def target_recall(self) -> float | None:
        return _ratio(self.targets_found, self.targets)

    @property
    def ip_recall(self) -> float | None:
        return _ratio(self.ips_found, self.attacker_ips)

    @property
    def compromised_recall(self) -> float | None:
        return _ratio(self.compromised_found, self.compromised)

    @property
    def median_alerts(self) -> float | None:
        if not self.alerts_per_detected:
            return None
        return float(statistics.median(self.alerts_per_detected))


def summarize(campaigns: Iterable[CampaignScore]) -> dict[str, KindSummary]:
    """Pool campaign scores per kind (and under ``"all"``, every campaign of every kind)."""
    out: dict[str, KindSummary] = {}
    total = KindSummary("all")
    for c in campaigns:
        out.setdefault(c.kind, KindSummary(c.kind)).add(c)
        total.add(c)
    if total.campaigns:
        out["all"] = total
    return out


def fp_rate(runs: Iterable[RunScore]) -> float | None:
    """Pooled false-positive users per 10,000 benign user-days (None without benign days)."""
    users = 0
    days = 0.0
    for run in runs:
        users += len(run.fp_users)
        days += run.benign_user_days
    if days <= 0:
        return None if users else 0.0
    return users * PER_USER_DAYS / days


def _window(window: Window) -> tuple[datetime, datetime]:
    start, end = parse_time(window.start), parse_time(window.end)
    return min(start, end), max(start, end)


def _lowered(values: Any) -> frozenset[str]:
    if values is None:
        return frozenset()
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise TypeError(f"expected a list, got {type(values).__name__}")
    return frozenset(str(v).strip().lower() for v in values if v is not None and str(v).strip())


def _ratio(found: int, total: int) -> float | None:
    return found / total if total else None
