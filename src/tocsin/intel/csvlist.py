"""CSV indicator lists (Microsoft MSTIC's and similar), columns mapped by header name.

Header names are compared without case, spaces or punctuation, so ``IoC_Type``, ``IOC Type``
and ``ioctype`` are one column. Both MSTIC layouts are read: the May 2021 NOBELIUM list
(``IoC, Type, FirstSeen, DateAdded, MalwareFamily, SHA1, MD5, C2Domain …``) and Rapid Release
TI (``IoC, IoC_Type, ExpirationDateTime, ConfidenceScore, ActivityGroupNames …``). Extra hash
and C2-domain columns give indicators of their own. Dates may be ISO 8601 or M/D/YYYY.
Without an actor column, an actor named in the release title ("May 21 Midnight Blizzard
Indicators") is used when it names exactly one known actor.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Final

from tocsin.attribution.actors import Actor, alias_key, find, resolve_names
from tocsin.intel.collect import Collector, text
from tocsin.intel.values import BadValue, parse_time

# Normalised header → role, in order of preference within a role.
_VALUE: Final = ("ioc", "indicator", "indicatorvalue", "iocvalue", "value", "observable",
                 "observablevalue")  # fmt: skip
_TYPE: Final = ("ioctype", "indicatortype", "observabletype", "iocdatatype", "type")
_ACTOR: Final = ("activitygroupnames", "activitygroup", "actor", "threatactor", "actorname",
                 "intrusionset", "attribution", "group", "adversary")  # fmt: skip
_FROM: Final = ("validfrom", "firstseen", "dateadded", "timegenerated", "created", "date")
_UNTIL: Final = ("validuntil", "expirationdatetime", "expirationdate", "expiration", "expires",
                 "expiry", "validto")  # fmt: skip
_CONFIDENCE: Final = ("confidence", "confidencescore", "score")
_DESCRIPTION: Final = ("description", "comment", "comments", "name")
_REFERENCE: Final = ("reference", "references", "externalreference", "sourceurl", "link")
_TITLE: Final = ("release", "campaign", "report", "title")
_LABELS: Final = ("category", "malwarefamily", "threattype", "tags", "labels", "filename")
_TLP: Final = ("tlp", "trafficlightprotocollevel")
_ACTIVE: Final = ("active", "isactive", "enabled")
_ACTION: Final = ("action",)
# Columns that hold more indicators of the same row (None: recognise each value).
_EXTRA: Final[dict[str, str | None]] = {"sha256": "sha256", "sha1": "sha1", "md5": "md5",
                                        "c2domain": None, "c2": None}  # fmt: skip
_NOTE = re.compile(r"\([^)]*\)")
# Type column values → tocsin type hints (None: not an indicator tocsin can match).
_TYPE_NAMES: Final[dict[str, str | None]] = {
    "ip": "ip", "ipv4": "ip", "ipv6": "ip", "ipaddress": "ip", "networkip": "ip", "cidr": "ip",
    "ipv4addr": "ip", "ipv6addr": "ip", "ipsrc": "ip", "ipdst": "ip",
    "domain": "domain", "domainname": "domain", "hostname": "domain", "host": "domain",
    "fqdn": "domain", "url": "url", "uri": "url", "email": "email", "emailaddress": "email",
    "emailsender": "email", "sha256": "sha256", "filehashsha256": "sha256", "sha1": "sha1",
    "filehashsha1": "sha1", "md5": "md5", "filehashmd5": "md5", "hash": "hash",
    "filehash": "hash", "asn": "asn", "as": "asn", "autonomoussystem": "asn",
}  # fmt: skip
_DELIMITERS: Final = (",", ";", "\t", "|")
_BAD_UTF8 = re.compile(r"[\udc80-\udcff]")


def header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def sniff_header(first_line: str) -> str | None:
    """The delimiter if ``first_line`` is the header of an indicator list, else None."""
    for delimiter in _DELIMITERS:
        try:
            cells = next(csv.reader([first_line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        keys = {header_key(c) for c in cells}
        if keys.intersection(_VALUE):
            return delimiter
    return None


def _pick(columns: dict[str, int], names: tuple[str, ...]) -> list[int]:
    """The columns present for a role, in order of preference (an empty cell falls through)."""
    return [columns[n] for n in names if n in columns]


def _lines(body: str) -> Iterator[str]:
    yield from io.StringIO(body, newline="")


def read(data: str, c: Collector, default_source: str) -> None:
    c.set_source(default_source)
    body = data.removeprefix("\ufeff")
    first = body.split("\n", 1)[0].rstrip("\r")
    delimiter = sniff_header(first) or ","
    reader = csv.reader(_lines(body), delimiter=delimiter)
    try:
        header = next(reader)
    except (csv.Error, StopIteration):
        c.problem("line 1", "no header row")
        return
    columns: dict[str, int] = {}
    for position, name in enumerate(header):
        columns.setdefault(header_key(name), position)
    value_cols = _pick(columns, _VALUE)
    if not value_cols:
        c.problem("line 1", "no indicator column (IoC, Indicator, Value…) in the header")
        return
    value_col = value_cols[0]
    roles = {
        "type": _pick(columns, _TYPE),
        "actor": _pick(columns, _ACTOR),
        "from": _pick(columns, _FROM),
        "until": _pick(columns, _UNTIL),
        "confidence": _pick(columns, _CONFIDENCE),
        "description": _pick(columns, _DESCRIPTION),
        "reference": _pick(columns, _REFERENCE),
        "title": _pick(columns, _TITLE),
        "tlp": _pick(columns, _TLP),
        "active": _pick(columns, _ACTIVE),
        "action": _pick(columns, _ACTION),
    }
    label_cols = [columns[n] for n in _LABELS if n in columns]
    extra_cols = {columns[n]: kind for n, kind in _EXTRA.items() if n in columns}
    actors: dict[str, Actor | None] = {}
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            c.problem(f"line {reader.line_num}", f"unreadable CSV: {exc}")
            line = reader.line_num
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        _row(row, c, f"row at line {start}", value_col, roles, label_cols, extra_cols, actors)


def _cell(row: list[str], columns: int | list[int]) -> str:
    """The first non-empty cell of ``columns`` (trimmed), or ''."""
    for column in [columns] if isinstance(columns, int) else columns:
        if column < len(row) and row[column].strip():
            return row[column].strip()
    return ""


def _title_actor(title: str) -> Actor | None:
    """The one known actor a release title names ("May 21 Midnight Blizzard Indicators")."""
    words = re.findall(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*", title)
    found: dict[str, Actor] = {}
    for size in (3, 2, 1):
        for start in range(len(words) - size + 1):
            phrase = " ".join(words[start : start + size])
            if size == 1 and not re.search(r"\d|[A-Z]{4,}", phrase):
                continue  # single ordinary words ("Indicators") are not actor names
            actor = find(phrase)
            if actor is not None and alias_key(phrase) in {alias_key(a) for a in actor.aliases}:
                found[actor.key] = actor
    return next(iter(found.values())) if len(found) == 1 else None


def _row(
    row: list[str],
    c: Collector,
    where: str,
    value_col: int,
    roles: dict[str, list[int]],
    label_cols: list[int],
    extra_cols: dict[int, str | None],
    actors: dict[str, Actor | None],
) -> None:
    if any(_BAD_UTF8.search(cell) for cell in row):
        c.problem(where, "invalid UTF-8 in the row; row skipped")
        return
    value = _cell(row, value_col)
    if not value:
        c.problem(where, "empty indicator value")
        return
    c.report.records += 1
    hint: str | None = None
    raw_type = _cell(row, roles["type"])
    if raw_type:
        hint = _TYPE_NAMES.get(header_key(raw_type))
        if hint is None:
            c.skip(f"indicators of type {text(raw_type, 40)} (not matchable)")
            return
    action = _cell(row, roles["action"]).lower()
    if action in ("allow", "allowed", "whitelist", "allowlist"):
        c.skip("rows whose action is allow")
        return
    try:
        valid_until = parse_time(_cell(row, roles["until"]))
        confidence = _confidence(_cell(row, roles["confidence"]))
    except BadValue as exc:
        c.problem(where, str(exc))
        return
    try:
        valid_from = parse_time(_cell(row, roles["from"]))
    except BadValue as exc:
        # A wrong start date only widens validity backwards; the indicator still loads.
        c.problem(where, f"{exc} (start date ignored; loaded without one)")
        valid_from = None
    labels = [text(_cell(row, col), 100) or "" for col in label_cols]
    tlp = _cell(row, roles["tlp"]).lower()
    if tlp:
        labels.append(f"tlp:{tlp}")
    if _cell(row, roles["active"]).lower() in ("false", "0", "no"):
        labels.append("inactive")
        valid_until = valid_from or c.options.now
    actor = _row_actor(_cell(row, roles["actor"]), _cell(row, roles["title"]), actors)
    title = _cell(row, roles["title"])
    description = _cell(row, roles["description"]) or None
    if title:
        description = f"{title}: {description}" if description else title
    reference = _cell(row, roles["reference"]) or None
    values = [(hint, value, where)] + [
        (kind, extra, f"{where}, column {column + 1}")
        for column, kind in extra_cols.items()
        if column != value_col
        for extra in _split(_cell(row, column), kind)
    ]
    for kind, raw, location in values:
        c.add(
            kind,
            raw,
            location=location,
            actor=actor,
            confidence=confidence,
            valid_from=valid_from,
            valid_until=valid_until,
            labels=[label for label in labels if label],
            description=description,
            reference=reference,
        )


def _split(cell: str, kind: str | None) -> list[str]:
    """One cell, several values: ``a.example;b.example``, ``x.example (compromised site)``."""
    if kind is not None:
        return [cell] if cell else []
    return [v for v in re.split(r"[;,\s]+", _NOTE.sub(" ", cell)) if v]


def _confidence(raw: str) -> int | None:
    if not raw:
        return None
    try:
        number = float(raw)
    except ValueError:
        raise BadValue(f"confidence {raw[:20]!r} is not a number") from None
    if not 0 <= number <= 100:
        raise BadValue(f"confidence {raw[:20]!r} is not between 0 and 100")
    return int(number)


def _row_actor(names: str, title: str, cache: dict[str, Actor | None]) -> Actor | None:
    key = f"{names}\x00{title}"
    if key not in cache:
        actor: Actor | None = None
        if names:
            parts = [p.strip() for p in re.split(r"[;,|]", names) if p.strip()]
            actor = resolve_names(parts)
        elif title:
            actor = _title_actor(title)
        cache[key] = actor
    return cache[key]
