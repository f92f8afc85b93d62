-- Sign-ins from where the account's owner cannot be: (a) impossible travel between two
-- successful sign-ins, (b) a country the account never signed in from in its history.
-- Proxies (Tor, VPN, hosting) are left out on both sides — they create false journeys and
-- false countries, and anonymizer_signin reports them.
WITH ok AS NOT MATERIALIZED (
    SELECT tk, tenant, "user", time, event_id, src_ip, src_asn, src_country, src_city,
           src_lat, src_lon, user_agent, device_id,
           list_has_any(coalesce(ip_tags, []), ['tor', 'vpn', 'hosting']) AS proxied,
           -- a "place": the network (else the address) and the city Entra puts it in
           concat_ws('|', coalesce(CAST(src_asn AS VARCHAR), src_ip), src_city) AS place
    FROM signins
    WHERE outcome = 'success' AND "user" IS NOT NULL
),
places AS (
    SELECT tk, "user", place, min(time) AS first_ok
    FROM ok WHERE NOT proxied GROUP BY ALL
),
history AS (
    SELECT tk, "user", min(time) AS first_ok FROM ok GROUP BY ALL
),
-- Accounts whose located sign-ins are not all at one point: only they can have journeys.
-- Most accounts sign in from one place; leaving them out of the pairing below keeps its
-- sort to a fraction of the successes without changing any result. Keyed by a hash of the
-- account (one integer joins far faster than two strings): a collision only keeps an
-- account that could have been left out.
movers AS (
    SELECT hash(tk, "user") AS account FROM ok
    WHERE NOT proxied AND src_lat IS NOT NULL AND src_lon IS NOT NULL
      AND NOT (src_lat = 0 AND src_lon = 0)
    GROUP BY account
    HAVING min(src_lat) < max(src_lat) OR min(src_lon) < max(src_lon)
),
located AS (
    SELECT o.*, coalesce(p.first_ok < o.time - INTERVAL 1 DAY, false) AS usual_place,
           -- the person's own registered device (an Entra device id of an earlier success):
           -- a password thief cannot sign in with it
           coalesce(d.first_ok < o.time, false) AS own_device
    FROM ok o
    SEMI JOIN movers m ON m.account = hash(o.tk, o."user")
    LEFT JOIN places p ON p.tk = o.tk AND p."user" = o."user" AND p.place = o.place
    LEFT JOIN user_device_ok d
           ON d.tk = o.tk AND d."user" = o."user" AND d.device = nullif(o.device_id, '')
    WHERE NOT o.proxied AND o.src_lat IS NOT NULL AND o.src_lon IS NOT NULL
      AND NOT (o.src_lat = 0 AND o.src_lon = 0)  -- "no location", not the Gulf of Guinea
),
-- (a) each successful sign-in against the account's previous one
paired AS (
    SELECT tk, "user", event_id, time, src_lat, src_lon, usual_place, own_device,
        lag(event_id) OVER w AS prev_event_id, lag(time) OVER w AS prev_time,
        lag(src_lat) OVER w AS prev_lat, lag(src_lon) OVER w AS prev_lon,
        lag(usual_place) OVER w AS prev_usual, lag(own_device) OVER w AS prev_own_device
    FROM located
    WINDOW w AS (PARTITION BY tk, "user" ORDER BY time, event_id)
),
measured AS (
    SELECT *,
        -- haversine great-circle distance, mean Earth radius
        2 * 6371.0088 * asin(least(1.0, sqrt(
            pow(sin(radians(src_lat - prev_lat) / 2), 2)
            + cos(radians(prev_lat)) * cos(radians(src_lat))
              * pow(sin(radians(src_lon - prev_lon) / 2), 2)))) AS distance_km,
        (epoch(time) - epoch(prev_time)) / 3600.0 AS hours
    FROM paired
    WHERE prev_event_id IS NOT NULL
),
journeys AS (
    SELECT *,
        -- anything quicker than a minute counts as a minute
        distance_km / greatest(hours, 1 / 60.0) AS speed_kmh,
        -- which end is out of place: the arrival, unless only the departure is unusual
        CASE WHEN usual_place AND NOT prev_usual THEN prev_event_id ELSE event_id END
            AS odd_event_id,
        CASE WHEN usual_place AND NOT prev_usual THEN event_id ELSE prev_event_id END
            AS other_event_id
    FROM measured
    WHERE distance_km > $min_distance_km
      AND distance_km / greatest(hours, 1 / 60.0) > $max_speed_kmh
      -- two places the account has used for days (home and a carrier whose addresses are
      -- placed in another city; a corporate VPN concentrator): not a journey
      AND NOT (usual_place AND prev_usual)
),
impossible AS (
    SELECT j.* FROM journeys j
    JOIN history h ON h.tk = j.tk AND h."user" = j."user"
    -- the out-of-place end is the person's own registered device: a phone whose carrier
    -- address is placed far away, or roaming home-routed while its owner travels
    WHERE NOT CASE WHEN j.odd_event_id = j.event_id THEN j.own_device ELSE j.prev_own_device END
      -- the account's first day in the logs: nothing is known yet about its usual places
      AND h.first_ok <= j.prev_time - to_days($travel_history_days)
),
-- (b) the first successful sign-in from each country, for accounts with enough history
country_first AS (
    SELECT tk, "user", src_country, min(time) AS first_time,
           arg_min(event_id, time) AS event_id
    FROM ok
    WHERE NOT proxied AND src_country IS NOT NULL
    GROUP BY ALL
),
-- Browsers and devices the account already signed in with from ordinary addresses.
plain_agents AS (
    SELECT tk, "user", user_agent, min(time) AS first_ok
    FROM ok WHERE NOT proxied AND user_agent IS NOT NULL GROUP BY ALL
),
new_country AS (
    SELECT c.event_id
    FROM country_first c
    JOIN history h ON h.tk = c.tk AND h."user" = c."user"
    JOIN ok o ON o.event_id = c.event_id
    LEFT JOIN user_device_ok d
           ON d.tk = o.tk AND d."user" = o."user" AND d.device = nullif(o.device_id, '')
    LEFT JOIN plain_agents a
           ON a.tk = o.tk AND a."user" = o."user" AND a.user_agent = o.user_agent
    LEFT JOIN tenant_agent_ok ta ON ta.tk = o.tk AND ta.user_agent = o.user_agent
    WHERE h.first_ok <= c.first_time - to_days($min_history_days)
      -- a traveller: the person's registered device, or a browser only they use here
      AND NOT coalesce(d.first_ok < o.time, false)
      AND NOT coalesce(a.first_ok < o.time AND ta.users = 1, false)
),
odd AS (
    SELECT odd_event_id AS event_id, true AS impossible, false AS new_country,
           speed_kmh, distance_km, hours, other_event_id
    FROM impossible
    UNION ALL
    SELECT event_id, false, true, NULL, NULL, NULL, NULL FROM new_country
),
odd_events AS (
    SELECT o.*, f.impossible, f.new_country, f.speed_kmh, f.distance_km, f.hours,
           f.other_event_id,
           x.src_city AS other_city, x.src_country AS other_country, x.src_ip AS other_ip
    FROM (
        SELECT event_id, bool_or(impossible) AS impossible, bool_or(new_country) AS new_country,
               max(speed_kmh) AS speed_kmh, arg_max(distance_km, speed_kmh) AS distance_km,
               arg_max(hours, speed_kmh) AS hours,
               arg_max(other_event_id, speed_kmh) AS other_event_id
        FROM odd GROUP BY event_id
    ) f
    JOIN ok o ON o.event_id = f.event_id
    LEFT JOIN ok x ON x.event_id = f.other_event_id
),
episodes AS (
    SELECT *,
        sum(starts) OVER (PARTITION BY tk, "user", src_country ORDER BY time, event_id
                          ROWS UNBOUNDED PRECEDING) AS episode
    FROM (
        SELECT *,
            CASE WHEN time - lag(time) OVER (PARTITION BY tk, "user", src_country
                                             ORDER BY time, event_id)
                      <= to_hours($episode_hours) THEN 0 ELSE 1 END AS starts
        FROM odd_events
    )
),
grouped AS (
    SELECT tk, any_value(tenant) AS tenant, "user", src_country, episode,
        min(time) AS first_seen, max(time) AS last_seen,
        bool_or(impossible) AS impossible, bool_or(new_country) AS new_country,
        max(speed_kmh) AS speed_kmh,
        arg_max(distance_km, speed_kmh) AS distance_km,
        arg_max(hours, speed_kmh) AS hours,
        arg_max(concat_ws(', ', other_city, other_country), speed_kmh) AS from_place,
        arg_min(concat_ws(', ', src_city, src_country), time) AS place,
        list_sort(list(DISTINCT src_ip)) AS src_ips,
        list(DISTINCT src_asn) FILTER (WHERE src_asn IS NOT NULL) AS src_asns,
        list(DISTINCT user_agent) FILTER (WHERE user_agent IS NOT NULL) AS user_agents,
        list_sort(list(DISTINCT other_event_id) FILTER (WHERE other_event_id IS NOT NULL))
            AS other_ids,
        list(event_id ORDER BY time, event_id) AS odd_ids
    FROM episodes
    GROUP BY tk, "user", src_country, episode
)
SELECT
    concat_ws('|', g.tk, g."user", coalesce(g.src_country, '?'),
              strftime(g.first_seen, '%Y-%m-%dT%H:%M:%S')) AS group_key,
    g.tk, g.tenant, g."user", [g."user"] AS users,
    CASE WHEN g.impossible THEN 'medium' ELSE 'low' END AS severity,
    CASE WHEN g.impossible THEN 0.6 ELSE 0.4 END AS confidence,
    g.first_seen, g.last_seen, g.src_ips, g.src_asns, g.user_agents,
    CASE WHEN g.src_country IS NULL THEN [] ELSE [g.src_country] END AS countries,
    len(list_distinct(list_concat(g.odd_ids, g.other_ids))) AS evidence_count,
    list_concat(g.odd_ids[1:15],
                list_filter(g.other_ids, lambda x: NOT list_contains(g.odd_ids, x))[1:5])
        AS evidence_ids,
    list_sort(list_distinct(list_concat(g.odd_ids, g.other_ids))) AS _all_ids,
    g.impossible AS impossible_travel, g.new_country,
    CAST(round(g.speed_kmh) AS BIGINT) AS speed_kmh,
    CAST(round(g.distance_km) AS BIGINT) AS distance_km, g.place, g.from_place,
    $min_history_days AS min_history_days,
    CASE WHEN g.impossible
         THEN g."user" || ' signed in successfully from ' || g.place || ' ('
              || array_to_string(g.src_ips[1:5], ', ') || ') '
              || CASE WHEN g.hours * 60 < 1 THEN 'within a minute'
                      WHEN g.hours < 2 THEN CAST(round(g.hours * 60) AS BIGINT) || ' minutes'
                      ELSE round(g.hours, 1) || ' hours' END
              || ' apart from a sign-in in ' || g.from_place || ', '
              || CAST(round(g.distance_km) AS BIGINT) || ' km away: '
              || CAST(round(g.speed_kmh) AS BIGINT) || ' km/h, faster than any airliner. One'
              || ' person cannot be in both places, and neither address is a proxy.'
              || CASE WHEN g.new_country
                      THEN ' The account had never signed in from ' || g.src_country
                           || ' before.'
                      ELSE '' END
         ELSE g."user" || ' signed in successfully from ' || g.place || ' ('
              || array_to_string(g.src_ips[1:5], ', ') || '), a country this account had'
              || ' never signed in from in its history, and not from the person''s registered'
              || ' device or a browser only they use here.'
    END AS story
FROM grouped g
ORDER BY g.first_seen, g."user"
