-- Password guessing against one account, counted across any number of source addresses.
-- An episode (failures no further apart than the window) alerts when some trailing window in
-- it holds at least $min_failures failures. Episodes from many addresses ($max_ips or more)
-- are distributed brute force, reported by that rule instead.
SELECT
    concat_ws('|', tk, "user", strftime(first_seen, '%Y-%m-%dT%H:%M:%S')) AS group_key,
    tk, tenant, "user", ["user"] AS users,
    CASE WHEN success_time IS NULL THEN [] ELSE ["user"] END AS compromised_users,
    CASE WHEN success_time IS NULL THEN NULL ELSE 'high' END AS severity,
    first_seen, last_seen, src_ips, src_asns, countries, user_agents,
    failures AS evidence_count, evidence_ids,
    failures, peak_in_window, distinct_ips,
    $window_minutes AS window_minutes,
    success_time, success_ips,
    CASE WHEN success_time IS NULL THEN ''
         ELSE ' Then, from a guessing address the account had never used before ('
              || array_to_string(success_ips, ', ') || '), the right password was entered at '
              || strftime(success_time, '%Y-%m-%dT%H:%M:%SZ')
              || ' (the sign-in succeeded or reached MFA): treat the account as compromised.'
         END AS outcome_note
FROM account_guessing_episodes($window_minutes, $success_within_minutes, $min_failures)
WHERE peak_in_window >= $min_failures AND distinct_ips < $max_ips
  -- the owner retrying a forgotten password at home or at the office, then getting in
  AND NOT owner_forgot
ORDER BY first_seen, "user"
