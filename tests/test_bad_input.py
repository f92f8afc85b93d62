"""Bad input never loses data or crashes the run: each bad record is located, rejected, counted."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.helpers import IDENTITY, ingest_paths
from tocsin.ingest import RejectEntry

GOOD = (
    IDENTITY / "entra_diagnostic_records" / "elastic-integrations_test-signinlogs-raw_subset.ndjson"
)
ADELE = IDENTITY / "entra_signinlogs" / "sentinel-traininglab_sign-in_adelete.csv"


def _good_lines() -> list[bytes]:
    return GOOD.read_bytes().splitlines()


def _rejects_for(rejects: list[RejectEntry], name: str) -> list[RejectEntry]:
    return [r for r in rejects if Path(r.file).name == name]


def test_truncated_json_line_is_rejected_and_the_rest_read(tmp_path: Path) -> None:
    first, second = _good_lines()
    f = tmp_path / "in" / "signins.ndjson"
    f.parent.mkdir()
    f.write_bytes(first + b"\n" + second[: len(second) // 2] + b"\n" + second + b"\n")
    got = ingest_paths(tmp_path / "lake", f)
    report = got.report("signins.ndjson")
    assert report.reader == "careful"  # the fast path refused the file and handed it over
    assert (report.events, report.rejected) == (2, 1)
    (reject,) = got.rejects.kept
    assert reject.line == 2 and reject.record == 2
    assert reject.reason.startswith("invalid JSON")
    assert reject.preview.startswith('{"Level":"4"')
    assert [e["origin_line"] for e in got.events] == [1, 3]


def test_truncated_json_document_keeps_the_records_before_the_cut(tmp_path: Path) -> None:
    records = [json.loads(line) for line in _good_lines()]
    text = json.dumps({"records": records}, indent=2)
    f = tmp_path / "cut.json"
    f.write_text(text[: int(len(text) * 0.8)])
    got = ingest_paths(tmp_path / "lake", f)
    report = got.report("cut.json")
    assert (report.format, report.events, report.rejected) == ("entra_diagnostic", 1, 1)
    assert "truncated" in got.rejects.kept[0].reason
    assert got.rejects.kept[0].record == 2


def test_invalid_utf8_line(tmp_path: Path) -> None:
    first, second = _good_lines()
    broken = second.replace(b"Test LTest", b"Test \xff\xfeLTest")
    f = tmp_path / "utf8.ndjson"
    f.write_bytes(first + b"\n" + broken + b"\n")
    got = ingest_paths(tmp_path / "lake", f)
    assert got.report("utf8.ndjson").events == 1
    (reject,) = got.rejects.kept
    assert reject.line == 2 and "UTF-8" in reject.reason


def test_ten_megabyte_line_is_rejected_without_being_held(tmp_path: Path) -> None:
    first, second = _good_lines()
    huge = json.loads(first)
    huge["properties"]["userAgent"] = "A" * 10_000_000
    f = tmp_path / "huge.ndjson"
    f.write_bytes(json.dumps(huge).encode() + b"\n" + second + b"\n")
    got = ingest_paths(tmp_path / "lake", f)
    report = got.report("huge.ndjson")
    assert (report.events, report.rejected) == (1, 1)
    (reject,) = got.rejects.kept
    assert reject.line == 1 and reject.size is not None and reject.size > 10_000_000
    assert "over the 1,048,576-byte limit" in reject.reason
    assert len(reject.preview) <= 200


def test_long_user_agent_under_the_limit_is_kept_but_cut(tmp_path: Path) -> None:
    record = json.loads(_good_lines()[0])
    record["properties"]["userAgent"] = "Mozilla/5.0 " + "x" * 50_000
    f = tmp_path / "long-ua.ndjson"
    f.write_text(json.dumps(record) + "\n")
    (event,) = ingest_paths(tmp_path / "lake", f).events
    assert event["user_agent"].startswith("Mozilla/5.0 xxx")
    assert len(event["user_agent"]) <= 1024 and "chars cut]" in event["user_agent"]


def test_csv_rows_missing_columns(tmp_path: Path) -> None:
    lines = ADELE.read_bytes().split(b"\r\n") if b"\r\n" in ADELE.read_bytes() else None
    text = ADELE.read_text(encoding="utf-8-sig")
    header = text.split("\n", 1)[0]
    f = tmp_path / "short.csv"
    # the real header, one real row, then a row cut after a few fields
    rows = text.split("\n7c759f10-811c-4db8-ad6d-f07d8ae3f8ea,")
    f.write_text(
        header + "\n" + "7c759f10-811c-4db8-ad6d-f07d8ae3f8ea," + rows[1] + "\n"
        "7c759f10-811c-4db8-ad6d-f07d8ae3f8ea,Azure AD,/tenants/x\n",
        encoding="utf-8",
    )
    assert lines is None or lines  # either line ending is fine for the reader
    got = ingest_paths(tmp_path / "lake", f)
    report = got.report("short.csv")
    assert (report.format, report.events, report.rejected) == ("entra_sentinel", 1, 1)
    (reject,) = got.rejects.kept
    assert "fields, the header has" in reject.reason
    assert reject.line is not None and reject.line > 2


def test_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "empty.json"
    f.write_bytes(b"")
    got = ingest_paths(tmp_path / "lake", f)
    report = got.report("empty.json")
    assert (report.events, report.rejected, report.note) == (0, 0, "empty file")


def test_gzip_cut_short(tmp_path: Path) -> None:
    data = b"".join(_good_lines()[0] + b"\n" for _ in range(3000))
    packed = gzip.compress(data)
    f = tmp_path / "cut.ndjson.gz"
    f.write_bytes(packed[: len(packed) // 2])
    got = ingest_paths(tmp_path / "lake", f)
    report = got.report("cut.ndjson.gz")
    assert report.compressed and report.reader == "careful"
    assert report.events > 0  # everything before the cut is kept (identical ids dedupe)
    assert report.records >= 100
    assert any("truncated gzip" in r.reason for r in got.rejects.kept)


def test_binary_junk(tmp_path: Path) -> None:
    f = tmp_path / "junk.bin"
    f.write_bytes(bytes(range(256)) * 64)
    got = ingest_paths(tmp_path / "lake", f)
    report = got.report("junk.bin")
    assert report.rejected == 1 and report.note == "binary content, not a log export"


def test_binary_line_inside_json_lines(tmp_path: Path) -> None:
    first, second = _good_lines()
    f = tmp_path / "mixed.ndjson"
    f.write_bytes(first + b"\n" + b"\x00\x01\x02garbage\x00" + b"\n" + second + b"\n")
    got = ingest_paths(tmp_path / "lake", f)
    assert got.report("mixed.ndjson").events == 2
    assert [r.line for r in got.rejects.kept] == [2]


def test_wrong_shape_record_is_rejected_with_its_json_path(tmp_path: Path) -> None:
    first, second = _good_lines()
    record = json.loads(second)
    record["properties"]["status"] = "not an object"
    f = tmp_path / "shape.ndjson"
    f.write_bytes(first + b"\n" + json.dumps(record).encode() + b"\n")
    got = ingest_paths(tmp_path / "lake", f)
    assert got.report("shape.ndjson").events == 1
    (reject,) = got.rejects.kept
    assert reject.line == 2
    assert reject.reason == "$.properties.status is a JSON string, expected an object"


def test_record_without_timestamp_is_rejected_at_its_line(tmp_path: Path) -> None:
    first, second = _good_lines()
    record = json.loads(second)
    record["time"] = "yesterday"
    record["properties"]["createdDateTime"] = None
    f = tmp_path / "notime.ndjson"
    f.write_bytes(first + b"\n" + json.dumps(record).encode() + b"\n")
    got = ingest_paths(tmp_path / "lake", f)
    report = got.report("notime.ndjson")
    assert report.reader == "fast"  # valid JSON: the mapping itself rejects it
    assert (report.events, report.rejected) == (1, 1)
    (reject,) = got.rejects.kept
    assert (reject.line, reject.reason) == (2, "no valid timestamp in the record")


def test_blank_lines_do_not_shift_line_numbers(tmp_path: Path) -> None:
    first, second = _good_lines()
    f = tmp_path / "blank.ndjson"
    f.write_bytes(b"\n" + first + b"\n   \n\n" + second + b"\n\n")
    got = ingest_paths(tmp_path / "lake", f)
    assert [e["origin_line"] for e in got.events] == [2, 5]
    assert not got.rejects.kept


def test_directory_mixing_formats_and_junk(tmp_path: Path) -> None:
    d = tmp_path / "evidence"
    (d / "nested").mkdir(parents=True)
    (d / "a.ndjson").write_bytes(GOOD.read_bytes())
    (d / "nested" / "b.csv").write_bytes(ADELE.read_bytes())
    (d / "nested" / "c.gz").write_bytes(gzip.compress(GOOD.read_bytes()))
    (d / "notes.txt").write_text("call the press office back on Monday\n")
    (d / "junk.dat").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000))
    (d / ".hidden.ndjson").write_bytes(b"{broken")
    got = ingest_paths(tmp_path / "lake", d)
    names = sorted(Path(r.path).name for r in got.result.reports)
    assert names == ["a.ndjson", "b.csv", "c.gz", "junk.dat", "notes.txt"]
    assert got.report("a.ndjson").events == 2
    assert got.report("c.gz").events == 2  # same records: staged again, deduplicated
    assert got.report("b.csv").events == 56
    assert got.report("notes.txt").note is not None and got.report("notes.txt").rejected == 0
    assert got.report("junk.dat").rejected == 1
    assert got.result.commit.added == 58 and got.result.commit.duplicates == 2


@pytest.mark.parametrize("allow_fast", [True, False])
def test_fast_and_careful_paths_give_identical_events(tmp_path: Path, allow_fast: bool) -> None:
    reference = ingest_paths(tmp_path / "ref", GOOD, allow_fast=True).events
    got = ingest_paths(tmp_path / "lake", GOOD, allow_fast=allow_fast)
    assert got.report(GOOD.name).reader == ("fast" if allow_fast else "careful")
    assert got.events == reference


@pytest.mark.parametrize("allow_fast", [True, False])
def test_progress_reports_every_byte_of_the_input(tmp_path: Path, allow_fast: bool) -> None:
    from tocsin.ingest import RejectLog, ingest
    from tocsin.store.duck import connect
    from tocsin.store.lake import Lake

    f = tmp_path / "many.ndjson.gz"
    f.write_bytes(gzip.compress(b"".join(line + b"\n" for line in _good_lines() * 500)))
    seen: list[int] = []
    lake = Lake(tmp_path / "lake")
    with lake.locked():
        result = ingest(
            [f], lake, connect(), RejectLog(), on_progress=seen.append, allow_fast=allow_fast
        )
    assert result.reports[0].reader == ("fast" if allow_fast else "careful")
    # progress counts compressed bytes, so the bar ends exactly at the file size
    assert sum(seen) == f.stat().st_size
