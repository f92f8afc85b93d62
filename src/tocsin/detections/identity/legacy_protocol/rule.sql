-- Legacy (basic) authentication from addresses the organisation does not sign in from: IMAP4,
-- POP3, SMTP AUTH, ActiveSync, EWS… take a password and nothing else, so MFA never gets a say.
-- Failures against several accounts from one such address are password guessing that avoids
-- MFA; a success (or a password proven and then blocked by policy) is an account taken over.
WITH clients AS (
    SELECT list_transform(string_split(lower($legacy_clients), ','), lambda x: trim(x)) AS legacy
),
-- When each person first signed in from each address with a modern client (browser, Outlook,
-- mobile app), and when a second person did: from then on it is their place (a home; an
-- office or shared egress). An intruder holding only a password gets no modern sign-in past
-- MFA, so addresses used only for legacy sign-ins never qualify.
modern_first AS (
    SELECT s.tk, s.src_ip, s."user", min(s.time) AS first_ok
    FROM signins s, clients c
    WHERE s.outcome = 'success' AND s.src_ip IS NOT NULL AND s."user" IS NOT NULL
      AND NOT list_contains(c.legacy, lower(trim(coalesce(s.client_app, ''))))
    GROUP BY ALL
),
shared_from AS (
    SELECT tk, src_ip, list_sort(list(first_ok))[2] AS second_user_at
    FROM modern_first GROUP BY ALL
),
-- The organisation's first sign-in in the logs: during its first day nothing is known about
-- its addresses, so only anonymizing ones (Tor, VPN, hosting) are judged.
tenant_start AS (
    SELECT tk, min(time) AS first_seen FROM signins GROUP BY tk
),
legacy AS (
    SELECT s.tk, s.tenant, s."user", s.time, s.event_id, s.src_ip, s.src_asn, s.src_country,
           s.user_agent, s.client_app, s.outcome, s.reason, s.credential_valid,
           NOT list_contains(coalesce(s.ip_tags, []), 'tor')
           AND (coalesce(m.second_user_at < s.time, false)
                -- the person's own place: the account signed in there with a modern client
                OR coalesce(u.first_ok < s.time, false)
                -- or anyone here signed in from it (any client) more than a day earlier
                OR coalesce(t.first_ok < s.time - INTERVAL 1 DAY, false)) AS familiar,
           b.first_seen <= s.time - INTERVAL 1 DAY
           OR list_has_any(coalesce(s.ip_tags, []), ['tor', 'vpn', 'hosting']) AS judged
    FROM signins s
    CROSS JOIN clients c
    JOIN tenant_start b ON b.tk = s.tk
    LEFT JOIN shared_from m ON m.tk = s.tk AND m.src_ip = s.src_ip
    LEFT JOIN modern_first u ON u.tk = s.tk AND u.src_ip = s.src_ip AND u."user" = s."user"
    LEFT JOIN tenant_ip_ok t ON t.tk = s.tk AND t.src_ip = s.src_ip
    WHERE s.event_type = 'auth' AND s."user" IS NOT NULL AND s.src_ip IS NOT NULL
      AND list_contains(c.legacy, lower(trim(s.client_app)))
),
foreign_legacy AS (
    SELECT *,
        CASE WHEN time - lag(time) OVER (PARTITION BY tk, src_ip ORDER BY time, event_id)
                  <= to_hours($window_hours) THEN 0 ELSE 1 END AS starts
    FROM legacy
    WHERE judged AND NOT familiar
),
episodes AS (
    SELECT *,
        sum(starts) OVER (PARTITION BY tk, src_ip ORDER BY time, event_id
                          ROWS UNBOUNDED PRECEDING) AS episode
    FROM foreign_legacy
),
grouped AS (
    SELECT tk, any_value(tenant) AS tenant, src_ip, episode,
        min(time) AS first_seen, max(time) AS last_seen, count(*) AS attempts,
        list_sort(list(DISTINCT "user")) AS accounts,
        coalesce(list_sort(list(DISTINCT "user") FILTER (WHERE outcome = 'success')), [])
            AS signed_in,
        coalesce(list_sort(list(DISTINCT "user")
                           FILTER (WHERE outcome <> 'success' AND credential_valid)), [])
            AS proven,
        list_sort(list(DISTINCT client_app)) AS protocols,
        list(DISTINCT src_asn) FILTER (WHERE src_asn IS NOT NULL) AS src_asns,
        list(DISTINCT src_country) FILTER (WHERE src_country IS NOT NULL) AS countries,
        list(DISTINCT user_agent) FILTER (WHERE nullif(user_agent, '') IS NOT NULL)
            AS user_agents,
        list(event_id ORDER BY time, event_id)[1:20] AS evidence_ids
    FROM episodes
    GROUP BY tk, src_ip, episode
),
judged AS (
    SELECT *,
        list_sort(list_distinct(list_concat(signed_in, proven))) AS compromised
    FROM grouped
    WHERE len(accounts) >= $min_accounts OR len(signed_in) > 0 OR len(proven) > 0
)
SELECT
    concat_ws('|', tk, src_ip, strftime(first_seen, '%Y-%m-%dT%H:%M:%S')) AS group_key,
    tk, tenant, src_ip, [src_ip] AS src_ips,
    accounts AS users, compromised AS compromised_users,
    CASE WHEN len(compromised) > 0 THEN 'high' ELSE 'medium' END AS severity,
    CASE WHEN len(compromised) > 0 THEN 0.85 ELSE 0.7 END AS confidence,
    first_seen, last_seen, src_asns, countries, user_agents,
    attempts AS evidence_count, evidence_ids,
    attempts, len(accounts) AS account_count, protocols,
    (SELECT legacy FROM clients) AS _legacy,
    CASE WHEN len(compromised) > 0
         THEN 'if you did not set up mail on a new device at that time, someone else knows your'
              || ' password: change it at once (and anywhere else you used it) and tell your security'
              || ' contact.'
         ELSE 'someone tried to guess your password through old mail protocols; if it is short,'
              || ' common or used on other sites, change it, and tell your security contact'
              || ' if you see sign-ins you do not recognise.'
    END AS to_people,
    CASE WHEN len(signed_in) = 0 AND len(proven) = 0
         THEN ' None of them got in.'
         ELSE CASE WHEN len(signed_in) > 0
                   THEN ' The password of ' || array_to_string(signed_in[1:5], ', ')
                        || ' worked: whoever holds it can read and send that mail without'
                        || ' ever seeing an MFA prompt.'
                   ELSE '' END
              || CASE WHEN len(proven) > 0
                      THEN ' The password of ' || array_to_string(proven[1:5], ', ')
                           || ' was right but the sign-in was blocked by policy: the password'
                           || ' itself is known.'
                      ELSE '' END
              || ' Treat these accounts as compromised.'
    END AS outcome_note
FROM judged
ORDER BY first_seen, src_ip
