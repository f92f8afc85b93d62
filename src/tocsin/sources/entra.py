"""Microsoft Entra ID sign-in logs, in the three shapes users can export them.

* ``entra_diagnostic`` — Azure Monitor diagnostic-settings records (storage account,
  Event Hub): ``{"time", "category": "SignInLogs", "properties": {…signIn…}}`` as JSON Lines
  or a ``{"records": [...]}`` document. Categories ``SignInLogs``,
  ``NonInteractiveUserSignInLogs``, ``ServicePrincipalSignInLogs``,
  ``ManagedIdentitySignInLogs``.
* ``entra_graph`` — Microsoft Graph ``signIn`` resources: ``{"value": [...]}`` API pages or the
  JSON array the Entra admin centre downloads.
* ``entra_sentinel`` — Log Analytics / Microsoft Sentinel ``SigninLogs`` and
  ``AADNonInteractiveUserSignInLogs`` rows, as the portal's CSV export (nested columns arrive as
  JSON strings, sometimes split into ``X_dynamic``/``X_string``) or as JSON rows.

All three map through one SQL projection over the Graph ``signIn`` shape: the diagnostic
record's ``properties`` is that shape, and Sentinel rows are renamed into it in ``prepare``.
Reference: Microsoft Graph "signIn resource type" (v1.0 and beta) and "Azure Monitor
sign-in log schema".
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from tocsin.sources.base import Head, ReadOptions, RecordError, Skip, SourceFormat
from tocsin.sources.entra_codes import ENTRA_MACROS

SIGNIN_CATEGORIES: Final = (
    "SignInLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
)
# The tenant that holds personal Microsoft accounts (MSA): a sign-in from it is a personal account.
MSA_TENANT: Final = "9188040d-6c67-4c5b-b112-36a304b66dad"

_V = "VARCHAR"
SIGNIN_SHAPE: Final[dict[str, Any]] = {
    "id": _V,
    "createdDateTime": _V,
    "userPrincipalName": _V,
    "userId": _V,
    "userDisplayName": _V,
    "userType": _V,
    "homeTenantId": _V,
    "resourceTenantId": _V,
    "ipAddress": _V,
    "autonomousSystemNumber": _V,
    "appDisplayName": _V,
    "appId": _V,
    "resourceDisplayName": _V,
    "clientAppUsed": _V,
    "userAgent": _V,
    "correlationId": _V,
    "isInteractive": _V,
    "status": {"errorCode": _V, "failureReason": _V, "additionalDetails": _V},
    "deviceDetail": {
        "deviceId": _V,
        "operatingSystem": _V,
        "browser": _V,
        "isCompliant": _V,
        "trustType": _V,
    },
    "location": {
        "city": _V,
        "countryOrRegion": _V,
        "geoCoordinates": {"latitude": _V, "longitude": _V},
    },
    "mfaDetail": {"authMethod": _V},
    "riskLevelDuringSignIn": _V,
    "riskEventTypes_v2": _V,
    "conditionalAccessStatus": _V,
    "authenticationRequirement": _V,
    "servicePrincipalName": _V,
    "servicePrincipalId": _V,
    "authenticationProtocol": _V,
}
# Only what the mapping reads is declared: DuckDB's cost grows with every field it extracts,
# and fields never mapped would only slow the fast path down.

# Extra columns every Entra format provides next to the signIn shape (NULL where absent).
_EXTRA: Final = (
    "_time",
    "_tenant",
    "_category",
    "_caller_ip",
    "_result_type",
    "_result_description",
)

SIGNIN_SQL: Final = f"""
SELECT
  tocsin_ts(coalesce(createdDateTime, _time)) AS time,
  CASE WHEN deviceDetail IS NULL AND status IS NULL AND userPrincipalName IS NULL
            AND servicePrincipalName IS NULL AND ipAddress IS NULL
       THEN 'record has none of the signIn fields (userPrincipalName, status, ipAddress)' END
    AS _reject,
  CASE WHEN _category IS NOT NULL AND _category NOT IN {SIGNIN_CATEGORIES!r}
       THEN 'log category ' || _category || ' is not a sign-in log' END AS _skip,
  'auth' AS event_type,
  coalesce(_category, 'signIn') AS action,
  coalesce(_tenant, resourceTenantId, homeTenantId) AS tenant,
  coalesce(tocsin_str(userPrincipalName), tocsin_str(servicePrincipalName),
           tocsin_str(servicePrincipalId)) AS "user",
  coalesce(tocsin_str(userId), tocsin_str(servicePrincipalId)) AS user_id,
  CASE WHEN _category IN ('ServicePrincipalSignInLogs', 'ManagedIdentitySignInLogs')
            OR (tocsin_str(userPrincipalName) IS NULL
                AND tocsin_str(servicePrincipalId) IS NOT NULL)
         THEN 'service'
       WHEN homeTenantId = '{MSA_TENANT}' THEN 'personal'
       WHEN lower(userType) = 'guest' THEN 'guest'
       ELSE 'member' END AS user_type,
  userDisplayName AS user_name,
  coalesce(tocsin_str(ipAddress), _caller_ip) AS src_ip,
  TRY_CAST(autonomousSystemNumber AS BIGINT) AS src_asn,
  location.countryOrRegion AS src_country,
  location.city AS src_city,
  TRY_CAST(location.geoCoordinates.latitude AS DOUBLE) AS src_lat,
  TRY_CAST(location.geoCoordinates.longitude AS DOUBLE) AS src_lon,
  appDisplayName AS app,
  appId AS app_id,
  resourceDisplayName AS resource,
  clientAppUsed AS client_app,
  userAgent AS user_agent,
  deviceDetail.deviceId AS device_id,
  deviceDetail.operatingSystem AS os,
  deviceDetail.browser AS browser,
  entra_outcome(coalesce(status.errorCode, _result_type)) AS outcome,
  entra_reason(coalesce(status.errorCode, _result_type),
               concat_ws(' ', status.failureReason, status.additionalDetails)) AS reason,
  coalesce(status.errorCode, _result_type) AS reason_code,
  nullif(concat_ws('; ', coalesce(tocsin_str(status.failureReason), _result_description),
                   tocsin_str(status.additionalDetails)), '') AS reason_detail,
  entra_credential_valid(coalesce(status.errorCode, _result_type)) AS credential_valid,
  CASE WHEN _category = 'NonInteractiveUserSignInLogs' THEN false
       ELSE tocsin_bool(isInteractive) END AS interactive,
  CASE WHEN tocsin_str(mfaDetail.authMethod) IS NOT NULL THEN true
       WHEN TRY_CAST(coalesce(status.errorCode, _result_type) AS BIGINT) = 0
            AND authenticationRequirement = 'multiFactorAuthentication' THEN true
       WHEN TRY_CAST(coalesce(status.errorCode, _result_type) AS BIGINT) = 0 THEN false
       END AS mfa_used,
  nullif(lower(riskLevelDuringSignIn), 'none') AS vendor_risk,
  correlationId AS correlation_id,
  id AS vendor_id,
  concat_ws('|', id, strftime(tocsin_ts(coalesce(createdDateTime, _time)), '%Y-%m-%dT%H:%M:%S'),
            lower(coalesce(userPrincipalName, servicePrincipalId)),
            coalesce(ipAddress, _caller_ip), coalesce(status.errorCode, _result_type)) AS _id_key,
  CAST(json_object(
    'conditionalAccessStatus', conditionalAccessStatus,
    'authenticationRequirement', authenticationRequirement,
    'authenticationProtocol', authenticationProtocol,
    'riskEventTypes', nullif(riskEventTypes_v2, '[]'),
    'deviceTrustType', nullif(deviceDetail.trustType, ''),
    'deviceCompliant', deviceDetail.isCompliant
  ) AS VARCHAR) AS details
