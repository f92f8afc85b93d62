"""Microsoft 365 unified audit log: sign-ins, mailbox access and inbox rules, in three shapes.

* ``m365_audit`` — raw audit records as the Office 365 Management Activity API returns them
  (content blobs are JSON arrays) or as JSON Lines: ``{"CreationTime", "Operation", "Workload",
  "RecordType", "UserId", "ClientIP", …}``.
* ``m365_audit_csv`` — the Purview portal's "Audit" search export (and
  ``Search-UnifiedAuditLog | Export-Csv``): a CSV whose ``AuditData`` column holds that same
  record as JSON text. ``prepare`` parses the cell; the one SQL mapping below does the rest.
* ``m365_officeactivity`` — Microsoft Sentinel / Log Analytics ``OfficeActivity`` rows (CSV
  export or JSON). ``prepare`` renames the table's columns back into the raw record's names.

The unified audit log holds every workload's activity. tocsin reads three kinds of it:
Entra STS logons (``UserLoggedIn`` / ``UserLoginFailed``, which carry the same AADSTS code as
Entra sign-in logs), Exchange mailbox audit records (``MailItemsAccessed`` and the other
mailbox actions) and inbox-rule changes. Everything else — SharePoint file activity, Teams,
admin cmdlets — is skipped by name. References: Microsoft Learn, "Office 365 Management
Activity API schema", "Audit log activities" and the Azure Monitor "OfficeActivity" table.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from tocsin.sources.base import Head, ReadOptions, RecordError, Skip, SourceFormat, csv_has
from tocsin.sources.entra_codes import ENTRA_MACROS

# -- what is read, and as what ---------------------------------------------------------------------

AUTH_OPERATIONS: Final = ("UserLoggedIn", "UserLoginFailed")
# Changes to the rules that file, forward or delete incoming mail: attackers hide their tracks
# and keep reading mail with them. UpdateInboxRules is Outlook desktop's (MAPI) way to do it.
INBOX_RULE_OPERATIONS: Final = (
    "New-InboxRule",
    "Set-InboxRule",
    "Enable-InboxRule",
    "Disable-InboxRule",
    "Remove-InboxRule",
    "UpdateInboxRules",
)
MAILBOX_OPERATIONS: Final = ("MailItemsAccessed", "MailboxLogin")
# Exchange mailbox audit record types (numbers in the API, names in OfficeActivity): every
# mailbox action (Send, MoveToDeletedItems, Update, …) is mailbox activity, kept as such.
MAILBOX_RECORD_TYPES: Final = (
    "2", "3", "19", "50",
    "ExchangeItem", "ExchangeItemGroup", "ExchangeAggregatedOperation", "ExchangeItemAggregated",
)  # fmt: skip
SUCCESS_STATUSES: Final = ("succeeded", "success", "true", "partiallysucceeded")

# UserLoginFailed names the AADSTS error in LogonError; most records also carry the number
# (ErrorNumber; the schema page calls it ErrorCode). When only the name is there it is turned
# into its number so the Entra code table decides outcome, reason and credential proof.
# Names from Microsoft Learn, "Microsoft Entra authentication and authorization error codes".
LOGON_ERRORS: Final = {
    "InvalidUserNameOrPassword": 50126,
    "UserAccountNotFound": 50034,
    "UserAccountNotInDirectory": 51004,
    "UserUnauthorized": 50020,
    "SsoUserAccountNotFoundInResourceTenant": 16003,
    "IdsLocked": 50053,
    "InvalidPasswordExpiredPassword": 50055,
    "InvalidPasswordExpiredOnPremPassword": 50144,
    "UserDisabled": 50057,
    "UserInformationNotProvided": 50058,
    "MissingTenantRealmAndNoUserInformationProvided": 50059,
    "CredentialAuthenticationError": 50064,
    "UserStrongAuthEnrollmentRequiredInterrupt": 50072,
    "UserStrongAuthClientAuthNRequiredInterrupt": 50074,
    "UserStrongAuthClientAuthNRequired": 50076,
    "UserStrongAuthEnrollmentRequired": 50079,
    "DeviceAuthenticationRequired": 50097,
    "EntitlementGrantsNotFound": 50105,
    "PasswordResetRegistrationRequiredInterrupt": 50125,
    "ConditionalAccessFailed": 50131,
    "SsoArtifactInvalidOrExpired": 50132,
    "SsoArtifactRevoked": 50133,
    "KmsiInterrupt": 50140,
    "DeviceAuthenticationFailed": 50155,
    "ExternalSecurityChallenge": 50158,
    "FreshTokenNeeded": 50173,
    "CmsiInterrupt": 50199,
    "DeviceNotCompliant": 53000,
    "DeviceNotDomainJoined": 53001,
    "ApplicationUsedIsNotAnApprovedApp": 53002,
    "BlockedByConditionalAccess": 53003,
    "ProofUpBlockedDueToRisk": 53004,
    "BlockedByConditionalAccessOnSecurityPolicy": 530032,
    "DelegationDoesNotExist": 65001,
    "ExpiredOrRevokedGrantInactiveToken": 700082,
    "DesktopSsoAuthTokenInvalid": 81010,
    "InvalidReplyTo": 50011,
}


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join("'" + v.lower() + "'" for v in values) + ")"


_LOGON_ERROR_WHENS = " ".join(f"WHEN '{n.lower()}' THEN {c}" for n, c in LOGON_ERRORS.items())

M365_MACROS: Final = (
    *ENTRA_MACROS,
    f"CREATE OR REPLACE MACRO m365_logon_error_code(name) AS "
    f"CASE lower(trim(name)) {_LOGON_ERROR_WHENS} END",
    # The value of one Name/Value pair (ExtendedProperties, DeviceProperties, …).
    """CREATE OR REPLACE MACRO m365_nv(pairs, key) AS
       tocsin_str(list_filter(pairs, lambda p: p.Name = key)[1].Value)""",
    # Name/Value pairs as one JSON object; a repeated or missing name must not fail the batch
    # (DuckDB maps refuse duplicate and NULL keys), so the first occurrence of a name wins.
    """CREATE OR REPLACE MACRO m365_pairs(pairs) AS
       to_json(map_from_entries(list_transform(
         list_filter(pairs, lambda p, i: p.Name IS NOT NULL
                     AND list_position(list_transform(pairs, lambda q: q.Name), p.Name) = i),
         lambda p: (p.Name, p.Value))))""",
    # Exchange's ClientInfoString: "Client=OWA;Mozilla/5.0 (…; …) …;" — the user agent follows
    # the first ';' (and has ';' of its own); "Client=REST;Client=RESTSystem;;" has none;
    # ActiveSync writes "Client=ActiveSync;UserAgent=…;Action=…".
    r"""CREATE OR REPLACE MACRO m365_client_user_agent(info) AS
       CASE WHEN regexp_matches(info, 'UserAgent=')
              THEN tocsin_str(regexp_extract(info, 'UserAgent=([^;]*)', 1))
            WHEN regexp_matches(regexp_extract(info, '^Client=[^;]*;(.*)$', 1), '^[A-Za-z]+=')
              THEN NULL
            ELSE tocsin_str(rtrim(regexp_extract(info, '^Client=[^;]*;(.*)$', 1), '; ')) END""",
)

# -- the record shape and its one mapping ----------------------------------------------------------

_V = "VARCHAR"
_PAIRS: Final = [{"Name": _V, "Value": _V}]

AUDIT_SHAPE: Final[dict[str, Any]] = {
    "Id": _V,
    "CreationTime": _V,
    "Operation": _V,
    "RecordType": _V,
    "Workload": _V,
    "OrganizationId": _V,
    "UserId": _V,
    "UserKey": _V,
    "UserType": _V,
    "ClientIP": _V,
    "ClientIPAddress": _V,
    "ActorIpAddress": _V,
    "ResultStatus": _V,
    "ObjectId": _V,
    "ApplicationId": _V,
    "AppId": _V,
    "ClientAppId": _V,
    "UserAgent": _V,
    "ClientInfoString": _V,
    "Client": _V,
    "ErrorNumber": _V,
    "ErrorCode": _V,
    "LogonError": _V,
    "LoginStatus": _V,
    "InterSystemsId": _V,
    "SessionId": _V,
    "MailboxOwnerUPN": _V,
    "LogonType": _V,
    "ExternalAccess": _V,
    "OperationCount": _V,
    "ExtendedProperties": _PAIRS,
    "DeviceProperties": _PAIRS,
    "Parameters": _PAIRS,
    "OperationProperties": _PAIRS,
    "Folders": [{"Path": _V, "FolderItems": "JSON"}],
    "AppAccessContext": {"AADSessionId": _V, "ClientAppId": _V, "ClientAppName": _V},
    "_unparsed": _V,  # OfficeActivity cells whose JSON could not be read (kept as text)
}

_KIND = f"""CASE
    WHEN lower(Operation) IN {_sql_list(AUTH_OPERATIONS)} THEN 'auth'
    WHEN lower(Operation) IN {_sql_list(INBOX_RULE_OPERATIONS)} THEN 'inbox_rule'
    WHEN lower(Operation) IN {_sql_list(MAILBOX_OPERATIONS)}
         OR RecordType IN {tuple(MAILBOX_RECORD_TYPES)!r} THEN 'mailbox_access'
  END"""

# The AADSTS code of a failed logon: the number if given, else the number its name stands for.
_CODE = (
    "coalesce(tocsin_str(ErrorNumber), tocsin_str(ErrorCode),"
    " m365_logon_error_code(LogonError)::VARCHAR)"
)
# Well-known system principals that show up as UserId (LocalSystem and friends, SharePoint's
# app identity): their activity is a service's, not a person's.
_SERVICE_USER = r"^(S-1-5-(18|19|20)$|NT AUTHORITY\\|SHAREPOINT\\system$|app@sharepoint$)"
_SERVICE_USER_TYPES = ("3", "4", "5", "6", "DcAdmin", "System", "Application", "ServicePrincipal")

# details is cut at MAX_TEXT characters; a Sync of a whole mailbox lists every folder, so only
# the first few folder paths are kept (with the count), which leaves room for the rest.
_FOLDERS_SHOWN = 10

AUDIT_SQL: Final = f"""
WITH audit AS (
  SELECT *,
    {_KIND} AS _kind,
    lower(Operation) AS _op,
    {_CODE} AS _code,
    lower(ResultStatus) IN {SUCCESS_STATUSES!r} AS _succeeded
  FROM records
)
SELECT
  tocsin_ts(CreationTime) AS time,
  CASE WHEN tocsin_str(Operation) IS NULL
       THEN 'record has no Operation: not a Microsoft 365 audit record' END AS _reject,
  CASE WHEN tocsin_str(Operation) IS NOT NULL AND _kind IS NULL
       THEN 'M365 ' || coalesce(Workload || ' ', '') || 'operation ' || Operation
            || ' is not a sign-in, mailbox-access or inbox-rule record' END AS _skip,
  _kind AS event_type,
  Operation AS action,
  OrganizationId AS tenant,
  UserId AS "user",
  UserKey AS user_id,
  CASE WHEN UserId ILIKE '%#ext#%' THEN 'guest'
       WHEN regexp_matches(UserId, '{_SERVICE_USER}')
            OR UserType IN {_SERVICE_USER_TYPES!r} THEN 'service'
       WHEN UserType IN ('0', '2', 'Regular', 'Admin') THEN 'member' END AS user_type,
  coalesce(tocsin_ip(ClientIP), tocsin_ip(ClientIPAddress), tocsin_ip(ActorIpAddress)) AS src_ip,
  AppAccessContext.ClientAppName AS app,
  coalesce(tocsin_str(ApplicationId), tocsin_str(AppId), AppAccessContext.ClientAppId,
           tocsin_str(ClientAppId)) AS app_id,
  CASE _kind WHEN 'mailbox_access' THEN coalesce(tocsin_str(MailboxOwnerUPN), ObjectId)
             ELSE coalesce(tocsin_str(ObjectId), MailboxOwnerUPN) END AS resource,
  coalesce(tocsin_str(regexp_extract(ClientInfoString, '^Client=([^;]*)', 1)), Client)
    AS client_app,
  coalesce(tocsin_str(UserAgent), m365_nv(ExtendedProperties, 'UserAgent'),
           m365_client_user_agent(ClientInfoString)) AS user_agent,
  m365_nv(DeviceProperties, 'Id') AS device_id,
  m365_nv(DeviceProperties, 'OS') AS os,
  coalesce(m365_nv(DeviceProperties, 'BrowserType'), m365_nv(DeviceProperties, 'Browser'))
    AS browser,
  CASE WHEN _op = 'userloggedin' THEN 'success'
       WHEN _op = 'userloginfailed'
         THEN CASE WHEN _code IS NULL OR entra_outcome(_code) = 'success' THEN 'failure'
                   ELSE entra_outcome(_code) END
       WHEN _succeeded THEN 'success'
       ELSE 'failure' END AS outcome,
  CASE WHEN _op = 'userloggedin' THEN 'ok'
       WHEN _op = 'userloginfailed'
         THEN CASE WHEN _code IS NULL OR entra_outcome(_code) = 'success' THEN 'other'
                   ELSE entra_reason(_code, coalesce(LogonError, '')) END
       WHEN _succeeded THEN 'ok'
       ELSE 'other' END AS reason,
  CASE WHEN _kind = 'auth'
         THEN coalesce(tocsin_str(ErrorNumber), tocsin_str(ErrorCode), tocsin_str(LogonError),
                       tocsin_str(LoginStatus))
       ELSE ResultStatus END AS reason_code,
  CASE WHEN _kind = 'auth'
         THEN nullif(concat_ws('; ',
                CASE WHEN coalesce(tocsin_str(ErrorNumber), tocsin_str(ErrorCode)) IS NOT NULL
                     THEN tocsin_str(LogonError) END,
                m365_nv(ExtendedProperties, 'ResultStatusDetail')), '') END AS reason_detail,
  CASE WHEN _op = 'userloggedin' THEN true
       WHEN _op = 'userloginfailed' AND entra_outcome(_code) <> 'success'
         THEN entra_credential_valid(_code) END AS credential_valid,
  coalesce(tocsin_str(InterSystemsId), tocsin_str(SessionId)) AS correlation_id,
  Id AS vendor_id,
  CASE WHEN tocsin_str(Id) IS NOT NULL THEN concat_ws('|', 'id', Id, lower(Operation))
       ELSE concat_ws('|', strftime(tocsin_ts(CreationTime), '%Y-%m-%dT%H:%M:%S'),
                      lower(UserId), Operation, coalesce(ClientIP, ClientIPAddress), ObjectId,
                      UserKey, ResultStatus, _code) END AS _id_key,
  json_merge_patch('{{}}', CASE _kind
    WHEN 'auth' THEN json_object(
      'workload', Workload, 'record_type', RecordType, 'result_status', ResultStatus,
      'request_type', m365_nv(ExtendedProperties, 'RequestType'),
      'keep_me_signed_in', m365_nv(ExtendedProperties, 'KeepMeSignedIn'),
      'user_authentication_method', m365_nv(ExtendedProperties, 'UserAuthenticationMethod'),
      'client', Client)
    WHEN 'mailbox_access' THEN json_object(
      'workload', Workload, 'record_type', RecordType, 'logon_type', LogonType,
      'mail_access_type', m365_nv(OperationProperties, 'MailAccessType'),
      'is_throttled', m365_nv(OperationProperties, 'IsThrottled'),
      'operation_count', TRY_CAST(OperationCount AS BIGINT),
      'items', list_sum(list_transform(Folders, lambda f: json_array_length(f.FolderItems))),
      'folder_count', len(Folders),
      'folders', list_slice(list_transform(Folders, lambda f: f.Path), 1, {_FOLDERS_SHOWN}),
      'external_access', ExternalAccess, 'client_info', ClientInfoString,
      'aad_session_id', AppAccessContext.AADSessionId, 'unparsed', _unparsed)
    WHEN 'inbox_rule' THEN json_object(
      'workload', Workload, 'record_type', RecordType,
      'parameters', json(m365_pairs(coalesce(Parameters, OperationProperties))),
      'mailbox', MailboxOwnerUPN, 'external_access', ExternalAccess,
      'client_info', ClientInfoString, 'unparsed', _unparsed)
  END)::VARCHAR AS details
