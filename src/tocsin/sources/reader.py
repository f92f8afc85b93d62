"""Read one input file into normalized event batches, with located rejects and counted skips.

Two paths produce identical events, because both run the format's one SQL mapping:

* **fast** — for clean JSON Lines of a format that needs no Python per record, DuckDB reads
  the file itself, in parallel, and writes the mapped rows to a staging Parquet file in file
  order, while a second thread counts the lines. Row *n* of the staging file is line *n + 1*;
  if the file has blank lines, a bad record or anything DuckDB refuses, the staging file is
  discarded and the careful path runs instead.
* **careful** — Python streams records (JSON Lines, JSON documents, CSV, text), applies the
  format's ``prepare`` hook, checks each record against the declared shape, rejects what it
  must with file, line and reason, and writes the rest as clean JSON Lines for DuckDB, plus a
  small Parquet file giving each staged row its line and record number.

Either way the staging file keeps the mapping's ``_skip``/``_reject`` columns; skips and rejects
are counted from it, and the lake's commit reads only the rows that are neither.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from tocsin.sources._containers import (
    Item,
    Record,
    Rejected,
    iter_csv,
    iter_document,
    iter_ndjson,
    iter_text,
)
from tocsin.sources._io import classify, open_binary, read_head
from tocsin.sources._normalize import normalize_sql
from tocsin.sources._shape import check_shape, duckdb_columns
from tocsin.sources.base import Head, ReadOptions, RecordError, Skip, SourceFormat
from tocsin.store.duck import one_row

DEFAULT_MAX_RECORD = 1 << 20  # 1 MiB: real sign-in records are a few KiB


@dataclass(frozen=True, slots=True)
class Staged:
    """One file's mapped rows awaiting commit to the lake."""

    rows: Path  # Parquet: mapped event columns + _skip + _reject, one row per staged record
    origins: Path | None  # careful path: Parquet (pos, line, record); None: row n is line n + 1
    origin_file: str


class StageFiles(Protocol):
    """Hands out paths for one file's staging output (the lake implements this)."""

    def new_stage(self) -> tuple[Path, Path]: ...


class RejectSink(Protocol):
    def reject(self, file: str, fmt: str | None, rejected: Rejected) -> None: ...


@dataclass(slots=True)
class FileReport:
    """What happened to one file; printed per file by `tocsin scan`."""

    path: str
    format: str | None = None
    source: str | None = None
    container: str | None = None
    compressed: bool = False
    reader: str | None = None  # "fast" or "careful"
    records: int = 0
    events: int = 0
    rejected: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    note: str | None = None  # why a whole file was not read
    seconds: float = 0.0
    min_time: Any = None
    max_time: Any = None
    staged: Staged | None = None

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


class _FastPathRefused(Exception):
    """The fast path cannot vouch for this file; the careful path takes over."""


