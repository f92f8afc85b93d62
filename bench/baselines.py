"""The per-address detectors tocsin is measured against, re-implemented over the same lake.

Each baseline reads the lake's ``events`` view and returns alerts as dicts in the shape of
contract 2 (``rule``, ``severity``, ``users``, ``compromised_users``, ``src_ips``,
``first_seen``, ``last_seen``, ``tenant``…), so ``tocsin.simulate.score`` scores them exactly
as it scores tocsin. Each is written from its project's published logic and defaults, not
from its code:

* ``fail2ban`` — the ``[DEFAULT]`` section of fail2ban's ``config/jail.conf``
  (https://github.com/fail2ban/fail2ban/blob/master/config/jail.conf): "A host is banned if it
  has generated ``maxretry`` during the last ``findtime`` seconds"; ``maxretry = 5``,
  ``findtime = 10m``, ``bantime = 10m``.
* ``crowdsec`` — the two scenarios of ``scenarios/crowdsecurity/ssh-bf.yaml`` in
  https://github.com/crowdsecurity/hub: ``crowdsecurity/ssh-bf`` (leaky bucket per source
  address, ``capacity: 5``, ``leakspeed: 10s``, ``blackhole: 1m``) and
  ``crowdsecurity/ssh-bf_user-enum`` (the same with ``distinct: evt.Meta.target_user``), with
  the bucket semantics of CrowdSec's ``pkg/leakybucket`` (a token bucket per key, overflow
  kills the bucket, a blackhole per key swallows repeat overflows).
* ``sentinel`` — Microsoft Sentinel's analytic rule "Password spray attack against Azure AD
  application" (now "… against Microsoft Entra ID application", id
  48607a29-a26a-4abf-8078-a06dbdd174a4, ``Solutions/Microsoft Entra ID/Analytic
  Rules/SigninPasswordSpray.yaml`` in https://github.com/Azure/Azure-Sentinel): failures
  (ResultType 50126 or 50053) from one address, distinct accounts per 20-minute bin
  ``>= 5``.

Where the originals are ambiguous for sign-in logs, or cap what an alert names, the choice
made here is the one *generous to the baseline* (it can only raise its recall), and is said
in each docstring. Everything runs on event time, over the whole lake, as one shared
deployment (an MSSP or ISAC running the tool for every organisation): an address is one key
across tenants, which sees more than one instance per organisation would.

The counting, windowing and pre-filtering is DuckDB SQL over ``events``. The ban and bucket
state machines are sequential by nature (a ban or an overflow resets what comes after), so
they replay in Python over the failures SQL selected — only from addresses that SQL proved
*can* trigger (enough failures inside one window), in event-time order.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

import duckdb

from tocsin.store.duck import connect
from tocsin.store.lake import Lake, create_views

Alert = dict[str, Any]
Row = tuple[str, int, str | None, str | None]  # src_ip, epoch microseconds, user, tenant

_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# A failed authentication, as a log-watching tool sees one: the sign-in was refused for a
# wrong or unknown credential, a locked or disabled account, a refused second factor, or the
# IdP's own address block. (sshd's fail2ban filter and CrowdSec's sshd parser count the same
# family: failed password, invalid user, failed keyboard-interactive/PAM, refused connect.)
# Conditional Access blocks and expired sessions are not attempts to guess anything.
AUTH_FAILURE = """event_type IN ('auth', 'mfa')
    AND outcome IN ('failure', 'blocked')
    AND reason IN ('bad_password', 'unknown_user', 'locked', 'disabled',
                   'mfa_denied', 'mfa_timeout', 'blocked_ip')"""

# Sentinel: `ResultType in (50126, 50053)` — invalid username or password, account locked /
# malicious address blocked. Written on the normalized reason too, so the same rule reads the
# other sources (and Entra's other unknown-user codes: generous to the baseline).
SENTINEL_FAILURE = """outcome IN ('failure', 'blocked')
    AND (reason IN ('bad_password', 'unknown_user', 'locked')
         OR reason_code IN ('50126', '50053'))"""
# Sentinel's successCodes: the sign-in went through or the password was right.
_SENTINEL_SUCCESS_CODES = (
    "0", "50055", "50057", "50155", "50105", "50133", "50005", "50076", "50079", "50173",
    "50158", "50072", "50074", "53003", "53000", "53001", "50129",
)  # fmt: skip
SENTINEL_SUCCESS = "(outcome = 'success' OR reason_code IN ({}))".format(
    ", ".join(f"'{c}'" for c in _SENTINEL_SUCCESS_CODES)
)


def open_lake(data_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the ``events`` view over a tocsin data directory."""
    con = connect()
    create_views(con, Lake(data_dir))
    return con


# --------------------------------------------------------------------------------------------
# fail2ban