FROM audit
"""


# -- m365_audit ------------------------------------------------------------------------------------


def _sniff_audit(head: Head) -> int:
    if not head.has("CreationTime", "Operation"):
        return 0
    if head.has("Workload", "RecordType") or head.has("Workload", "OrganizationId"):
        return 90
    if head.has("RecordType") or head.has("OrganizationId"):
        return 70
    return 0


M365_AUDIT: Final = SourceFormat(
    name="m365_audit",
    source="m365",
    title="Microsoft 365 unified audit log, raw records (Management Activity API)",
    containers=("ndjson", "json_document"),
    shape=AUDIT_SHAPE,
    sql=AUDIT_SQL,
    sniff=_sniff_audit,
    example="Office 365 Management Activity API: GET /subscriptions/content → each content blob",
    macros=M365_MACROS,
)


# -- m365_audit_csv --------------------------------------------------------------------------------


def prepare_audit_csv(row: Any, options: ReadOptions) -> dict[str, Any]:
    """The audit record in a Purview export row's ``AuditData`` cell (the other cells repeat it)."""
    if not isinstance(row, dict):
        raise RecordError("record is not a CSV row")
    text = row.get("AuditData")
    if not isinstance(text, str) or not text.strip():
        raise RecordError("AuditData column is empty")
    try:
        record = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"AuditData column holds invalid JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise RecordError("AuditData column does not hold a JSON object")
    return record


