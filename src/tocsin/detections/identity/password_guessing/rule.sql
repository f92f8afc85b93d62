-- Password guessing against one account, counted across any number of source addresses.
-- Episodes: failures on one account no further apart than the window. An episode alerts when
-- some trailing window inside it holds at least $min_failures failures.
WITH fails AS (
    SELECT coalesce(tenant, '') AS tk, tenant, "user", time, event_id,
           src_ip, src_asn, src_country, user_agent
    FROM events
    WHERE event_type = 'auth'
      AND reason IN ('bad_password', 'locked')
      AND "user" IS NOT NULL
),
windowed AS (
    SELECT *,
        count(*) OVER account_time_window AS in_window,
        CASE WHEN time - lag(time) OVER account_order <= to_minutes($window_minutes)
             THEN 0 ELSE 1 END AS starts_episode
    FROM fails
    WINDOW account_order AS (PARTITION BY tk, "user" ORDER BY time, event_id),
           account_time_window AS (PARTITION BY tk, "user" ORDER BY time
               RANGE BETWEEN to_minutes($window_minutes) PRECEDING AND CURRENT ROW)
),
episodes AS (
    SELECT *,
        sum(starts_episode) OVER (PARTITION BY tk, "user" ORDER BY time, event_id
                                  ROWS UNBOUNDED PRECEDING) AS episode
    FROM windowed
),
guessing AS (
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
    HAVING max(in_window) >= $min_failures
),
-- The guess worked: the account signs in (or proves its password) from a guessing address it
-- had never signed in from before the episode.
landed AS (
    SELECT g.tk, g."user", g.episode,
        min(e.time) AS success_time,
        list(DISTINCT e.src_ip) AS success_ips
    FROM guessing g
    JOIN events e
      ON coalesce(e.tenant, '') = g.tk AND e."user" = g."user"
     AND e.event_type IN ('auth', 'mfa')
     AND (e.credential_valid OR e.outcome = 'success')
     AND e.time BETWEEN g.first_seen AND g.last_seen + to_minutes($success_within_minutes)
     AND list_contains(g.src_ips, e.src_ip)
    WHERE NOT EXISTS (
        SELECT 1 FROM events h
        WHERE coalesce(h.tenant, '') = g.tk AND h."user" = g."user" AND h.src_ip = e.src_ip
          AND h.outcome = 'success' AND h.time < g.first_seen
    )
    GROUP BY g.tk, g."user", g.episode
)
SELECT
    concat_ws('|', g.tk, g."user", strftime(g.first_seen, '%Y-%m-%dT%H:%M:%S')) AS group_key,
    g.tk, g.tenant, g."user", [g."user"] AS users,
    CASE WHEN l.success_time IS NULL THEN [] ELSE [g."user"] END AS compromised_users,
    CASE WHEN l.success_time IS NULL THEN NULL ELSE 'high' END AS severity,
    g.first_seen, g.last_seen,
    g.src_ips, g.src_asns, g.countries, g.user_agents,
    g.failures AS evidence_count, g.evidence_ids,
    g.failures, g.peak_in_window, len(g.src_ips) AS distinct_ips,
    $window_minutes AS window_minutes,
    l.success_time, l.success_ips,
    CASE WHEN l.success_time IS NULL THEN ''
         ELSE ' Then, from a guessing address the account had never used before ('
              || array_to_string(l.success_ips, ', ') || '), the right password was entered at '
              || strftime(l.success_time, '%Y-%m-%dT%H:%M:%SZ')
              || ' (the sign-in succeeded or reached MFA): treat the account as compromised.'
         END AS outcome_note
FROM guessing g
LEFT JOIN landed l USING (tk, "user", episode)
ORDER BY g.first_seen, g."user"
