"""Shared views every rule may read, built on the ``events`` view.

They describe each organisation's *normal*: where its people sign in from successfully. Rules
compare attempts against them ("has this account, or anyone here, ever signed in from this
address, network, country or device before?") instead of against fixed global thresholds.

* ``signins`` — authentication and MFA events (the attempts rules count).
* ``user_ip_ok`` — per tenant key ``tk``, user and address: successful sign-ins, first/last.
* ``tenant_ip_ok`` — per tenant and address: how many distinct users succeeded from it.
* ``user_asn_ok``, ``user_country_ok``, ``user_device_ok`` — the same per network (ASN),
  country and device (device id, else user agent).
* ``tenant_asn_ok``, ``tenant_agent_ok`` — per tenant: distinct users succeeding per ASN and
  per user agent; ``user_agent_ok`` — when each user first succeeded with each user agent.

``tk`` is ``coalesce(tenant, '')`` so rules can join on it without NULL surprises. Table
macros (``account_guessing_episodes``, ``foreign_failures``) are shared building blocks with
parameters; ``foreign_fails`` holds the foreign failures, computed once per evaluation.
"""

from __future__ import annotations

import duckdb

from tocsin.store.duck import within_memory

_OK = "event_type IN ('auth', 'mfa') AND outcome = 'success' AND \"user\" IS NOT NULL"

VIEWS = {
    "signins": "SELECT *, coalesce(tenant, '') AS tk FROM events "
    "WHERE event_type IN ('auth', 'mfa')",
    "user_ip_ok": f"""
        SELECT coalesce(tenant, '') AS tk, "user", src_ip,
               min(time) AS first_ok, max(time) AS last_ok, count(*) AS successes
        FROM events WHERE {_OK} AND src_ip IS NOT NULL GROUP BY ALL""",
    "tenant_ip_ok": """
        SELECT tk, src_ip, count(DISTINCT "user") AS users, min(first_ok) AS first_ok,
               max(last_ok) AS last_ok
        FROM user_ip_ok GROUP BY ALL""",
    "user_asn_ok": f"""
        SELECT coalesce(tenant, '') AS tk, "user", src_asn,
               min(time) AS first_ok, max(time) AS last_ok, count(*) AS successes
        FROM events WHERE {_OK} AND src_asn IS NOT NULL GROUP BY ALL""",
    "tenant_asn_ok": """
        SELECT tk, src_asn, count(DISTINCT "user") AS users, min(first_ok) AS first_ok
        FROM user_asn_ok GROUP BY ALL""",
    "user_country_ok": f"""
        SELECT coalesce(tenant, '') AS tk, "user", src_country,
               min(time) AS first_ok, max(time) AS last_ok, count(*) AS successes
        FROM events WHERE {_OK} AND src_country IS NOT NULL GROUP BY ALL""",
    "user_device_ok": f"""
        SELECT coalesce(tenant, '') AS tk, "user",
               coalesce(nullif(device_id, ''), user_agent) AS device,
               min(time) AS first_ok, max(time) AS last_ok, count(*) AS successes
        FROM events WHERE {_OK} AND coalesce(nullif(device_id, ''), user_agent) IS NOT NULL
        GROUP BY ALL""",
    "user_agent_ok": f"""
        SELECT coalesce(tenant, '') AS tk, "user", user_agent, min(time) AS first_ok
        FROM events WHERE {_OK} AND user_agent IS NOT NULL GROUP BY ALL""",
    "tenant_agent_ok": """
        SELECT tk, user_agent, count(DISTINCT "user") AS users FROM user_agent_ok GROUP BY ALL""",
}