@dataclass(slots=True)
class Reader:
    """Reads files with one DuckDB connection; formats come from registry functions."""

    con: duckdb.DuckDBPyConnection
    detect: Callable[[Head], SourceFormat | None]
    lookup: Callable[[str], SourceFormat]
    rejects: RejectSink
    stage: StageFiles
    options: ReadOptions = field(default_factory=ReadOptions)
    max_record: int = DEFAULT_MAX_RECORD
    tmp_dir: Path | None = None
    on_progress: Callable[[int], None] | None = None
    allow_fast: bool = True

    def read(self, path: Path, forced: str | None = None) -> FileReport:
        started = time.perf_counter()
        report = FileReport(path=str(path))
        try:
            self._read(path, forced, report)
        except Exception as exc:  # one unreadable file must not end the run
            report.staged = None
            report.events = 0
            report.note = f"could not be read: {type(exc).__name__}: {exc}"
            self._reject(report, Rejected(None, None, report.note))
        finally:
            report.seconds = time.perf_counter() - started
        return report

    def _reject(self, report: FileReport, rejected: Rejected) -> None:
        report.rejected += 1
        self.rejects.reject(report.path, report.format, rejected)

    def _read(self, path: Path, forced: str | None, report: FileReport) -> None:
        try:
            head = classify(read_head(path))
            with path.open("rb") as f:
                report.compressed = f.read(2) == b"\x1f\x8b"
        except OSError as exc:
            report.note = f"unreadable: {exc.strerror or exc}"
            self._reject(report, Rejected(None, None, report.note))
            return
        if head is None:
            report.note = "binary content, not a log export"
            self._reject(report, Rejected(None, None, report.note))
            return
        report.container = head.container
        if not head.text.strip():
            report.note = "empty file"
            return
        fmt = self.lookup(forced) if forced else self.detect(head)
        if fmt is None and head.container == "json_document" and not head.paths:
            report.note = "JSON document without records (an empty export page?)"
            return
        if fmt is None:
            report.note = f"not a format tocsin reads ({head.container}); see `tocsin formats`"
            return
        if head.container not in fmt.containers:
            report.note = f"--format {fmt.name} does not read {head.container} files"
            self._reject(report, Rejected(None, None, report.note))
            return
        report.format, report.source = fmt.name, fmt.source
        options = self.options
        if options.file_mtime is None:
            options = ReadOptions(options.year, options.timezone, path.stat().st_mtime)
        if self.allow_fast and fmt.fast_path and head.container == "ndjson":
            try:
                report.staged = self._fast(path, fmt, report)
                report.reader = "fast"
                self._account(report, None)
                return
            except _FastPathRefused:
                pass
        report.reader = "careful"
        self._careful(path, fmt, head, options, report)

    # -- fast path -----------------------------------------------------------------------

    def _fast(self, path: Path, fmt: SourceFormat, report: FileReport) -> Staged:
        rows, _ = self.stage.new_stage()
        scan = _LineScan(path, self.on_progress, self.max_record)
        thread = threading.Thread(target=scan.run, name="tocsin-line-scan", daemon=True)
        thread.start()
        source = (
            f"read_json({_literal(path)}, format='newline_delimited', "
            f"columns={duckdb_columns(fmt.shape)}, "
            f"compression='{'gzip' if report.compressed else 'none'}', "
            f"maximum_object_size={self.max_record})"
        )
        try:
            written = self._copy(normalize_sql(self.con, fmt, source), rows)
        except duckdb.Error as exc:
            thread.join()
            rows.unlink(missing_ok=True)
            raise _FastPathRefused from exc
        thread.join()
        if scan.failed or scan.blank_lines or scan.too_long or scan.lines != written:
            rows.unlink(missing_ok=True)
            raise _FastPathRefused
        report.records = written
        return Staged(rows, None, report.path)

    def _copy(self, select: str, target: Path) -> int:
        """Write a mapping's rows, in input order, to a Parquet file; return the row count."""
        # Row n must stay line n + 1 (or origin n). DuckDB keeps insertion order through
        # scans, projections and filters, but its in-clause optimizer turns `x IN ('', 'null',
        # …)` into a join, and joins running on several threads do not keep it: a 28,000-line
        # file came out with three rows in four at the wrong line. The mappings have no other
        # joins (tests/sources/test_line_order.py checks both).
        self.con.execute("SET disabled_optimizers = 'in_clause'")
        try:
            # Uncompressed: staging lives for seconds and compression would only cost CPU.
            (count,) = one_row(
                self.con,
                f"COPY ({select}) TO {_literal(target)} (FORMAT parquet, COMPRESSION uncompressed)",
            )
        finally:
            self.con.execute("RESET disabled_optimizers")
        return int(count)

    # -- careful path --------------------------------------------------------------------

    def _careful(
        self, path: Path, fmt: SourceFormat, head: Head, options: ReadOptions, report: FileReport
    ) -> None:
        lines = array("q")
        records = array("q")
        stream, _ = open_binary(path, self.on_progress)
        with (
            stream,
            tempfile.NamedTemporaryFile(
                "wb", suffix=".ndjson", dir=self.tmp_dir, delete=False
            ) as tmp,
        ):
            clean = Path(tmp.name)
            try:
                for item in self._items(stream, head):
                    if isinstance(item, Rejected):
                        self._reject(report, item)
                        continue
                    report.records += 1
                    for value in self._prepared(item, fmt, options, report):
                        data = _dump(value, self.max_record)
                        if isinstance(data, str):
                            self._reject(report, Rejected(item.record, item.line, data))
                            continue
                        tmp.write(data)
                        lines.append(item.line if item.line is not None else -1)
                        records.append(item.record)
                tmp.close()
                if records:
                    report.staged = self._stage_clean(clean, fmt, lines, records, report)
                    self._account(report, (lines, records))
            finally:
                clean.unlink(missing_ok=True)

    def _items(self, stream: IO[bytes], head: Head) -> Iterator[Item]:
        if head.container == "ndjson":
            return iter_ndjson(stream, self.max_record)
        if head.container == "json_document":
            return iter_document(stream, head.array_path or "item", self.max_record)
        if head.container == "csv":
            first = head.text.split("\n", 1)[0]
            delimiter = "\t" if first.count("\t") > first.count(",") else ","
            return iter_csv(stream, self.max_record, delimiter)
        return iter_text(stream, self.max_record)

    def _prepared(
        self, item: Record, fmt: SourceFormat, options: ReadOptions, report: FileReport
    ) -> list[dict[str, Any]]:
        value = item.value
        if fmt.prepare is not None:
            try:
                value = fmt.prepare(value, options)
            except RecordError as exc:
                self._reject(report, Rejected(item.record, item.line, str(exc), _preview(item)))
                return []
            except Exception as exc:  # a format bug must cost one record, never the run
                reason = f"{fmt.name} could not map this record ({type(exc).__name__}: {exc})"
                self._reject(report, Rejected(item.record, item.line, reason, _preview(item)))
                return []
        values = value if isinstance(value, list) else [value]
        out = []
        for v in values:
            if isinstance(v, Skip):
                report.skipped[v.reason] += 1
                continue
            try:
                check_shape(v, fmt.shape)
            except RecordError as exc:
                self._reject(report, Rejected(item.record, item.line, str(exc), _preview(item)))
                continue
            out.append(v)
        return out

    def _stage_clean(
        self,
        clean: Path,
        fmt: SourceFormat,
        lines: array[int],
        records: array[int],
        report: FileReport,
    ) -> Staged:
        rows, origins = self.stage.new_stage()
        source = (
            f"read_json({_literal(clean)}, format='newline_delimited', "
            f"columns={duckdb_columns(fmt.shape)}, maximum_object_size={self.max_record * 2})"
        )
        written = self._copy(normalize_sql(self.con, fmt, source), rows)
        if written != len(records):
            raise RuntimeError(f"{clean}: mapped {written} rows for {len(records)} records")
        # -1 marks "no line" (a record inside a JSON document): stored as NULL.
        line_col = pa.array([n if n >= 0 else None for n in lines], pa.int64())
        table = pa.table(
            {"pos": pa.array(range(len(records)), pa.int64()), "line": line_col,
             "record": pa.array(records, pa.int64())}
        )  # fmt: skip
        pq.write_table(table, origins, compression="snappy")
        return Staged(rows, origins, report.path)

    # -- counting skips, rejects and events from the staging file ------------------------

    def _account(self, report: FileReport, origins: tuple[array[int], array[int]] | None) -> None:
        staged = report.staged
        assert staged is not None
        rows = _literal(staged.rows)
        events, report.min_time, report.max_time = one_row(
            self.con,
            f"SELECT count(*) FILTER (WHERE _skip IS NULL AND _reject IS NULL), "
            f"min(time) FILTER (WHERE _skip IS NULL AND _reject IS NULL), "
            f"max(time) FILTER (WHERE _skip IS NULL AND _reject IS NULL) FROM read_parquet({rows})",
        )
        report.events = int(events)
        for reason, count in self.con.execute(
            f"SELECT _skip, count(*) FROM read_parquet({rows}) WHERE _skip IS NOT NULL "
            "GROUP BY _skip ORDER BY 2 DESC"
        ).fetchall():
            report.skipped[str(reason)] += int(count)
        for pos, reason in self.con.execute(
            f"SELECT file_row_number, _reject FROM read_parquet({rows}, file_row_number = true) "
            "WHERE _reject IS NOT NULL ORDER BY file_row_number"
        ).fetchall():
            if origins is None:
                line: int | None = int(pos) + 1
                record = int(pos) + 1
            else:
                line = origins[0][pos] if origins[0][pos] >= 0 else None
                record = origins[1][pos]
            self._reject(report, Rejected(record, line, str(reason)))


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _preview(item: Record) -> str:
    value = item.value
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return text[:200]