def _sniff_audit_csv(head: Head) -> int:
    if not csv_has(head, "AuditData"):
        return 0
    if csv_has(head, "Operations") or csv_has(head, "Operation"):
        return 92
    if csv_has(head, "CreationDate") or csv_has(head, "RecordId"):
        return 80
    return 0


M365_AUDIT_CSV: Final = SourceFormat(
    name="m365_audit_csv",
    source="m365",
    title="Microsoft 365 unified audit log, Purview audit search CSV export (AuditData column)",
    containers=("csv",),
    shape=AUDIT_SHAPE,
    sql=AUDIT_SQL,
    sniff=_sniff_audit_csv,
    prepare=prepare_audit_csv,
    example="Purview portal → Audit → search → Export, or Search-UnifiedAuditLog | Export-Csv",
    macros=M365_MACROS,
)


# -- m365_officeactivity ---------------------------------------------------------------------------

# OfficeActivity column -> the raw audit record field it came from (first listed wins).
_OFFICE_COLUMNS: Final = {
    "TimeGenerated": "CreationTime",
    # Only when TimeGenerated is missing: in the samples Start_Time is shared by whole batches
    # of records and runs minutes behind TimeGenerated, the time the activity happened.
    "Start_Time": "CreationTime",
    "OfficeId": "Id",
    "SourceRecordId": "Id",
    "Operation": "Operation",
    "RecordType": "RecordType",
    "OfficeWorkload": "Workload",
    "OrganizationId": "OrganizationId",
    "UserId": "UserId",
    "UserKey": "UserKey",
    "UserType": "UserType",
    "ClientIP": "ClientIP",
    "Client_IPAddress": "ClientIPAddress",
    "ActorIpAddress": "ActorIpAddress",
    "ResultStatus": "ResultStatus",
    "OfficeObjectId": "ObjectId",
    "ApplicationId": "ApplicationId",
    "AppId": "AppId",
    "ClientAppId": "ClientAppId",
    "UserAgent": "UserAgent",
    "ClientInfoString": "ClientInfoString",
    "Client": "Client",
    "ErrorNumber": "ErrorNumber",
    "LogonError": "LogonError",
    "LoginStatus": "LoginStatus",
    "InterSystemsId": "InterSystemsId",
    "SessionId": "SessionId",
    "MailboxOwnerUPN": "MailboxOwnerUPN",
    "Logon_Type": "LogonType",
    "ExternalAccess": "ExternalAccess",
    "OperationCount": "OperationCount",
    "ExtendedProperties": "ExtendedProperties",
    "DeviceProperties": "DeviceProperties",
    "Parameters": "Parameters",
    "OperationProperties": "OperationProperties",
    "Folders": "Folders",
}
# Columns that hold JSON text in the table (dynamic columns arrive as strings in exports).
_JSON_COLUMNS: Final = frozenset(
    {"ExtendedProperties", "DeviceProperties", "Parameters", "OperationProperties", "Folders"}
)
_UNPARSED_KEEP = 400  # characters of an unreadable JSON cell kept as evidence


