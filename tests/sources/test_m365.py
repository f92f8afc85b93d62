"""Microsoft 365 audit records: the real samples in ../shared/data/identity, and fixtures on them.

There is no real UserLoginFailed record or Purview CSV export in the shared data, so those
fixtures reuse the real raw records and change only what the scenario needs, in the layout
Microsoft documents for them.
"""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import IDENTITY, ingest_paths
from tocsin.events import EVENT_TYPES, OUTCOMES, REASONS
from tocsin.sources import detect
from tocsin.sources._io import classify, read_head
from tocsin.sources.entra_codes import ENTRA_CODES
from tocsin.sources.m365 import LOGON_ERRORS

M365 = IDENTITY / "m365_officeactivity"
RAW = M365 / "elastic-integrations_o365-azuread-sts-logon_raw_subset.ndjson"
MAIL_JSON = M365 / "otrf_GoldenSAMLADFSMailAccess_OfficeActivityEvents.json"
ACTIVITY = M365 / "sentinel-traininglab_office_activity.csv"
INBOX_RULES = M365 / "sentinel-traininglab_office_activity_inbox_rule.csv"
FIREFOX = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.14; rv:72.0) Gecko/20100101 Firefox/72.0"
EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/90.0.4430.85 Safari/537.36 Edg/90.0.818.49"
)
PURVIEW_HEADER = [
    "RecordId", "CreationDate", "RecordType", "Operation", "UserId", "AuditData",
    "AssociatedAdminUnits", "AssociatedAdminUnitsNames",
]  # fmt: skip


def skip_reason(workload: str, operation: str) -> str:
    kinds = "a sign-in, mailbox-access or inbox-rule record"
    return f"M365 {workload} operation {operation} is not {kinds}"


def raw_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in RAW.read_text().splitlines()]


def failed_logon(
    error_number: str | None, logon_error: str | None, **changes: Any
) -> dict[str, Any]:
    """The first real STS logon record, turned into a UserLoginFailed as the UAL writes one."""
    record = copy.deepcopy(raw_records()[0])
    record.update(Operation="UserLoginFailed", Id=f"fail-{error_number}-{logon_error}")
    if error_number is not None:
        record["ErrorNumber"] = error_number
    if logon_error is not None:
        record["LogonError"] = logon_error
    record.update(changes)
    return record


def inbox_rule_record() -> dict[str, Any]:
    """The Training Lab's New-InboxRule row, written back in the raw ExchangeAdmin shape."""
    return {
        "CreationTime": "2021-04-28T14:33:14", "Id": "5fe96415-d129-4e4b-64b7-08d90a528ec7",
        "Operation": "New-InboxRule", "OrganizationId": "2ad3fc79-1859-42fa-9011-6f8df2251b22",
        "RecordType": 1, "ResultStatus": "True", "UserKey": "10032000C757D25F", "UserType": 2,
        "Version": 1, "Workload": "Exchange", "ClientIP": "175.45.176.99:17362",
        "ObjectId": "M365x816222.onmicrosoft.com/AdeleV\\junk",
        "UserId": "AdeleV@M365x816222.OnMicrosoft.com", "ExternalAccess": False,
        "OrganizationName": "M365x816222.onmicrosoft.com",
        "Parameters": [
            {"Name": "Name", "Value": "junk"},
            {"Name": "SubjectContainsWords", "Value": "legal"},
            {"Name": "MoveToFolder", "Value": "Junk Email"},
            {"Name": "StopProcessingRules", "Value": "True"},
        ],
    }  # fmt: skip


def file_accessed_record() -> dict[str, Any]:
    return {
        "CreationTime": "2021-04-28T14:40:00", "Id": "7d0d4c4e-8f7e-4b59-9a44-0d7c1f0a1111",
        "Operation": "FileAccessed", "OrganizationId": "2ad3fc79-1859-42fa-9011-6f8df2251b22",
        "RecordType": 6, "UserKey": "i:0h.f|membership|10032000c757d25f@live.com",
        "UserType": 0, "Version": 1, "Workload": "SharePoint", "ClientIP": "175.45.176.99",
        "ObjectId": "https://m365x816222.sharepoint.com/sites/legal/Shared Documents/plan.docx",
        "UserId": "AdeleV@M365x816222.OnMicrosoft.com",
    }  # fmt: skip


