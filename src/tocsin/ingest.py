"""Ingest: input paths → format detection → normalized events → the lake. No printing here."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import duckdb
import orjson

from tocsin import sources
from tocsin.sources._containers import Rejected
from tocsin.sources.base import ReadOptions
from tocsin.sources.reader import DEFAULT_MAX_RECORD, FileReport, Reader
from tocsin.store.lake import CommitResult, Lake


@dataclass(slots=True)
class RejectEntry:
    file: str
    format: str | None
    record: int | None
    line: int | None
    reason: str
    preview: str = ""
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "line": self.line,
            "record": self.record,
            "reason": self.reason,
            "preview": self.preview,
            "size": self.size,
        }


class RejectLog:
    """Collects rejects; optionally streams them to a JSON Lines file as they happen."""

    def __init__(self, path: Path | None = None, keep: int = 10_000) -> None:
        self.path = path
        self.count = 0
        self.kept: list[RejectEntry] = []
        self._keep = keep
        self._handle: IO[bytes] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("wb")

    def reject(self, file: str, fmt: str | None, rejected: Rejected) -> None:
        entry = RejectEntry(
            file, fmt, rejected.record, rejected.line, rejected.reason, rejected.preview,
            rejected.size,
        )  # fmt: skip
        self.count += 1
        if len(self.kept) < self._keep:
            self.kept.append(entry)
        if self._handle is not None:
            self._handle.write(orjson.dumps(entry.to_dict()) + b"\n")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


@dataclass(slots=True)
class IngestResult:
    reports: list[FileReport] = field(default_factory=list)
    commit: CommitResult = field(default_factory=CommitResult)
    unreadable: list[str] = field(default_factory=list)  # inputs that do not exist at all
    commit_seconds: float = 0.0

    @property
    def events_read(self) -> int:
        return sum(r.events for r in self.reports)

    @property
    def rejected(self) -> int:
        return sum(r.rejected for r in self.reports)


def expand_inputs(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Files under the given paths (directories recursively, hidden entries skipped), sorted."""
    files: list[Path] = []
    missing: list[str] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(_walk(path)))
        elif path.is_file():
            files.append(path)
        else:
            missing.append(str(path))
    return files, missing


def _walk(directory: Path) -> Iterator[Path]:
    for child in directory.iterdir():
        if child.name.startswith("."):
            continue
        if child.is_dir():
            yield from _walk(child)
        elif child.is_file():
            yield child


def ingest(
    paths: Iterable[Path],
    lake: Lake,
    con: duckdb.DuckDBPyConnection,
    rejects: RejectLog,
    *,
    forced_format: str | None = None,
    options: ReadOptions | None = None,
    max_record: int = DEFAULT_MAX_RECORD,
    on_file: Callable[[FileReport], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    allow_fast: bool = True,
) -> IngestResult:
    """Read every input into the lake. The caller holds ``lake.locked()``."""
    files, missing = expand_inputs(paths)
    result = IngestResult(unreadable=missing)
    lake.prepare()
    sources.install_macros(con)
    reader = Reader(
        con=con,
        detect=sources.detect,
        lookup=sources.lookup,
        rejects=rejects,
        stage=lake,
        options=options or ReadOptions(),
        max_record=max_record,
        tmp_dir=lake.tmp_dir,
        on_progress=on_progress,
        allow_fast=allow_fast,
    )
    try:
        for path in files:
            report = reader.read(path, forced=forced_format)
            result.reports.append(report)
            if on_file is not None:
                on_file(report)
        staged = [r.staged for r in result.reports if r.staged is not None]
        started = time.perf_counter()
        result.commit = lake.commit(con, staged)
        result.commit_seconds = time.perf_counter() - started
    finally:
        lake.discard_staging()
    return result
