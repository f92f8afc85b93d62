"""Google Workspace login audit, from the Admin SDK Reports API (``applicationName=login``).

* ``google_login`` — ``activities.list`` items, in any of the containers they are saved in:
  the API page ``{"kind": "admin#reports#activities", "items": [...]}``, a plain JSON array of
  activities (what the Sentinel connector's sample export holds; its flattened top-level
  copies such as ``event_name`` are ignored), or JSON Lines of activities — where some
  collectors write ``events`` as one object instead of an array.

One activity can hold several events (a sign-in and its 2-step verification, say), so
``prepare_activity`` explodes it into one record per event and flattens the event's
``parameters`` list into a ``{name: value}`` object; the SQL then maps each event by name.
Besides sign-in steps, the login application carries Google's own account warnings —
``gov_attack_warning`` ("government-backed attackers may be trying to steal your password"),
suspicious-login blocks and accounts disabled as hijacked — kept as ``vendor_alert`` events
because they are the strongest evidence a small organisation will ever get.
Reference: Google Admin SDK Reports API, "Login Audit Activity Events" and "Activities: list".
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from tocsin.sources.base import Head, ReadOptions, RecordError, Skip, SourceFormat

_V = "VARCHAR"
EVENT_SHAPE: Final[dict[str, Any]] = {
    "id": {"time": _V, "uniqueQualifier": _V, "applicationName": _V, "customerId": _V},
    "actor": {"email": _V, "profileId": _V, "callerType": _V},
    "ownerDomain": _V,
    "ipAddress": _V,
    # One event of the activity, with its position and its flattened parameters.
    "event": {"index": _V, "type": _V, "name": _V, "parameters": "JSON"},
}

# Google's account warnings: the IdP's own verdicts, kept as evidence, not counted as attempts.
_WARNING_PREFIXES: Final = ("account_disabled_", "suspicious_", "risky_sensitive_action_")
_WARNINGS: Final = ("gov_attack_warning", "user_signed_out_due_to_suspicious_session_cookie")

# login_challenge_method values that are a second factor (anything but the password itself,
# the account's usual location, or "none").
_SECOND_FACTORS: Final = (
    "backup_code",
    "google_authenticator",
    "google_prompt",
    "idv_any_phone",
    "idv_preregistered_phone",
    "internal_two_factor",
    "offline_otp",
    "passkey",
    "security_key",
    "security_key_otp",
    "totp",
)

GOOGLE_MACROS: Final = (
    # A parameter as text (parameters are flattened to strings or lists of strings).
    "CREATE OR REPLACE MACRO gw_param(p, name) AS tocsin_str(json_extract_string(p, '$.' || name))",
    # login_challenge_method is a single value in some records and a multiValue in others.
    """CREATE OR REPLACE MACRO gw_methods(p) AS CASE
          WHEN json_type(p, '$.login_challenge_method') = 'ARRAY'
               THEN json_transform(json_extract(p, '$.login_challenge_method'), '["VARCHAR"]')
          WHEN gw_param(p, 'login_challenge_method') IS NOT NULL
               THEN [gw_param(p, 'login_challenge_method')] END""",
    f"""CREATE OR REPLACE MACRO gw_event_type(name) AS CASE
          WHEN name IN ('login_success', 'login_failure') THEN 'auth'
          WHEN name IN ('login_challenge', 'login_verification') THEN 'mfa'
          WHEN name = 'logout' THEN 'logoff'
          WHEN name IN {_WARNINGS!r}
               OR {" OR ".join(f"starts_with(name, '{p}')" for p in _WARNING_PREFIXES)}
               THEN 'vendor_alert'
        END""",
    # "passed", "Challenge Passed." and "failed", "Challenge Failed." are all seen.
    """CREATE OR REPLACE MACRO gw_challenge(status) AS CASE
          WHEN regexp_matches(lower(coalesce(status, '')), 'pass') THEN 'passed'
          WHEN regexp_matches(lower(coalesce(status, '')), 'fail') THEN 'failed' END""",
    """CREATE OR REPLACE MACRO gw_outcome(name, failure_type, status) AS CASE
          WHEN name IN ('login_success', 'logout', 'risky_sensitive_action_allowed')
               THEN 'success'
          WHEN name = 'login_failure'
               THEN CASE WHEN failure_type = 'login_failure_access_code_disallowed'
                         THEN 'blocked' ELSE 'failure' END
          WHEN name IN ('login_challenge', 'login_verification')
               THEN CASE gw_challenge(status) WHEN 'passed' THEN 'success'
                         WHEN 'failed' THEN 'failure' ELSE 'challenge' END
          -- the warning itself says nothing was known to be stopped
          WHEN name = 'gov_attack_warning' THEN 'failure'
          -- Google blocked the sign-in, the action, the cookie or the whole account
          ELSE 'blocked' END""",
    """CREATE OR REPLACE MACRO gw_reason(name, failure_type, status) AS CASE
          WHEN name IN ('login_success', 'logout') THEN 'ok'
          WHEN name = 'login_failure' THEN CASE failure_type
               WHEN 'login_failure_invalid_password' THEN 'bad_password'
               WHEN 'login_failure_invalid_second_factor' THEN 'mfa_denied'
               WHEN 'login_failure_missing_second_factor' THEN 'mfa_required'
               WHEN 'login_failure_account_disabled' THEN 'disabled'
               WHEN 'login_failure_access_code_disallowed' THEN 'blocked_policy'
               ELSE 'other' END
          WHEN name IN ('login_challenge', 'login_verification')
               THEN CASE gw_challenge(status) WHEN 'passed' THEN 'ok'
                         WHEN 'failed' THEN 'mfa_denied' ELSE 'mfa_required' END
          WHEN starts_with(name, 'account_disabled_') THEN 'disabled'
          WHEN name = 'risky_sensitive_action_blocked' THEN 'blocked_policy'
          ELSE 'other' END""",
)

LOGIN_SQL: Final = f"""
WITH events AS (
  SELECT *,
    tocsin_ts(id.time) AS _time,
    event.name AS _name,
    event.parameters AS _p,
    gw_event_type(event.name) AS _kind,
    gw_param(event.parameters, 'login_failure_type') AS _failure_type,
    gw_param(event.parameters, 'login_challenge_status') AS _status,
    gw_methods(event.parameters) AS _methods,
    gw_param(event.parameters, 'affected_email_address') AS _affected
  FROM records
)
SELECT
  _time AS time,
  CASE WHEN _name IS NULL THEN 'login event has no name' END AS _reject,
  -- skip reasons are counted per distinct text: cut what a hostile file could vary endlessly
  CASE WHEN _name IS NOT NULL AND _kind IS NULL
       THEN 'Google login event ' || left(_name, 120) || ' is not an authentication record'
       END AS _skip,
  _kind AS event_type,
  _name AS action,
  coalesce(tocsin_str(id.customerId), tocsin_str(ownerDomain)) AS tenant,
  -- an account warning is about the affected account, which is who is under attack
  coalesce(_affected, actor.email) AS "user",
  CASE WHEN _affected IS NULL OR lower(_affected) = lower(actor.email)
       THEN tocsin_str(actor.profileId) END AS user_id,
  CASE WHEN actor.callerType = 'KEY' THEN 'service' ELSE 'member' END AS user_type,
  ipAddress AS src_ip,
  gw_param(_p, 'login_type') AS client_app,
  gw_outcome(_name, _failure_type, _status) AS outcome,
  gw_reason(_name, _failure_type, _status) AS reason,
  coalesce(_failure_type, _status) AS reason_code,
  CASE WHEN _kind = 'vendor_alert' THEN gw_param(_p, 'sensitive_action_name') END
    AS reason_detail,
  CASE WHEN _failure_type = 'login_failure_invalid_password' THEN false
       -- Google asks for the second factor only once the password was accepted
       WHEN _failure_type IN ('login_failure_invalid_second_factor',
                              'login_failure_missing_second_factor') THEN true
       WHEN _name = 'login_success' AND list_contains(_methods, 'password') THEN true
       END AS credential_valid,
  CASE WHEN _name NOT IN ('login_success', 'login_challenge', 'login_verification') THEN NULL
       WHEN tocsin_bool(gw_param(_p, 'is_second_factor')) IS NOT NULL
            THEN tocsin_bool(gw_param(_p, 'is_second_factor'))
       WHEN _methods IS NOT NULL THEN list_has_any(_methods, {list(_SECOND_FACTORS)!r})
       END AS mfa_used,
  CASE WHEN tocsin_bool(gw_param(_p, 'is_suspicious')) THEN 'suspicious' END AS vendor_risk,
  tocsin_str(id.uniqueQualifier) AS correlation_id,
  tocsin_str(id.uniqueQualifier) AS vendor_id,
  -- uniqueQualifier is shared by the events of one activity and, in exports seen in the
  -- wild, by different activities: time, actor, position and parameters make the key.
  concat_ws('|', strftime(_time, '%Y-%m-%dT%H:%M:%S.%f'), tocsin_str(id.uniqueQualifier),
            coalesce(tocsin_str(actor.profileId), lower(actor.email)), event.index, _name,
            md5(coalesce(CAST(_p AS VARCHAR), ''))) AS _id_key,
  CAST(json_object(
    'google_event_type', event.type,
    'login_challenge_method', _methods,
    -- the time of the sign-in a warning is about, in microseconds since the epoch
    'login_time', strftime(make_timestamp(TRY_CAST(gw_param(_p, 'login_timestamp') AS BIGINT)),
                           '%Y-%m-%dT%H:%M:%S.%fZ'),
    'actor_email', CASE WHEN lower(_affected) <> lower(actor.email) THEN actor.email END,
    'actor_caller_type', actor.callerType,
    'owner_domain', tocsin_str(ownerDomain),
    'parameters', _p
  ) AS VARCHAR) AS details