def _cells(row: dict[str, Any]) -> dict[str, Any]:
    """Non-empty cells by clean column name: "TimeGenerated [UTC]" -> "TimeGenerated".

    Some exports also carry an underscore-suffixed twin of a column (``UserId_``, ``ClientIP_``,
    ``OrganizationId_``; the table reference lists none of them, and in the samples they repeat
    the plain column). A twin only fills in where the plain column is empty.
    """
    cells: dict[str, Any] = {}
    twins: dict[str, Any] = {}
    for raw_key, value in row.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        name = str(raw_key).split(" [", 1)[0].strip()
        if name.endswith("_") and name[:-1] in _OFFICE_COLUMNS:
            twins.setdefault(name[:-1], value)
        else:
            cells.setdefault(name, value)
    for name, value in twins.items():
        cells.setdefault(name, value)
    return cells


def _json_cell(value: Any) -> tuple[list[Any] | None, str | None]:
    """A JSON list cell's value, or None and the raw text when it cannot be read as one.

    Log Analytics cuts long string cells, so a big ``Folders`` list can arrive as broken JSON.
    The mailbox access it describes still happened: the event is kept, the text noted.
    """
    if isinstance(value, list):  # JSON rows may carry the dynamic column already parsed
        return value, None
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None, text[:_UNPARSED_KEEP]
    return (parsed, None) if isinstance(parsed, list) else (None, text[:_UNPARSED_KEEP])


