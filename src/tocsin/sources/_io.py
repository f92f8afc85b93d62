"""Opening inputs: plain or gzip (by content, not by name), and classifying the first bytes."""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import ijson
import orjson

from tocsin.sources.base import Container, Head, flatten_paths

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024
BOM = "\ufeff"

# Wrapper keys of JSON documents that hold an array of records, as each vendor writes them:
# Azure Monitor exports {"records": [...]}, Microsoft Graph pages {"value": [...]},
# Google's Reports API {"items": [...]}.
DOCUMENT_ARRAYS = ("records", "value", "items")


def is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == GZIP_MAGIC


class ProgressReader(io.RawIOBase):
    """Wraps the *compressed* byte stream and reports how far into the file reading has got."""

    def __init__(self, raw: IO[bytes], on_progress: Callable[[int], None] | None) -> None:
        self._raw = raw
        self._on_progress = on_progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n and self._on_progress is not None:
            self._on_progress(n)
        return int(n or 0)

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_binary(
    path: Path, on_progress: Callable[[int], None] | None = None
) -> tuple[IO[bytes], bool]:
    """Open a file for streaming, decompressing gzip. Returns (stream, was_gzip)."""
    gz = is_gzip(path)
    raw: IO[bytes] = io.BufferedReader(
        ProgressReader(path.open("rb", buffering=0), on_progress), buffer_size=1 << 20
    )
    if gz:
        return gzip.GzipFile(fileobj=raw, mode="rb"), True  # type: ignore[return-value]
    return raw, False


def read_head(path: Path) -> bytes:
    """The first HEAD_BYTES of the decompressed content (a truncated gzip yields what it has)."""
    stream, _ = open_binary(path)
    with stream:
        try:
            return stream.read(HEAD_BYTES)
        except (EOFError, OSError, gzip.BadGzipFile):
            return b""


_SYSLOG_HINT = re.compile(
    r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d|<\d{1,3}>)"
)


def classify(head: bytes) -> Head | None:
    """Classify the first bytes of a file; None for binary content."""
    if not head.strip():
        return Head(container="text", text="")
    # Judge by how the file starts: a text log with a corrupted stretch later (NUL bytes after
    # a crash are common in syslog) is still a log, and its bad lines are rejected one by one.
    start = head[:512]
    if (
        start.startswith(_BINARY_MAGIC)
        or b"\x00" in start.split(b"\n", 1)[0]
        or _binary_ratio(start) > 0.30
    ):
        return None
    text = head.decode("utf-8", errors="replace").removeprefix(BOM)
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return _classify_json(head, text, stripped)
    header = _csv_header(text)
    if header is not None:
        return Head(container="csv", text=text, header=header)
    lines = text.splitlines()[:64]
    return Head(container="text", text=text, lines=lines)


# Signatures of common non-log files found in evidence folders (images, archives, documents).
_BINARY_MAGIC = (
    b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"PK\x03\x04", b"%PDF", b"\x7fELF", b"7z\xbc\xaf",
    b"Rar!", b"\xd0\xcf\x11\xe0", b"BZh", b"\xfd7zXZ", b"(\xb5/\xfd", b"SQLite format 3",
    b"PAR1",
)  # fmt: skip


def _binary_ratio(sample: bytes) -> float:
    if not sample:
        return 0.0
    control = sum(1 for b in sample if b < 9 or (13 < b < 32))
    return control / len(sample)


def _classify_json(raw: bytes, text: str, stripped: str) -> Head:
    if stripped.startswith("{"):
        lines = [line.strip() for line in stripped.split("\n") if line.strip()]
        wrapper = False
        # JSON Lines when one of the first lines is a whole object on its own.
        for line in lines[:20]:
            if not line.startswith("{"):
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict):
                if _is_wrapper(record):
                    wrapper = True  # a one-line document ({"items": [...]}), maybe an empty page
                    break
                return Head(container="ndjson", text=text, paths=flatten_paths(record))
        if not wrapper and len(lines) == 1:
            # One line longer than the head: a huge record, or a minified wrapper document.
            paths, _ = _partial_paths(raw, "")
            if paths and not any(
                p.split(".")[0].removesuffix("[]") in DOCUMENT_ARRAYS for p in paths
            ):
                return Head(container="ndjson", text=text, paths=paths)
    paths, array_path = _partial_paths(raw, None)
    return Head(container="json_document", text=text, paths=paths, array_path=array_path)


def _is_wrapper(record: dict[str, Any]) -> bool:
    return any(isinstance(record.get(k), list) for k in DOCUMENT_ARRAYS)


def _partial_paths(raw: bytes, fixed_prefix: str | None) -> tuple[dict[str, Any], str | None]:
    """Flattened paths of the first record, read incrementally so a cut-off head still sniffs.

    ``fixed_prefix`` "" means each top-level object is a record (JSON Lines). None means find
    the records: the items of a top-level array, the items of a wrapper key's array
    (``records``, ``value``, ``items``), or else each top-level object of a (pretty-printed)
    stream of objects, which is returned as array path "".
    """
    data = raw.removeprefix(BOM.encode())
    out: dict[str, Any] = {}
    top: dict[str, Any] = {}
    array_prefix: str | None = fixed_prefix
    try:
        for prefix, event, value in ijson.parse(io.BytesIO(data), multiple_values=True):
            if array_prefix is None:
                if event == "start_array" and prefix == "":
                    array_prefix = "item"
                elif event == "start_array" and prefix in DOCUMENT_ARRAYS:
                    array_prefix = f"{prefix}.item"
                elif prefix == "" and event == "end_map":
                    # A whole top-level object with no record array inside: it is a record.
                    return top, ""
                elif event in ("string", "number", "boolean", "null") and prefix:
                    top.setdefault(prefix.replace(".item", "[]"), value)
                continue
            if array_prefix == "":
                if prefix == "" and event == "end_map":
                    break
                rel = prefix
            else:
                if prefix == array_prefix and event == "end_map":
                    break
                if not prefix.startswith(array_prefix + "."):
                    continue
                rel = prefix[len(array_prefix) + 1 :]
            if event in ("string", "number", "boolean", "null") and rel:
                out.setdefault(rel.replace(".item", "[]"), value)
    except (ijson.common.IncompleteJSONError, ijson.common.JSONError, UnicodeDecodeError):
        if array_prefix is None and top:
            return top, ""
    return out, array_prefix


_HEADER_CELL = re.compile(r"^[A-Za-z_@][\w .@\[\]()/:-]{0,79}$")


def _csv_header(text: str) -> list[str] | None:
    """The header row, if the first line looks like one: 2+ cells that all read as names."""
    first = text.split("\n", 1)[0].rstrip("\r")
    if _SYSLOG_HINT.match(first):
        return None
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    if first.count(delimiter) < 1:
        return None
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return None
    names = [h.strip() for h in header]
    if len(names) < 2 or not all(_HEADER_CELL.match(n) for n in names):
        return None
    return names


def sniff_container(path: Path) -> Container | None:
    head = classify(read_head(path))
    return None if head is None else head.container
