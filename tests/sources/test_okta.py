"""Okta System Log events from the real samples in ../shared/data/identity, plus small fixtures."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import IDENTITY, ingest_paths
from tocsin.sources import okta
from tocsin.sources._io import classify, read_head

SYSTEMLOG = IDENTITY / "okta_systemlog" / "elastic-integrations_okta-system-events_subset.ndjson"
SENTINEL = IDENTITY / "okta_systemlog" / "azure-sentinel_Okta_CL_subset.json"
ORIGIN = ("origin_file", "origin_line", "origin_record")


def _details(event: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(event["details"])
    return value


def _without_origin(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in ORIGIN} for e in events]


def test_systemlog_json_lines_real_sample(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, SYSTEMLOG)
    report = got.report(SYSTEMLOG.name)
    assert (report.format, report.reader, report.records, report.events, report.rejected) == (
        "okta_systemlog", "fast", 8, 8, 0,
    )  # fmt: skip
    assert report.skipped_total == 0
    assert [e["origin_line"] for e in got.events] == list(range(1, 9))
    assert [(e["event_type"], e["action"]) for e in got.events] == [
        ("auth", "user.session.start"),
        ("policy", "policy.evaluate_sign_on"),
        ("logoff", "user.session.end"),
        ("auth", "user.session.start"),
        ("auth", "user.authentication.verify"),
        ("auth", "user.authentication.verify"),
        ("mfa", "user.authentication.auth_via_mfa"),
        ("mfa", "user.authentication.auth_via_mfa"),
    ]
    login, policy, logoff, risky, verify_low, verify_high, push, webauthn = got.events

    assert login["user"] == "xxxxxx@elastic.co" and login["user_id"] == "00u1abvz4pYqdM8ms4x6"
    assert login["time"].isoformat() == "2020-02-14T20:18:57.718000+00:00"
    assert login["src_ip"] == "175.16.199.1"
    assert (login["src_country"], login["src_city"]) == ("United States", "Dublin")
    assert (login["src_lat"], login["src_lon"]) == (37.7201, -121.919)
    assert (login["outcome"], login["reason"], login["reason_code"]) == ("success", "ok", "SUCCESS")
    assert login["credential_valid"] is True
    assert login["browser"] == "FIREFOX" and login["os"] == "Mac OS X"
    assert login["user_agent"].startswith("Mozilla/5.0 (Macintosh")
    assert login["vendor_id"] == "3aeede38-4f67-11ea-abd3-1f5d113f2546"
    assert login["correlation_id"] == "XkcAsWb8WjwDP76xh@1v8wAABp0"
    assert _details(login)["session_id"] == "102bZDNFfWaQSyEZQuDgWt-uQ"

    assert (policy["outcome"], policy["reason"]) == ("success", "ok")
    assert policy["reason_code"] == "Sign-on policy evaluation resulted in ALLOW"
    assert (logoff["outcome"], logoff["user"]) == ("success", "username@elastic.co")

    # risk only in the log-only security data (Okta computed it but did not enforce it)
    assert risky["vendor_risk"] == "high"
    assert (risky["src_asn"], risky["src_org"]) == (14618, "amazon data services nova")
    assert "New Country" in _details(risky)["behaviors_positive"]
    assert (verify_low["vendor_risk"], verify_high["vendor_risk"]) == ("low", "high")
    assert _details(verify_high)["behaviors_positive"] == ["New Device", "Velocity"]

    assert push["mfa_used"] is True
    assert _details(push)["factor"] == "OKTA_VERIFY_PUSH"
    assert (push["outcome"], push["reason"], push["user"]) == ("success", "ok", "user@domain.com")
    assert _details(webauthn)["factor"] == "FIDO_WEBAUTHN"
    assert webauthn["src_country"] == "Germany"


def test_reused_uuids_do_not_merge_different_events(tmp_path: Path) -> None:
    # Lines 5 and 6 of the sample share one uuid, lines 7 and 8 the placeholder "uuid".
    got = ingest_paths(tmp_path, SYSTEMLOG)
    assert got.result.commit.added == 8
    assert len({e["event_id"] for e in got.events}) == 8
    assert got.events[4]["vendor_id"] == got.events[3]["vendor_id"]


def test_careful_path_and_api_array_give_the_same_events(tmp_path: Path) -> None:
    page = tmp_path / "in" / "logs.json"
    page.parent.mkdir()
    page.write_text(json.dumps([json.loads(line) for line in SYSTEMLOG.read_text().splitlines()]))
    fast = ingest_paths(tmp_path / "a", SYSTEMLOG)
    careful = ingest_paths(tmp_path / "b", SYSTEMLOG, allow_fast=False)
    from_array = ingest_paths(tmp_path / "c", page)
    assert careful.report(SYSTEMLOG.name).reader == "careful"
    assert from_array.report("logs.json").format == "okta_systemlog"
    assert careful.events == fast.events
    assert _without_origin(from_array.events) == _without_origin(fast.events)
    assert [e["origin_record"] for e in from_array.events] == list(range(1, 9))
    assert from_array.events[0]["origin_line"] is None


def test_sentinel_okta_cl_rows(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, SENTINEL)
    report = got.report(SENTINEL.name)
    assert (report.format, report.container, report.records, report.events, report.rejected) == (
        "okta_sentinel", "json_document", 2, 2, 0,
    )  # fmt: skip
    policy, password = got.events
    # published_t (event time), not TimeGenerated (22:20:03, when Sentinel ingested the row)
    assert policy["time"].isoformat() == "2020-05-26T22:15:19.883000+00:00"
    assert (policy["event_type"], policy["outcome"], policy["reason"]) == (
        "policy", "challenge", "mfa_required",
    )  # fmt: skip
    assert policy["src_ip"] is None  # empty client_ipAddress_s and request_ipChain_s "[]"
    assert policy["correlation_id"] == "trsDBjPuBFlTIiqk51N8F1cjg"  # transaction_id_s "unknown"
    assert _details(policy)["targets"] == ["PolicyEntity:default", "PolicyRule:default"]

    # Identity Engine verifies the password as a "factor" of auth_via_mfa: a first-factor step
    assert password["time"].isoformat() == "2020-05-26T22:15:24.061000+00:00"
    assert (password["event_type"], password["action"]) == (
        "auth", "user.authentication.auth_via_mfa",
    )  # fmt: skip
    assert (password["outcome"], password["reason"], password["reason_code"]) == (
        "failure", "bad_password", "FAILURE",
    )  # fmt: skip
    assert password["credential_valid"] is False and password["mfa_used"] is None
    assert password["user"] == "sanitized@sanitized.com"
    assert password["user_id"] == "00urjk4znu3BcncfY0h7" and password["user_name"] == "user 100"
    assert password["src_ip"] == "65.65.65.65"
    assert (password["src_asn"], password["src_org"]) == (10993, "aerioconnect")
    assert (password["src_lat"], password["src_lon"]) == (34.047, -118.275)
    assert password["ip_tags"] == []  # securityContext_isProxy_b "FALSE"
    assert password["os"] == "Windows 10" and password["browser"] == "FIREFOX"
    assert password["vendor_id"] == "6540b50a-9f9e-11ea-8e6c-9d92aa70e8a4"
    assert _details(password)["factor"] == "PASSWORD_AS_FACTOR"
    assert [e["origin_record"] for e in got.events] == [1, 2]


def test_sentinel_row_without_published_uses_ingest_time(tmp_path: Path) -> None:
    rows = json.loads(SENTINEL.read_text())
    del rows[1]["published_t"]
    path = tmp_path / "okta_cl.json"
    path.write_text(json.dumps(rows, indent=2))
    got = ingest_paths(tmp_path / "lake", path)
    event = got.events[1]
    assert event["time"].isoformat() == "2020-05-26T22:20:03.402000+00:00"
    assert _details(event)["time_source"] == "ingest"
    assert _details(got.events[0])["time_source"] is None


def test_sentinel_okta_cl_csv_export(tmp_path: Path) -> None:
    # Log Analytics' CSV export: "[UTC]" in time headers, its own time layout, JSON in cells.
    rows = json.loads(SENTINEL.read_text())
    columns = list(rows[0])
    path = tmp_path / "okta_cl.csv"
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(
            [f"{c} [UTC]" if c in ("TimeGenerated", "published_t") else c for c in columns]
        )
        for row in rows:
            # 2020-05-26T22:15:24.061Z as the export writes it: 5/26/2020, 10:15:24.061 PM
            published = row["published_t"].removeprefix("2020-05-26T22:").removesuffix("Z")
            row["published_t"] = f"5/26/2020, 10:{published} PM"
            writer.writerow([row[c] for c in columns])
    got = ingest_paths(tmp_path / "lake", path)
    report = got.report(path.name)
    assert (report.format, report.container, report.events, report.rejected) == (
        "okta_sentinel", "csv", 2, 0,
    )  # fmt: skip
    from_json = ingest_paths(tmp_path / "json", SENTINEL).events
    assert _without_origin(got.events) == _without_origin(from_json)
    assert [e["origin_line"] for e in got.events] == [2, 20]  # target_s spans physical lines


def _log_event(
    event_type: str, result: str, reason: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A System Log API LogEvent with the fields a sign-in record carries."""
    event: dict[str, Any] = {
        "uuid": f"uuid-{event_type}-{result}-{reason}",
        "published": "2024-03-01T10:00:00.000Z",
        "eventType": event_type,
        "displayMessage": "test",
        "actor": {
            "id": "00uVICTIM",
            "type": "User",
            "alternateId": "Victim@Campaign.example",
            "displayName": "Victim",
        },
        "client": {
            "ipAddress": "null",
            "userAgent": {"rawUserAgent": "python-requests/2.31", "os": "Unknown"},
            "geographicalContext": {"country": "Netherlands", "city": "Amsterdam"},
        },
        "request": {"ipChain": [{"ip": "185.220.101.4", "version": "V4"}]},
        "securityContext": {"asNumber": 60729, "asOrg": "tor exit", "isProxy": True},
        "outcome": {"result": result, "reason": reason},
        "transaction": {"id": "TX1", "type": "WEB"},
        "authenticationContext": {"externalSessionId": "unknown"},
        "debugContext": {"debugData": {"threatSuspected": "true"}},
        "target": None,
    }
    event.update(extra)
    return event