FROM signins
"""


def _signins_from_graph() -> str:
    extras = ", ".join(f"NULL::VARCHAR AS {e}" for e in _EXTRA)
    return f"WITH signins AS NOT MATERIALIZED (SELECT *, {extras} FROM records) {SIGNIN_SQL}"


# -- entra_diagnostic ---------------------------------------------------------------------

DIAGNOSTIC_SHAPE: Final[dict[str, Any]] = {
    "time": _V,
    "category": _V,
    "tenantId": _V,
    "resultType": _V,
    "resultDescription": _V,
    "callerIpAddress": _V,
    "properties": SIGNIN_SHAPE,
}

DIAGNOSTIC_SQL: Final = f"""
WITH signins AS NOT MATERIALIZED (
  SELECT unnest(properties), time AS _time, tenantId AS _tenant, category AS _category,
         callerIpAddress AS _caller_ip, resultType AS _result_type,
         resultDescription AS _result_description
  FROM records
)
{SIGNIN_SQL}
"""


def _sniff_diagnostic(head: Head) -> int:
    category = head.value("category")
    if head.has("properties.userPrincipalName") or head.has("properties.status.errorCode"):
        if category in SIGNIN_CATEGORIES:
            return 90
        if head.has("operationName", "resourceId"):
            return 60
    if category in SIGNIN_CATEGORIES and head.has("time"):
        return 70
    return 0


ENTRA_DIAGNOSTIC: Final = SourceFormat(
    name="entra_diagnostic",
    source="entra",
    title="Entra ID sign-ins, Azure Monitor diagnostic-settings records",
    containers=("ndjson", "json_document"),
    shape=DIAGNOSTIC_SHAPE,
    sql=DIAGNOSTIC_SQL,
    sniff=_sniff_diagnostic,
    example="Diagnostic settings → archive to a storage account or stream to an Event Hub",
    macros=ENTRA_MACROS,
)


# -- entra_graph ------------------------------------------------------------------------------


def _sniff_graph(head: Head) -> int:
    if head.has("createdDateTime") and (
        head.has("status.errorCode") or head.has("userPrincipalName")
    ):
        if head.has("appDisplayName") or head.has("ipAddress") or head.has("clientAppUsed"):
            return 85
        return 50
    return 0


ENTRA_GRAPH: Final = SourceFormat(
    name="entra_graph",
    source="entra",
    title="Entra ID sign-ins, Microsoft Graph signIn resources",
    containers=("ndjson", "json_document"),
    shape=SIGNIN_SHAPE,
    sql=_signins_from_graph(),
    sniff=_sniff_graph,
    example="GET /auditLogs/signIns pages, or Entra admin centre → Sign-in logs → Download JSON",
    macros=ENTRA_MACROS,
)


# -- entra_sentinel -----------------------------------------------------------------------------

# Log Analytics column -> signIn property. Nested columns are parsed from their JSON text.
_SENTINEL_COLUMNS: Final = {
    "Id": "id",
    "CreatedDateTime": "createdDateTime",
    "UserPrincipalName": "userPrincipalName",
    "UserId": "userId",
    "UserDisplayName": "userDisplayName",
    "UserType": "userType",
    "HomeTenantId": "homeTenantId",
    "ResourceTenantId": "resourceTenantId",
    "IPAddress": "ipAddress",
    "AutonomousSystemNumber": "autonomousSystemNumber",
    "AppDisplayName": "appDisplayName",
    "AppId": "appId",
    "ResourceDisplayName": "resourceDisplayName",
    "ClientAppUsed": "clientAppUsed",
    "UserAgent": "userAgent",
    "CorrelationId": "correlationId",
    "IsInteractive": "isInteractive",
    "Status": "status",
    "DeviceDetail": "deviceDetail",
    "LocationDetails": "location",
    "MfaDetail": "mfaDetail",
    "RiskLevelDuringSignIn": "riskLevelDuringSignIn",
    "RiskEventTypes_V2": "riskEventTypes_v2",
    "ConditionalAccessStatus": "conditionalAccessStatus",
    "AuthenticationRequirement": "authenticationRequirement",
    "ServicePrincipalName": "servicePrincipalName",
    "ServicePrincipalId": "servicePrincipalId",
    "AuthenticationProtocol": "authenticationProtocol",
    "TimeGenerated": "_time",
    "AADTenantId": "_tenant",
    "Category": "_category",
    "ResultType": "_result_type",
    "ResultDescription": "_result_description",
}
_SENTINEL_NESTED: Final = frozenset({"status", "deviceDetail", "location", "mfaDetail"})
_SENTINEL_TABLES: Final = {
    "SigninLogs": "SignInLogs",
    "AADNonInteractiveUserSignInLogs": "NonInteractiveUserSignInLogs",
    "AADServicePrincipalSignInLogs": "ServicePrincipalSignInLogs",
    "AADManagedIdentitySignInLogs": "ManagedIdentitySignInLogs",
}

SENTINEL_SHAPE: Final[dict[str, Any]] = {**SIGNIN_SHAPE, **dict.fromkeys(_EXTRA, _V)}


def _column_name(raw: str) -> str:
    # "CreatedDateTime [UTC]" -> "CreatedDateTime"; "DeviceDetail_dynamic" -> "DeviceDetail".
    name = raw.split(" [", 1)[0].strip()
    for suffix in ("_dynamic", "_string"):
        name = name.removesuffix(suffix)
    return name


def _parse_json_text(value: Any, column: str) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return None
    if text[0] not in "{[":
        return None if column in ("status", "deviceDetail", "location", "mfaDetail") else value
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"column {column} holds invalid JSON: {exc}") from exc


def prepare_sentinel(row: Any, options: ReadOptions) -> dict[str, Any] | Skip:
    """Rename a Log Analytics sign-in row into the signIn shape (plus the extra columns)."""
    if not isinstance(row, dict):
        raise RecordError("record is not an object")
    out: dict[str, Any] = {}
    for raw_key, value in row.items():
        if value is None:
            continue
        target = _SENTINEL_COLUMNS.get(_column_name(str(raw_key)))
        if target is None or (target in out and str(raw_key).endswith("_string")):
            continue  # prefer the parsed _dynamic column over its _string twin
        out[target] = _parse_json_text(value, target) if target in _SENTINEL_NESTED else value
    table = row.get("Type")
    if out.get("_category") is None and isinstance(table, str):
        out["_category"] = _SENTINEL_TABLES.get(table)
    category = out.get("_category")
    if category is not None and category not in SIGNIN_CATEGORIES:
        return Skip(f"Log Analytics category {category} is not a sign-in log")
    if out.get("createdDateTime") is None and out.get("_time") is None:
        # Some exports drop the time columns; the authentication steps still carry theirs.
        out["createdDateTime"] = _first_step_time(row)
    status = out.get("status")
    if isinstance(status, dict) and "errorCode" in status:
        status["errorCode"] = str(status["errorCode"])
    return out


def _first_step_time(row: dict[str, Any]) -> str | None:
    for key, value in row.items():
        if _column_name(str(key)) != "AuthenticationDetails" or not value:
            continue
        try:
            steps = orjson.loads(value) if isinstance(value, str) else value
        except orjson.JSONDecodeError:
            return None
        times = [
            str(s["authenticationStepDateTime"])
            for s in steps
            if isinstance(s, dict) and s.get("authenticationStepDateTime")
        ]
        return min(times) if times else None
    return None


def _sniff_sentinel(head: Head) -> int:
    if head.container == "csv":
        cols = {_column_name(c) for c in head.header}
        if {"UserPrincipalName", "ResultType"} <= cols and ({"AppDisplayName", "IPAddress"} & cols):
            return 90
        return 0
    if head.has("UserPrincipalName", "ResultType") and (
        head.has("TimeGenerated") or head.has("CreatedDateTime")
    ):
        return 88
    return 0


ENTRA_SENTINEL: Final = SourceFormat(
    name="entra_sentinel",
    source="entra",
    title="Entra ID sign-ins, Log Analytics / Sentinel SigninLogs rows (CSV or JSON)",
    containers=("csv", "ndjson", "json_document"),
    shape=SENTINEL_SHAPE,
    sql=f"WITH signins AS NOT MATERIALIZED (SELECT * FROM records) {SIGNIN_SQL}",
    sniff=_sniff_sentinel,
    prepare=prepare_sentinel,
    example="Log Analytics: SigninLogs | … → Export → CSV (all columns)",
    macros=ENTRA_MACROS,
)


# -- entra_audit: recognised so it is reported truthfully, not read as sign-ins -----------------


def _skip_audit(row: Any, options: ReadOptions) -> Skip:
    category = row.get("Category") if isinstance(row, dict) else None
    return Skip(
        "Entra ID directory audit record"
        + (f" ({category})" if category else "")
        + ", not a sign-in: no tocsin rule reads directory changes yet"
    )


def _sniff_audit(head: Head) -> int:
    if head.container == "csv":
        cols = {_column_name(c) for c in head.header}
        keys = cols
    else:
        keys = {p.split(".")[0].split("[")[0] for p in head.paths}
    if {"OperationName", "Category"} <= keys and (
        {"TargetResources", "InitiatedBy", "ActivityDisplayName", "AADOperationType"} & keys
    ):
        return 40
    return 0


ENTRA_AUDIT: Final = SourceFormat(
    name="entra_audit",
    source="entra",
    title="Entra ID AuditLogs (directory changes) — recognised, not read yet",
    containers=("csv", "ndjson", "json_document"),
    shape={"_unused": _V},
    sql="SELECT NULL::TIMESTAMPTZ AS time, NULL AS outcome FROM records",
    sniff=_sniff_audit,
    prepare=_skip_audit,
    example="Log Analytics: AuditLogs | … → Export → CSV",
)

FORMATS: Final = (ENTRA_DIAGNOSTIC, ENTRA_GRAPH, ENTRA_SENTINEL, ENTRA_AUDIT)
