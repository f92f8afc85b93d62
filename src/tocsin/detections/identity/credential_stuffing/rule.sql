-- Credential stuffing: in a burst, many accounts each tried once or twice (with the password
-- leaked for that account elsewhere) from many networks — typically residential proxies —
-- and some of them work. Measured on foreign failures only (see foreign_failures).
WITH ff AS (
    SELECT * FROM foreign_fails
),
windowed AS (
    SELECT *,
        CASE WHEN time - lag(time) OVER (PARTITION BY tk ORDER BY time, event_id)
                  <= to_minutes($window_minutes) THEN 0 ELSE 1 END AS starts_episode
    FROM ff
),
episodes AS (
    SELECT *,
        sum(starts_episode) OVER (PARTITION BY tk ORDER BY time, event_id
                                  ROWS UNBOUNDED PRECEDING) AS episode
    FROM windowed
),
-- The burst's own tooling: user agents the organisation's own people do not sign in with
-- (or no user agent at all) that carry at least a tenth of its attempts — or, however small
-- their share, several attempts from several addresses with a user agent no one here has
-- ever signed in with (stuffing tools rotate a few browser strings; a minor one still lands
-- passwords). People of the organisation failing meanwhile, with their own browsers and mail
-- apps, are not part of it.
agents AS (
    SELECT a.tk, a.episode, a.user_agent FROM (
        SELECT tk, episode, user_agent, count(*) AS n, count(DISTINCT src_ip) AS ips,
               min(time) AS started, sum(count(*)) OVER (PARTITION BY tk, episode) AS total
        FROM episodes GROUP BY tk, episode, user_agent
    ) a
    LEFT JOIN user_agent_ok u ON u.tk = a.tk AND u.user_agent = a.user_agent
          AND u.first_ok < a.started
    GROUP BY a.tk, a.episode, a.user_agent
    HAVING (any_value(a.n) >= 0.1 * any_value(a.total) AND count(DISTINCT u."user") < 2)
        OR (any_value(a.n) >= $min_tool_attempts AND any_value(a.ips) >= 2
            AND count(u."user") = 0)
),
-- The organisation's normal: accounts failing from foreign addresses in an average window of
-- the period its logs cover. A burst must clearly exceed it.
span AS (
    SELECT tk, greatest(1, epoch(max(time) - min(time)) / ($window_minutes * 60)) AS windows
    FROM signins GROUP BY tk
),
normal AS (
    SELECT f.tk,
        count(DISTINCT f."user" || '|' || time_bucket(to_minutes($window_minutes), f.time))
          / any_value(s.windows) AS accounts_per_window
    FROM ff f JOIN span s USING (tk) GROUP BY f.tk
),
-- Peak accounts in a trailing window, counted only where a burst can be. A window ending in
-- fixed bucket b (buckets as wide as the window) lies inside buckets b-1 and b, so it holds
-- at most the accounts of b-1 plus those of b. Where that sum is below what a burst must
-- reach (min_accounts, and baseline_factor times the normal), no window ending in b can
-- pass, and its rows are not counted: the exact count runs only over the "hot" buckets and
-- the bucket before each. A burst's peak is unchanged, because a window reaching the
-- threshold ends in a hot bucket; an episode without one fails the threshold either way.
-- (Counting distinct accounts in a sliding window over every foreign failure of a large
-- organisation was most of this rule's time.)
bucketed AS (
    SELECT *, tocsin_bucket(time, $window_minutes) AS bucket FROM ff
),
bucket_accounts AS (
    SELECT tk, bucket, count(DISTINCT "user") AS accounts FROM bucketed GROUP BY ALL
),
hot AS (
    SELECT b.tk, b.bucket
    FROM bucket_accounts b
    JOIN normal n USING (tk)
    LEFT JOIN bucket_accounts p ON p.tk = b.tk AND p.bucket = b.bucket - 1
    WHERE b.accounts + coalesce(p.accounts, 0)
          >= greatest($min_accounts, $baseline_factor * n.accounts_per_window)
),
counted AS (
    SELECT tk, bucket, bool_or(is_hot) AS is_hot FROM (
        SELECT tk, bucket, true AS is_hot FROM hot
        UNION ALL
        SELECT tk, bucket - 1, false FROM hot
    ) GROUP BY ALL
),
peaks AS (
    SELECT event_id, max(in_window) AS in_window FROM (
        SELECT f.event_id, c.is_hot,
            count(DISTINCT f."user") OVER (PARTITION BY f.tk ORDER BY f.time
                RANGE BETWEEN to_minutes($window_minutes) PRECEDING AND CURRENT ROW)
                AS in_window
        FROM bucketed f JOIN counted c ON c.tk = f.tk AND c.bucket = f.bucket
    )
    WHERE is_hot
    GROUP BY event_id
),
burst_attempts AS (
    SELECT e.*, p.in_window
    FROM episodes e
    JOIN agents a ON a.tk = e.tk AND a.episode = e.episode
     AND a.user_agent IS NOT DISTINCT FROM e.user_agent
    LEFT JOIN peaks p ON p.event_id = e.event_id
),
burst AS (
    SELECT tk, any_value(tenant) AS tenant, episode,
        min(time) AS first_seen, max(time) AS last_seen,
        count(*) AS attempts,
        count(DISTINCT "user") AS accounts,
        max(in_window) AS peak_accounts,
        count(DISTINCT src_ip) AS addresses,
        count(DISTINCT src_asn) AS networks,
        count(*) FILTER (WHERE reason = 'unknown_user') AS unknown_user_attempts,
        list(DISTINCT "user") AS users,
        list(DISTINCT src_ip) AS src_ips,
        list(DISTINCT src_asn) FILTER (WHERE src_asn IS NOT NULL) AS src_asns,
        list(DISTINCT src_country) FILTER (WHERE src_country IS NOT NULL) AS countries,
        list(DISTINCT user_agent) FILTER (WHERE user_agent IS NOT NULL) AS user_agents,
        list(event_id ORDER BY time, event_id)[1:20] AS evidence_ids
    FROM burst_attempts
    GROUP BY tk, episode
    HAVING max(in_window) >= $min_accounts
       AND count(*) <= $max_attempts_per_account * count(DISTINCT "user")
       AND count(DISTINCT src_asn) >= $min_networks
),
loud AS (
    SELECT b.*, n.accounts_per_window AS normal_accounts_per_window
    FROM burst b JOIN normal n USING (tk)
    WHERE b.peak_accounts >= $baseline_factor * n.accounts_per_window
),
-- Accounts that worked: a success during the burst (or shortly after) from an address neither
-- the account nor the organisation knows, with the burst's tooling or from one of its networks.
-- Sign-ins that may have landed, first cut to the bursts' overall time span: without bursts
-- (the usual case) the span is NULL and no sign-in is read into the joins below.
landing AS MATERIALIZED (
    SELECT b.tk, b.episode, b.first_seen, s."user", s.src_ip
    FROM loud b
    JOIN signins s ON s.tk = b.tk
     AND s.event_type = 'auth' AND (s.outcome = 'success' OR s.credential_valid)
     AND s.time BETWEEN b.first_seen AND b.last_seen + to_minutes($success_within_minutes)
     AND (list_contains(b.user_agents, s.user_agent) OR list_contains(b.src_ips, s.src_ip)
          OR (s.user_agent IS NULL AND list_contains(b.src_asns, s.src_asn)))
    WHERE s.time BETWEEN (SELECT min(first_seen) FROM loud)
                     AND (SELECT max(last_seen) FROM loud) + to_minutes($success_within_minutes)
),
landed AS (
    SELECT s.tk, s.episode, list_sort(list(DISTINCT s."user")) AS users, count(*) AS successes
    FROM landing s
    LEFT JOIN tenant_ip_ok t ON t.tk = s.tk AND t.src_ip = s.src_ip
    LEFT JOIN user_ip_ok u ON u.tk = s.tk AND u."user" = s."user" AND u.src_ip = s.src_ip
    WHERE coalesce(t.users, 0) < 2 AND (u.first_ok IS NULL OR u.first_ok >= s.first_seen)
    GROUP BY s.tk, s.episode
)
SELECT
    concat_ws('|', b.tk, strftime(b.first_seen, '%Y-%m-%dT%H:%M:%S')) AS group_key,
    b.tk, b.tenant, list_distinct(list_concat(b.users, coalesce(l.users, []))) AS users,
    coalesce(l.users, []) AS compromised_users,
    CASE WHEN l.users IS NOT NULL THEN 'critical' END AS severity,
    b.first_seen, b.last_seen, b.src_ips, b.src_asns, b.countries, b.user_agents,
    b.attempts AS evidence_count, b.evidence_ids,
    b.attempts, b.accounts, b.peak_accounts, b.addresses, b.networks,
    round(b.attempts / b.accounts, 1) AS attempts_per_account,
    round(100 * b.unknown_user_attempts / b.attempts) AS unknown_user_percent,
    $window_minutes AS window_minutes,
    round(b.normal_accounts_per_window, 1) AS baseline_accounts_per_window,
    coalesce(len(l.users), 0) AS landed,
    CASE WHEN l.users IS NULL THEN ''
         ELSE ' ' || len(l.users) || ' account(s) then signed in from the same tooling or networks ('
              || array_to_string(l.users[1:5], ', ') || '): their leaked passwords still work — '
              || 'treat them as compromised.' END AS outcome_note
FROM loud b
LEFT JOIN landed l USING (tk, episode)
ORDER BY b.first_seen
