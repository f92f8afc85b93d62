"""Shared test helpers: where the real sample data lives, and a one-call ingest."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tocsin.ingest import IngestResult, RejectLog, ingest
from tocsin.sources.base import ReadOptions
from tocsin.store.duck import connect
from tocsin.store.lake import Lake, create_views

REPO = Path(__file__).resolve().parents[1]
# The shared, read-only sample data (real vendor exports). CI provides it next to the repo.
SHARED = Path(os.environ.get("TOCSIN_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()
IDENTITY = SHARED / "identity"


@dataclass
class Ingested:
    result: IngestResult
    rejects: RejectLog
    events: list[dict[str, Any]]

    def report(self, name: str) -> Any:
        matches = [r for r in self.result.reports if Path(r.path).name == name]
        assert len(matches) == 1, [r.path for r in self.result.reports]
        return matches[0]


def ingest_paths(
    data_dir: Path,
    *paths: Path,
    forced_format: str | None = None,
    options: ReadOptions | None = None,
    max_record: int | None = None,
    allow_fast: bool = True,
) -> Ingested:
    """Ingest files into a lake under ``data_dir`` and return every event in the lake."""
    lake = Lake(data_dir)
    con = connect(temp_directory=lake.tmp_dir)
    rejects = RejectLog()
    kwargs: dict[str, Any] = {}
    if max_record is not None:
        kwargs["max_record"] = max_record
    with lake.locked():
        result = ingest(
            list(paths), lake, con, rejects, forced_format=forced_format, options=options,
            allow_fast=allow_fast, **kwargs,
        )  # fmt: skip
    create_views(con, lake)
    rel = con.sql("SELECT * FROM events ORDER BY origin_file, origin_record, time, event_id")
    names = rel.columns
    events = [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
    con.close()
    return Ingested(result, rejects, events)
