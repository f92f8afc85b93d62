"""Read one input file into normalized event batches, with located rejects and counted skips.

Two paths produce identical events, because both run the format's one SQL mapping:

* **fast** — for clean JSON Lines of a format that needs no Python per record, DuckDB reads
  the file itself, in parallel, and a second thread counts lines at the same time. Rows arrive
  in file order, so row *n* is line *n*; if the file has blank lines, a bad record or anything
  DuckDB refuses, what the fast path wrote is discarded and the careful path runs instead.
* **careful** — Python streams records (JSON Lines, JSON documents, CSV, text), applies the
  format's ``prepare`` hook, checks each record against the declared shape, rejects what it
  must with file, line and reason, and writes the rest as clean JSON Lines for DuckDB.
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
import pyarrow.compute as pc

from tocsin.events import EVENT_SCHEMA
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

DEFAULT_MAX_RECORD = 1 << 20  # 1 MiB: real sign-in records are a few KiB
BATCH_ROWS = 122_880


class EventSink(Protocol):
    def write(self, batch: pa.RecordBatch) -> None: ...
    def discard(self) -> None: ...
    def close(self) -> None: ...


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

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


class _FastPathRefused(Exception):
    """The fast path cannot vouch for this file; the careful path takes over."""


@dataclass(slots=True)
class Reader:
    """Reads files with one DuckDB connection; formats come from a registry function."""

    con: duckdb.DuckDBPyConnection
    detect: Callable[[Head], SourceFormat | None]
    lookup: Callable[[str], SourceFormat]
    rejects: RejectSink
    options: ReadOptions = field(default_factory=ReadOptions)
    max_record: int = DEFAULT_MAX_RECORD
    tmp_dir: Path | None = None
    on_progress: Callable[[int], None] | None = None
    allow_fast: bool = True
    # While the fast path runs, its rejects wait here: they are only true if it succeeds.
    _held: list[Rejected] | None = None

    def read(self, path: Path, sink: EventSink, forced: str | None = None) -> FileReport:
        started = time.perf_counter()
        report = FileReport(path=str(path))
        try:
            self._read(path, sink, forced, report)
        finally:
            sink.close()
            report.seconds = time.perf_counter() - started
        return report

    def _reject(self, report: FileReport, rejected: Rejected) -> None:
        report.rejected += 1
        if self._held is not None:
            self._held.append(rejected)
        else:
            self.rejects.reject(report.path, report.format, rejected)

    def _read(self, path: Path, sink: EventSink, forced: str | None, report: FileReport) -> None:
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
            self._held = []
            try:
                self._fast(path, fmt, report, sink)
                report.reader = "fast"
                held, self._held = self._held, None
                for rejected in held:
                    self.rejects.reject(report.path, report.format, rejected)
                return
            except _FastPathRefused:
                self._held = None
                sink.discard()
                report.events = report.records = report.rejected = 0
                report.skipped.clear()
                report.min_time = report.max_time = None
        report.reader = "careful"
        self._careful(path, fmt, head, options, report, sink)

    # -- fast path -----------------------------------------------------------------------

    def _fast(self, path: Path, fmt: SourceFormat, report: FileReport, sink: EventSink) -> None:
        counter = _LineScan(path, self.on_progress)
        thread = threading.Thread(target=counter.run, name="tocsin-line-scan", daemon=True)
        thread.start()
        literal = str(path).replace("'", "''")
        source = (
            f"read_json('{literal}', format='newline_delimited', "
            f"columns={duckdb_columns(fmt.shape)}, "
            f"compression='{'gzip' if report.compressed else 'none'}', "
            f"maximum_object_size={self.max_record})"
        )
        rows = 0
        try:
            stream = self.con.sql(normalize_sql(self.con, fmt, source)).to_arrow_reader(BATCH_ROWS)
            # Rejections by the mapping (no timestamp…) need line numbers too, so the fast path
            # must know every row's line before it emits anything: that is the line scan's job.
            pending: list[pa.RecordBatch] = []
            for batch in stream:
                pending.append(batch)
                rows += batch.num_rows
                if len(pending) >= 8:
                    self._flush_fast(pending, rows, fmt, report, sink, counter, thread)
                    pending = []
            thread.join()
            if counter.failed or counter.blank_lines or counter.lines != rows:
                raise _FastPathRefused
            self._flush_fast(pending, rows, fmt, report, sink, counter, thread)
        except duckdb.Error as exc:
            thread.join()
            raise _FastPathRefused from exc

    def _flush_fast(
        self,
        batches: list[pa.RecordBatch],
        rows_so_far: int,
        fmt: SourceFormat,
        report: FileReport,
        sink: EventSink,
        counter: _LineScan,
        thread: threading.Thread,
    ) -> None:
        # Emitting before the line scan finishes is safe only while it has seen no blank line
        # above these rows; a later refusal discards everything written for the file anyway.
        if counter.blank_lines:
            raise _FastPathRefused
        first = rows_so_far - sum(b.num_rows for b in batches) + 1
        for batch in batches:
            n = batch.num_rows
            numbers = pa.array(range(first, first + n), pa.int64())
            self._emit(batch, numbers, numbers, fmt, report, sink)
            first += n

    # -- careful path --------------------------------------------------------------------

    def _careful(
        self,
        path: Path,
        fmt: SourceFormat,
        head: Head,
        options: ReadOptions,
        report: FileReport,
        sink: EventSink,
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
            tmp_path = Path(tmp.name)
            try:
                for item in self._items(stream, head):
                    if isinstance(item, Rejected):
                        self._reject(report, item)
                        continue
                    report.records += 1
                    for value in self._prepared(item, fmt, options, report):
                        data = _dump(value, fmt, self.max_record)
                        if isinstance(data, str):
                            self._reject(report, Rejected(item.record, item.line, data))
                            continue
                        tmp.write(data)
                        lines.append(item.line if item.line is not None else -1)
                        records.append(item.record)
                tmp.flush()
                tmp.close()
                if records:
                    self._map_clean_file(tmp_path, fmt, lines, records, report, sink)
            finally:
                tmp_path.unlink(missing_ok=True)

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
        if isinstance(value, Skip):
            report.skipped[value.reason] += 1
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

    def _map_clean_file(
        self,
        clean: Path,
        fmt: SourceFormat,
        lines: array[int],
        records: array[int],
        report: FileReport,
        sink: EventSink,
    ) -> None:
        literal = str(clean).replace("'", "''")
        source = (
            f"read_json('{literal}', format='newline_delimited', "
            f"columns={duckdb_columns(fmt.shape)}, maximum_object_size={self.max_record * 2})"
        )
        all_lines = pa.array(lines, pa.int64())
        all_lines = pc.if_else(pc.equal(all_lines, -1), pa.scalar(None, pa.int64()), all_lines)
        all_records = pa.array(records, pa.int64())
        offset = 0
        stream = self.con.sql(normalize_sql(self.con, fmt, source)).to_arrow_reader(BATCH_ROWS)
        for batch in stream:
            n = batch.num_rows
            self._emit(
                batch,
                all_lines.slice(offset, n),
                all_records.slice(offset, n),
                fmt,
                report,
                sink,
            )
            offset += n
        if offset != len(records):
            raise RuntimeError(f"{clean}: mapped {offset} rows for {len(records)} records")

    # -- shared ----------------------------------------------------------------------------

    def _emit(
        self,
        batch: pa.RecordBatch,
        lines: pa.Array,
        records: pa.Array,
        fmt: SourceFormat,
        report: FileReport,
        sink: EventSink,
    ) -> None:
        skip = batch.column("_skip")
        reject = batch.column("_reject")
        if report.reader is None:  # the fast path: one record per row
            report.records += batch.num_rows
        if skip.null_count < len(skip):
            for entry in pc.value_counts(skip.drop_null()).to_pylist():
                report.skipped[entry["values"]] += entry["counts"]
        if reject.null_count < len(reject):
            for i in pc.indices_nonzero(pc.is_valid(reject)).to_pylist():
                line = lines[i].as_py()
                self._reject(
                    report,
                    Rejected(records[i].as_py(), line, str(reject[i].as_py())),
                )
        keep = pc.and_(pc.is_null(skip), pc.is_null(reject))
        if pc.all(keep).as_py():
            kept, kept_lines, kept_records = batch, lines, records
        else:
            kept = batch.filter(keep)
            kept_lines = lines.filter(keep)
            kept_records = records.filter(keep)
        n = kept.num_rows
        if not n:
            return
        columns = []
        for name in EVENT_SCHEMA.names:
            if name == "origin_file":
                columns.append(pa.repeat(pa.scalar(report.path, pa.string()), n))  # type: ignore[attr-defined]
            elif name == "origin_line":
                columns.append(kept_lines)
            elif name == "origin_record":
                columns.append(kept_records)
            else:
                columns.append(kept.column(name))
        out = pa.RecordBatch.from_arrays(columns, schema=EVENT_SCHEMA)
        times = out.column("time")
        lo, hi = pc.min(times).as_py(), pc.max(times).as_py()
        report.min_time = lo if report.min_time is None else min(report.min_time, lo)
        report.max_time = hi if report.max_time is None else max(report.max_time, hi)
        report.events += n
        sink.write(out)


def _preview(item: Record) -> str:
    value = item.value
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return text[:200]


def _dump(value: dict[str, Any], fmt: SourceFormat, limit: int) -> bytes | str:
    try:
        data = orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError) as exc:
        return f"record cannot be re-encoded for mapping: {exc}"
    if len(data) > limit * 2:
        return f"record is {len(data):,} bytes after preparation, over the limit"
    return data


_BLANK = re.compile(rb"(?:\A|\n)[ \t\r]*\n")


class _LineScan:
    """Counts the lines of a file and notices blank ones, while DuckDB parses it."""

    def __init__(self, path: Path, on_progress: Callable[[int], None] | None) -> None:
        self.path = path
        self.on_progress = on_progress
        self.lines = 0
        self.blank_lines = False
        self.failed = False

    def run(self) -> None:
        try:
            stream, _ = open_binary(self.path, self.on_progress)
            with stream:
                rest = b""
                while True:
                    chunk = stream.read(8 << 20)
                    if not chunk:
                        break
                    data = rest + chunk
                    cut = data.rfind(b"\n") + 1
                    whole, rest = data[:cut], data[cut:]
                    if whole:
                        self.lines += whole.count(b"\n")
                        if not self.blank_lines and _BLANK.search(whole):
                            self.blank_lines = True
                if rest.strip():
                    self.lines += 1
                elif rest:
                    self.blank_lines = True
        except Exception:  # truncated gzip, I/O error: let the careful path explain it
            self.failed = True