@dataclass(frozen=True, slots=True)
class Fail2banJail:
    """fail2ban's jail.conf ``[DEFAULT]``: maxretry 5, findtime 10m, bantime 10m."""

    maxretry: int = 5
    findtime: timedelta = timedelta(minutes=10)
    bantime: timedelta = timedelta(minutes=10)


def fail2ban(con: duckdb.DuckDBPyConnection, jail: Fail2banJail | None = None) -> list[Alert]:
    """One alert per ban. Per source address, on event time:

    * a failure at ``t`` counts with the failures at ``[t - findtime, t]`` (both ends
      included) that are still on the address's ticket;
    * when the ticket holds ``maxretry`` failures the address is banned until
      ``t + bantime`` and the ticket is cleared (fail2ban's ``FailManager.toBan`` removes it);
    * the cloud IdP keeps logging the banned address's attempts (fail2ban cannot firewall
      Entra), so they land on the ban's alert and on a new ticket; a ticket that fills during a
      ban prolongs it to ``t + bantime`` (``BanManager.addBanTicket``), without a new ban;
    * the ban ends at ``ban_time + bantime`` (an attempt exactly then starts afresh).

    The window is the documented one ("maxretry during the last findtime"). fail2ban ≥ 0.10
    estimates the count once the first failure leaves the window (``FailTicket.adjustTime``
    rescales it by the observed rate); the exact count is what its configuration promises.
    """
    jail = jail or Fail2banJail()
    findtime, bantime = _us(jail.findtime), _us(jail.bantime)
    rows = _failures(con, AUTH_FAILURE, at_least=jail.maxretry, within_us=findtime)
    alerts: list[Alert] = []
    for ip, events in _by_ip(rows):
        for episode in _fail2ban_replay(events, jail.maxretry, findtime, bantime):
            alerts.append(
                _alert("fail2ban", "fail2ban ban (5 failures in 10 minutes)", ip, episode)
            )
    return alerts


def _fail2ban_replay(
    events: Iterable[Row], maxretry: int, findtime_us: int, bantime_us: int
) -> Iterator[list[Row]]:
    ticket: deque[Row] = deque()
    ban: list[Row] | None = None
    ban_until = 0
    for row in events:
        t = row[1]
        if ban is not None and t >= ban_until:
            yield ban
            ban = None
        while ticket and ticket[0][1] < t - findtime_us:
            ticket.popleft()
        ticket.append(row)
        if ban is not None:
            ban.append(row)
        if len(ticket) >= maxretry:
            if ban is None:
                ban = list(ticket)
            ban_until = t + bantime_us
            ticket.clear()
    if ban is not None:
        yield ban


# --------------------------------------------------------------------------------------------
# CrowdSec


@dataclass(frozen=True, slots=True)
class LeakyScenario:
    """A CrowdSec ``type: leaky`` scenario grouped by source address."""

    name: str
    capacity: int = 5
    leakspeed: timedelta = timedelta(seconds=10)
    blackhole: timedelta = timedelta(minutes=1)
    distinct_user: bool = False


SSH_BF = LeakyScenario("crowdsecurity/ssh-bf")
SSH_BF_USER_ENUM = LeakyScenario("crowdsecurity/ssh-bf_user-enum", distinct_user=True)


def crowdsec(
    con: duckdb.DuckDBPyConnection,
    scenarios: Iterable[LeakyScenario] = (SSH_BF, SSH_BF_USER_ENUM),
) -> list[Alert]:
    """One alert per (non-blackholed) overflow of each scenario; see ``leaky_replay``."""
    alerts: list[Alert] = []
    for scenario in scenarios:
        leak = _us(scenario.leakspeed)
        # An overflow needs capacity + 1 pours less than capacity × leakspeed apart (the
        # bucket drains one pour per leakspeed): addresses that never do cannot overflow.
        span = scenario.capacity * leak - 1
        predicate = AUTH_FAILURE + (' AND "user" IS NOT NULL' if scenario.distinct_user else "")
        rows = _failures(con, predicate, at_least=scenario.capacity + 1, within_us=span)
        title = f"CrowdSec {scenario.name} overflow"
        for ip, events in _by_ip(rows):
            for episode in leaky_replay(events, scenario):
                alerts.append(_alert(scenario.name, title, ip, episode))
    return alerts


@dataclass(slots=True)
class _Bucket:
    level_us: int  # content × leakspeed: each pour adds one leakspeed, time drains it
    last_us: int
    last_pour_us: int
    seen: set[str | None] = field(default_factory=set)
    poured: list[Row] = field(default_factory=list)


