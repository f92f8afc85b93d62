"""Streaming record readers for each container, yielding records or located rejects.

Every reader is bounded: a record longer than ``max_record`` bytes is skipped without being
held in memory, a truncated gzip stream ends the file with a reject instead of an exception,
and no reader ever loads a whole file.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson
import orjson

PREVIEW_CHARS = 200
_STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


@dataclass(slots=True)
class Record:
    """One record read from a file. ``line`` is the physical line it starts on, if known."""

    record: int
    line: int | None
    value: Any


@dataclass(slots=True)
class Rejected:
    """A record (or the rest of a file) that could not be read, with where and why."""

    record: int | None
    line: int | None
    reason: str
    preview: str = ""
    size: int | None = None


Item = Record | Rejected


def preview(raw: bytes | str) -> str:
    """A short, printable excerpt of a bad record (escaping happens where it is shown)."""
    if isinstance(raw, bytes):
        raw = raw[: PREVIEW_CHARS * 4].decode("utf-8", errors="backslashreplace")
    return raw[:PREVIEW_CHARS]


def _truncated(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return (
            "compressed stream ends early (truncated gzip file); "
            "records before this point were read"
        )
    return f"compressed stream is corrupt ({exc}); records before this point were read"


def iter_lines(stream: IO[bytes], max_record: int) -> Iterator[tuple[int, bytes | Rejected]]:
    """Physical lines (without the newline) with their 1-based numbers; overlong lines rejected."""
    number = 0
    while True:
        try:
            line = stream.readline(max_record + 1)
        except _STREAM_ERRORS as exc:
            yield number + 1, Rejected(None, number + 1, _truncated(exc))
            return
        if not line:
            return
        number += 1
        if len(line) > max_record and not line.endswith(b"\n"):
            size = len(line)
            head = line
            try:
                while True:
                    more = stream.readline(1 << 20)
                    size += len(more)
                    if not more or more.endswith(b"\n"):
                        break
            except _STREAM_ERRORS as exc:
                yield (
                    number,
                    Rejected(None, number, _too_long(size, max_record), preview(head), size),
                )
                yield number + 1, Rejected(None, number + 1, _truncated(exc))
                return
            yield number, Rejected(None, number, _too_long(size, max_record), preview(head), size)
            continue
        yield number, line.rstrip(b"\r\n")


def _too_long(size: int, limit: int) -> str:
    return (
        f"record is {size:,} bytes, over the {limit:,}-byte limit (raise it with "
        "--max-record-size if such records are expected)"
    )


def iter_ndjson(stream: IO[bytes], max_record: int) -> Iterator[Item]:
    index = 0
    for number, line in iter_lines(stream, max_record):
        if isinstance(line, Rejected):
            index += 1
            line.record = index
            yield line
            continue
        if not line.strip():
            continue
        index += 1
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield Rejected(index, number, f"invalid JSON: {exc}", preview(line), len(line))
            continue
        yield Record(index, number, value)


def iter_text(stream: IO[bytes], max_record: int) -> Iterator[Item]:
    index = 0
    for number, line in iter_lines(stream, max_record):
        if isinstance(line, Rejected):
            index += 1
            line.record = index
            yield line
            continue
        if not line.strip():
            continue
        index += 1
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Rejected(index, number, f"invalid UTF-8 at byte {exc.start}", preview(line))
            continue
        yield Record(index, number, text)


def iter_document(stream: IO[bytes], array_path: str, max_record: int) -> Iterator[Item]:
    """Records of a JSON document (`[...]`, `{"records": [...]}`, …), streamed with ijson."""
    index = 0
    try:
        values = ijson.items(stream, array_path, use_float=True, multiple_values=array_path == "")
        for value in values:
            index += 1
            yield Record(index, None, value)
    except ijson.common.IncompleteJSONError as exc:
        message = str(exc).strip() or "unexpected end of input"
        if "premature EOF" in message or "parse error: premature" in message or not message:
            reason = f"JSON document ends early (truncated) after record {index}"
        else:
            reason = (
                f"invalid JSON after record {index}: {message}; the rest of the file is unreadable"
            )
        yield Rejected(index + 1, None, reason)
    except ijson.common.JSONError as exc:
        yield Rejected(index + 1, None, f"invalid JSON after record {index}: {exc}")
    except _STREAM_ERRORS as exc:
        yield Rejected(index + 1, None, _truncated(exc))
    except UnicodeDecodeError as exc:
        yield Rejected(index + 1, None, f"invalid UTF-8 after record {index}: {exc.reason}")


class _LineCounter:
    """Feeds a text stream to csv.reader while counting physical lines it consumed."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self.lines = 0

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        line = self._text.readline()
        if not line:
            raise StopIteration
        self.lines += 1
        return line


def iter_csv(stream: IO[bytes], max_record: int, delimiter: str = ",") -> Iterator[Item]:
    """Rows of a CSV export as dicts keyed by the header (UTF-8, optional BOM, quoted newlines)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    counter = _LineCounter(text)
    csv.field_size_limit(max_record)
    reader = csv.reader(counter, delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    except (csv.Error, *_STREAM_ERRORS) as exc:
        yield Rejected(None, 1, f"unreadable CSV header: {exc}")
        return
    index = 0
    while True:
        start = counter.lines + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            index += 1
            yield Rejected(index, start, f"unreadable CSV row: {exc}")
            continue
        except _STREAM_ERRORS as exc:
            yield Rejected(index + 1, start, _truncated(exc))
            return
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        index += 1
        joined = delimiter.join(row)
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            bad = joined.encode("utf-8", errors="surrogateescape")
            yield Rejected(index, start, "invalid UTF-8 in CSV row", preview(bad))
            continue
        if len(row) != len(header):
            reason = f"CSV row has {len(row)} fields, the header has {len(header)}"
            yield Rejected(index, start, reason, preview(joined))
            continue
        yield Record(index, start, {h: (v or None) for h, v in zip(header, row, strict=True)})