def prepare_officeactivity(row: Any, options: ReadOptions) -> dict[str, Any] | Skip:
    """Rename an OfficeActivity row into the raw audit record shape."""
    if not isinstance(row, dict):
        raise RecordError("record is not an object")
    table = row.get("Type")
    if isinstance(table, str) and table.strip() and table != "OfficeActivity":
        return Skip(f"Log Analytics table {table} is not OfficeActivity")
    out: dict[str, Any] = {}
    unparsed: dict[str, str] = {}
    cells = _cells(row)
    for column, target in _OFFICE_COLUMNS.items():  # in priority order: first found wins
        value = cells.get(column)
        if value is None or target in out:
            continue
        if column in _JSON_COLUMNS:
            value, text = _json_cell(value)
            if text is not None:
                unparsed[column] = text
                continue
        out[target] = value
    if unparsed:
        out["_unparsed"] = orjson.dumps(unparsed).decode()
    return out


def _sniff_officeactivity(head: Head) -> int:
    if head.container == "csv":
        columns = {c.split(" [", 1)[0].strip() for c in head.header}
        return 92 if {"OfficeWorkload", "Operation"} <= columns else 0
    if head.value("Type") == "OfficeActivity" and head.has("Operation"):
        return 95
    return 92 if head.has("OfficeWorkload", "Operation") else 0


M365_OFFICEACTIVITY: Final = SourceFormat(
    name="m365_officeactivity",
    source="m365",
    title="Microsoft 365 audit log, Sentinel / Log Analytics OfficeActivity rows (CSV or JSON)",
    containers=("csv", "ndjson", "json_document"),
    shape=AUDIT_SHAPE,
    sql=AUDIT_SQL,
    sniff=_sniff_officeactivity,
    prepare=prepare_officeactivity,
    example="Log Analytics: OfficeActivity | … → Export → CSV (all columns)",
    macros=M365_MACROS,
)

FORMATS: Final = (M365_AUDIT, M365_AUDIT_CSV, M365_OFFICEACTIVITY)
