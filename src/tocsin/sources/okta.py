"""Okta System Log events, as the API returns them and as Microsoft Sentinel stores them.

* ``okta_systemlog`` — System Log API ``LogEvent`` objects: the JSON array ``GET /api/v1/logs``
  returns, or JSON Lines of the same objects (what most collectors write).
* ``okta_sentinel`` — rows of the Sentinel Okta connector table ``Okta_CL``: the LogEvent
  flattened into ``<path>_<type>`` columns (``actor_alternateId_s``, ``published_t``…), every
  value a string, and ``target_s`` / ``request_ipChain_s`` holding JSON text.

Both map through one SQL projection over the LogEvent shape: ``prepare_sentinel`` folds the
flat columns back into that shape. Okta's ``eventType`` decides what a record is; event types
that are not sign-in steps (group membership, app provisioning…) are skipped by name.
Reference: Okta "System Log API" (LogEvent object) and "Event Types" catalogue.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from tocsin.sources.base import Head, ReadOptions, RecordError, SourceFormat

_V = "VARCHAR"
LOGEVENT_SHAPE: Final[dict[str, Any]] = {
    "uuid": _V,
    "published": _V,
    "eventType": _V,
    "legacyEventType": _V,
    "displayMessage": _V,
    "severity": _V,
    "actor": {"id": _V, "type": _V, "alternateId": _V, "displayName": _V},
    "client": {
        "ipAddress": _V,
        "device": _V,
        "zone": _V,
        "userAgent": {"rawUserAgent": _V, "os": _V, "browser": _V},
        "geographicalContext": {
            "city": _V,
            "state": _V,
            "country": _V,
            "geolocation": {"lat": _V, "lon": _V},
        },
    },
    "outcome": {"result": _V, "reason": _V},
    "request": {"ipChain": [{"ip": _V}]},
    "securityContext": {"asNumber": _V, "asOrg": _V, "isp": _V, "domain": _V, "isProxy": _V},
    "authenticationContext": {
        "externalSessionId": _V,
        "authenticationProvider": _V,
        "credentialProvider": _V,
        "credentialType": _V,
        "interface": _V,
    },
    "transaction": {"id": _V, "type": _V},
    "debugContext": {
        "debugData": {
            "factor": _V,
            "risk": _V,
            "behaviors": _V,
            "threatSuspected": _V,
            "logOnlySecurityData": _V,
            "requestUri": _V,
        }
    },
    "target": [{"id": _V, "type": _V, "alternateId": _V, "displayName": _V}],
    # Not an Okta field: the ingest time a collector recorded, used only when `published` is
    # missing (Sentinel's TimeGenerated). Always NULL in API records.
    "_ingest_time": _V,
}

# Event types that end a sign-in attempt with an account lock: Okta logs the lock as its own
# event, whose outcome is the lock itself (SUCCESS), so it is read as a blocked attempt.
_LOCK_EVENTS: Final = ("user.account.lock", "user.account.lock.limit")

OKTA_MACROS: Final = (
    # Okta's "words" in a reason: INVALID_CREDENTIALS and "Invalid credentials" read alike.
    r"""CREATE OR REPLACE MACRO okta_words(x) AS
          upper(regexp_replace(coalesce(x::VARCHAR, ''), '[_\s]+', ' ', 'g'))""",
    # In Okta Identity Engine the password is verified as a "factor" of auth_via_mfa: that step
    # is a first-factor attempt (what a password spray produces), not a second factor.
    """CREATE OR REPLACE MACRO okta_password_step(et, factor, credential_type) AS
          et = 'user.authentication.auth_via_mfa'
          AND (upper(coalesce(factor, '')) = 'PASSWORD_AS_FACTOR'
               OR upper(coalesce(credential_type, '')) = 'PASSWORD')""",
    rf"""CREATE OR REPLACE MACRO okta_event_type(et, password_step) AS CASE
          WHEN et IN ('user.session.start', 'user.authentication.verify',
                      'user.authentication.sso', 'user.authentication.authenticate',
                      {", ".join(repr(e) for e in _LOCK_EVENTS)}) THEN 'auth'
          WHEN et = 'user.authentication.auth_via_mfa'
               THEN CASE WHEN password_step THEN 'auth' ELSE 'mfa' END
          WHEN et LIKE 'user.authentication.auth\_via\_%' ESCAPE '\' THEN 'auth'
          -- user.mfa.* includes factor enrolment and resets: they stay `mfa`, told apart from
          -- verification steps by their native event type in `action`
          WHEN et LIKE 'user.mfa.%' OR et = 'system.push.send_factor_verify_push' THEN 'mfa'
          WHEN et = 'policy.evaluate_sign_on' THEN 'policy'
          WHEN et IN ('user.session.end', 'user.authentication.slo') THEN 'logoff'
          WHEN et IN ('security.threat.detected',
                      'user.account.report_suspicious_activity_by_enduser') THEN 'vendor_alert'
        END""",
    f"""CREATE OR REPLACE MACRO okta_outcome(et, result) AS CASE
          WHEN et IN {_LOCK_EVENTS!r} THEN 'blocked'
          WHEN et LIKE 'user.mfa.okta_verify.deny_push%' THEN 'failure'
          -- a push sent is the second factor being asked for
          WHEN et = 'system.push.send_factor_verify_push' AND upper(result) IN ('SUCCESS', 'ALLOW')
               THEN 'challenge'
          ELSE CASE upper(result)
            WHEN 'SUCCESS' THEN 'success' WHEN 'ALLOW' THEN 'success'
            WHEN 'SKIPPED' THEN 'success'  -- the step was not needed: nothing stopped the user
            WHEN 'FAILURE' THEN 'failure' WHEN 'UNKNOWN' THEN 'failure'
            WHEN 'DENY' THEN 'blocked' WHEN 'CHALLENGE' THEN 'challenge' END
        END""",
    # `kind` is the tocsin event_type: the same native reason means a wrong password on a
    # first-factor step and a wrong code on a second-factor step.
    rf"""CREATE OR REPLACE MACRO okta_reason(et, kind, result, reason, password_step) AS CASE
          WHEN et IN {_LOCK_EVENTS!r} THEN 'locked'
          WHEN et LIKE 'user.mfa.okta_verify.deny_push%' THEN 'mfa_denied'
          WHEN et = 'system.push.send_factor_verify_push' AND upper(result) IN ('SUCCESS', 'ALLOW')
               THEN 'mfa_required'
          WHEN upper(result) IN ('SUCCESS', 'ALLOW', 'SKIPPED') THEN 'ok'
          WHEN okta_words(reason) LIKE '%LOCKED%' THEN 'locked'
          WHEN regexp_matches(okta_words(reason),
               'UNKNOWN USER|USER NOT FOUND|NO SUCH USER|USER DOES NOT EXIST') THEN 'unknown_user'
          WHEN regexp_matches(okta_words(reason), 'PASSWORD (HAS )?EXPIRED|EXPIRED PASSWORD')
               THEN 'password_expired'
          WHEN regexp_matches(okta_words(reason), 'DEACTIVATED|SUSPENDED|DISABLED') THEN 'disabled'
          WHEN regexp_matches(okta_words(reason), 'INVALID CREDENTIALS|INVALID PASSWORD')
               THEN CASE WHEN kind = 'mfa' THEN 'mfa_denied' ELSE 'bad_password' END
          WHEN regexp_matches(okta_words(reason),
               'VERIFICATION ERROR|INVALID PASSCODE|INVALID TOKEN|INVALID ANSWER')
               THEN CASE WHEN kind = 'mfa' THEN 'mfa_denied'
                         WHEN password_step THEN 'bad_password' ELSE 'other' END
          WHEN kind = 'mfa' AND regexp_matches(okta_words(reason), 'TIME ?D? ?OUT|EXPIRED')
               THEN 'mfa_timeout'
          WHEN kind = 'mfa' AND regexp_matches(okta_words(reason), 'REJECT|DENIED|DECLINED')
               THEN 'mfa_denied'
          WHEN regexp_matches(okta_words(reason), '\bIP\b|NETWORK ZONE|BLOCKLIST|BLACKLIST')
               THEN 'blocked_ip'
          WHEN upper(result) = 'CHALLENGE' THEN 'mfa_required'
          WHEN regexp_matches(okta_words(reason), 'NOT ASSIGNED|NOT ALLOWED|POLICY')
               THEN 'blocked_policy'
          -- ThreatInsight acts on the requesting IP address
          WHEN et = 'security.threat.detected' THEN 'blocked_ip'
          WHEN upper(result) = 'DENY' THEN 'blocked_policy'
          -- the password step failed without saying why: the password was wrong
          WHEN password_step AND upper(result) = 'FAILURE' THEN 'bad_password'
          ELSE 'other'
        END""",
    # Risk arrives as "{level=HIGH}", "{reasons=…, level=HIGH}" or JSON; keep the level only.
    r"""CREATE OR REPLACE MACRO okta_risk_level(risk, log_only) AS lower(coalesce(
          nullif(regexp_extract(coalesce(risk, ''), 'level"?\s*[=:]\s*"?([A-Za-z]+)', 1), ''),
          CASE WHEN json_valid(log_only)
               THEN json_extract_string(log_only, '$.risk.level') END))""",
    # Behaviour signals Okta rated POSITIVE ("New Country", "Velocity"…), from either the
    # "{New IP=POSITIVE, …}" text or the JSON object inside logOnlySecurityData.
    r"""CREATE OR REPLACE MACRO okta_positive_behaviors(behaviors, log_only) AS
          regexp_extract_all(
            coalesce(behaviors, CASE WHEN json_valid(log_only)
                                     THEN json_extract(log_only, '$.behaviors')::VARCHAR END, ''),
            '([A-Za-z][A-Za-z -]*)"?\s*[=:]\s*"?POSITIVE', 1)""",
)

_STEPS_SQL: Final = """
WITH steps AS (
  SELECT *,
    okta_password_step(eventType, debugContext.debugData.factor,
                       authenticationContext.credentialType) AS _password_step,
    outcome.result AS _result,
    tocsin_str(outcome.reason) AS _native_reason,
    tocsin_ts(coalesce(tocsin_str(published), _ingest_time)) AS _time
  FROM records
), typed AS (
  SELECT *,
    okta_event_type(eventType, _password_step) AS _kind,
    okta_outcome(eventType, _result) AS _outcome
  FROM steps
), events AS (
  SELECT *,
    okta_reason(eventType, _kind, _result, _native_reason, _password_step) AS _reason,
    list_filter(target, lambda t: t.type = 'AppInstance')[1] AS _app
  FROM typed
)
"""

LOGEVENT_SQL: Final = (
    _STEPS_SQL
    + """