FROM events
"""


def _text(value: Any) -> Any:
    """A parameter value as text: Google writes int64 as strings, some collectors as numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_text(v) for v in value]
    if isinstance(value, dict):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return None if value is None else str(value)


# The value keys of a Reports API parameter, one of which is set.
_VALUE_KEYS: Final = (
    "value",
    "intValue",
    "boolValue",
    "multiValue",
    "multiIntValue",
    "messageValue",
    "multiMessageValue",
)


def _parameters(raw: Any, where: str) -> dict[str, Any]:
    """``[{"name": n, "value"|"boolValue"|…: v}]`` -> ``{n: v}``, sorted so ids are stable."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise RecordError(f"{where}.parameters is not an array")
    out: dict[str, Any] = {}
    for i, param in enumerate(raw):
        if not isinstance(param, dict) or not isinstance(param.get("name"), str):
            raise RecordError(f"{where}.parameters[{i}] is not a {{name, value}} object")
        key = next((k for k in _VALUE_KEYS if k in param), None)
        out[param["name"]] = _text(param[key]) if key else None
    return dict(sorted(out.items()))


def _ids(obj: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """An id or actor object with its values as text (profileId may exceed 64-bit integers)."""
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise RecordError(f"{where} is not an object")
    return {k: _text(obj[k]) for k in keys if obj.get(k) is not None}


def prepare_activity(activity: Any, options: ReadOptions) -> list[dict[str, Any]] | Skip:
    """One Reports API activity -> one record per event (or a skip for another application)."""
    if not isinstance(activity, dict):
        raise RecordError("activity is not a JSON object")
    ident = _ids(
        activity.get("id"), "id", ("time", "uniqueQualifier", "applicationName", "customerId")
    )
    application = ident.get("applicationName")
    if application is None:
        raise RecordError("activity has no id.applicationName")
    if application != "login":
        return Skip(f"Google Workspace {application[:120]} activity, not the login audit")
    events = activity.get("events")
    if isinstance(events, dict):
        events = [events]  # JSON Lines collectors write a one-event activity as an object
    if not isinstance(events, list) or not events:
        raise RecordError("login activity has no events")
    base = {
        "id": ident,
        "actor": _ids(activity.get("actor"), "actor", ("email", "profileId", "callerType")),
        "ownerDomain": _text(activity.get("ownerDomain")),
        "ipAddress": _text(activity.get("ipAddress")),
    }
    out = []
    for index, event in enumerate(events):
        where = f"events[{index}]"
        if not isinstance(event, dict):
            raise RecordError(f"{where} is not an object")
        flat = {
            "index": str(index),
            "type": _text(event.get("type")),
            "name": _text(event.get("name")),
            "parameters": _parameters(event.get("parameters"), where),
        }
        out.append({**base, "event": flat})
    return out


def _sniff_login(head: Head) -> int:
    application = head.value("id.applicationName")
    has_events = head.has("events[].name") or head.has("events.name")
    if application is None or not has_events or not head.has("id.time"):
        return 0
    # Another Reports API application is still recognised, so its records are reported as
    # skipped for a reason instead of the file being "not a format tocsin reads".
    return 90 if application == "login" else 55


GOOGLE_LOGIN: Final = SourceFormat(
    name="google_login",
    source="google_workspace",
    title="Google Workspace login audit (Admin SDK Reports API activities, applicationName=login)",
    containers=("json_document", "ndjson"),
    shape=EVENT_SHAPE,
    sql=LOGIN_SQL,
    sniff=_sniff_login,
    prepare=prepare_activity,
    example="GET https://admin.googleapis.com/admin/reports/v1/activity/users/all/applications/login",
    macros=GOOGLE_MACROS,
)

FORMATS: Final = (GOOGLE_LOGIN,)
