-- Distributed, low-and-slow password spray: the campaign is found by what its attempts share
-- (addresses, networks, Tor, rare user agents), not by the volume of any single address.
-- This query returns one row per (tenant, address) of *foreign* failed attempts; rule.py
-- joins addresses that share infrastructure into campaigns and applies the thresholds.
WITH foreign_fails AS (
    SELECT * FROM foreign_fails
),
attempts AS (
    SELECT tk, "user", src_ip, time, outcome, credential_valid
    FROM signins
    WHERE event_type = 'auth' AND src_ip IS NOT NULL AND "user" IS NOT NULL
),
-- Link keys: attempts sharing one of these belong to the same infrastructure. Networks and
-- user agents only link when the organisation's own people do not use them.
keyed AS (
    SELECT ff.*,
        list_filter([
            'ip:' || ff.src_ip,
            CASE WHEN ff.src_ip NOT LIKE '%:%'
                 THEN 'net4:' || regexp_extract(ff.src_ip, '^(\d+\.\d+\.\d+)\.', 1)
                 ELSE 'net6:' || array_to_string(string_split(ff.src_ip, ':')[1:3], ':') END,
            CASE WHEN ff.src_asn IS NOT NULL AND coalesce(ta.users, 0) < 2
                 THEN 'asn:' || ff.src_asn END,
            CASE WHEN ff.user_agent IS NOT NULL AND coalesce(tg.users, 0) < 2
                 THEN 'ua:' || ff.user_agent END,
            CASE WHEN list_contains(ff.ip_tags, 'tor') THEN 'tag:tor' END
        ], lambda k: k IS NOT NULL) AS keys
    FROM foreign_fails ff
    LEFT JOIN tenant_asn_ok ta ON ta.tk = ff.tk AND ta.src_asn = ff.src_asn
    LEFT JOIN tenant_agent_ok tg ON tg.tk = ff.tk AND tg.user_agent = ff.user_agent
),
-- Accounts that proved their password from a foreign address that had been failing: landed.
landed AS (
    SELECT a.tk, a.src_ip, list(DISTINCT a."user") AS users, min(a.time) AS first_landed
    FROM attempts a
    JOIN (SELECT tk, src_ip, min(time) AS first_fail FROM keyed GROUP BY ALL) k
      ON k.tk = a.tk AND k.src_ip = a.src_ip AND a.time >= k.first_fail
    LEFT JOIN user_ip_ok u ON u.tk = a.tk AND u."user" = a."user" AND u.src_ip = a.src_ip
    WHERE (a.outcome = 'success' OR a.credential_valid)
      AND (u.first_ok IS NULL OR u.first_ok >= k.first_fail)
    GROUP BY ALL
),
active_days AS (
    SELECT coalesce(tenant, '') AS tk, count(DISTINCT day) AS days FROM events GROUP BY ALL
)
SELECT
    k.tk,
    any_value(k.tenant) AS tenant,
    k.src_ip,
    -- rows of one address mostly share their key list: collapse those before flattening
    list_distinct(flatten(list(DISTINCT k.keys))) AS keys,
    list(DISTINCT k."user") AS users,
    count(*) AS attempts,
    count(*) FILTER (WHERE k.reason = 'unknown_user') AS unknown_user_attempts,
    count(*) FILTER (WHERE k.reason IN ('locked', 'blocked_ip')) AS locked_attempts,
    list(DISTINCT k."user" || '|' || strftime(k.time, '%Y-%m-%d %H')) AS user_hours,
    min(k.time) AS first_seen,
    max(k.time) AS last_seen,
    coalesce(list(DISTINCT k.src_asn) FILTER (WHERE k.src_asn IS NOT NULL), []) AS src_asns,
    coalesce(list(DISTINCT k.src_country) FILTER (WHERE k.src_country IS NOT NULL), [])
        AS countries,
    coalesce(list(DISTINCT k.user_agent) FILTER (WHERE k.user_agent IS NOT NULL), [])
        AS user_agents,
    bool_or(list_contains(k.ip_tags, 'tor')) AS tor,
    bool_or(list_contains(k.ip_tags, 'hosting')) AS hosting,
    list(k.event_id ORDER BY k.time, k.event_id)[1:5] AS evidence_ids,
    min_by(k.event_id, k.time) AS first_event,
    any_value(l.users) AS landed_users,
    any_value(coalesce(d.days, 1)) AS tenant_days,
    -- the engine requires these on every row; rule.py replaces them per campaign
    '' AS group_key,
    count(*) AS evidence_count
FROM keyed k
LEFT JOIN landed l ON l.tk = k.tk AND l.src_ip = k.src_ip
LEFT JOIN active_days d ON d.tk = k.tk
GROUP BY k.tk, k.src_ip
ORDER BY k.tk, k.src_ip
