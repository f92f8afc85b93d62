"""Google Workspace login audit from the real samples in ../shared/data/identity, plus fixtures."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import IDENTITY, ingest_paths
from tocsin.sources import google_workspace
from tocsin.sources._io import classify, read_head

SENTINEL = IDENTITY / "google_workspace" / "azure-sentinel_GWorkspace_ReportsAPI_login_CL.json"
ELASTIC = IDENTITY / "google_workspace" / "elastic-integrations_google_workspace_test-login.log"
ORIGIN = ("origin_file", "origin_line", "origin_record")


def _details(event: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(event["details"])
    return value


def _activity(*events: dict[str, Any], application: str = "login") -> dict[str, Any]:
    """A Reports API activity as activities.list returns it."""
    return {
        "kind": "admin#reports#activity",
        "id": {
            "time": "2024-03-01T09:15:02.123Z",
            "uniqueQualifier": "-6785498417271357468",
            "applicationName": application,
            "customerId": "C03az79cb",
        },
        "etag": '"abc/def"',
        "actor": {"email": "Press.Officer@Campaign.example", "profileId": "114523948572019"},
        "ipAddress": "2a0b:f4c2:2::1",
        "events": list(events),
    }


def _event(name: str, **params: Any) -> dict[str, Any]:
    parameters = []
    for key, value in params.items():
        if isinstance(value, bool):
            parameters.append({"name": key, "boolValue": value})
        elif isinstance(value, list):
            parameters.append({"name": key, "multiValue": value})
        else:
            parameters.append({"name": key, "value": value})
    return {"type": "login", "name": name, "parameters": parameters}


def test_sentinel_json_array_of_activities(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, SENTINEL)
    report = got.report(SENTINEL.name)
    assert (report.format, report.container, report.records, report.events, report.rejected) == (
        "google_login", "json_document", 3, 3, 0,
    )  # fmt: skip
    assert report.skipped_total == 0
    success, verification, earlier = got.events
    assert [e["origin_record"] for e in got.events] == [1, 2, 3]
    assert success["origin_line"] is None
    for event in got.events:
        assert event["user"] == "sanitized_email.com"  # the sample's own sanitising
        assert event["user_id"] == "106497629058682804316"  # beyond 64 bits: kept as text
        assert event["tenant"] == "C015t6bdl"
        assert event["src_ip"] == "52.52.52.52"
        assert event["client_app"] == "google_password"
        assert event["correlation_id"] == event["vendor_id"] == "580457398125"

    assert success["time"].isoformat() == "2020-11-09T22:47:35.492000+00:00"
    assert (success["event_type"], success["action"], success["outcome"], success["reason"]) == (
        "auth", "login_success", "success", "ok",
    )  # fmt: skip
    assert success["mfa_used"] is True and success["credential_valid"] is True
    assert success["vendor_risk"] is None  # is_suspicious false
    assert _details(success)["login_challenge_method"] == ["password", "google_prompt"]

    assert (verification["event_type"], verification["action"]) == ("mfa", "login_verification")
    assert (verification["outcome"], verification["reason"], verification["reason_code"]) == (
        "success", "ok", "passed",
    )  # fmt: skip
    assert verification["mfa_used"] is True
    assert earlier["time"].isoformat() == "2020-11-09T22:46:21.209000+00:00"
    # all three share one uniqueQualifier, two of them also their time: still three events
    assert len({e["event_id"] for e in got.events}) == 3


def test_elastic_json_lines_with_one_event_per_activity(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, ELASTIC)
    report = got.report(ELASTIC.name)
    assert (report.format, report.container, report.records, report.events, report.rejected) == (
        "google_login", "ndjson", 17, 17, 0,
    )  # fmt: skip
    assert report.skipped_total == 0
    assert len({e["event_id"] for e in got.events}) == 17
    assert Counter(e["event_type"] for e in got.events) == {
        "vendor_alert": 10, "auth": 3, "mfa": 3, "logoff": 1,
    }  # fmt: skip
    by_line = {e["origin_line"]: e for e in got.events}
    assert sorted(by_line) == list(range(1, 18))

    gov = by_line[9]
    assert (gov["event_type"], gov["action"], gov["outcome"], gov["reason"]) == (
        "vendor_alert", "gov_attack_warning", "failure", "other",
    )  # fmt: skip
    assert (gov["user"], gov["src_ip"], gov["tenant"]) == ("foo@bar.com", "67.43.156.13", "1")
    assert gov["time"].isoformat() == "2020-10-02T15:00:00+00:00"

    # an account warning is about the affected account, not the actor who triggered it
    hijacked = by_line[8]
    assert (hijacked["action"], hijacked["outcome"], hijacked["reason"]) == (
        "account_disabled_hijacked", "blocked", "disabled",
    )  # fmt: skip
    assert hijacked["user"] == "foo@elastic.co" and hijacked["user_id"] is None
    assert _details(hijacked)["actor_email"] == "foo@bar.com"
    assert _details(hijacked)["login_time"] == "2020-07-02T13:08:25.123456Z"
    assert {by_line[n]["action"] for n in (2, 3, 4)} == {
        "suspicious_login", "suspicious_login_less_secure_app", "suspicious_programmatic_login",
    }  # fmt: skip
    assert all(by_line[n]["outcome"] == "blocked" for n in (1, 2, 3, 4, 5, 6, 7, 8))

    failure = by_line[10]
    assert (failure["event_type"], failure["outcome"], failure["reason"]) == (
        "auth", "blocked", "blocked_policy",
    )  # fmt: skip
    assert failure["reason_code"] == "login_failure_access_code_disallowed"
    assert failure["client_app"] == "exchange"
    challenge = by_line[11]
    assert (challenge["event_type"], challenge["outcome"], challenge["reason_code"]) == (
        "mfa", "success", "Challenge Passed.",
    )  # fmt: skip
    assert by_line[12]["mfa_used"] is False  # is_second_factor false, said outright
    assert (by_line[13]["event_type"], by_line[13]["outcome"]) == ("logoff", "success")
    suspicious = by_line[15]
    assert (suspicious["vendor_risk"], suspicious["mfa_used"]) == ("suspicious", False)
    assert suspicious["credential_valid"] is True
    risky = by_line[16]
    assert (risky["event_type"], risky["outcome"]) == ("vendor_alert", "success")
    assert risky["reason_detail"] == "Allowing access to data"
    last = by_line[17]
    assert last["time"].isoformat() == "2025-02-27T05:59:58.481000+00:00"
    assert (last["user"], last["src_ip"], last["mfa_used"]) == (
        "tl.zeous.daclitan@company.com", "81.2.69.144", True,
    )  # fmt: skip


def test_api_page_with_an_activity_of_two_events(tmp_path: Path) -> None:
    page = {
        "kind": "admin#reports#activities",
        "etag": '"page"',
        "items": [
            _activity(
                _event(
                    "login_failure",
                    login_type="google_password",
                    login_challenge_method=["password"],
                    login_failure_type="login_failure_invalid_password",
                ),
                _event(
                    "login_challenge",
                    login_type="google_password",
                    login_challenge_method=["idv_preregistered_phone"],
                    login_challenge_status="Challenge Failed.",
                ),
            ),
            _activity(
                _event("login_failure", login_failure_type="login_failure_invalid_second_factor")
            ),
            _activity(_event("login_failure", login_failure_type="login_failure_account_disabled")),
        ],
        "nextPageToken": "A:1709284502123000:-6785498417271357468:login:C03az79cb",
    }
    path = tmp_path / "login-page-1.json"
    path.write_text(json.dumps(page, indent=2))
    got = ingest_paths(tmp_path / "lake", path)
    report = got.report(path.name)
    assert (report.format, report.container, report.records, report.events, report.rejected) == (
        "google_login", "json_document", 3, 4, 0,
    )  # fmt: skip
    # both events of the first activity come from record 1 (the lake orders them by id)
    by_key = {(e["origin_record"], e["action"]): e for e in got.events}
    assert sorted(by_key) == [
        (1, "login_challenge"), (1, "login_failure"), (2, "login_failure"), (3, "login_failure"),
    ]  # fmt: skip
    password, challenge = by_key[1, "login_failure"], by_key[1, "login_challenge"]
    second_factor, disabled = by_key[2, "login_failure"], by_key[3, "login_failure"]

    assert (password["event_type"], password["outcome"], password["reason"]) == (
        "auth", "failure", "bad_password",
    )  # fmt: skip
    assert password["reason_code"] == "login_failure_invalid_password"
    assert password["credential_valid"] is False
    assert password["user"] == "press.officer@campaign.example"
    assert password["src_ip"] == "2a0b:f4c2:2::1"
    assert password["tenant"] == "C03az79cb"
    assert password["time"].isoformat() == "2024-03-01T09:15:02.123000+00:00"

    assert (challenge["event_type"], challenge["outcome"], challenge["reason"]) == (
        "mfa", "failure", "mfa_denied",
    )  # fmt: skip
    assert challenge["correlation_id"] == password["correlation_id"] == "-6785498417271357468"
    assert challenge["event_id"] != password["event_id"]

    # the second factor is asked for only after the password was accepted
    assert (second_factor["reason"], second_factor["credential_valid"]) == ("mfa_denied", True)
    assert (disabled["outcome"], disabled["reason"]) == ("failure", "disabled")


def test_other_applications_and_non_sign_in_events_are_skipped(tmp_path: Path) -> None:
    activities = [
        _activity(_event("login_success", login_type="saml", login_challenge_method=["none"])),
        _activity(_event("download"), application="drive"),
        _activity(_event("password_edit")),
    ]
    path = tmp_path / "activities.json"
    path.write_text(json.dumps(activities))
    got = ingest_paths(tmp_path / "lake", path)
    report = got.report(path.name)
    assert (report.records, report.events, report.rejected) == (3, 1, 0)
    assert dict(report.skipped) == {
        "Google Workspace drive activity, not the login audit": 1,
        "Google login event password_edit is not an authentication record": 1,
    }
    (saml,) = got.events
    assert (saml["client_app"], saml["mfa_used"], saml["credential_valid"]) == ("saml", False, None)


def test_malformed_activities_are_rejected_with_their_location(tmp_path: Path) -> None:
    good = ELASTIC.read_text().splitlines()[8]  # gov_attack_warning
    no_events = json.loads(good)
    no_events["events"] = "gov_attack_warning"
    bad_parameters = json.loads(good)
    bad_parameters["events"]["parameters"] = {"name": "login_type"}
    no_id = json.loads(good)
    del no_id["id"]
    path = tmp_path / "login.ndjson"
    path.write_text(
        "\n".join([good, json.dumps(no_events), json.dumps(bad_parameters), json.dumps(no_id),
                   "[1, 2]"]) + "\n"
    )  # fmt: skip
    got = ingest_paths(tmp_path / "lake", path)
    report = got.report(path.name)
    assert (report.format, report.records, report.events, report.rejected) == (
        "google_login", 5, 1, 4,
    )  # fmt: skip
    rejects = {(r.line, r.record): r.reason for r in got.rejects.kept}
    assert rejects == {
        (2, 2): "login activity has no events",
        (3, 3): "events[0].parameters is not an array",
        (4, 4): "activity has no id.applicationName",
        (5, 5): "activity is not a JSON object",
    }
    assert got.events[0]["action"] == "gov_attack_warning"


def test_the_same_activity_exported_twice_keeps_its_ids(tmp_path: Path) -> None:
    line = json.loads(ELASTIC.read_text().splitlines()[16])
    # The API writes int64 as strings and events as an array; this collector did neither.
    as_api = dict(line, events=[line["events"]])
    as_api["id"] = dict(line["id"], uniqueQualifier=int(line["id"]["uniqueQualifier"]))
    as_api["actor"] = dict(line["actor"], profileId=int(line["actor"]["profileId"]))
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"kind": "admin#reports#activities", "items": [as_api]}))
    from_lines = ingest_paths(tmp_path / "a", ELASTIC).events[16]
    (from_page,) = ingest_paths(tmp_path / "b", page).events
    assert from_page["event_id"] == from_lines["event_id"]
    strip = (*ORIGIN, "details")
    assert {k: v for k, v in from_page.items() if k not in strip} == {
        k: v for k, v in from_lines.items() if k not in strip
    }


def test_reingesting_the_same_files_adds_nothing(tmp_path: Path) -> None:
    first = ingest_paths(tmp_path, SENTINEL, ELASTIC)
    second = ingest_paths(tmp_path, SENTINEL, ELASTIC)
    assert first.result.commit.added == 20
    assert second.result.commit.added == 0 and second.result.commit.duplicates == 20
    assert len(second.events) == 20


@pytest.mark.parametrize(
    "path",
    sorted(p for p in IDENTITY.rglob("*") if p.is_file() and p.parent.name != "google_workspace"),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_google_sniffer_leaves_other_vendors_files_alone(path: Path) -> None:
    head = classify(read_head(path))
    assert head is not None
    assert all(fmt.sniff(head) == 0 for fmt in google_workspace.FORMATS)