# Table macros: shared building blocks with parameters.
MACROS = {
    # Failed attempts that are not the organisation's ordinary noise ("foreign" failures):
    # not followed within resolve_minutes by the same account's success from the same address
    # (unless that is Tor or hosting: an attacker landing there is not "resolved") or with the
    # same device or browser from a familiar address — a person who mistyped and then got in
    # (the real owner's routine sign-in elsewhere does not excuse an attacker's attempt); not
    # from an address two or more of its people sign in from (office NAT, carrier, VPN egress);
    # and not from an address this account had already signed in from. What remains is
    # attempts from elsewhere.
    #
    # Cost: the address tests run first; a candidate is then matched only with its account's
    # successes from the same address or the same device, inside resolve_minutes. (Joining
    # every failure with every later success of its account, address or not, was the largest
    # intermediate of detection: 77 million rows and 5.6 GB spilled at 5,000,000 events.)
    "foreign_failures(resolve_minutes)": """
WITH fails AS (
    SELECT tk, tenant, "user", src_ip, src_asn, src_country, user_agent, ip_tags, client_app,
           device_id, time, event_id, outcome, reason, reason_code, credential_valid
    FROM signins
    WHERE event_type = 'auth' AND src_ip IS NOT NULL AND "user" IS NOT NULL
      AND outcome IN ('failure', 'blocked')
      AND reason IN ('bad_password', 'unknown_user', 'locked', 'blocked_ip')
),
candidates AS (
    SELECT f.*, coalesce(nullif(f.device_id, ''), f.user_agent) AS _device
    FROM fails f
    LEFT JOIN tenant_ip_ok t ON t.tk = f.tk AND t.src_ip = f.src_ip
    LEFT JOIN user_ip_ok u ON u.tk = f.tk AND u."user" = f."user" AND u.src_ip = f.src_ip
    WHERE coalesce(t.users, 0) < 2
      AND (u.first_ok IS NULL OR u.first_ok > f.time)
),
oks AS (
    SELECT o.tk, o."user", o.src_ip, o.time, o.ip_tags,
           coalesce(nullif(o.device_id, ''), o.user_agent) AS device
    FROM signins o
    SEMI JOIN (SELECT DISTINCT tk, "user" FROM candidates) c ON c.tk = o.tk AND c."user" = o."user"
    WHERE o.event_type = 'auth' AND o.src_ip IS NOT NULL
      AND (o.outcome = 'success' OR o.credential_valid)
),
same_address AS (
    SELECT tk, "user", src_ip, time FROM oks
    WHERE NOT list_has_any(ip_tags, ['tor', 'hosting'])
),
familiar_device AS (
    SELECT o.tk, o."user", o.device, o.time
    FROM oks o
    LEFT JOIN tenant_ip_ok t ON t.tk = o.tk AND t.src_ip = o.src_ip
    LEFT JOIN user_ip_ok u ON u.tk = o.tk AND u."user" = o."user" AND u.src_ip = o.src_ip
    WHERE o.device IS NOT NULL
      AND coalesce(t.users >= 2 OR u.first_ok < o.time - INTERVAL 1 DAY, false)
),
resolved AS (
    SELECT c.event_id FROM candidates c
    JOIN same_address a
      ON a.tk = c.tk AND a."user" = c."user" AND a.src_ip = c.src_ip
     AND a.time BETWEEN c.time AND c.time + to_minutes(resolve_minutes)
    UNION
    SELECT c.event_id FROM candidates c
    JOIN familiar_device d
      ON d.tk = c.tk AND d."user" = c."user" AND d.device = c._device
     AND d.time BETWEEN c.time AND c.time + to_minutes(resolve_minutes)
)
SELECT c.* EXCLUDE (_device)
FROM candidates c
ANTI JOIN resolved r ON r.event_id = c.event_id
""",
    # Episodes of wrong passwords against one account (failures no further apart than the
    # window), with the peak count in any trailing window, the addresses used, and whether a
    # guessing address then proved the password for an account that had never signed in from
    # it before the episode. Used by password_guessing and distributed_brute_force. Only
    # episodes whose peak reaches min_peak are returned: the rules alert on no others, and
    # judging every stray typo episode of the whole organisation was most of the cost.
    "account_guessing_episodes(window_minutes, success_within_minutes, min_peak)": """
WITH all_fails AS (
    SELECT tk, tenant, "user", time, event_id, src_ip, src_asn, src_country, user_agent,
           hash(tk, "user") AS account,
           tocsin_bucket(time, window_minutes) AS bucket
    FROM signins
    WHERE event_type = 'auth' AND reason IN ('bad_password', 'locked') AND "user" IS NOT NULL
),
-- Accounts that can reach min_peak at all. A window ending in fixed bucket b (buckets as wide
-- as the window) lies inside buckets b-1 and b, so it holds at most their two counts; an
-- account where no such pair reaches min_peak has no episode to return. Such accounts (most
-- of an organisation: a typo now and then) are left out before the windows; the others keep
-- every failure, so their episodes are exactly as before. Accounts are keyed by a hash: a
-- collision only keeps an account that could have been left out.
bucket_counts AS (
    SELECT account, bucket, count(*) AS n FROM all_fails GROUP BY ALL
),
reachable AS (
    SELECT DISTINCT b.account
    FROM bucket_counts b
    LEFT JOIN bucket_counts p ON p.account = b.account AND p.bucket = b.bucket - 1
    WHERE b.n + coalesce(p.n, 0) >= min_peak
),
fails AS (
    SELECT * EXCLUDE (account, bucket) FROM all_fails
    SEMI JOIN reachable r ON r.account = all_fails.account
),
windowed AS (
    SELECT *,
        count(*) OVER (PARTITION BY tk, "user" ORDER BY time
                       RANGE BETWEEN to_minutes(window_minutes) PRECEDING AND CURRENT ROW)
            AS in_window,
        CASE WHEN time - lag(time) OVER (PARTITION BY tk, "user" ORDER BY time, event_id)
                  <= to_minutes(window_minutes) THEN 0 ELSE 1 END AS starts_episode
    FROM fails
),
episodes AS (
    SELECT *,
        sum(starts_episode) OVER (PARTITION BY tk, "user" ORDER BY time, event_id
                                  ROWS UNBOUNDED PRECEDING) AS episode
    FROM windowed
),
guessing AS (
    SELECT * FROM (
    SELECT tk, any_value(tenant) AS tenant, "user", episode,
        min(time) AS first_seen,
        max(time) AS last_seen,
        count(*) AS failures,
        max(in_window) AS peak_in_window,
        list(DISTINCT src_ip) FILTER (WHERE src_ip IS NOT NULL) AS src_ips,
        list(DISTINCT src_asn) FILTER (WHERE src_asn IS NOT NULL) AS src_asns,
        list(DISTINCT src_country) FILTER (WHERE src_country IS NOT NULL) AS countries,
        list(DISTINCT user_agent) FILTER (WHERE user_agent IS NOT NULL) AS user_agents,
        list(event_id ORDER BY time, event_id)[1:20] AS evidence_ids
    FROM episodes
    GROUP BY tk, "user", episode
    ) WHERE peak_in_window >= min_peak
),
landed AS (
    SELECT g.tk, g."user", g.episode,
        min(e.time) AS success_time,
        list_sort(list(DISTINCT e.src_ip)) AS success_ips
    FROM guessing g
    JOIN signins e
      ON e.tk = g.tk AND e."user" = g."user"
     AND (e.credential_valid OR e.outcome = 'success')
     AND e.time BETWEEN g.first_seen AND g.last_seen + to_minutes(success_within_minutes)
     AND list_contains(g.src_ips, e.src_ip)
    LEFT JOIN user_ip_ok h ON h.tk = g.tk AND h."user" = g."user" AND h.src_ip = e.src_ip
    WHERE h.first_ok IS NULL OR h.first_ok >= g.first_seen
    GROUP BY g.tk, g."user", g.episode
),
-- The owner forgetting a password looks like guessing, but only from places the account (or
-- the organisation) already uses, and ends with the owner getting in from there.
episode_ips AS (
    SELECT tk, "user", episode, first_seen, last_seen, user_agents, unnest(src_ips) AS src_ip
    FROM guessing
),
owner AS (
    SELECT e.tk, e."user", e.episode,
        bool_and(coalesce(u.first_ok < e.first_seen, false) OR coalesce(t.users >= 2, false))
            AS familiar_only,
        bool_or(s.event_id IS NOT NULL) AS then_signed_in,
        -- got in from the one address it failed from, with one of the browsers it failed with,
        -- and that address is neither Tor nor hosting: someone at their own keyboard
        count(DISTINCT e.src_ip) = 1
          AND bool_or(s.event_id IS NOT NULL
                      AND NOT list_has_any(s.ip_tags, ['tor', 'hosting'])
                      AND list_contains(e.user_agents, s.user_agent)) AS same_seat
    FROM episode_ips e
    LEFT JOIN user_ip_ok u ON u.tk = e.tk AND u."user" = e."user" AND u.src_ip = e.src_ip
    LEFT JOIN tenant_ip_ok t ON t.tk = e.tk AND t.src_ip = e.src_ip
    LEFT JOIN signins s ON s.tk = e.tk AND s."user" = e."user" AND s.src_ip = e.src_ip
          AND s.outcome = 'success'
          AND s.time BETWEEN e.last_seen AND e.last_seen + to_minutes(success_within_minutes)
    GROUP BY e.tk, e."user", e.episode
)
SELECT g.*, len(g.src_ips) AS distinct_ips, l.success_time, l.success_ips,
       coalesce((o.familiar_only AND o.then_signed_in) OR o.same_seat, false) AS owner_forgot
FROM guessing g
LEFT JOIN landed l USING (tk, "user", episode)
LEFT JOIN owner o USING (tk, "user", episode)
""",
}