def _dump(value: dict[str, Any], limit: int) -> bytes | str:
    try:
        data = orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError) as exc:
        return f"record cannot be re-encoded for mapping: {exc}"
    if len(data) > limit * 2:
        return f"record is {len(data):,} bytes after preparation, over the limit"
    return data


# A line holding only whitespace (DuckDB skips such lines, which would shift line numbers).
# Searched as literal-led patterns so the scan runs at memory speed beside DuckDB.
_BLANK_INSIDE = re.compile(rb"\n[ \t\r]*\n")
_BLANK_FIRST = re.compile(rb"[ \t\r]*\n")


class _LineScan:
    """Counts the lines of a file and notices blank ones, while DuckDB parses it.

    It shares two cores with DuckDB, so it copies nothing: chunks are read into one reusable
    buffer and searched in place; only a partial last line moves to the buffer's front.
    """

    CHUNK = 8 << 20

    def __init__(
        self, path: Path, on_progress: Callable[[int], None] | None, max_line: int
    ) -> None:
        self.path = path
        self.on_progress = on_progress
        self.max_line = max_line
        self.lines = 0
        self.blank_lines = False
        self.too_long = False  # DuckDB does not enforce a record size; the careful path does
        self.failed = False

    def run(self) -> None:
        try:
            stream, _ = open_binary(self.path, self.on_progress)
            with stream:
                self._scan(stream)
        except Exception:  # truncated gzip, I/O error: let the careful path explain it
            self.failed = True

    def _scan(self, stream: IO[bytes]) -> None:
        # A partial line longer than max_line ends the scan, so what is carried over always
        # fits in front of a whole chunk.
        buf = bytearray(self.max_line + 1 + self.CHUNK)
        kept = 0  # bytes of a partial line at the front of buf
        while True:
            with memoryview(buf) as view:
                got = stream.readinto(view[kept : kept + self.CHUNK])  # type: ignore[attr-defined]
            if not got:
                break
            end = kept + got
            cut = buf.rfind(b"\n", 0, end) + 1  # whole lines are buf[:cut]
            if cut:
                self.lines += buf.count(b"\n", 0, cut)
                if not self.blank_lines and (
                    _BLANK_FIRST.match(buf, 0, cut) or _BLANK_INSIDE.search(buf, 0, cut)
                ):
                    self.blank_lines = True
                self.too_long = self.too_long or _has_long_line(buf, cut, self.max_line)
            kept = end - cut
            if kept > self.max_line:
                self.too_long = True
                return
            if cut and kept:
                buf[:kept] = bytes(buf[cut:end])
        if buf[:kept].strip():
            self.lines += 1
        elif kept:
            self.blank_lines = True


def _has_long_line(data: bytes | bytearray, end: int, limit: int) -> bool:
    """True if ``data[:end]`` (whole lines) has a line longer than ``limit`` bytes.

    Jumps a window at a time: if the window after ``pos`` holds a newline, every line that
    starts inside it is shorter than the window, so the scan resumes after its last newline.
    """
    pos = 0
    while end - pos > limit:
        last = data.rfind(b"\n", pos, pos + limit + 1)
        if last < 0:
            return True
        pos = last + 1
    return False