SELECT
  _time AS time,
  CASE WHEN eventType IS NULL THEN 'record has no eventType: not an Okta LogEvent' END AS _reject,
  -- skip reasons are counted per distinct text: cut what a hostile file could vary endlessly
  CASE WHEN eventType IS NOT NULL AND _kind IS NULL
       THEN 'Okta event type ' || left(eventType, 120) || ' is not an authentication record'
       END AS _skip,
  _kind AS event_type,
  eventType AS action,
  -- ThreatInsight and system events name no one: Okta writes "unknown"
  nullif(tocsin_str(actor.alternateId), 'unknown') AS "user",
  nullif(tocsin_str(actor.id), 'unknown') AS user_id,
  CASE WHEN actor.type = 'User' THEN 'member'
       WHEN actor.type IN ('SystemPrincipal', 'PublicClientApp', 'AppInstance') THEN 'service'
       END AS user_type,
  nullif(tocsin_str(actor.displayName), 'unknown') AS user_name,
  coalesce(tocsin_ip(client.ipAddress), tocsin_ip(request.ipChain[1].ip)) AS src_ip,
  TRY_CAST(TRY_CAST(tocsin_str(securityContext.asNumber) AS DOUBLE) AS BIGINT) AS src_asn,
  coalesce(tocsin_str(securityContext.asOrg), tocsin_str(securityContext.isp)) AS src_org,
  -- Okta writes the country's English name ("United States"), not an ISO code: kept as-is.
  client.geographicalContext.country AS src_country,
  client.geographicalContext.city AS src_city,
  TRY_CAST(tocsin_str(client.geographicalContext.geolocation.lat) AS DOUBLE) AS src_lat,
  TRY_CAST(tocsin_str(client.geographicalContext.geolocation.lon) AS DOUBLE) AS src_lon,
  CASE WHEN tocsin_bool(securityContext.isProxy) THEN ['proxy'] END AS ip_tags,
  _app.displayName AS app,
  _app.id AS app_id,
  authenticationContext.interface AS client_app,
  client.userAgent.rawUserAgent AS user_agent,
  client.userAgent.os AS os,
  client.userAgent.browser AS browser,
  _outcome AS outcome,
  _reason AS reason,
  coalesce(_native_reason, _result) AS reason_code,
  nullif(concat_ws('; ', _result, tocsin_str(displayMessage)), '') AS reason_detail,
  CASE WHEN _reason IN ('bad_password', 'unknown_user') THEN false
       WHEN _outcome = 'success' AND (eventType = 'user.session.start' OR _password_step)
            THEN true END AS credential_valid,
  CASE WHEN eventType = 'user.authentication.auth_via_mfa' AND NOT _password_step
            AND _outcome = 'success' THEN true END AS mfa_used,
  coalesce(okta_risk_level(debugContext.debugData.risk, debugContext.debugData.logOnlySecurityData),
           CASE WHEN tocsin_bool(debugContext.debugData.threatSuspected)
                THEN 'threat_suspected' END) AS vendor_risk,
  coalesce(nullif(tocsin_str(transaction.id), 'unknown'),
           nullif(tocsin_str(authenticationContext.externalSessionId), 'unknown'))
    AS correlation_id,
  uuid AS vendor_id,
  -- uuid alone is not trusted: exports seen in the wild reuse one uuid for different events.
  concat_ws('|', uuid, strftime(_time, '%Y-%m-%dT%H:%M:%S.%f'), eventType,
            lower(actor.alternateId), _result, _native_reason) AS _id_key,
  CAST(json_object(
    'outcome_result', _result,
    'legacy_event_type', tocsin_str(legacyEventType),
    'severity', severity,
    'factor', tocsin_str(debugContext.debugData.factor),
    'risk', tocsin_str(debugContext.debugData.risk),
    'behaviors', tocsin_str(debugContext.debugData.behaviors),
    'behaviors_positive', okta_positive_behaviors(debugContext.debugData.behaviors,
                                                  debugContext.debugData.logOnlySecurityData),
    'log_only_security_data', CASE WHEN json_valid(debugContext.debugData.logOnlySecurityData)
                                   THEN debugContext.debugData.logOnlySecurityData::JSON END,
    'threat_suspected', tocsin_bool(debugContext.debugData.threatSuspected),
    'session_id', tocsin_str(authenticationContext.externalSessionId),
    'transaction_type', tocsin_str(transaction.type),
    'authentication_provider', tocsin_str(authenticationContext.authenticationProvider),
    'credential_provider', tocsin_str(authenticationContext.credentialProvider),
    'credential_type', tocsin_str(authenticationContext.credentialType),
    'client_device', tocsin_str(client.device),
    'network_zone', tocsin_str(client.zone),
    'src_state', tocsin_str(client.geographicalContext.state),
    'src_domain', tocsin_str(securityContext.domain),
    'src_isp', tocsin_str(securityContext.isp),
    'request_uri', tocsin_str(debugContext.debugData.requestUri),
    'targets', list_transform(target, lambda t: concat_ws(':', t.type, t.displayName)),
    'time_source', CASE WHEN tocsin_str(published) IS NULL AND _ingest_time IS NOT NULL
                        THEN 'ingest' END
  ) AS VARCHAR) AS details
