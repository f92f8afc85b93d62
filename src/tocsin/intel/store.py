"""The intel store: ``<data-dir>/intel/indicators.parquet``, one row per indicator.

The file is rewritten whole on every import — to a temporary file in the same folder, then
renamed over the old one — so a reader (a scan enriching events, a lookup) sees either the
old store or the new one, never half of one. Imports take ``intel/.lock``. Besides the
indicator fields, each row carries what the lake's SQL join needs: ``ip_lo``/``ip_hi``
(an IPv4 address or network as integers) and ``ip_forms`` (the spellings of an address
that logs use, so the join is a plain string equality).

Query it directly::

    SELECT type, value, actor, valid_until FROM 'intel/indicators.parquet'
    WHERE actor_key = 'forest_blizzard'
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from tocsin.intel.model import Indicator
from tocsin.intel.values import ip_forms, ipv4_range

_TS = pa.timestamp("us", tz="UTC")
SCHEMA: Final = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("value", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_kind", pa.string(), nullable=False),
        pa.field("actor", pa.string()),
        pa.field("actor_key", pa.string()),
        pa.field("actor_aliases", pa.list_(pa.string())),
        pa.field("confidence", pa.int16(), nullable=False),
        pa.field("valid_from", _TS),
        pa.field("valid_until", _TS),
        pa.field("labels", pa.list_(pa.string())),
        pa.field("description", pa.string()),
        pa.field("reference", pa.string()),
        pa.field("origin", pa.string()),
        pa.field("imported_at", _TS, nullable=False),
        pa.field("updated_at", _TS, nullable=False),
        pa.field("ip_lo", pa.int64()),
        pa.field("ip_hi", pa.int64()),
        pa.field("ip_forms", pa.list_(pa.string())),
    ]
)
_FIELDS: Final = [f.name for f in SCHEMA if f.name not in ("ip_lo", "ip_hi", "ip_forms")]


def intel_dir(data_dir: Path) -> Path:
    return data_dir / "intel"


def indicators_path(data_dir: Path) -> Path:
    """Where the store of ``data_dir`` lives (it may not exist yet)."""
    return intel_dir(data_dir) / "indicators.parquet"


class StoreError(RuntimeError):
    """The store exists but cannot be read."""


class IntelStore:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.dir = intel_dir(data_dir)
        self.path = indicators_path(data_dir)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One importer at a time (readers need no lock: the file is replaced atomically)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def load(self) -> dict[str, Indicator]:
        """Every indicator, by id ({} when there is no store yet)."""
        if not self.path.exists():
            return {}
        try:
            table = pq.read_table(self.path, columns=_FIELDS)
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(f"cannot read the intel store {self.path}: {exc}") from exc
        out: dict[str, Indicator] = {}
        for row in table.to_pylist():
            indicator = _from_row(row)
            out[indicator.id] = indicator
        return out

    def write(self, indicators: Iterable[Indicator]) -> None:
        """Replace the store with ``indicators`` (atomically)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        rows = sorted(indicators, key=lambda i: (i.type, i.value, i.source))
        table = pa.Table.from_pylist([_to_row(i) for i in rows], schema=SCHEMA)
        handle, temp = tempfile.mkstemp(prefix=".indicators-", suffix=".parquet", dir=self.dir)
        os.close(handle)
        # mkstemp makes the file owner-only; keep the store's mode (readable like the lake).
        mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o644
        try:
            Path(temp).chmod(mode)
            pq.write_table(table, temp, compression="zstd")
            with Path(temp).open("rb") as written:
                os.fsync(written.fileno())
            Path(temp).replace(self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def log(self, entry: dict[str, Any]) -> None:
        """Append one import's summary to ``intel/imports.jsonl``."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / "imports.jsonl").open("ab") as f:
            f.write(orjson.dumps(entry) + b"\n")


def _to_row(i: Indicator) -> dict[str, Any]:
    span = ipv4_range(i.type, i.value)
    return {
        "id": i.id,
        "type": i.type,
        "value": i.value,
        "source": i.source,
        "source_kind": i.source_kind,
        "actor": i.actor,
        "actor_key": i.actor_key,
        "actor_aliases": list(i.actor_aliases),
        "confidence": i.confidence,
        "valid_from": i.valid_from,
        "valid_until": i.valid_until,
        "labels": list(i.labels),
        "description": i.description,
        "reference": i.reference,
        "origin": i.origin,
        "imported_at": i.imported_at,
        "updated_at": i.updated_at,
        "ip_lo": span[0] if span else None,
        "ip_hi": span[1] if span else None,
        "ip_forms": ip_forms(i.type, i.value),
    }


def _from_row(row: dict[str, Any]) -> Indicator:
    def when(value: Any) -> datetime | None:
        return value if isinstance(value, datetime) else None

    return Indicator(
        id=row["id"],
        type=row["type"],
        value=row["value"],
        source=row["source"],
        source_kind=row["source_kind"],
        actor=row["actor"],
        actor_key=row["actor_key"],
        actor_aliases=tuple(row["actor_aliases"] or ()),
        confidence=int(row["confidence"]),
        valid_from=when(row["valid_from"]),
        valid_until=when(row["valid_until"]),
        labels=tuple(row["labels"] or ()),
        description=row["description"],
        reference=row["reference"],
        origin=row["origin"],
        imported_at=row["imported_at"],
        updated_at=row["updated_at"],
    )