def test_api_array_with_failed_password_and_lock(tmp_path: Path) -> None:
    sso_target = [
        {"id": "0oaAPP", "type": "AppInstance", "displayName": "Campaign Mail"},
        {"id": "0uaUSER", "type": "AppUser", "displayName": "Victim"},
    ]
    events = [
        _log_event("user.session.start", "FAILURE", "INVALID_CREDENTIALS"),
        _log_event("user.session.start", "FAILURE", "UNKNOWN_USER"),
        _log_event("user.account.lock", "SUCCESS"),
        _log_event("user.session.start", "FAILURE", "LOCKED_OUT"),
        _log_event("group.user_membership.add", "SUCCESS"),
        _log_event("user.mfa.okta_verify.deny_push", "SUCCESS"),
        _log_event("system.push.send_factor_verify_push", "SUCCESS"),
        _log_event("policy.evaluate_sign_on", "DENY", "Sign-on policy evaluation resulted in DENY"),
        _log_event("user.authentication.sso", "SUCCESS", target=sso_target),
        _log_event("security.threat.detected", "DENY", "Password Spray"),
    ]
    page = tmp_path / "okta-logs.json"
    page.write_text(json.dumps(events))
    got = ingest_paths(tmp_path / "lake", page)
    report = got.report(page.name)
    assert (report.format, report.records, report.events, report.rejected) == (
        "okta_systemlog", 10, 9, 0,
    )  # fmt: skip
    assert dict(report.skipped) == {
        "Okta event type group.user_membership.add is not an authentication record": 1
    }
    by_record = {e["origin_record"]: e for e in got.events}

    bad = by_record[1]
    assert (bad["event_type"], bad["outcome"], bad["reason"], bad["reason_code"]) == (
        "auth", "failure", "bad_password", "INVALID_CREDENTIALS",
    )  # fmt: skip
    assert bad["user"] == "victim@campaign.example"  # lower-cased
    assert bad["src_ip"] == "185.220.101.4"  # client.ipAddress is the string "null"
    # "proxy" from Okta's own isProxy; the address is also a Tor exit in tocsin's bundled list
    assert "proxy" in bad["ip_tags"] and "tor" in bad["ip_tags"]
    assert (bad["src_asn"], bad["src_org"]) == (60729, "tor exit")
    assert bad["credential_valid"] is False
    assert bad["vendor_risk"] == "threat_suspected"
    assert bad["correlation_id"] == "TX1"
    assert bad["time"].isoformat() == "2024-03-01T10:00:00+00:00"

    assert (by_record[2]["reason"], by_record[2]["credential_valid"]) == ("unknown_user", False)
    lock = by_record[3]
    assert (lock["event_type"], lock["outcome"], lock["reason"]) == ("auth", "blocked", "locked")
    assert (by_record[4]["outcome"], by_record[4]["reason"]) == ("failure", "locked")
    deny_push = by_record[6]
    assert (deny_push["event_type"], deny_push["outcome"], deny_push["reason"]) == (
        "mfa", "failure", "mfa_denied",
    )  # fmt: skip
    sent = by_record[7]
    assert (sent["event_type"], sent["outcome"], sent["reason"]) == (
        "mfa", "challenge", "mfa_required",
    )  # fmt: skip
    policy = by_record[8]
    assert (policy["event_type"], policy["outcome"], policy["reason"]) == (
        "policy", "blocked", "blocked_policy",
    )  # fmt: skip
    sso = by_record[9]
    assert (sso["app"], sso["app_id"], sso["outcome"]) == ("Campaign Mail", "0oaAPP", "success")
    threat = by_record[10]
    assert (threat["event_type"], threat["outcome"], threat["reason"]) == (
        "vendor_alert", "blocked", "blocked_ip",
    )  # fmt: skip