FROM events
"""
)


def _sniff_systemlog(head: Head) -> int:
    if head.has("eventType", "published") and (head.has("actor.alternateId") or head.has("uuid")):
        return 90
    return 0


OKTA_SYSTEMLOG: Final = SourceFormat(
    name="okta_systemlog",
    source="okta",
    title="Okta System Log API events (LogEvent JSON array or JSON Lines)",
    containers=("ndjson", "json_document"),
    shape=LOGEVENT_SHAPE,
    sql=LOGEVENT_SQL,
    sniff=_sniff_systemlog,
    example="GET https://{org}.okta.com/api/v1/logs?since=… (follow the `next` links)",
    macros=OKTA_MACROS,
)


# -- okta_sentinel ------------------------------------------------------------------------------

# Log Analytics type suffixes of custom-log columns: string, double, bool, guid, datetime.
_SENTINEL_SUFFIXES: Final = ("_s", "_d", "_b", "_g", "_t")
# Columns whose text is a JSON array (the connector serialises nested arrays).
_SENTINEL_JSON: Final = frozenset({("target",), ("request", "ipChain")})
# Values the connector writes for "nothing".
_BLANK: Final = frozenset({"", "null", "NULL"})


def _sentinel_path(column: str) -> tuple[str, ...] | None:
    """``client_userAgent_os_s`` -> ("client", "userAgent", "os"); None for table columns."""
    name = column.split(" [", 1)[0].strip()  # CSV export: "published_t [UTC]"
    if not name.endswith(_SENTINEL_SUFFIXES):
        return None  # TenantId, TimeGenerated, Type, _ResourceId… describe the table row
    parts = tuple(name[:-2].split("_"))
    # LogEvent property names are camelCase, so "_" only ever separates path segments.
    return parts if all(p and p[0].isalpha() for p in parts) else None


def _json_column(value: str, column: str) -> Any:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"column {column} holds invalid JSON: {exc}") from exc


def _put(event: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = event
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return  # a leaf already holds this name; the nested value cannot be placed
        node = child
    if not isinstance(node.get(path[-1]), dict):
        node[path[-1]] = value


def prepare_sentinel(row: Any, options: ReadOptions) -> dict[str, Any]:
    """Fold an ``Okta_CL`` row back into the System Log LogEvent shape."""
    if not isinstance(row, dict):
        raise RecordError("record is not an object")
    event: dict[str, Any] = {}
    ingest_time = None
    for raw_key, value in row.items():
        column = str(raw_key)
        if column.split(" [", 1)[0].strip() == "TimeGenerated":
            ingest_time = value
            continue
        path = _sentinel_path(column)
        if path is None or value is None or (isinstance(value, str) and value.strip() in _BLANK):
            continue
        if path in _SENTINEL_JSON and isinstance(value, str):
            value = _json_column(value, column)
        _put(event, path, value)
    if not event.get("eventType"):
        raise RecordError("Okta_CL row has no eventType_s")
    # TimeGenerated is when Sentinel ingested the row (minutes later): only a fallback.
    if isinstance(ingest_time, str) and ingest_time.strip():
        event["_ingest_time"] = ingest_time
    return event


def _sniff_sentinel(head: Head) -> int:
    if head.container == "csv":
        columns = {c.split(" [", 1)[0].strip() for c in head.header}
    else:
        columns = set(head.paths)
    if "eventType_s" in columns and ({"published_t", "actor_alternateId_s"} & columns):
        return 92
    return 0


OKTA_SENTINEL: Final = SourceFormat(
    name="okta_sentinel",
    source="okta",
    title="Okta System Log as stored by the Sentinel Okta connector (Okta_CL rows)",
    containers=("json_document", "ndjson", "csv"),
    shape=LOGEVENT_SHAPE,
    sql=LOGEVENT_SQL,
    sniff=_sniff_sentinel,
    prepare=prepare_sentinel,
    example="Log Analytics: Okta_CL | … → Export (CSV), or the query API's JSON rows",
    macros=OKTA_MACROS,
)

FORMATS: Final = (OKTA_SYSTEMLOG, OKTA_SENTINEL)