# Minutes within which a success "resolves" a failure (see foreign_failures).
RESOLVE_MINUTES = 30
# Computed once per evaluation and shared by every rule (they are read many times; the
# aggregates are small next to the events they summarise).
MATERIALIZED = (
    "user_ip_ok", "tenant_ip_ok", "user_asn_ok", "tenant_asn_ok", "user_country_ok",
    "user_device_ok", "user_agent_ok", "tenant_agent_ok",
)  # fmt: skip


def create_rule_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create the shared views, tables and macros (after ``events`` exists).

    ``foreign_fails`` is ``foreign_failures(RESOLVE_MINUTES)`` computed once for all rules.
    """
    # Row order in these tables does not matter (rules order what they need); not keeping it
    # lets DuckDB stream them instead of buffering, which keeps a 1 GB limit enough.
    con.execute("SET preserve_insertion_order = false")
    try:
        for name, sql in VIEWS.items():
            kind = "TABLE" if name in MATERIALIZED else "VIEW"
            con.execute(f"DROP VIEW IF EXISTS {name}")
            con.execute(f"DROP TABLE IF EXISTS {name}")
            con.execute(f"CREATE TEMP {kind} {name} AS {sql}")
        for signature, sql in MACROS.items():
            con.execute(f"CREATE OR REPLACE TEMP MACRO {signature} AS TABLE {sql}")
        _create_foreign_fails(con)
    finally:
        con.execute("RESET preserve_insertion_order")


def _create_foreign_fails(con: duckdb.DuckDBPyConnection) -> None:
    sql = (
        "CREATE OR REPLACE TEMP TABLE foreign_fails AS "
        f"SELECT * FROM foreign_failures({RESOLVE_MINUTES})"
    )
    # The one table built up front for every rule: it once met the memory limit (before
    # foreign_failures matched failures only with same-address or same-device successes).
    within_memory(con, lambda: con.execute(sql), "foreign failures")
