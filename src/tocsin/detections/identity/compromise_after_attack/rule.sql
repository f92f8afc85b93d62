-- Compromise after an attack: an account that was under attack (foreign failed attempts) then
-- proves its password from the attacking infrastructure, or signs in shortly after from an
-- address, network and country (or device) that neither it nor the organisation ever used.
WITH ff AS (
    SELECT * FROM foreign_fails
),
attacked AS (
    SELECT tk, "user", min(time) AS first_attack, max(time) AS last_attack,
           count(*) AS failures, count(DISTINCT src_ip) AS attack_ips
    FROM ff
    GROUP BY tk, "user"
    HAVING count(*) >= $min_failures
),
-- How long each account has been seen signing in: "never used before" means little for an
-- account whose history starts with the attack.
history AS (
    SELECT tk, "user", min(first_ok) AS first_ok FROM user_ip_ok GROUP BY ALL
),
infra AS (
    SELECT tk, src_ip, any_value(src_asn) AS src_asn FROM ff GROUP BY tk, src_ip
),
candidates AS (
    SELECT s.tk, s.tenant, s."user", s.time, s.event_id, s.src_ip, s.src_asn, s.src_country,
           s.user_agent, s.ip_tags, s.outcome, s.reason, s.device_id,
           a.first_attack, a.last_attack, a.failures, a.attack_ips,
           i.src_ip IS NOT NULL AS from_attack_infra,
           coalesce(h.first_ok < a.first_attack - to_days($min_history_days), false)
               AS has_history
    FROM signins s
    JOIN attacked a ON a.tk = s.tk AND a."user" = s."user"
    LEFT JOIN infra i ON i.tk = s.tk AND i.src_ip = s.src_ip
    LEFT JOIN history h ON h.tk = s.tk AND h."user" = s."user"
    WHERE (s.outcome = 'success' OR s.credential_valid)
      AND s.time BETWEEN a.first_attack AND a.last_attack + to_hours($within_hours)
),
judged AS (
    SELECT c.*,
        uip.first_ok IS NOT NULL AND uip.first_ok < c.first_attack AS ip_known,
        coalesce(tip.users, 0) >= 2 AS ip_shared_here,
        uasn.first_ok IS NOT NULL AND uasn.first_ok < c.first_attack AS asn_known,
        coalesce(tasn.users, 0) >= 2 AS asn_common_here,
        uc.first_ok IS NOT NULL AND uc.first_ok < c.first_attack AS country_known,
        ud.first_ok IS NOT NULL AND ud.first_ok < c.first_attack AS device_known
    FROM candidates c
    LEFT JOIN user_ip_ok uip ON uip.tk = c.tk AND uip."user" = c."user" AND uip.src_ip = c.src_ip
    LEFT JOIN tenant_ip_ok tip ON tip.tk = c.tk AND tip.src_ip = c.src_ip
    LEFT JOIN user_asn_ok uasn ON uasn.tk = c.tk AND uasn."user" = c."user" AND uasn.src_asn = c.src_asn
    LEFT JOIN tenant_asn_ok tasn ON tasn.tk = c.tk AND tasn.src_asn = c.src_asn
    LEFT JOIN user_country_ok uc ON uc.tk = c.tk AND uc."user" = c."user" AND uc.src_country = c.src_country
    LEFT JOIN user_device_ok ud ON ud.tk = c.tk AND ud."user" = c."user"
          AND ud.device = coalesce(nullif(c.device_id, ''), c.user_agent)
),
compromising AS (
    SELECT *,
        CASE WHEN from_attack_infra THEN 'from the attacking addresses'
             ELSE 'from a place and device never used before' END AS how
    FROM judged
    WHERE NOT ip_known AND NOT ip_shared_here
      AND (from_attack_infra
           OR (has_history AND NOT asn_common_here AND NOT asn_known
               AND (NOT country_known OR NOT device_known
                    OR list_has_any(ip_tags, ['tor', 'hosting', 'vpn']))))
)
SELECT
    concat_ws('|', tk, "user", strftime(first_attack, '%Y-%m-%dT%H:%M:%S')) AS group_key,
    tk, any_value(tenant) AS tenant, "user", ["user"] AS users, ["user"] AS compromised_users,
    min(first_attack) AS first_seen, max(time) AS last_seen,
    list(DISTINCT src_ip) AS src_ips,
    list(DISTINCT src_asn) FILTER (WHERE src_asn IS NOT NULL) AS src_asns,
    list(DISTINCT src_country) FILTER (WHERE src_country IS NOT NULL) AS countries,
    list(DISTINCT user_agent) FILTER (WHERE user_agent IS NOT NULL) AS user_agents,
    count(*) AS evidence_count,
    list(event_id ORDER BY time) AS evidence_ids,
    any_value(failures) AS attack_failures, any_value(attack_ips) AS attack_addresses,
    min(time) AS first_compromise,
    arg_min(src_ip, time) AS first_compromise_ip,
    arg_min(coalesce(src_country, '?'), time) AS first_compromise_country,
    arg_min(how, time) AS how,
    CASE arg_min(outcome, time)
         WHEN 'success' THEN 'signed in'
         WHEN 'challenge' THEN 'password accepted, MFA prompt shown'
         WHEN 'blocked' THEN 'password accepted, then blocked by policy'
         ELSE arg_min(outcome, time) END AS first_compromise_outcome
FROM compromising
GROUP BY tk, "user", first_attack
ORDER BY first_seen, "user"
