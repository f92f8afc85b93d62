-- Password spray from one address: many accounts, few tries each, within a sliding window.
-- Counted per organisation: each organisation gets its own alert about the address.
WITH all_fails AS (
    SELECT coalesce(tenant, '') AS tk, src_ip, tenant, "user", time, event_id, src_asn,
           src_country, user_agent
    FROM events
    WHERE event_type = 'auth'
      AND outcome IN ('failure', 'blocked')
      AND reason IN ('bad_password', 'unknown_user', 'locked')
      AND src_ip IS NOT NULL AND "user" IS NOT NULL
),
-- Only addresses that can reach $min_users accounts in one window go through the windows
-- (most addresses are one person's home or phone; an office's failures are spread over the
-- day). A window [t - w, t] lies inside two consecutive fixed buckets of width w, so an
-- address whose every pair of consecutive buckets holds fewer than $min_users accounts can
-- never alert: leaving it out is the same result, far cheaper.
bucketed AS (
    SELECT tk, src_ip, "user", time_bucket(to_minutes($window_minutes), time) AS bucket
    FROM all_fails
),
possible AS (
    SELECT tk, src_ip FROM (
        SELECT tk, src_ip, bucket, "user" FROM bucketed
        UNION ALL
        SELECT tk, src_ip, bucket - to_minutes($window_minutes), "user" FROM bucketed
    )
    GROUP BY tk, src_ip, bucket
    HAVING count(DISTINCT "user") >= $min_users
),
fails AS (
    SELECT f.* FROM all_fails f
    SEMI JOIN (SELECT DISTINCT tk, src_ip FROM possible) p
           ON p.tk = f.tk AND p.src_ip = f.src_ip
),
windowed AS (
    SELECT *,
        count(DISTINCT "user") OVER address_time_window AS users_in_window,
        CASE WHEN time - lag(time) OVER address_order <= to_minutes($window_minutes)
             THEN 0 ELSE 1 END AS starts_episode
    FROM fails
    WINDOW address_order AS (PARTITION BY tk, src_ip ORDER BY time, event_id),
           address_time_window AS (PARTITION BY tk, src_ip ORDER BY time
               RANGE BETWEEN to_minutes($window_minutes) PRECEDING AND CURRENT ROW)
),
episodes AS (
    SELECT *,
        sum(starts_episode) OVER (PARTITION BY tk, src_ip ORDER BY time, event_id
                                  ROWS UNBOUNDED PRECEDING) AS episode
    FROM windowed
),
spray AS (
    SELECT tk, src_ip, episode,
        min(time) AS first_seen,
        max(time) AS last_seen,
        count(*) AS failures,
        count(DISTINCT "user") AS distinct_users,
        max(users_in_window) AS peak_users_in_window,
        list(DISTINCT "user") AS users,
        list(DISTINCT src_asn) FILTER (WHERE src_asn IS NOT NULL) AS src_asns,
        list(DISTINCT src_country) FILTER (WHERE src_country IS NOT NULL) AS countries,
        list(DISTINCT user_agent) FILTER (WHERE user_agent IS NOT NULL) AS user_agents,
        list(event_id ORDER BY time, event_id)[1:20] AS evidence_ids
    FROM episodes
    GROUP BY tk, src_ip, episode
    HAVING max(users_in_window) >= $min_users
       AND count(*) <= $max_attempts_per_user * count(DISTINCT "user")
),
-- Targeted accounts that then signed in (or proved the password) from the same address.
-- "new" marks those that had never signed in from it before the episode: only they can be
-- the spray landing; people back on their usual network are not news.
succeeded AS (
    SELECT s.tk, s.src_ip, s.episode, e."user",
           bool_and(u.first_ok IS NULL OR u.first_ok >= s.first_seen) AS new
    FROM spray s
    JOIN signins e
      ON e.tk = s.tk AND e.src_ip = s.src_ip
     AND (e.credential_valid OR e.outcome = 'success')
     AND e.time BETWEEN s.first_seen AND s.last_seen + to_minutes($success_within_minutes)
     AND list_contains(s.users, e."user")
    LEFT JOIN user_ip_ok u ON u.tk = e.tk AND u."user" = e."user" AND u.src_ip = e.src_ip
    GROUP BY s.tk, s.src_ip, s.episode, e."user"
),
landed AS (
    SELECT tk, src_ip, episode, count(*) AS succeeded_count,
           list_sort(list("user") FILTER (WHERE new)) AS succeeded
    FROM succeeded GROUP BY tk, src_ip, episode
)
SELECT
    concat_ws('|', s.tk, s.src_ip, strftime(s.first_seen, '%Y-%m-%dT%H:%M:%S')) AS group_key,
    s.tk, nullif(s.tk, '') AS tenant,
    s.src_ip, [s.src_ip] AS src_ips,
    s.users, coalesce(l.succeeded, []) AS compromised_users,
    CASE WHEN len(coalesce(l.succeeded, [])) > 0 THEN 'high' END AS severity,
    s.first_seen, s.last_seen, s.src_asns, s.countries, s.user_agents,
    s.failures AS evidence_count, s.evidence_ids,
    s.failures, s.distinct_users, s.peak_users_in_window,
    round(s.failures / s.distinct_users, 1) AS attempts_per_user,
    $window_minutes AS window_minutes,
    CASE WHEN len(coalesce(l.succeeded, [])) = 0 THEN ''
         ELSE ' Afterwards ' || len(l.succeeded) || ' of the targeted accounts signed in from '
              || 'this address (' || array_to_string(l.succeeded[1:5], ', ')
              || '): treat them as compromised.' END AS outcome_note
FROM spray s
LEFT JOIN landed l USING (tk, src_ip, episode)
-- A shared egress, not a spray: most of the failed accounts sign in from it afterwards.
WHERE coalesce(l.succeeded_count, 0) <= $max_success_share * s.distinct_users
ORDER BY s.first_seen, s.src_ip