def test_malformed_records_are_rejected_with_their_location(tmp_path: Path) -> None:
    lines = SYSTEMLOG.read_text().splitlines()[:2]
    wrong_type = json.loads(lines[0])
    wrong_type["client"] = "175.16.199.1"  # an object in every LogEvent
    no_time = json.loads(lines[1])
    del no_time["published"]
    no_type = json.loads(lines[0])
    del no_type["eventType"]
    path = tmp_path / "okta.ndjson"
    path.write_text(
        "\n".join([lines[0], json.dumps(wrong_type), "{not json", json.dumps(no_time),
                   json.dumps(no_type)]) + "\n"
    )  # fmt: skip
    got = ingest_paths(tmp_path / "lake", path)
    report = got.report(path.name)
    assert (report.format, report.reader, report.events, report.rejected) == (
        "okta_systemlog", "careful", 1, 4,
    )  # fmt: skip
    rejects = {r.line: r.reason for r in got.rejects.kept}
    assert rejects[2] == "$.client is a JSON string, expected an object"
    assert rejects[3].startswith("invalid JSON")
    assert rejects[4] == "no valid timestamp in the record"
    assert rejects[5] == "record has no eventType: not an Okta LogEvent"
    assert got.events[0]["origin_line"] == 1


def test_sentinel_row_with_broken_json_column_is_rejected(tmp_path: Path) -> None:
    rows = json.loads(SENTINEL.read_text())
    rows[0]["target_s"] = '[{\r\n  "id": '
    path = tmp_path / "okta_cl.json"
    path.write_text(json.dumps(rows))
    got = ingest_paths(tmp_path / "lake", path)
    assert got.report(path.name).events == 1
    (reject,) = got.rejects.kept
    assert reject.record == 1
    assert reject.reason.startswith("column target_s holds invalid JSON")


def test_reingesting_the_same_files_adds_nothing(tmp_path: Path) -> None:
    first = ingest_paths(tmp_path, SYSTEMLOG, SENTINEL)
    second = ingest_paths(tmp_path, SYSTEMLOG, SENTINEL)
    assert first.result.commit.added == 10
    assert second.result.commit.added == 0 and second.result.commit.duplicates == 10
    assert len(second.events) == 10


@pytest.mark.parametrize(
    "path",
    sorted(p for p in IDENTITY.rglob("*") if p.is_file() and p.parent.name != "okta_systemlog"),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_okta_sniffers_leave_other_vendors_files_alone(path: Path) -> None:
    head = classify(read_head(path))
    assert head is not None
    assert all(fmt.sniff(head) == 0 for fmt in okta.FORMATS)
