-- MFA fatigue (push bombing): second-factor prompts for one account refused or left unanswered
-- again and again — every one of them asked for by someone who already had the password —
-- then, often, a prompt approved and a sign-in from somewhere the account never used.
WITH shared_from AS (
    -- when a second person of the organisation first signed in from each address
    SELECT tk, src_ip, list_sort(list(first_ok))[2] AS second_user_at
    FROM user_ip_ok GROUP BY ALL
),
prompts AS (
    SELECT s.tk, s.tenant, s."user", s.time, s.event_id, s.reason, s.src_ip, s.src_asn,
           s.src_country, s.user_agent,
           -- the person's own registered device (Entra device id seen in an earlier success):
           -- their own attempt, whatever its outcome
           coalesce(d.first_ok < s.time, false) AS own_device,
           -- a usual address: the account signed in from it before, or it is the
           -- organisation's (two of its people signed in there before)
           coalesce(h.first_ok < s.time, false)
               OR coalesce(m.second_user_at < s.time, false) AS usual_address
    FROM signins s
    LEFT JOIN user_device_ok d
           ON d.tk = s.tk AND d."user" = s."user" AND d.device = nullif(s.device_id, '')
    LEFT JOIN user_ip_ok h ON h.tk = s.tk AND h."user" = s."user" AND h.src_ip = s.src_ip
    LEFT JOIN shared_from m ON m.tk = s.tk AND m.src_ip = s.src_ip
    WHERE s.reason IN ('mfa_denied', 'mfa_timeout') AND s."user" IS NOT NULL
),
counted AS (
    SELECT * FROM prompts WHERE NOT own_device
),
windowed AS (
    SELECT *,
        count(*) OVER (PARTITION BY tk, "user" ORDER BY time
                       RANGE BETWEEN to_minutes($window_minutes) PRECEDING AND CURRENT ROW)
            AS in_window,
        CASE WHEN time - lag(time) OVER (PARTITION BY tk, "user" ORDER BY time, event_id)
                  <= to_minutes($window_minutes) THEN 0 ELSE 1 END AS starts_episode
    FROM counted
),
episodes AS (
    SELECT *,
        sum(starts_episode) OVER (PARTITION BY tk, "user" ORDER BY time, event_id
                                  ROWS UNBOUNDED PRECEDING) AS episode
    FROM windowed
),
fatigue AS (
    SELECT tk, any_value(tenant) AS tenant, "user", episode,
        min(time) AS first_prompt,
        max(time) AS last_prompt,
        count(*) AS prompts,
        count(*) FILTER (WHERE reason = 'mfa_denied') AS denied,
        count(*) FILTER (WHERE reason = 'mfa_timeout') AS unanswered,
        max(in_window) AS peak_in_window,
        list_sort(list(DISTINCT src_ip) FILTER (WHERE src_ip IS NOT NULL)) AS prompt_ips,
        list(DISTINCT src_asn) FILTER (WHERE src_asn IS NOT NULL) AS src_asns,
        list(DISTINCT src_country) FILTER (WHERE src_country IS NOT NULL) AS countries,
        list(DISTINCT user_agent) FILTER (WHERE user_agent IS NOT NULL) AS user_agents,
        list(event_id ORDER BY time, event_id) AS prompt_ids
    FROM episodes
    GROUP BY tk, "user", episode
    HAVING max(in_window) >= $min_denials
       -- prompts that only timed out, all at the person's usual address: a phone that is off,
       -- flat or newly replaced, not someone else holding the password
       AND NOT (bool_and(usual_address) AND count(*) FILTER (WHERE reason = 'mfa_denied') = 0)
),
-- Successful sign-ins during the episode or soon after it.
after AS (
    SELECT f.tk, f."user", f.episode, s.time, s.event_id, s.src_ip, s.mfa_used,
           -- the person themselves: a usual address or their registered device
           coalesce(h.first_ok < f.first_prompt, false)
               OR coalesce(d.first_ok < f.first_prompt, false) AS familiar
    FROM fatigue f
    JOIN signins s
      ON s.tk = f.tk AND s."user" = f."user" AND s.outcome = 'success'
     AND s.time > f.first_prompt
     AND s.time <= f.last_prompt + to_minutes($success_within_minutes)
    LEFT JOIN user_ip_ok h ON h.tk = s.tk AND h."user" = s."user" AND h.src_ip = s.src_ip
    LEFT JOIN user_device_ok d
           ON d.tk = s.tk AND d."user" = s."user" AND d.device = nullif(s.device_id, '')
),
outcome AS (
    SELECT tk, "user", episode,
        min(time) FILTER (WHERE NOT familiar) AS success_time,
        arg_min(src_ip, time) FILTER (WHERE NOT familiar) AS success_ip,
        bool_or(mfa_used) FILTER (WHERE NOT familiar) AS success_mfa,
        list_sort(list(DISTINCT src_ip) FILTER (WHERE NOT familiar)) AS success_ips,
        count(*) FILTER (WHERE NOT familiar) AS intruder_successes,
        max(time) FILTER (WHERE NOT familiar) AS last_success,
        list(event_id ORDER BY time, event_id) FILTER (WHERE NOT familiar) AS success_ids,
        count(*) FILTER (WHERE familiar) AS own_successes
    FROM after
    GROUP BY tk, "user", episode
)
SELECT
    concat_ws('|', f.tk, f."user", strftime(f.first_prompt, '%Y-%m-%dT%H:%M:%S')) AS group_key,
    f.tk, f.tenant, f."user", [f."user"] AS users,
    CASE WHEN o.success_time IS NULL THEN [] ELSE [f."user"] END AS compromised_users,
    CASE WHEN o.success_time IS NULL THEN 'high' ELSE 'critical' END AS severity,
    CASE WHEN o.success_time IS NULL THEN 0.8 ELSE 0.9 END AS confidence,
    f.first_prompt AS first_seen,
    greatest(f.last_prompt, o.last_success) AS last_seen,
    list_sort(list_distinct(list_concat(f.prompt_ips, coalesce(o.success_ips, []))))
        AS src_ips,
    f.src_asns, f.countries, f.user_agents,
    f.prompts + coalesce(o.intruder_successes, 0) AS evidence_count,
    list_concat(f.prompt_ids[1:15], coalesce(o.success_ids, [])[1:5]) AS evidence_ids,
    f.prompts, f.denied, f.unanswered, f.peak_in_window, f.last_prompt,
    $window_minutes AS window_minutes,
    o.success_time, o.success_ip,
    coalesce(o.success_ips, []) AS _success_ips,
    CASE
        WHEN o.success_time IS NOT NULL THEN
            ' Then, at ' || strftime(o.success_time, '%Y-%m-%dT%H:%M:%SZ')
            || ', a sign-in from ' || o.success_ip
            || CASE WHEN o.success_mfa THEN ' passed MFA' ELSE ' succeeded' END
            || ' — an address and device this account had never used: the person most likely'
            || ' approved a prompt to make them stop. Treat the account as compromised.'
        WHEN coalesce(o.own_successes, 0) > 0 THEN
            ' No prompt appears to have been approved: the only sign-ins that followed came'
            || ' from the person''s usual address or device (most likely them). Whoever sent'
            || ' the prompts still has the password.'
        ELSE ' No prompt appears to have been approved, but whoever sent them has the password.'
    END AS outcome_note
FROM fatigue f
LEFT JOIN outcome o USING (tk, "user", episode)
ORDER BY f.first_prompt, f."user"
