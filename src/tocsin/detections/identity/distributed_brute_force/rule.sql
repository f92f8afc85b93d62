-- Distributed brute force: one account hammered from many addresses at once (STRONTIUM 2020:
-- about 335 attempts per account per hour from about 200 addresses, for hours to days).
-- Episodes as in password_guessing; here they need $min_ips distinct addresses or more.
SELECT
    concat_ws('|', tk, "user", strftime(first_seen, '%Y-%m-%dT%H:%M:%S')) AS group_key,
    tk, tenant, "user", ["user"] AS users,
    CASE WHEN success_time IS NULL THEN [] ELSE ["user"] END AS compromised_users,
    CASE WHEN success_time IS NULL THEN NULL ELSE 'critical' END AS severity,
    first_seen, last_seen, src_ips, src_asns, countries, user_agents,
    failures AS evidence_count, evidence_ids,
    failures, peak_in_window, distinct_ips,
    round(failures / greatest(epoch(last_seen - first_seen) / 3600, 1), 0) AS attempts_per_hour,
    $window_minutes AS window_minutes,
    success_time, success_ips,
    CASE WHEN success_time IS NULL THEN ''
         ELSE ' From one of those addresses the right password was then entered at '
              || strftime(success_time, '%Y-%m-%dT%H:%M:%SZ') || ' ('
              || array_to_string(success_ips, ', ')
              || '; the sign-in succeeded or reached MFA): treat the account as compromised.'
         END AS outcome_note
FROM account_guessing_episodes($window_minutes, $success_within_minutes, $min_failures)
WHERE peak_in_window >= $min_failures AND distinct_ips >= $min_ips
ORDER BY first_seen, "user"
