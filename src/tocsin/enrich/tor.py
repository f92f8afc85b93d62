"""Tor exit addresses: the bundled history, refreshed from files the user downloads.

``tocsin intel tor-refresh FILE`` reads one of

* a **bulk exit list** (``https://check.torproject.org/torbulkexitlist``): one address a line,
  ``#`` comments allowed; the list is true on the day it was fetched (``--date``, default the
  file's modification day);
* TorDNSEL's **exit-addresses** file (``https://check.torproject.org/exit-addresses``):
  ``ExitAddress 1.2.3.4 2024-02-27 10:00:00`` lines, each with the day it was measured;
* an **onionoo** ``details`` document (``https://onionoo.torproject.org/details?search=flag:exit``):
  every relay with the Exit flag (or measured ``exit_addresses``), its addresses valid from the
  later of its ``first_seen`` and ``last_changed_address_or_port`` to its ``last_seen``;
* an **onionoo** ``summary`` document (``…/summary?search=flag:exit``): relay addresses on the
  day the document was published. A summary carries no flags, so fetch it filtered to exits.

The addresses and their days are merged into ``<data-dir>/enrich/tor_exits.csv`` (runs of days
that touch are joined), and enrichment uses them together with the bundled history: an event
is tagged ``tor`` when its address was an exit on the event's day in either.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson

from tocsin.enrich.data import TorExit, tor_exits

MAX_FILE: Final = 256 << 20
_MAX_PROBLEMS: Final = 1000
_EXIT_ADDRESS = re.compile(r"^ExitAddress\s+(\S+)\s+(\d{4}-\d{2}-\d{2})\b")
_JOIN_GAP: Final = timedelta(days=1)


class TorRefreshError(Exception):
    """The file cannot be read as any Tor exit list."""


@dataclass(slots=True)
class RefreshResult:
    path: str
    kind: str  # bulk_exit_list, exit_addresses, onionoo_details, onionoo_summary
    addresses: int = 0  # distinct exit addresses read
    new: int = 0  # addresses the refreshed store did not have
    first_day: date | None = None
    last_day: date | None = None
    stored: int = 0  # addresses in the refreshed store afterwards
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def store_path(data_dir: Path) -> Path:
    return data_dir / "enrich" / "tor_exits.csv"


def _canonical(text: str) -> str | None:
    value = text.strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:9001
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 1.2.3.4:9001
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address) if address.is_global else None


def _day(value: object) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


Spans = dict[str, list[tuple[date, date]]]


def _add(spans: Spans, ip: str, first: date, last: date) -> None:
    spans.setdefault(ip, []).append((min(first, last), max(first, last)))


def _problem(result: RefreshResult, where: str, reason: str) -> None:
    if len(result.problems) < _MAX_PROBLEMS:
        result.problems.append(f"{where}: {reason}")


def _read_text(raw: bytes, result: RefreshResult, day: date) -> Spans:
    spans: Spans = {}
    text = raw.decode("utf-8", errors="replace")
    exit_addresses = any(_EXIT_ADDRESS.match(line) for line in text.splitlines()[:200])
    result.kind = "exit_addresses" if exit_addresses else "bulk_exit_list"
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if exit_addresses:
            found = _EXIT_ADDRESS.match(stripped)
            if found is None:
                continue  # ExitNode / Published / LastStatus lines
            ip, seen = _canonical(found.group(1)), _day(found.group(2))
            if ip is None or seen is None:
                _problem(result, f"line {number}", "not a public address and a date")
                continue
            _add(spans, ip, seen, seen)
            continue
        ip = _canonical(stripped.split()[0])
        if ip is None:
            _problem(result, f"line {number}", f"not a public IP address: {stripped[:80]!r}")
            continue
        _add(spans, ip, day, day)
    return spans


def _relay_addresses(relay: dict[str, Any], key: str) -> list[str]:
    values = relay.get(key)
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def _read_onionoo(document: dict[str, Any], result: RefreshResult) -> Spans:
    spans: Spans = {}
    relays = document.get("relays")
    if not isinstance(relays, list):
        raise TorRefreshError("an onionoo document without a 'relays' list")
    published = _day(document.get("relays_published"))
    details = any(isinstance(r, dict) and "or_addresses" in r for r in relays[:50])
    result.kind = "onionoo_details" if details else "onionoo_summary"
    if not details:
        result.notes.append(
            "a summary document has no relay flags: every relay in it is taken as an exit "
            "(fetch it with search=flag:exit)"
        )
    if not details and published is None:
        raise TorRefreshError("an onionoo summary without 'relays_published': no date")
    unflagged = 0
    for index, relay in enumerate(relays):
        where = f"relays[{index}]"
        if not isinstance(relay, dict):
            _problem(result, where, "not an object")
            continue
        if details:
            flags = relay.get("flags")
            exits = _relay_addresses(relay, "exit_addresses")
            if flags is None:
                unflagged += 1
            elif not (isinstance(flags, list) and "Exit" in flags) and not exits:
                continue
            addresses = exits + _relay_addresses(relay, "or_addresses")
            last = _day(relay.get("last_seen")) or published
            since = (relay.get("first_seen"), relay.get("last_changed_address_or_port"))
            starts = [d for d in map(_day, since) if d]
            first = max(starts) if starts else last
        else:
            addresses = _relay_addresses(relay, "a")
            first = last = published
        if first is None or last is None:
            _problem(result, where, "no date (last_seen / relays_published)")
            continue
        if not addresses:
            _problem(result, where, "no addresses")
            continue
        for text in addresses:
            ip = _canonical(text)
            if ip is None:
                _problem(result, where, f"not a public IP address: {text[:80]!r}")
                continue
            _add(spans, ip, min(first, last), last)
    if unflagged:
        result.notes.append(
            f"{unflagged:,} relay(s) without flags were taken as exits "
            "(fetch the document with search=flag:exit)"
        )
    return spans


def read_exit_file(path: Path, *, day: date | None = None) -> tuple[Spans, RefreshResult]:
    """Exit addresses and their days from one file (kind recognised from the content)."""
    result = RefreshResult(path=str(path), kind="unknown")
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            raise TorRefreshError(f"{size:,} bytes: larger than {MAX_FILE:,}")
        raw = path.read_bytes()
    except OSError as exc:
        raise TorRefreshError(f"cannot read it ({exc.strerror or exc})") from None
    if raw[:2] == b"\x1f\x8b":
        raise TorRefreshError("compressed: unpack it first")
    head = raw.lstrip()[:1]
    if head == b"{":
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise TorRefreshError(f"not valid JSON ({exc})") from None
        if not isinstance(document, dict):
            raise TorRefreshError("JSON that is not an onionoo document")
        spans = _read_onionoo(document, result)
    else:
        when = day or datetime.fromtimestamp(path.stat().st_mtime, UTC).date()
        spans = _read_text(raw, result, when)
    if not spans:
        raise TorRefreshError(f"no Tor exit addresses found ({result.kind})")
    result.addresses = len(spans)
    days = [d for intervals in spans.values() for pair in intervals for d in pair]
    result.first_day, result.last_day = min(days), max(days)
    return spans, result


def _joined(intervals: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Sorted, disjoint runs: intervals that overlap or touch (a day apart) become one."""
    out: list[tuple[date, date]] = []
    for first, last in sorted(intervals):
        if out and first <= out[-1][1] + _JOIN_GAP:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def _load_store(path: Path) -> Spans:
    spans: Spans = defaultdict(list)
    if not path.is_file():
        return spans
    for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
        first, last = _day(row.get("first_seen")), _day(row.get("last_seen"))
        ip = _canonical(row.get("ip") or "")
        if ip and first and last:
            spans[ip].append((first, last))
    return spans


