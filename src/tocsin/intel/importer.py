"""Import indicator files into the store: recognise the format by content, read, merge.

Formats are told apart by what the file holds, never by its name: a JSON document is a STIX
bundle or a MISP event (or Microsoft's actor-name map, which tocsin bundles and so only
acknowledges); text whose header names an indicator column is a CSV list; text that is
mostly one indicator per line is a trail. Gzip is unpacked first. Anything else is
*unreadable*, with the reason.

Re-importing is idempotent: an indicator's id is a hash of its type, value and source, so a
value already in the store is *unchanged* or *updated*, never added twice.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from tocsin.intel import csvlist, misp, stix, trails
from tocsin.intel.collect import Collector, FileReport, Options
from tocsin.intel.jsondoc import load
from tocsin.intel.model import Indicator
from tocsin.intel.store import IntelStore

FORMATS: Final = ("stix", "misp", "csv", "maltrail", "microsoft_actor_names")
_SNIFF_BYTES = 1 << 16
_CONTROL_BYTES = [bytes([b]) for b in range(32) if b not in (9, 10, 13)]
_STIX_HINT = re.compile(rb'"type"\s*:\s*"(bundle|indicator)"|"spec_version"\s*:\s*"2\.')
_MISP_HINT = re.compile(rb'"(Event|Attribute)"\s*:\s*[\[{]')
_NAMES_HINT = re.compile(rb'"Threat actor name"\s*:')
_STIX_PATHS = {"objects.item", "item"}
_MISP_PATHS = {"Event.Attribute.item", "Event.Object.item", "Event.Tag.item", "Event.Galaxy.item",
               "Event.info", "Event.uuid", "Event.Orgc.name"}  # fmt: skip


@dataclass(slots=True)
class ImportResult:
    reports: list[FileReport]
    total: int  # indicators in the store afterwards

    @property
    def problems(self) -> int:
        return sum(r.problem_count for r in self.reports)

    @property
    def unreadable(self) -> list[FileReport]:
        return [r for r in self.reports if r.unreadable]


def sniff(data: bytes) -> str | None:
    """The format of ``data`` from its content, or None."""
    head = data[:_SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head or sum(head.count(c) for c in _CONTROL_BYTES) > max(8, len(head) // 100):
        return None  # binary
    if head[:1] in (b"{", b"["):
        if _NAMES_HINT.search(head):
            return "microsoft_actor_names"
        if _STIX_HINT.search(head):
            return "stix"
        if _MISP_HINT.search(head):
            return "misp"
        return None
    body = head.decode("utf-8", "replace")
    first = next((line for line in body.splitlines() if line.strip()), "")
    if not first.lstrip().startswith("#") and csvlist.sniff_header(first.strip()):
        return "csv"
    if trails.looks_like_trail(body):
        return "maltrail"
    return None


def _read_bytes(path: Path, limit: int) -> bytes:
    size = path.stat().st_size
    if size > limit:
        raise ValueError(f"larger than {limit >> 20} MiB")
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as handle:
                data = handle.read(limit + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"broken gzip: {exc}") from None
        if len(data) > limit:
            raise ValueError(f"larger than {limit >> 20} MiB unpacked")
    return data


def read_file(path: Path, options: Options) -> tuple[FileReport, dict[str, Indicator]]:
    """Read one file into indicators (nothing is stored yet)."""
    report = FileReport(path=str(path))
    try:
        data = _read_bytes(path, options.max_bytes)
    except (OSError, ValueError) as exc:
        report.unreadable = str(exc) if isinstance(exc, ValueError) else exc.strerror or str(exc)
        return report, {}
    kind = sniff(data)
    report.format = kind
    if kind is None:
        report.unreadable = (
            "not an indicator file tocsin reads (STIX 2.x bundle, MISP event JSON, CSV list "
            "with an indicator column, or one indicator per line)"
        )
        return report, {}
    if kind == "microsoft_actor_names":
        report.notes.append(
            "Microsoft's threat-actor naming map: tocsin bundles a copy "
            "(tocsin/attribution/data) and resolves actor names with it; nothing to import"
        )
        return report, {}
    collector = Collector(report, options, "maltrail" if kind == "maltrail" else kind)
    default_source = path.name.split(".")[0] or path.name
    try:
        _READERS[kind](data, collector, default_source, path)
    except Exception as exc:  # a hostile file must never stop the import
        report.problem("file", f"stopped reading: {type(exc).__name__}: {exc}")
    return report, collector.indicators


def _read_json(data: bytes, c: Collector, default_source: str, path: Path) -> None:
    is_stix = c.kind == "stix"
    loaded = load(data, _STIX_PATHS if is_stix else _MISP_PATHS)
    for problem in loaded.problems:
        c.problem("file", problem)
    if is_stix:
        if loaded.salvaged is not None:
            found = loaded.salvaged.items
            objects: list[Any] = found.get("objects.item", []) or found.get("item", [])
        else:
            objects = stix.objects_of(loaded.document, c)
        stix.read(objects, c, default_source)
        return
    document = loaded.document
    if loaded.salvaged is not None:
        found = loaded.salvaged.items
        event: dict[str, Any] = {
            "Attribute": found.get("Event.Attribute.item", []),
            "Object": found.get("Event.Object.item", []),
            "Tag": found.get("Event.Tag.item", []),
            "Galaxy": found.get("Event.Galaxy.item", []),
        }
        for key in ("info", "uuid"):
            if found.get(f"Event.{key}"):
                event[key] = found[f"Event.{key}"][0]
        if found.get("Event.Orgc.name"):
            event["Orgc"] = {"name": found["Event.Orgc.name"][0]}
        document = {"Event": event}
    if not misp.is_misp(document):
        c.problem("document", "JSON, but not a MISP event")
        return
    misp.read(document, c, default_source)


def _read_csv(data: bytes, c: Collector, default_source: str, path: Path) -> None:
    csvlist.read(data.decode("utf-8", "surrogateescape"), c, default_source)


def _read_trail(data: bytes, c: Collector, default_source: str, path: Path) -> None:
    body = data.decode("utf-8", "replace")
    if "\ufffd" in body and b"\xef\xbf\xbd" not in data:
        c.problem("file", "invalid UTF-8 replaced; lines with it are reported below")
    trails.read(body, c, str(path))


_READERS: dict[str, Callable[[bytes, Collector, str, Path], None]] = {
    "stix": _read_json,
    "misp": _read_json,
    "csv": _read_csv,
    "maltrail": _read_trail,
}


def import_files(
    paths: Iterable[Path], data_dir: Path, options: Options | None = None
) -> ImportResult:
    """Read every file and merge its indicators into the store of ``data_dir``."""
    options = options or Options()
    store = IntelStore(data_dir)
    reports: list[FileReport] = []
    with store.locked():
        indicators = store.load()
        changed = False
        for path in paths:
            report, found = read_file(path, options)
            reports.append(report)
            changed |= _merge(indicators, found, report, options)
        if changed:
            store.write(indicators.values())
        store.log(
            {
                "at": options.now.isoformat(timespec="seconds"),
                "files": [
                    {"path": r.path, "format": r.format, "source": r.source, "new": r.new,
                     "updated": r.updated, "unchanged": r.unchanged, "pruned": r.pruned,
                     "problems": r.problem_count, "unreadable": r.unreadable}
                    for r in reports
                ],
                "total": len(indicators),
            }
        )  # fmt: skip
    return ImportResult(reports, len(indicators))


def _merge(
    store: dict[str, Indicator], found: dict[str, Indicator], report: FileReport, options: Options
) -> bool:
    changed = False
    for indicator in found.values():
        old = store.get(indicator.id)
        if old is None:
            report.new += 1
            store[indicator.id] = indicator
            changed = True
        elif old.content() == indicator.content():
            report.unchanged += 1
        else:
            report.updated += 1
            store[indicator.id] = _updated(old, indicator)
            changed = True
    if options.prune and report.source and not report.problem_count and not report.unreadable:
        stale = [k for k, i in store.items() if i.source == report.source and k not in found]
        for key in stale:
            del store[key]
        report.pruned = len(stale)
        changed |= bool(stale)
    return changed


def _updated(old: Indicator, new: Indicator) -> Indicator:
    return replace(new, imported_at=old.imported_at)
