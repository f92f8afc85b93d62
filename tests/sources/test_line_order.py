"""Every event keeps the line it came from, however large the file and however many threads.

Rejects, `tocsin explain` and every alert's evidence point users at ``origin_file`` and
``origin_line``; a wrong line sends an analyst to someone else's sign-in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from tests.helpers import IDENTITY, ingest_paths
from tocsin import sources
from tocsin.simulate.entra_records import Place, signin_record
from tocsin.sources import reader
from tocsin.sources._normalize import normalize_sql
from tocsin.sources._shape import duckdb_columns
from tocsin.sources.base import ReadOptions
from tocsin.store.duck import connect
from tocsin.store.lake import _UNION_LIMIT

OPENSSH = IDENTITY / "linux_sshd" / "loghub_OpenSSH_2k.log"
RECORDS = 30_000  # several of DuckDB's JSON buffers: the file is read by both threads at once


def _write_signins(path: Path) -> dict[str, int]:
    """A diagnostic-format file; returns each record's Entra id → its line number."""
    start = datetime(2020, 9, 1, tzinfo=UTC)
    lines: dict[str, int] = {}
    with path.open("wb") as f:
        for n in range(1, RECORDS + 1):
            record = signin_record(
                moment=start + timedelta(seconds=7 * n),
                user=f"user{n % 500}@harper2020.example",
                place=Place(f"198.51.{n % 200}.{n % 250 + 1}"),
                error_code=50126 if n % 7 == 0 else 0,
            )
            lines[record["properties"]["id"]] = n
            f.write(orjson.dumps(record) + b"\n")
    return lines


@pytest.mark.slow
def test_fast_path_events_keep_their_line_numbers_on_a_large_file(tmp_path: Path) -> None:
    path = tmp_path / "signins.ndjson"
    expected = _write_signins(path)
    ingested = ingest_paths(tmp_path / "data", path)
    assert ingested.result.reports[0].reader == "fast"
    assert len(ingested.events) == RECORDS
    wrong = [e for e in ingested.events if expected[e["vendor_id"]] != e["origin_line"]]
    assert not wrong, f"{len(wrong)} of {RECORDS} events name the wrong line"
    assert all(e["origin_record"] == e["origin_line"] for e in ingested.events)


@pytest.mark.parametrize("fmt", [f for f in sources.FORMATS if f.fast_path], ids=lambda f: f.name)
def test_mappings_have_no_operator_that_reorders_rows(fmt: sources.SourceFormat) -> None:
    """Staging keeps row order only through scans, projections and filters (see Reader._copy)."""
    con = connect()
    sources.install_macros(con)
    con.execute("SET disabled_optimizers = 'in_clause'")  # as the reader stages
    source = (
        f"read_json('{Path(__file__)}', format='newline_delimited', "
        f"columns={duckdb_columns(fmt.shape)})"
    )
    plan = "\n".join(
        row[1] for row in con.execute(f"EXPLAIN {normalize_sql(con, fmt, source)}").fetchall()
    )
    assert not re.search(r"JOIN|WINDOW|ORDER_BY|AGGREGATE|UNION", plan), plan


def test_many_careful_path_files_in_one_commit_keep_their_lines(tmp_path: Path) -> None:
    """Over _UNION_LIMIT careful-path files: the batch is materialized before enrichment."""
    lines = OPENSSH.read_text().splitlines(keepends=True)
    chunk = 100
    parts = tmp_path / "parts"
    parts.mkdir()
    for k in range(0, len(lines), chunk):
        (parts / f"auth-{k // chunk:02d}.log").write_text("".join(lines[k : k + chunk]))
    assert len(list(parts.iterdir())) > _UNION_LIMIT
    options = ReadOptions(year=2015)
    whole = ingest_paths(tmp_path / "whole", OPENSSH, options=options)
    split = ingest_paths(tmp_path / "split", parts, options=options)
    assert {r.reader for r in split.result.reports} == {"careful"}
    where = {e["event_id"]: e["origin_line"] for e in whole.events}
    assert len(split.events) == len(whole.events) == 529
    for event in split.events:
        part = int(Path(event["origin_file"]).stem.split("-")[1])
        assert where[event["event_id"]] == part * chunk + event["origin_line"]


@pytest.mark.parametrize("chunk", [1, 3, 16, 1 << 20])
@pytest.mark.parametrize(
    ("content", "lines", "blank", "too_long"),
    [
        (b'{"a":1}\n{"b":2}\n', 2, False, False),
        (b'{"a":1}\n{"b":2}', 2, False, False),  # no newline at the end
        (b'{"a":1}\n\n{"b":2}\n', 3, True, False),
        (b' \t\n{"a":1}\n', 2, True, False),  # a blank first line
        (b'{"a":1}\n{"b":2}\n  ', 2, True, False),  # trailing whitespace: a blank last line
        (b'{"a":1}\r\n{"b":2}\r\n', 2, False, False),
        (b'{"a":1}\n' + b"x" * 40 + b"\n", 2, False, True),
        (b'{"a":1}\n' + b"x" * 40, 1, False, True),  # the long line is the unfinished last one
    ],
)
def test_line_scan_counts_lines_across_chunk_edges(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
    content: bytes,
    lines: int,
    blank: bool,
    too_long: bool,
) -> None:
    """The fast path's line count (row n is line n + 1) must not depend on where the scan's
    reads happen to cut the file: lines carried from one read to the next count once."""
    monkeypatch.setattr(reader._LineScan, "CHUNK", chunk)
    path = tmp_path / "lines.ndjson"
    path.write_bytes(content)
    scan = reader._LineScan(path, None, max_line=32)
    scan.run()
    assert not scan.failed
    assert scan.too_long == too_long
    if not too_long:
        assert (scan.lines, scan.blank_lines) == (lines, blank)