def leaky_replay(events: Iterable[Row], scenario: LeakyScenario) -> Iterator[list[Row]]:
    """Replay one key's events through a CrowdSec leaky bucket; yield each alerting overflow.

    CrowdSec's bucket is a token bucket (``rate.NewLimiter(rate.Every(leakspeed),
    capacity)``), full at creation: an event is poured if a whole token is left after the
    refill, else the bucket overflows with that event as its last and dies. Here the same thing
    in exact integer microseconds: the content drains one pour per ``leakspeed``; an event
    pours when the drained content is at most ``capacity - 1`` pours (so the
    ``capacity + 1``-th event of a burst overflows) and overflows otherwise.

    * A bucket dies unused after ``(capacity + 1) × leakspeed`` without a pour (its
      ``durationTicker``); the next event starts a new, empty one.
    * ``distinct``: an event whose user this bucket already saw is discarded before the pour
      (``Uniq.OnBucketPour``): it neither fills the bucket nor keeps it alive.
    * ``blackhole``: an overflow at ``t`` alerts unless an earlier *alerting* overflow of the
      same key set a blackhole that expires after ``t`` (expiry = that overflow +
      ``blackhole``); a swallowed overflow does not extend it (``Blackhole.OnBucketOverflow``).

    The alert names every event poured into the bucket (CrowdSec keeps the last ``capacity``
    in the alert: generous to the baseline).
    """
    leak = _us(scenario.leakspeed)
    full = (scenario.capacity - 1) * leak
    lifetime = (scenario.capacity + 1) * leak
    blackhole = _us(scenario.blackhole)
    bucket: _Bucket | None = None
    hidden_until: int | None = None
    for row in events:
        t, user = row[1], row[2]
        if bucket is not None and t - bucket.last_pour_us >= lifetime:
            bucket = None
        if bucket is None:
            bucket = _Bucket(level_us=0, last_us=t, last_pour_us=t)
        if scenario.distinct_user:
            if user in bucket.seen:
                continue
            bucket.seen.add(user)
        bucket.level_us = max(0, bucket.level_us - (t - bucket.last_us))
        bucket.last_us = t
        bucket.last_pour_us = t
        bucket.poured.append(row)
        if bucket.level_us <= full:
            bucket.level_us += leak
            continue
        if hidden_until is None or t >= hidden_until:
            hidden_until = t + blackhole
            yield bucket.poured
        bucket = None


# --------------------------------------------------------------------------------------------
# Microsoft Sentinel

_SENTINEL_SQL = f"""
WITH fails AS (
    SELECT src_ip, coalesce(app, '') AS app, coalesce(interactive, true) AS interactive,
           "user", tenant, time
    FROM events
    WHERE event_type = 'auth' AND src_ip IS NOT NULL AND "user" IS NOT NULL
      AND {SENTINEL_FAILURE}
),
window_breaches AS (
    SELECT src_ip, interactive, count(*) AS breaches
    FROM (
        SELECT src_ip, app, interactive,
               time_bucket(to_minutes($window_minutes), time,
                           TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bin
        FROM fails
        GROUP BY ALL
        HAVING count(DISTINCT "user") >= $threshold
    )
    GROUP BY ALL
),
details AS (
    SELECT src_ip, app, interactive,
           epoch_us(min(time)) AS first_us, epoch_us(max(time)) AS last_us,
           count(*) AS failures,
           list_sort(list(DISTINCT "user")) AS users,
           list_sort(list(DISTINCT tenant) FILTER (WHERE tenant IS NOT NULL)) AS tenants
    FROM fails
    GROUP BY ALL
),
principals AS (
    SELECT src_ip, coalesce(interactive, true) AS interactive,
           count(DISTINCT "user") FILTER (WHERE {SENTINEL_SUCCESS}) AS ok_users,
           count(DISTINCT "user") FILTER (WHERE {SENTINEL_FAILURE}) AS failed_users
    FROM events
    WHERE event_type = 'auth' AND src_ip IS NOT NULL AND "user" IS NOT NULL
      AND ({SENTINEL_SUCCESS} OR ({SENTINEL_FAILURE}))
    GROUP BY ALL
)
SELECT d.src_ip, d.app, d.interactive, d.first_us, d.last_us, d.failures, d.users,
       d.tenants, b.breaches
FROM details d
JOIN window_breaches b USING (src_ip, interactive)
JOIN principals p USING (src_ip, interactive)
WHERE p.failed_users > p.ok_users
ORDER BY d.first_us, d.src_ip, d.app, d.interactive
"""


