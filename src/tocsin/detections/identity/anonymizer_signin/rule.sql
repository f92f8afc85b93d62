-- A sign-in that worked (or proved the password) through an anonymizer: Tor, a hosting or
-- cloud server, a commercial VPN. Commercial VPNs and servers the person demonstrably uses
-- themselves (their registered device, a browser only they use here, a network they have
-- used for more than a day) are their normal and stay quiet; Tor always counts. Successes from
-- addresses that were attacking the organisation are left to the attack rules.
WITH hits AS (
    SELECT tk, tenant, "user", time, event_id, src_ip, src_asn, src_org, src_country,
           user_agent, device_id, outcome,
           CASE WHEN list_contains(ip_tags, 'tor') THEN 'tor'
                WHEN list_contains(ip_tags, 'vpn') THEN 'vpn'
                ELSE 'hosting' END AS kind,
           coalesce(CAST(src_asn AS VARCHAR), src_org) AS network
    FROM signins
    WHERE (outcome = 'success' OR credential_valid) AND "user" IS NOT NULL
      AND list_has_any(ip_tags, ['tor', 'vpn', 'hosting'])
      -- an address that was attacking the organisation: that sign-in is the attack landing,
      -- reported (as a compromise) by the attack rules, not a question of anonymizers
      AND (tk, src_ip) NOT IN (
          SELECT (tk, src_ip) FROM foreign_fails GROUP BY tk, src_ip
          HAVING count(DISTINCT "user") >= 2 OR count(*) >= 3)
),
-- Browsers and apps the account has signed in with from ordinary (not anonymized) addresses.
plain_agents AS (
    SELECT tk, "user", user_agent, min(time) AS first_ok
    FROM signins
    WHERE outcome = 'success' AND "user" IS NOT NULL AND user_agent IS NOT NULL
      AND NOT list_has_any(coalesce(ip_tags, []), ['tor', 'vpn', 'hosting'])
    GROUP BY ALL
),
-- Networks (ASN, else the VPN provider or organisation) the account has signed in through.
networks AS (
    SELECT tk, "user", coalesce(CAST(src_asn AS VARCHAR), src_org) AS network,
           min(time) AS first_ok
    FROM signins
    WHERE outcome = 'success' AND "user" IS NOT NULL
      AND coalesce(CAST(src_asn AS VARCHAR), src_org) IS NOT NULL
    GROUP BY ALL
),
judged AS (
    SELECT h.*,
        -- the person's registered device (an Entra device id an earlier success came from)
        coalesce(d.first_ok < h.time, false) AS own_device,
        -- a browser only this person uses here, already seen from an ordinary address
        coalesce(a.first_ok < h.time AND ta.users = 1, false) AS own_browser,
        -- a VPN or hosting network this account has been using for more than a day
        coalesce(n.first_ok < h.time - INTERVAL 1 DAY, false) AS usual_network
    FROM hits h
    LEFT JOIN user_device_ok d
           ON d.tk = h.tk AND d."user" = h."user" AND d.device = nullif(h.device_id, '')
    LEFT JOIN plain_agents a
           ON a.tk = h.tk AND a."user" = h."user" AND a.user_agent = h.user_agent
    LEFT JOIN tenant_agent_ok ta ON ta.tk = h.tk AND ta.user_agent = h.user_agent
    LEFT JOIN networks n ON n.tk = h.tk AND n."user" = h."user" AND n.network = h.network
),
unexplained AS (
    SELECT * FROM judged
    WHERE kind = 'tor'
       -- a server cannot borrow the person's registered device; a browser string it can
       -- (phishing proxies replay it), so only commercial VPNs get the browser exception
       OR NOT (own_device OR usual_network OR (kind = 'vpn' AND own_browser))
),
episodes AS (
    SELECT *,
        sum(starts) OVER (PARTITION BY tk, "user", kind ORDER BY time, event_id
                          ROWS UNBOUNDED PRECEDING) AS episode
    FROM (
        SELECT *,
            CASE WHEN time - lag(time) OVER (PARTITION BY tk, "user", kind
                                             ORDER BY time, event_id)
                      <= to_hours($episode_hours) THEN 0 ELSE 1 END AS starts
        FROM unexplained
    )
),
grouped AS (
    SELECT tk, any_value(tenant) AS tenant, "user", kind, episode,
        min(time) AS first_seen, max(time) AS last_seen,
        count(*) AS evidence_count,
        count(*) FILTER (WHERE outcome = 'success') AS signins,
        count(*) FILTER (WHERE outcome <> 'success') AS proven_only,
        list_sort(list(DISTINCT src_ip)) AS src_ips,
        list(DISTINCT src_asn) FILTER (WHERE src_asn IS NOT NULL) AS src_asns,
        coalesce(list_sort(list(DISTINCT src_org) FILTER (WHERE src_org IS NOT NULL)), [])
            AS networks,
        list(DISTINCT src_country) FILTER (WHERE src_country IS NOT NULL) AS countries,
        list(DISTINCT user_agent) FILTER (WHERE user_agent IS NOT NULL) AS user_agents,
        list(event_id ORDER BY time, event_id)[1:20] AS evidence_ids
    FROM episodes
    GROUP BY tk, "user", kind, episode
),
-- Earlier days on which the account signed in through Tor (journalists and activists may
-- use it on purpose: context for the reader, not a reason to stay quiet).
tor_days AS (
    SELECT g.tk, g."user", g.kind, g.episode, count(DISTINCT CAST(s.time AS DATE)) AS days
    FROM grouped g
    JOIN signins s
      ON s.tk = g.tk AND s."user" = g."user" AND s.outcome = 'success'
     AND list_contains(s.ip_tags, 'tor') AND s.time < g.first_seen - INTERVAL 1 DAY
    WHERE g.kind = 'tor'
    GROUP BY ALL
)
SELECT
    concat_ws('|', g.tk, g."user", g.kind, strftime(g.first_seen, '%Y-%m-%dT%H:%M:%S'))
        AS group_key,
    g.tk, g.tenant, g."user", [g."user"] AS users,
    CASE g.kind WHEN 'tor' THEN 'high' WHEN 'hosting' THEN 'medium' ELSE 'low' END AS severity,
    CASE g.kind WHEN 'tor' THEN 0.6 WHEN 'hosting' THEN 0.5 ELSE 0.3 END AS confidence,
    g.first_seen, g.last_seen, g.src_ips, g.src_asns, g.countries, g.user_agents,
    g.evidence_count, g.evidence_ids,
    g.kind AS anonymizer, g.signins, g.proven_only, g.networks,
    coalesce(t.days, 0) AS earlier_tor_days,
    CASE WHEN g.first_seen = g.last_seen
         THEN 'at ' || strftime(g.first_seen, '%Y-%m-%dT%H:%M:%SZ')
         ELSE 'between ' || strftime(g.first_seen, '%Y-%m-%dT%H:%M:%SZ') || ' and '
              || strftime(g.last_seen, '%Y-%m-%dT%H:%M:%SZ') END AS period,
    CASE WHEN g.signins > 0
         THEN g."user" || ' signed in ' || CASE g.signins WHEN 1 THEN 'once' WHEN 2 THEN 'twice'
                                                ELSE g.signins || ' times' END
         ELSE 'The right password of ' || g."user" || ' was entered'
    END AS what,
    CASE WHEN g.proven_only = 0 THEN ''
         WHEN g.signins > 0
         THEN ' The right password was also entered ' || g.proven_only || ' more time(s) and'
              || ' stopped by MFA or Conditional Access.'
         ELSE ' MFA or Conditional Access stopped the sign-in, but whoever typed the password'
              || ' knows it.'
    END AS stopped_note,
    CASE g.kind
        WHEN 'tor' THEN 'the Tor anonymity network'
        WHEN 'hosting' THEN 'a server in a hosting or cloud data centre'
        ELSE 'a commercial VPN'
    END AS through,
    CASE g.kind
        WHEN 'tor' THEN 'Attackers use Tor to hide where they are; some journalists and'
            || ' activists also use it on purpose to protect themselves'
            || CASE WHEN coalesce(t.days, 0) > 0
                    THEN ' (this account signed in through Tor on ' || t.days
                         || ' earlier day(s))'
                    ELSE ' (this account had not signed in through Tor before)' END
            || '. Ask the person before acting.'
        WHEN 'hosting' THEN 'People rarely sign in from data-centre servers; attackers, and'
            || ' phishing proxies that steal a session as it is created, often do. This is'
            || ' neither a network this account has been using nor its own registered device.'
        ELSE 'Commercial VPNs are used by privacy-minded staff as well as by attackers. This'
            || ' account had not used this VPN network, its own registered device or a browser'
            || ' only it uses here: probably a new VPN habit, possibly someone else. Low'
            || ' severity: confirm with the person.'
    END AS context
FROM grouped g
LEFT JOIN tor_days t USING (tk, "user", kind, episode)
ORDER BY g.first_seen, g."user", g.kind