def write_ndjson(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def write_purview_csv(path: Path, rows: list[dict[str, Any] | str], pretty: bool = False) -> Path:
    """A Purview audit search export: one row per record, AuditData holds the JSON text."""
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(PURVIEW_HEADER)
        for row in rows:
            if isinstance(row, str):  # an AuditData cell as given, for broken rows
                writer.writerow(["x", "", "", "", "", row, "", ""])
                continue
            data = json.dumps(row, indent=2 if pretty else None)
            writer.writerow(
                [row["Id"], row["CreationTime"], row["RecordType"], row["Operation"],
                 row["UserId"], data, "", ""]
            )  # fmt: skip
    return path


def by_action(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        out.setdefault(e["action"], []).append(e)
    return out


def details(event: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(event["details"]))


# -- m365_audit: raw records --------------------------------------------------------------------


def test_raw_sts_logons_fast_path(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, RAW)
    report = got.report(RAW.name)
    assert (report.format, report.reader, report.records, report.events, report.rejected) == (
        "m365_audit", "fast", 2, 2, 0,
    )  # fmt: skip
    first, second = got.events
    assert (first["source"], first["event_type"], first["action"]) == (
        "m365",
        "auth",
        "UserLoggedIn",
    )
    assert first["user"] == "asr@testsiem.onmicrosoft.com"
    assert first["user_id"] == "1003200096971F55@testsiem.onmicrosoft.com"
    assert first["user_type"] == "member"
    assert first["tenant"] == "b86ab9d4-fcf1-4b11-8a06-7a8f91b47fbd"
    assert (first["src_ip"], second["src_ip"]) == ("67.43.156.15", "67.43.156.13")
    assert first["user_agent"] == FIREFOX
    assert first["time"].isoformat() == "2020-02-10T15:13:13+00:00"  # no zone in the log: UTC
    assert (first["outcome"], first["reason"], first["credential_valid"]) == ("success", "ok", True)
    assert first["reason_code"] is None and first["reason_detail"] == "Success"
    assert first["vendor_id"] == "ca0efc24-1b89-4962-8fef-a3ac5437302f"
    assert first["correlation_id"] == "03616b3a-fc75-46a1-b34a-2d82fc8f1e7e"
    assert first["app_id"] == "4345a7b9-9a63-4910-a426-35363201d503"
    assert first["resource"] == "00000002-0000-0000-c000-000000000000"
    assert details(first)["request_type"] == "OAuth2:Authorize"
    assert (first["origin_line"], second["origin_line"]) == (1, 2)


def test_fast_and_careful_paths_agree(tmp_path: Path) -> None:
    fast = ingest_paths(tmp_path / "a", RAW).events
    careful = ingest_paths(tmp_path / "b", RAW, allow_fast=False).events
    strip = ("origin_file",)
    assert [{k: v for k, v in e.items() if k not in strip} for e in careful] == [
        {k: v for k, v in e.items() if k not in strip} for e in fast
    ]


def test_failed_logon_with_aadsts_number_in_an_api_content_blob(tmp_path: Path) -> None:
    # A content blob is a JSON array; numbers may be numbers or strings, ClientIP may carry a port.
    bad_password = failed_logon("50126", "InvalidUserNameOrPassword", ClientIP="[2001:DB8::5]:443")
    mfa = failed_logon(None, "UserStrongAuthClientAuthNRequired", RecordType=15)
    blob = tmp_path / "blob.json"
    blob.write_text(json.dumps([bad_password, mfa], indent=2))
    got = ingest_paths(tmp_path / "lake", blob)
    report = got.report("blob.json")
    assert (report.format, report.events, report.rejected) == ("m365_audit", 2, 0)
    first, second = got.events
    assert (first["action"], first["outcome"], first["reason"]) == (
        "UserLoginFailed", "failure", "bad_password",
    )  # fmt: skip
    assert first["reason_code"] == "50126" and first["credential_valid"] is False
    assert first["reason_detail"] == "InvalidUserNameOrPassword; Success"
    assert first["src_ip"] == "2001:db8::5"
    assert first["origin_line"] is None and first["origin_record"] == 1
    # MFA asked after the password step: the password was right.
    assert (second["outcome"], second["reason"], second["credential_valid"]) == (
        "challenge", "mfa_required", True,
    )  # fmt: skip
    assert second["reason_code"] == "UserStrongAuthClientAuthNRequired"


@pytest.mark.parametrize(
    ("number", "name", "outcome", "reason", "credential_valid"),
    [
        (None, "InvalidUserNameOrPassword", "failure", "bad_password", False),
        (None, "UserAccountNotFound", "failure", "unknown_user", False),
        ("50053", "IdsLocked", "blocked", "locked", None),
        (None, "IdsLocked", "blocked", "locked", None),
        (None, "UserDisabled", "failure", "disabled", None),
        ("50140", "KmsiInterrupt", "challenge", "other", True),
        (None, "BlockedByConditionalAccess", "blocked", "blocked_policy", True),
        (None, "SomeFutureLogonError", "failure", "other", None),
        (None, None, "failure", "other", None),
        ("0", None, "failure", "other", None),  # a failed logon is never a success
    ],
)
def test_failed_logon_mapping(
    tmp_path: Path,
    number: str | None,
    name: str | None,
    outcome: str,
    reason: str,
    credential_valid: bool | None,
) -> None:
    path = write_ndjson(tmp_path / "ual.ndjson", [failed_logon(number, name)])
    (event,) = ingest_paths(tmp_path / "lake", path).events
    assert (event["outcome"], event["reason"], event["credential_valid"]) == (
        outcome, reason, credential_valid,
    )  # fmt: skip
    assert event["reason_code"] == (number or name)


def test_inbox_rule_and_skipped_operations_in_raw_records(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "ual.ndjson", [inbox_rule_record(), file_accessed_record()])
    got = ingest_paths(tmp_path / "lake", path)
    report = got.report("ual.ndjson")
    assert (report.records, report.events, report.rejected) == (2, 1, 0)
    assert report.skipped == {skip_reason("SharePoint", "FileAccessed"): 1}
    (rule,) = got.events
    assert (rule["event_type"], rule["action"], rule["outcome"], rule["reason"]) == (
        "inbox_rule", "New-InboxRule", "success", "ok",
    )  # fmt: skip
    assert rule["src_ip"] == "175.45.176.99" and rule["reason_code"] == "True"
    assert rule["resource"] == "M365x816222.onmicrosoft.com/AdeleV\\junk"
    assert details(rule)["parameters"] == {
        "Name": "junk", "SubjectContainsWords": "legal", "MoveToFolder": "Junk Email",
        "StopProcessingRules": "True",
    }  # fmt: skip
    assert details(rule)["external_access"] == "false"


def test_record_without_operation_is_rejected(tmp_path: Path) -> None:
    record = raw_records()[0]
    del record["Operation"]
    path = write_ndjson(tmp_path / "ual.ndjson", [raw_records()[1], record])
    got = ingest_paths(tmp_path / "lake", path)
    assert got.report("ual.ndjson").events == 1
    (reject,) = got.rejects.kept
    assert (reject.line, reject.reason) == (
        2, "record has no Operation: not a Microsoft 365 audit record",
    )  # fmt: skip


# -- m365_audit_csv: Purview export -------------------------------------------------------------


def test_purview_csv_export(tmp_path: Path) -> None:
    rows: list[dict[str, Any] | str] = [
        *raw_records(), failed_logon("50126", "InvalidUserNameOrPassword"),
        inbox_rule_record(), file_accessed_record(),
    ]  # fmt: skip
    path = write_purview_csv(tmp_path / "AuditLog_2021-04-28.csv", rows, pretty=True)
    got = ingest_paths(tmp_path / "lake", path)
    report = got.report(path.name)
    assert (report.format, report.records, report.events, report.rejected) == (
        "m365_audit_csv", 5, 4, 0,
    )  # fmt: skip
    assert sum(report.skipped.values()) == 1
    actions = by_action(got.events)
    assert [e["user"] for e in actions["UserLoggedIn"]] == ["asr@testsiem.onmicrosoft.com"] * 2
    assert actions["UserLoggedIn"][0]["user_agent"] == FIREFOX
    (failed,) = actions["UserLoginFailed"]
    assert (failed["outcome"], failed["reason"], failed["reason_code"]) == (
        "failure", "bad_password", "50126",
    )  # fmt: skip
    (rule,) = actions["New-InboxRule"]
    assert details(rule)["parameters"]["SubjectContainsWords"] == "legal"
    # Pretty-printed AuditData spans lines: each event points at the line its row starts on.
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    for event in got.events:
        assert lines[event["origin_line"] - 1].startswith(event["vendor_id"] + ",")


def test_purview_csv_with_broken_audit_data_rejects_only_that_row(tmp_path: Path) -> None:
    first, second = raw_records()
    path = write_purview_csv(
        tmp_path / "export.csv", [first, '{"CreationTime": "2020-02-10T15:13:13", "Id": ', second]
    )
    got = ingest_paths(tmp_path / "lake", path)
    report = got.report("export.csv")
    assert (report.records, report.events, report.rejected) == (3, 2, 1)
    (reject,) = got.rejects.kept
    assert (reject.line, reject.record) == (3, 2)
    assert reject.reason.startswith("AuditData column holds invalid JSON")


@pytest.mark.parametrize(
    "header",
    [
        ["CreationDate", "UserIds", "Operations", "AuditData"],  # the portal's older export
        ["CreationDate", "UserIds", "RecordType", "AuditData"],  # Search-UnifiedAuditLog example
    ],
)
def test_other_audit_export_headers_are_recognised(tmp_path: Path, header: list[str]) -> None:
    path = tmp_path / "old.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for r in raw_records():
            cells = {"Operations": r["Operation"], "RecordType": r["RecordType"]}
            writer.writerow([r["CreationTime"], r["UserId"], cells[header[2]], json.dumps(r)])
    got = ingest_paths(tmp_path / "lake", path)
    assert got.report("old.csv").format == "m365_audit_csv"
    assert [e["src_ip"] for e in got.events] == ["67.43.156.15", "67.43.156.13"]


def update_inbox_rules_record() -> dict[str, Any]:
    """Outlook desktop changes rules over MAPI: an ExchangeItem record with OperationProperties."""
    record = inbox_rule_record()
    del record["Parameters"], record["ClientIP"], record["ObjectId"]
    record.update(
        Operation="UpdateInboxRules", RecordType=2, ResultStatus="Succeeded", LogonType=0,
        Id="0b0e5d55-7d1c-4c1e-8a51-3c5f3f0d2222", ClientIPAddress="175.45.176.99",
        ClientInfoString="Client=MSExchangeRPC", MailboxOwnerUPN=record["UserId"],
        OperationProperties=[
            {"Name": "RuleName", "Value": "."},
            {"Name": "RuleActions", "Value": "[{'Actions':[{'ActionType':'MoveToFolder'}]}]"},
            {"Name": "RuleOperation", "Value": "AddMailboxRule"},
        ],
    )  # fmt: skip
    return record


def test_outlook_rule_change_is_an_inbox_rule(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "ual.ndjson", [update_inbox_rules_record()])
    (event,) = ingest_paths(tmp_path / "lake", path).events
    assert (event["event_type"], event["action"], event["outcome"]) == (
        "inbox_rule", "UpdateInboxRules", "success",
    )  # fmt: skip
    assert (event["src_ip"], event["client_app"], event["user_agent"]) == (
        "175.45.176.99", "MSExchangeRPC", None,
    )  # fmt: skip
    assert event["resource"] == "AdeleV@M365x816222.OnMicrosoft.com"
    assert details(event)["parameters"]["RuleOperation"] == "AddMailboxRule"


def test_one_record_in_two_export_formats_is_one_event(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    from_api = ingest_paths(lake, RAW)
    from_purview = ingest_paths(lake, write_purview_csv(tmp_path / "p.csv", [*raw_records()]))
    assert from_api.result.commit.added == 2
    assert from_purview.result.commit.added == 0 and from_purview.result.commit.duplicates == 2


# -- m365_officeactivity: Sentinel rows ---------------------------------------------------------


def test_officeactivity_csv_export(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, ACTIVITY)
    report = got.report(ACTIVITY.name)
    assert (report.format, report.records, report.events, report.rejected) == (
        "m365_officeactivity", 266, 11, 0,
    )  # fmt: skip
    assert sum(report.skipped.values()) == 255
    # Skipped records are SharePoint/OneDrive/Teams activity and two Exchange admin cmdlets.
    assert report.skipped[skip_reason("SharePoint", "FileAccessed")] == 43
    skipped_workloads = {reason.split()[1] for reason in report.skipped}
    assert skipped_workloads == {"SharePoint", "OneDrive", "MicrosoftTeams", "Exchange"}
    assert {r.split()[3] for r in report.skipped if r.split()[1] == "Exchange"} == {
        "New-Mailbox", "Set-SyncUser",
    }  # fmt: skip
    counts = {action: len(events) for action, events in by_action(got.events).items()}
    assert counts == {
        "MailItemsAccessed": 3, "Send": 2, "Update": 1, "MoveToDeletedItems": 1,
        "ModifyFolderPermissions": 2, "Create": 1, "New-InboxRule": 1,
    }  # fmt: skip


def test_officeactivity_mail_access_from_the_attacker_ip(tmp_path: Path) -> None:
    events = by_action(ingest_paths(tmp_path, ACTIVITY).events)
    owa = next(e for e in events["MailItemsAccessed"] if e["client_app"] == "OWA")
    assert owa["event_type"] == "mailbox_access"
    assert owa["user"] == "adelev@m365x816222.onmicrosoft.com"
    assert owa["resource"] == "AdeleV@M365x816222.OnMicrosoft.com"
    assert owa["src_ip"] == "175.45.176.99"
    assert owa["user_agent"] == EDGE  # from ClientInfoString "Client=OWA;<user agent>;"
    assert (owa["outcome"], owa["reason"], owa["reason_code"]) == ("success", "ok", "Succeeded")
    assert owa["credential_valid"] is None
    assert owa["time"].isoformat() == "2021-04-28T14:32:47+00:00"  # TimeGenerated, not Start_Time
    assert owa["origin_line"] == 200
    assert details(owa)["mail_access_type"] == "Bind" and details(owa)["items"] == 1
    rest = next(e for e in events["MailItemsAccessed"] if e["src_ip"] == "2603:10b6:5:345::11")
    assert rest["client_app"] == "REST" and rest["user_agent"] is None
    assert details(rest)["folders"] == ["\\Inbox", "\\Sent Items"]
    (rule,) = events["New-InboxRule"]
    assert (rule["src_ip"], rule["origin_line"], rule["reason_code"]) == (
        "175.45.176.99",
        174,
        "TRUE",
    )
    assert details(rule)["parameters"]["SubjectContainsWords"] == "legal"
    system = events["ModifyFolderPermissions"][0]
    assert (system["user"], system["user_type"], system["src_ip"]) == ("s-1-5-18", "service", "::1")


def test_officeactivity_inbox_rule_export(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, INBOX_RULES)
    report = got.report(INBOX_RULES.name)
    assert (report.format, report.records, report.events, report.rejected) == (
        "m365_officeactivity", 2, 2, 0,
    )  # fmt: skip
    rule2, rule1 = got.events
    assert [e["event_type"] for e in got.events] == ["inbox_rule", "inbox_rule"]
    assert {e["user"] for e in got.events} == {"adelev@contoso.onmicrosoft.com"}
    assert {e["src_ip"] for e in got.events} == {"2a01:110:8068:7:9bf8:aa87:e00a:5f1f"}
    # This export has no TimeGenerated column: Start_Time (the ingestion batch time) stands in.
    assert rule2["time"].isoformat() == "2021-04-26T07:17:10+00:00"
    assert (rule2["origin_line"], rule1["origin_line"]) == (2, 28)
    assert details(rule2)["parameters"]["MoveToFolder"] == "Junk Email"
    assert details(rule1)["parameters"]["BodyContainsWords"] == "covid-19"
    assert details(rule1)["parameters"]["DeleteMessage"] == "True"


def test_officeactivity_json_row(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, MAIL_JSON)
    report = got.report(MAIL_JSON.name)
    assert (report.format, report.records, report.events, report.rejected) == (
        "m365_officeactivity", 1, 1, 0,
    )  # fmt: skip
    (event,) = got.events
    assert (event["event_type"], event["action"]) == ("mailbox_access", "MailItemsAccessed")
    assert event["user"] == "pgustavo@simulandlabs.com"
    assert event["src_ip"] == "1.2.3.4" and event["client_app"] == "REST"
    assert event["app_id"] == "00000003-0000-0000-c000-000000000000"
    assert event["time"].isoformat() == "2021-08-02T13:32:07+00:00"
    assert event["vendor_id"] == "699e0b10-1c53-403e-976f-ce0847a92b44"
    assert details(event)["items"] == 7 and details(event)["mail_access_type"] == "Bind"


def test_officeactivity_twin_columns_and_cut_json_cells(tmp_path: Path) -> None:
    path = tmp_path / "oa.csv"
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["TimeGenerated [UTC]", "Operation", "OfficeWorkload", "RecordType", "UserId",
             "UserId_", "ClientIP", "ClientIP_", "Client_IPAddress", "ResultStatus", "OfficeId",
             "Folders", "Type"]
        )  # fmt: skip
        # Log Analytics cuts long cells: the Folders JSON below ends mid-string.
        writer.writerow(
            ["8/2/2021, 1:32:07.000 PM", "MailItemsAccessed", "Exchange", "50", "",
             "pgustavo@simulandlabs.com", "", "1.2.3.4:5555", "", "Succeeded", "id-1",
             '[{"FolderItems":[{"InternetMessageId":"<a@b', "OfficeActivity"]
        )  # fmt: skip
        writer.writerow(
            ["8/2/2021, 1:33:07.000 PM", "MailItemsAccessed", "Exchange", "50",
             "user@example.org", "other@example.org", "", "", "5.6.7.8", "Failed", "id-2", "",
             "OfficeActivity"]
        )  # fmt: skip
    got = ingest_paths(tmp_path / "lake", path)
    assert got.report("oa.csv").rejected == 0
    cut, failed = got.events
    assert (cut["user"], cut["src_ip"]) == ("pgustavo@simulandlabs.com", "1.2.3.4")
    assert json.loads(details(cut)["unparsed"])["Folders"].startswith('[{"FolderItems"')
    assert (failed["user"], failed["src_ip"]) == ("user@example.org", "5.6.7.8")
    assert (failed["outcome"], failed["reason"], failed["reason_code"]) == (
        "failure",
        "other",
        "Failed",
    )


def test_reingesting_the_same_file_adds_nothing(tmp_path: Path) -> None:
    first = ingest_paths(tmp_path, ACTIVITY, INBOX_RULES, MAIL_JSON, RAW)
    second = ingest_paths(tmp_path, ACTIVITY, INBOX_RULES, MAIL_JSON, RAW)
    assert first.result.commit.added == 16
    assert second.result.commit.added == 0 and second.result.commit.duplicates == 16
    assert len(second.events) == 16


# -- contracts and detection --------------------------------------------------------------------


def test_every_real_event_uses_contract_values(tmp_path: Path) -> None:
    events = ingest_paths(tmp_path, ACTIVITY, INBOX_RULES, MAIL_JSON, RAW).events
    assert len(events) == 16
    for e in events:
        assert e["event_type"] in EVENT_TYPES
        assert e["outcome"] in OUTCOMES and e["reason"] in REASONS
        assert e["source"] == "m365" and e["time"] is not None


def test_logon_error_names_map_to_known_aadsts_codes() -> None:
    assert set(LOGON_ERRORS.values()) <= {c.code for c in ENTRA_CODES}


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("entra_signinlogs/sentinel-traininglab_sign-in_adelete.csv", "entra_sentinel"),
        ("entra_signinlogs/sentinel-traininglab_disable_accounts.csv", "entra_sentinel"),
        ("entra_auditlogs/sentinel-traininglab_AuditLogs_Hunting.csv", "entra_audit"),
        ("entra_auditlogs/otrf_GoldenSAMLADFSMailAccess_AADAuditEvents.json", "entra_audit"),
        (
            "entra_diagnostic_records/elastic-integrations_test-signinlogs-raw_subset.ndjson",
            "entra_diagnostic",
        ),
        ("m365_officeactivity/" + RAW.name, "m365_audit"),
        ("m365_officeactivity/" + MAIL_JSON.name, "m365_officeactivity"),
        ("m365_officeactivity/" + ACTIVITY.name, "m365_officeactivity"),
        ("m365_officeactivity/" + INBOX_RULES.name, "m365_officeactivity"),
    ],
)
def test_detection_by_content(relative: str, expected: str) -> None:
    head = classify(read_head(IDENTITY / relative))
    assert head is not None
    fmt = detect(head)
    assert fmt is not None and fmt.name == expected
