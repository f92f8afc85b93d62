"""Read a JSON document that may be broken, and keep what can be kept.

A clean document is parsed in one go (orjson). Invalid UTF-8 is replaced (and reported) and
the document parsed again. A truncated or otherwise broken document — or one nested deeper
than orjson's limit — is streamed (ijson) and the complete items under the wanted paths are
kept up to the point where it breaks.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import ijson
import orjson

MAX_DEPTH = 64


@dataclass(slots=True)
class Salvaged:
    """Items found at the wanted paths (path → list of values) and what went wrong."""

    items: dict[str, list[Any]] = field(default_factory=dict)
    error: str | None = None


@dataclass(slots=True)
class Loaded:
    document: Any = None  # the parsed document, or None when it had to be salvaged
    salvaged: Salvaged | None = None
    problems: list[str] = field(default_factory=list)  # file-level problems (UTF-8, truncation)


def _utf8(data: bytes) -> tuple[bytes, str | None]:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        fixed = data.decode("utf-8", "replace").encode("utf-8")
        return fixed, f"invalid UTF-8 at byte {exc.start} (and maybe later): replaced"
    return data, None


def load(data: bytes, wanted: set[str]) -> Loaded:
    """Parse ``data``; on failure stream it and keep complete items under ``wanted`` paths.

    Paths are ijson prefixes (``objects.item``, ``Event.Attribute.item``).
    """
    result = Loaded()
    data = data.removeprefix(b"\xef\xbb\xbf")
    data, utf8_problem = _utf8(data)
    if utf8_problem:
        result.problems.append(utf8_problem)
    try:
        result.document = orjson.loads(data)
        return result
    except orjson.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}" if exc.lineno else f"byte {exc.pos}"
        reason = str(exc.msg) if exc.msg else "invalid JSON"
        result.problems.append(f"not valid JSON ({reason} at {where}): kept what came before")
    result.salvaged = salvage(data, wanted)
    if result.salvaged.error:
        result.problems.append(f"streaming stopped: {result.salvaged.error}")
    return result


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Stands in for an item that could not be kept (so the items after it keep their index)."""

    reason: str


def _child(prefix: str, component: str) -> str:
    return f"{prefix}.{component}" if prefix else component


def salvage(data: bytes, wanted: set[str], max_depth: int = MAX_DEPTH) -> Salvaged:
    """Complete values under the ``wanted`` prefixes, up to where the document breaks.

    Works on ijson's prefix-less events and tracks the path itself, only as deep as the
    wanted paths go: a hostile document nested a million levels deep costs a counter, not a
    million ever-longer path strings. An item nested deeper than ``max_depth`` is replaced
    by :class:`Unreadable` and reading goes on after it.
    """
    out = Salvaged()
    shallow = max(p.count(".") for p in wanted) + 2 if wanted else 0
    prefixes: list[str] = []  # prefix of each open container, while shallow
    keys: list[str] = []  # current key of each open container ("item" in arrays)
    depth = 0
    builder: Any = None
    item_prefix, item_depth, too_deep = "", 0, False

    def value_prefix() -> str | None:
        if depth == 0:
            return ""
        if depth > shallow:
            return None
        return _child(prefixes[-1], keys[-1])

    try:
        for event, value in ijson.basic_parse(io.BytesIO(data), use_float=True):
            if event == "map_key":
                if builder is not None and not too_deep:
                    builder.event(event, value)
                if 0 < depth <= shallow:
                    keys[-1] = str(value)
                continue
            opening = event in ("start_map", "start_array")
            closing = event in ("end_map", "end_array")
            if builder is not None:
                if opening and depth - item_depth >= max_depth:
                    too_deep = True
                if not too_deep:
                    builder.event(event, value)
            elif not closing:
                prefix = value_prefix()
                if prefix is not None and prefix in wanted:
                    if opening:
                        builder = ijson.ObjectBuilder()
                        builder.event(event, value)
                        item_prefix, item_depth, too_deep = prefix, depth, False
                    else:
                        out.items.setdefault(prefix, []).append(value)
            if opening:
                if depth < shallow:
                    prefix = value_prefix()
                    prefixes.append(prefix or "")
                    keys.append("item" if event == "start_array" else "")
                depth += 1
            elif closing:
                depth -= 1
                if depth < shallow and prefixes:
                    prefixes.pop()
                    keys.pop()
                if builder is not None and depth == item_depth:
                    kept = (
                        Unreadable(f"nested deeper than {max_depth} levels")
                        if too_deep
                        else builder.value
                    )
                    out.items.setdefault(item_prefix, []).append(kept)
                    builder = None
    except (ijson.JSONError, ValueError, RecursionError) as exc:
        out.error = str(exc).split("\n", 1)[0][:200] or type(exc).__name__
    return out