def _write_store(path: Path, spans: Spans) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["ip", "first_seen", "last_seen"])
    for ip in sorted(spans):
        for first, last in _joined(spans[ip]):
            writer.writerow([ip, first.isoformat(), last.isoformat()])
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tor_exits.", suffix=".csv")
    with os.fdopen(handle, "w", encoding="utf-8") as f:
        f.write(out.getvalue())
    Path(temp).replace(path)


def refresh(data_dir: Path, path: Path, *, day: date | None = None) -> RefreshResult:
    """Merge one exit-list file into the data directory's refreshed Tor exits."""
    spans, result = read_exit_file(path, day=day)
    target = store_path(data_dir)
    stored = _load_store(target)
    result.new = sum(1 for ip in spans if ip not in stored)
    for ip, intervals in spans.items():
        stored[ip].extend(intervals)
    _write_store(target, stored)
    result.stored = len(stored)
    return result


def refreshed_exits(data_dir: Path | None) -> tuple[TorExit, ...]:
    """The refreshed exits of ``data_dir`` (none without a refresh)."""
    if data_dir is None:
        return ()
    spans = _load_store(store_path(data_dir))
    return tuple(
        TorExit(ip, first, last) for ip in sorted(spans) for first, last in _joined(spans[ip])
    )


def exit_spans(data_dir: Path | None = None) -> tuple[TorExit, ...]:
    """Bundled history and refreshed exits together; one address's runs never overlap, so a
    join on address and day matches at most one row."""
    refreshed = refreshed_exits(data_dir)
    if not refreshed:
        return tor_exits()
    spans: Spans = defaultdict(list)
    for exit_ in (*tor_exits(), *refreshed):
        spans[exit_.ip].append((exit_.first_seen, exit_.last_seen))
    return tuple(
        TorExit(ip, first, last) for ip in sorted(spans) for first, last in _joined(spans[ip])
    )
