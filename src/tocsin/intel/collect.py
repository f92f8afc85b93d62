"""What every importer shares: options, the per-file report, and the collector of indicators.

An importer walks its file and hands each candidate value to :meth:`Collector.add`, which
normalises it, applies the defaults (``--actor``, ``--confidence``, ``--valid-days``),
merges repeats of the same value, and turns a bad value into a problem with its location —
so one bad object never costs the good ones.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from tocsin.attribution.actors import Actor, resolve
from tocsin.intel.model import DEFAULT_CONFIDENCE, Indicator, indicator_id
from tocsin.intel.values import BadValue, normalise

MAX_PROBLEMS_KEPT = 1000
MAX_TEXT = 1024
MAX_LABELS = 32
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, slots=True)
class Problem:
    location: str  # "objects[12] (indicator--…)", "line 34", "row 5 (line 6)"
    reason: str


@dataclass(frozen=True, slots=True)
class Options:
    source: str | None = None  # source name for every file (default: from the file)
    actor: str | None = None  # actor for indicators whose file names none
    confidence: int | None = None  # confidence where the file states none
    valid_days: int | None = None  # indicators without an end stay valid this many days
    prune: bool = False  # drop this source's indicators that are no longer in its file
    max_bytes: int = 512 << 20
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(slots=True)
class FileReport:
    path: str
    format: str | None = None  # stix, misp, csv, maltrail, microsoft_actor_names
    source: str | None = None
    records: int = 0  # objects, attributes, rows or lines that carried a value
    indicators: int = 0  # distinct indicators read
    duplicates: int = 0  # repeats of a value already read from this file
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason → count (not errors)
    problems: list[Problem] = field(default_factory=list)  # the first MAX_PROBLEMS_KEPT
    problem_count: int = 0
    notes: list[str] = field(default_factory=list)
    unreadable: str | None = None  # why nothing could be read at all

    def problem(self, location: str, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(Problem(location, text(reason, 500) or "invalid"))


def text(value: object, limit: int = MAX_TEXT) -> str | None:
    """Feed text as stored: control characters replaced, cut to ``limit``; empty → None."""
    if value is None:
        return None
    shown = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", str(value)).strip()
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return shown or None


class Collector:
    """Indicators read from one file, keyed by id, plus the file's report."""

    def __init__(self, report: FileReport, options: Options, kind: str) -> None:
        self.report = report
        self.options = options
        self.kind = kind
        self.source = options.source or "unnamed"
        self.indicators: dict[str, Indicator] = {}
        self._default_actor = resolve(options.actor) if options.actor else None

    @property
    def default_confidence(self) -> int:
        return (
            self.options.confidence if self.options.confidence is not None else (DEFAULT_CONFIDENCE)
        )

    def set_source(self, name: str | None) -> None:
        """The source name the file gives (``--source`` wins)."""
        chosen = self.options.source or text(name, 200) or "unnamed"
        self.source = chosen
        self.report.source = chosen

    def problem(self, location: str, reason: str) -> None:
        self.report.problem(location, reason)

    def skip(self, reason: str, count: int = 1) -> None:
        self.report.skipped[reason] += count

    def add(
        self,
        kind: str | None,
        raw: object,
        *,
        location: str,
        actor: Actor | None = None,
        confidence: int | None = None,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        labels: Iterable[str] = (),
        description: object = None,
        reference: object = None,
    ) -> Indicator | None:
        """Normalise and keep one value; a bad value becomes a problem at ``location``."""
        try:
            found, value = normalise(kind, raw)
        except BadValue as exc:
            self.problem(location, str(exc))
            return None
        actor = actor or self._default_actor
        if confidence is None:
            confidence = self.default_confidence
        if valid_until is None and self.options.valid_days is not None:
            valid_until = (valid_from or self.options.now) + timedelta(days=self.options.valid_days)
        clean_labels = tuple(sorted({t for raw_label in labels if (t := text(raw_label, 100))}))
        now = self.options.now
        indicator = Indicator(
            id=indicator_id(found, value, self.source),
            type=found,
            value=value,
            source=self.source,
            source_kind=self.kind,
            actor=actor.name if actor else None,
            actor_key=actor.key if actor else None,
            actor_aliases=tuple(sorted(set(actor.aliases), key=str.casefold)) if actor else (),
            confidence=max(0, min(100, int(confidence))),
            valid_from=valid_from,
            valid_until=valid_until,
            labels=clean_labels[:MAX_LABELS],
            description=text(description),
            reference=text(reference, 2048),
            origin=text(f"{self.report.path}: {location}", 2048),
            imported_at=now,
            updated_at=now,
        )
        previous = self.indicators.get(indicator.id)
        if previous is not None:
            self.report.duplicates += 1
            indicator = _merge(previous, indicator)
        self.indicators[indicator.id] = indicator
        self.report.indicators = len(self.indicators)
        return indicator


def _merge(first: Indicator, second: Indicator) -> Indicator:
    """One indicator from two mentions of the same value in one file."""
    lead = second if second.confidence > first.confidence else first
    starts = [first.valid_from, second.valid_from]
    ends = [first.valid_until, second.valid_until]
    return replace(
        lead,
        actor=lead.actor or first.actor or second.actor,
        actor_key=lead.actor_key or first.actor_key or second.actor_key,
        actor_aliases=lead.actor_aliases or first.actor_aliases or second.actor_aliases,
        valid_from=None if None in starts else min(d for d in starts if d is not None),
        valid_until=None if None in ends else max(d for d in ends if d is not None),
        labels=tuple(sorted(set(first.labels) | set(second.labels)))[:MAX_LABELS],
        description=first.description or second.description,
        reference=first.reference or second.reference,
        origin=first.origin,
    )