def sentinel(
    con: duckdb.DuckDBPyConnection, *, window_minutes: int = 20, threshold: int = 5
) -> list[Alert]:
    """Sentinel's password-spray analytic, one alert per result row of its query.

    Per sign-in table (interactive / non-interactive) the query keeps the addresses where, in
    some ``bin(TimeGenerated, 20m)`` (fixed 20-minute bins from the epoch) for one
    application, ``dcount(UserPrincipalName) >= 5`` over failures with ResultType 50126 or
    50053; it then reports, per address and application, *all* failures from that address
    (first, last, accounts), and drops addresses where no more accounts failed than succeeded
    (Sentinel's ``successCodes``) — its guard against busy shared addresses.

    Failure codes: 50126 and 50053. The rule's current version also lists 50055 (expired
    password), which proves the password was right and sits in its success codes as well;
    it is left out here, as in the rule's earlier versions.

    The scheduled rule looks back 3 days once a day; here the query runs once over the whole
    lake, so each address is reported once rather than on up to three consecutive runs. The
    real rule names at most 20 accounts per row (``make_set(…, 20)``); here all of them.
    """
    rows = con.execute(
        _SENTINEL_SQL, {"window_minutes": window_minutes, "threshold": threshold}
    ).fetchall()
    alerts: list[Alert] = []
    for ip, app, interactive, first_us, last_us, failures, users, tenants, breaches in rows:
        table = "SigninLogs" if interactive else "AADNonInteractiveUserSignInLogs"
        key = f"{ip}|{app}|{table}"
        alerts.append(
            {
                "schema_version": 1,
                "id": _id("sentinel", key),
                "rule": "sentinel/password-spray",
                "title": "Password spray attack against Microsoft Entra ID application",
                "severity": "medium",
                "confidence": None,
                "first_seen": _iso(first_us),
                "last_seen": _iso(last_us),
                "tenant": tenants[0] if len(tenants) == 1 else None,
                "users": list(users),
                "compromised_users": [],
                "src_ips": [ip],
                "evidence_count": int(failures),
                "metrics": {"app": app, "table": table, "window_breaches": int(breaches)},
            }
        )
    return alerts


# --------------------------------------------------------------------------------------------
# All of them

BASELINES: dict[str, Callable[[duckdb.DuckDBPyConnection], list[Alert]]] = {
    "fail2ban": fail2ban,
    "crowdsec": crowdsec,
    "sentinel": sentinel,
}


def run_all(con: duckdb.DuckDBPyConnection) -> dict[str, list[Alert]]:
    return {name: detect(con) for name, detect in BASELINES.items()}


# --------------------------------------------------------------------------------------------
# helpers


def _failures(
    con: duckdb.DuckDBPyConnection, predicate: str, *, at_least: int, within_us: int
) -> list[Row]:
    """Failures matching ``predicate`` from addresses with ``at_least`` of them within
    ``within_us`` microseconds (both ends included), ordered by address and event time."""
    sql = f"""
    WITH fails AS (
        SELECT src_ip, time, event_id, "user", tenant FROM events
        WHERE src_ip IS NOT NULL AND {predicate}
    ),
    counted AS (
        SELECT src_ip, count(*) OVER (
            PARTITION BY src_ip ORDER BY time
            RANGE BETWEEN to_microseconds($within_us::BIGINT) PRECEDING AND CURRENT ROW) AS n
        FROM fails
    ),
    able AS (SELECT DISTINCT src_ip FROM counted WHERE n >= $at_least)
    SELECT f.src_ip, epoch_us(f.time), f."user", f.tenant
    FROM fails f JOIN able USING (src_ip)
    ORDER BY f.src_ip, f.time, f.event_id
    """
    rows = con.execute(sql, {"within_us": within_us, "at_least": at_least}).fetchall()
    return [(str(ip), int(t), user, tenant) for ip, t, user, tenant in rows]


def _by_ip(rows: list[Row]) -> Iterator[tuple[str, Iterator[Row]]]:
    yield from groupby(rows, key=itemgetter(0))


def _alert(rule: str, title: str, ip: str, episode: list[Row]) -> Alert:
    first, last = episode[0][1], episode[-1][1]
    users = sorted({u for _, _, u, _ in episode if u})
    tenants = sorted({t for _, _, _, t in episode if t})
    return {
        "schema_version": 1,
        "id": _id(rule, f"{ip}|{first}"),
        "rule": rule,
        "title": title,
        "severity": "medium",
        "confidence": None,
        "first_seen": _iso(first),
        "last_seen": _iso(last),
        "tenant": tenants[0] if len(tenants) == 1 else None,
        "users": users,
        "compromised_users": [],
        "src_ips": [ip],
        "evidence_count": len(episode),
        "metrics": {},
    }


def _id(rule: str, key: str) -> str:
    return "bl-" + hashlib.sha256(f"{rule}\x1f{key}".encode()).hexdigest()[:20]


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def _iso(epoch_us: int) -> str:
    moment = _EPOCH + timedelta(microseconds=epoch_us)
    return moment.isoformat().replace("+00:00", "Z")
