"""What a source format is: how to recognise it, how to read its records, how to map them.

A format never does I/O itself. The reader (``tocsin.sources.reader``) opens the file, finds
its container (JSON Lines, a JSON document, CSV or plain text lines), hands the format a
``Head`` to sniff, and then feeds records through the format's optional ``prepare`` hook and
its SQL mapping. Keeping the mapping in DuckDB SQL means one mapping per format, run
vectorised on both the fast path (DuckDB reads the file itself) and the careful path (Python
splits and validates records first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Container = Literal["ndjson", "json_document", "csv", "text"]

# A declared record shape: nested dicts are JSON objects, a one-element list is a JSON array of
# that shape, and a string is a DuckDB leaf type ("VARCHAR" or "JSON"). Leaves are text on
# purpose: values are cast in SQL with TRY_CAST, so a record with a number where a string was
# expected is mapped, not rejected.
Shape = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Skip:
    """A record that is genuinely not an authentication record (counted by reason, not kept)."""

    reason: str


class RecordError(ValueError):
    """A record that cannot be read: it is written to rejects.jsonl with its location."""


@dataclass(slots=True)
class Head:
    """What sniffers may look at: the start of the (decompressed) file, already classified."""

    container: Container
    text: str
    # The first parseable record of a JSON container, possibly incomplete (sniffing stops at
    # 64 KiB), as flattened dotted paths: {"properties.status.errorCode": 50126, ...}.
    paths: dict[str, Any] = field(default_factory=dict)
    # For JSON documents: the path of the record array ("item", "records.item", "value.item").
    array_path: str | None = None
    # For CSV: the header row.
    header: list[str] = field(default_factory=list)
    # For text: the first lines.
    lines: list[str] = field(default_factory=list)

    def has(self, *paths: str) -> bool:
        return all(p in self.paths for p in paths)

    def value(self, path: str) -> Any:
        return self.paths.get(path)


Prepared = dict[str, Any] | Skip | list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """Per-run reading options some formats need (syslog has neither year nor zone)."""

    year: int | None = None  # year for timestamps that carry none; default: from file mtime
    timezone: str = "UTC"  # zone of timestamps that carry none
    file_mtime: float | None = None


@dataclass(frozen=True, slots=True)
class SourceFormat:
    """One vendor export format."""

    name: str  # e.g. "entra_diagnostic"
    source: str  # e.g. "entra": the `source` column, shared by every format of one vendor
    title: str
    containers: tuple[Container, ...]
    shape: Shape
    sql: str  # SELECT … FROM records: a pure projection, one output row per input record
    sniff: Callable[[Head], int]  # 0 = not this format; higher = more specific match
    prepare: Callable[[Any, ReadOptions], Prepared] | None = None
    example: str = ""  # where a user gets such a file, for `tocsin formats`
    macros: tuple[str, ...] = ()  # DuckDB macros the SQL uses (installed once per connection)

    @property
    def fast_path(self) -> bool:
        """DuckDB may read JSON Lines of this format directly (no Python per record)."""
        return self.prepare is None and "ndjson" in self.containers


def flatten_paths(obj: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Flatten a JSON value into dotted paths; list elements share the ``[]`` segment."""
    out = {} if out is None else out
    if isinstance(obj, dict):
        for key, value in obj.items():
            flatten_paths(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(obj, list):
        for value in obj[:20]:
            flatten_paths(value, f"{prefix}[]", out)
        out.setdefault(f"{prefix}[]", None) if not obj else None
    else:
        out.setdefault(prefix, obj)
    return out


def csv_has(head: Head, *columns: str) -> bool:
    """True when every named column is in a CSV header (case-sensitive, as exported)."""
    present = set(head.header)
    return all(c in present for c in columns)


def any_in(values: Iterable[str], text: str) -> bool:
    return any(v in text for v in values)
