-- User enumeration: bursts of sign-ins with names that do not exist here (AADSTS50034/50128,
-- Okta/Google unknown user), many different names within a window — someone finding out which
-- addresses are real accounts. Addresses the organisation does not sign in from are pooled
-- (a tool rotating through proxies still adds up); an address it does sign in from (an office)
-- is counted on its own. Typos — an address that offers a name or two and then signs
-- someone in — are set aside.
WITH shared_from AS (
    -- when a second person of the organisation first signed in from each address
    SELECT tk, src_ip, list_sort(list(first_ok))[2] AS second_user_at
    FROM user_ip_ok GROUP BY ALL
),
unknown AS (
    SELECT s.tk, s.tenant, s."user" AS name, s.time, s.event_id, s.src_ip, s.src_asn,
           s.src_country, s.user_agent,
           -- an address this organisation uses: two of its people signed in there before, or
           -- someone did more than a day before (a Tor exit never is)
           (coalesce(m.second_user_at < s.time, false)
            OR coalesce(t.first_ok < s.time - INTERVAL 1 DAY, false))
               AND NOT list_contains(coalesce(s.ip_tags, []), 'tor') AS familiar
    FROM signins s
    LEFT JOIN shared_from m ON m.tk = s.tk AND m.src_ip = s.src_ip
    LEFT JOIN tenant_ip_ok t ON t.tk = s.tk AND t.src_ip = s.src_ip
    WHERE s.event_type = 'auth' AND s.reason = 'unknown_user'
      AND s."user" IS NOT NULL AND s.src_ip IS NOT NULL
),
-- Typos: an unknown name with at most one other unknown name from the same address around it
-- (within the window either side), followed within 30 minutes by a successful sign-in from
-- that address. Only such names need the follow-up look-up.
around AS (
    SELECT tk, src_ip, time, event_id,
        count(DISTINCT name) OVER (
            PARTITION BY tk, src_ip ORDER BY time
            RANGE BETWEEN to_minutes($window_minutes) PRECEDING
                      AND to_minutes($window_minutes) FOLLOWING) AS names_around
    FROM unknown
),
lone AS (SELECT * FROM around WHERE names_around <= 2),
-- The successes that can follow a lone name within 30 minutes lie in its half-hour slot or
-- the next one: only those are read (an office address has thousands of others). Slots are
-- keyed by a hash; a collision only keeps a success that could have been left out.
lone_slots AS (
    SELECT DISTINCT hash(tk, src_ip, tocsin_bucket(time, 30) + next) AS slot
    FROM lone, (VALUES (0), (1)) AS slots(next)
),
lone_oks AS (
    SELECT s.tk, s.src_ip, s.time FROM signins s
    SEMI JOIN lone_slots l ON l.slot = hash(s.tk, s.src_ip, tocsin_bucket(s.time, 30))
    WHERE s.outcome = 'success'
),
typos AS (
    SELECT l.event_id FROM lone l
    ASOF JOIN lone_oks o ON o.tk = l.tk AND o.src_ip = l.src_ip AND o.time > l.time
    WHERE o.time <= l.time + INTERVAL 30 MINUTE
),
counted AS (
    SELECT *, CASE WHEN familiar THEN src_ip ELSE '' END AS pool
    FROM unknown
    WHERE event_id NOT IN (SELECT event_id FROM typos)
),
windowed AS (
    SELECT *,
        count(DISTINCT name) OVER (PARTITION BY tk, pool ORDER BY time
            RANGE BETWEEN to_minutes($window_minutes) PRECEDING AND CURRENT ROW)
            AS names_in_window,
        CASE WHEN time - lag(time) OVER (PARTITION BY tk, pool ORDER BY time, event_id)
                  <= to_minutes($window_minutes) THEN 0 ELSE 1 END AS starts
    FROM counted
),
episodes AS (
    SELECT *,
        sum(starts) OVER (PARTITION BY tk, pool ORDER BY time, event_id
                          ROWS UNBOUNDED PRECEDING) AS episode
    FROM windowed
),
bursts AS (
    SELECT tk, any_value(tenant) AS tenant, pool, episode,
        min(time) AS first_seen, max(time) AS last_seen,
        count(*) AS attempts, count(DISTINCT name) AS names,
        max(names_in_window) AS peak_names,
        list_sort(list(DISTINCT src_ip)) AS src_ips,
        list(DISTINCT src_asn) FILTER (WHERE src_asn IS NOT NULL) AS src_asns,
        list(DISTINCT src_country) FILTER (WHERE src_country IS NOT NULL) AS countries,
        list(DISTINCT user_agent) FILTER (WHERE user_agent IS NOT NULL) AS user_agents,
        list_sort(list(DISTINCT left(name, 64)))[1:5] AS name_sample,
        list(event_id ORDER BY time, event_id)[1:20] AS evidence_ids
    FROM episodes
    GROUP BY tk, pool, episode
    HAVING max(names_in_window) >= $min_names
),
-- Real accounts the same addresses tried from the start of the burst on, by people who had
-- not signed in from there before it. Only for addresses the organisation does not use: from
-- an office, real accounts signing in is everyday life, not a follow-up.
burst_ips AS (
    SELECT tk, pool, episode, first_seen, last_seen, unnest(src_ips) AS src_ip
    FROM bursts
    WHERE pool = ''
),
-- (Sign-ins are first cut to the bursts' addresses, so that the join and the look-up of each
-- account's history below run on a handful of rows, not on every sign-in and every address
-- the organisation's people use.)
tried_from AS MATERIALIZED (
    SELECT b.tk, b.pool, b.episode, b.first_seen, s."user", s.src_ip, s.time, s.event_id,
           s.outcome = 'success' OR coalesce(s.credential_valid, false) AS proven
    FROM burst_ips b
    JOIN signins s
      ON s.tk = b.tk AND s.src_ip = b.src_ip AND s.event_type = 'auth'
     AND s."user" IS NOT NULL AND coalesce(s.reason, '') <> 'unknown_user'
     AND s.time BETWEEN b.first_seen AND b.last_seen + to_hours($follow_up_hours)
    WHERE s.src_ip IN (SELECT src_ip FROM burst_ips)
),
tried AS (
    SELECT t.tk, t.pool, t.episode, t."user", t.time, t.event_id, t.proven
    FROM tried_from t
    LEFT JOIN user_ip_ok h ON h.tk = t.tk AND h."user" = t."user" AND h.src_ip = t.src_ip
    WHERE h.first_ok IS NULL OR h.first_ok >= t.first_seen
),
followed AS (
    SELECT tk, pool, episode,
        list_sort(list(DISTINCT "user")) AS accounts,
        list_sort(list(DISTINCT "user") FILTER (WHERE proven)) AS proven_accounts,
        count(*) AS attempts, max(time) AS last_time,
        list(event_id ORDER BY time, event_id)[1:10] AS ids
    FROM tried
    GROUP BY tk, pool, episode
)
SELECT
    concat_ws('|', b.tk, CASE WHEN b.pool = '' THEN 'unfamiliar' ELSE b.pool END,
              strftime(b.first_seen, '%Y-%m-%dT%H:%M:%S')) AS group_key,
    b.tk, b.tenant,
    coalesce(f.accounts, []) AS users,
    coalesce(f.proven_accounts, []) AS compromised_users,
    CASE WHEN f.accounts IS NULL THEN 'medium' ELSE 'high' END AS severity,
    CASE WHEN f.accounts IS NULL THEN 0.7 ELSE 0.8 END AS confidence,
    b.first_seen, greatest(b.last_seen, f.last_time) AS last_seen,
    b.src_ips, b.src_asns, b.countries, b.user_agents,
    b.attempts + coalesce(f.attempts, 0) AS evidence_count,
    list_concat(b.evidence_ids, coalesce(f.ids, [])) AS evidence_ids,
    b.attempts AS unknown_attempts, b.names, b.peak_names, b.name_sample,
    $window_minutes AS window_minutes,
    b.last_seen AS burst_end,
    coalesce(len(f.accounts), 0) AS accounts_tried,
    CASE WHEN b.pool = '' AND len(b.src_ips) = 1
         THEN b.src_ips[1] || ', an address nobody here signs in from'
         WHEN b.pool = ''
         THEN len(b.src_ips) || ' addresses nobody here signs in from ('
              || array_to_string(b.src_ips[1:5], ', ')
              || CASE WHEN len(b.src_ips) > 5 THEN ' and ' || (len(b.src_ips) - 5) || ' more'
                      ELSE '' END || ')'
         ELSE b.pool || ', an address people here sign in from (a machine inside the network,'
              || ' or an egress shared with others)'
    END AS origin,
    CASE
        WHEN b.pool <> ''
        THEN ' Look for the machine or application on that network sending the names (a script,'
             || ' a compromised computer, a misconfigured sign-on gateway).'
        WHEN f.accounts IS NULL
        THEN ' No real account was tried from these addresses (yet): the list of names that'
             || ' exist may be used later for password spraying or phishing.'
        ELSE ' The same addresses also tried ' || len(f.accounts) || ' real account(s) ('
             || array_to_string(f.accounts[1:5], ', ')
             || CASE WHEN len(f.accounts) > 5 THEN ', …' ELSE '' END || ')'
             || CASE WHEN len(f.proven_accounts) > 0
                     THEN '; the password of ' || array_to_string(f.proven_accounts[1:5], ', ')
                          || ' was right (signed in or reached MFA): treat it as compromised.'
                     ELSE ', without getting in.' END
    END AS outcome_note
FROM bursts b
LEFT JOIN followed f USING (tk, pool, episode)
ORDER BY b.first_seen, b.pool
