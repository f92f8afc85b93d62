"""Entra ID sign-ins from the real sample exports in ../shared/data/identity."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.helpers import IDENTITY, ingest_paths
from tocsin.sources.entra_codes import ENTRA_CODES

DIAGNOSTIC = (
    IDENTITY / "entra_diagnostic_records" / "elastic-integrations_test-signinlogs-raw_subset.ndjson"
)
ADELE = IDENTITY / "entra_signinlogs" / "sentinel-traininglab_sign-in_adelete.csv"
DISABLED = IDENTITY / "entra_signinlogs" / "sentinel-traininglab_disable_accounts.csv"


def test_diagnostic_records_fast_path(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path / "lake", DIAGNOSTIC)
    report = got.report(DIAGNOSTIC.name)
    assert (report.format, report.reader, report.events, report.rejected) == (
        "entra_diagnostic", "fast", 2, 0,
    )  # fmt: skip
    first, second = got.events
    assert first["user"] == "test@elastic.co"
    assert first["src_ip"] == "81.2.69.144"
    assert first["src_country"] == "FR" and first["src_city"] == "Champs-Sur-Marne"
    assert first["reason_code"] == "50140" and first["outcome"] == "challenge"
    assert first["credential_valid"] is True  # the KMSI interrupt comes after the password
    assert first["action"] == "SignInLogs"
    assert first["origin_line"] == 1 and second["origin_line"] == 2
    assert second["action"] == "NonInteractiveUserSignInLogs"
    assert second["interactive"] is False
    assert first["time"].isoformat() == "2019-10-18T09:45:48.072989+00:00"


def test_diagnostic_records_document_and_gzip_give_the_same_events(tmp_path: Path) -> None:
    records = [json.loads(line) for line in DIAGNOSTIC.read_text().splitlines()]
    doc = tmp_path / "in" / "PT1H.json"
    doc.parent.mkdir()
    doc.write_text(json.dumps({"records": records}, indent=2))
    gz = tmp_path / "in" / "export.bin"  # gzip found by content, not by name
    gz.write_bytes(gzip.compress(DIAGNOSTIC.read_bytes()))
    plain = ingest_paths(tmp_path / "a", DIAGNOSTIC).events
    from_doc = ingest_paths(tmp_path / "b", doc).events
    from_gz = ingest_paths(tmp_path / "c", gz).events
    strip = ("origin_file", "origin_line", "origin_record")
    for events in (from_doc, from_gz):
        assert [{k: v for k, v in e.items() if k not in strip} for e in events] == [
            {k: v for k, v in e.items() if k not in strip} for e in plain
        ]
    assert [e["origin_record"] for e in from_doc] == [1, 2]
    assert from_doc[0]["origin_line"] is None  # a JSON document has records, not lines


def test_sentinel_csv_export(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, ADELE)
    report = got.report(ADELE.name)
    assert (report.format, report.records, report.events, report.rejected) == (
        "entra_sentinel", 56, 56, 0,
    )  # fmt: skip
    by_code: dict[str, int] = {}
    for e in got.events:
        by_code[e["reason_code"]] = by_code.get(e["reason_code"], 0) + 1
    assert by_code == {"0": 53, "16000": 2, "50058": 1}
    assert {e["user"] for e in got.events} == {"adelev@m365x816222.onmicrosoft.com"}
    assert {e["src_ip"] for e in got.events} == {"175.45.176.99"}
    ok = next(e for e in got.events if e["reason_code"] == "0")
    assert ok["outcome"] == "success" and ok["reason"] == "ok"
    assert ok["app"] and ok["browser"] and ok["os"]
    # multi-line quoted cells: the record starts on its header-relative physical line
    assert got.events[0]["origin_line"] == 2


def test_sentinel_export_without_time_column_uses_authentication_steps(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, DISABLED)
    assert got.report(DISABLED.name).events == 4
    assert all(e["reason"] == "disabled" and e["reason_code"] == "50057" for e in got.events)
    assert all(e["time"].year == 2021 for e in got.events)


def test_graph_signin_page(tmp_path: Path) -> None:
    record = json.loads(DIAGNOSTIC.read_text().splitlines()[0])["properties"]
    record["status"] = {"errorCode": 50126, "failureReason": "Invalid username or password."}
    page = tmp_path / "signins.json"
    page.write_text(
        json.dumps({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
                    "value": [record], "@odata.nextLink": "https://graph.microsoft.com/next"})
    )  # fmt: skip
    got = ingest_paths(tmp_path / "lake", page)
    assert got.report("signins.json").format == "entra_graph"
    (event,) = got.events
    assert (event["outcome"], event["reason"], event["credential_valid"]) == (
        "failure", "bad_password", False,
    )  # fmt: skip


def test_reingesting_the_same_file_adds_nothing(tmp_path: Path) -> None:
    first = ingest_paths(tmp_path, ADELE)
    second = ingest_paths(tmp_path, ADELE)
    assert first.result.commit.added == 56
    assert second.result.commit.added == 0 and second.result.commit.duplicates == 56
    assert len(second.events) == 56


@pytest.mark.parametrize(
    "code",
    [0, 50053, 50055, 50057, 50034, 50074, 50076, 50126, 50140, 50158, 53003, 500121, 530032],
)
def test_required_error_codes_are_mapped(code: int) -> None:
    assert code in {c.code for c in ENTRA_CODES}
