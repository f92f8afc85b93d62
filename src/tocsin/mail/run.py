"""Scan mail sources: read each message once, judge it, write messages.jsonl, build alerts."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import orjson

from tocsin.config import Config
from tocsin.events import Alert
from tocsin.mail.alerts import AlertBuilder
from tocsin.mail.analyze import Report, analyze, record
from tocsin.mail.lookalike import LookalikeIndex
from tocsin.mail.model import Context, Reason, View, Vip, name_key
from tocsin.mail.parse import parse_message
from tocsin.mail.reader import RawMessage, read_messages, sniff
from tocsin.mail.score import PHISH, SUSPICIOUS
from tocsin.mail.urls import registrable

MESSAGES_FILE = "messages.jsonl"


def build_context(config: Config | None, data_dir: Path | None) -> tuple[Context, str]:
    """Protected domains, people and intel for the scan; and a note on the intel store."""
    protected: set[str] = set()
    org_names: dict[str, str] = {}
    vips: list[Vip] = []
    personal: set[str] = set()
    own: set[str] = set()
    if config is not None:
        for org in config.organisations:
            protected.update(registrable(d) for d in org.domains if d)
            if len(name_key(org.name)) >= 4:
                org_names[name_key(org.name)] = org.name
        for person in config.people:
            addresses = frozenset(person.accounts) | frozenset(person.personal)
            own.update(addresses)
            personal.update(person.personal)
            if person.vip:
                vips.append(Vip(person.name, name_key(person.name), addresses))
    ctx = Context(
        protected_domains=frozenset(protected),
        org_names=org_names,
        vips=vips,
        personal_addresses=frozenset(personal),
        own_addresses=frozenset(own),
        lookalikes=LookalikeIndex(protected),
    )
    note = "no intel store"
    if data_dir is not None:
        note = _load_intel(ctx, data_dir)
    return ctx, note


def _load_intel(ctx: Context, data_dir: Path) -> str:
    from tocsin.intel import IntelIndex, IntelStore

    if not IntelStore(data_dir).path.exists():
        return "no intel store"
    try:
        ctx.intel = IntelIndex.load(data_dir)
    except Exception as exc:
        return f"intel store unreadable, not matched: {type(exc).__name__}: {exc}"
    return f"{ctx.intel.size:,} indicators"


def mail_sources(paths: list[Path]) -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    for path in paths:
        kind = sniff(path)
        if kind is not None:
            out.append((path, kind))
    return out


def scan_sources(
    paths: list[Path],
    *,
    data_dir: Path | None,
    out_dir: Path | None,
    config: Config | None,
    threshold: float = SUSPICIOUS,
    on_report: Callable[[Report], None] | None = None,
) -> tuple[list[Alert], int, dict[str, Any]]:
    started = time.perf_counter()
    ctx, intel_note = build_context(config, data_dir)
    tenants: dict[str, str] = {}
    if config is not None:
        for org in config.organisations:
            for domain in org.domains:
                tenants[domain] = org.tenants[0] if org.tenants else domain
    builder = AlertBuilder(tenants)
    out: IO[bytes] | None = None
    messages_path = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        messages_path = out_dir / MESSAGES_FILE
        out = messages_path.open("wb")
    verdicts: Counter[str] = Counter()
    detectors: Counter[str] = Counter()
    sources: list[dict[str, Any]] = []
    total = 0
    try:
        for path, kind in mail_sources(paths):
            source: dict[str, Any] = {
                "path": str(path),
                "format": kind,
                "messages": 0,
                "phish": 0,
                "suspicious": 0,
                "clean": 0,
                "warnings": 0,
                "unreadable": 0,
            }
            for raw in read_messages(path, kind):
                report = _judge(raw, ctx, threshold)
                total += 1
                source["messages"] += 1
                source[report.verdict] += 1
                source["warnings"] += 1 if report.parsed.warnings else 0
                source["unreadable"] += 1 if raw.error else 0
                verdicts[report.verdict] += 1
                for reason in report.reasons:
                    if reason.weight > 0:
                        detectors[f"{reason.detector}/{reason.code}"] += 1
                builder.add(report)
                if out is not None:
                    out.write(orjson.dumps(record(report)) + b"\n")
                if on_report is not None:
                    on_report(report)
            sources.append(source)
    finally:
        if out is not None:
            out.close()
    alerts = builder.alerts()
    seconds = time.perf_counter() - started
    summary: dict[str, Any] = {
        "messages": total,
        "verdicts": {v: verdicts[v] for v in ("phish", "suspicious", "clean")},
        "threshold": threshold,
        "phish_threshold": PHISH,
        "alerts": len(alerts),
        "sources": sources,
        "reasons": dict(detectors.most_common()),
        "intel": intel_note,
        "messages_path": str(messages_path) if messages_path else None,
        "seconds": round(seconds, 3),
        "messages_per_second": round(total / seconds, 1) if seconds > 0 else None,
    }
    return alerts, total, summary


def _judge(raw: RawMessage, ctx: Context, threshold: float) -> Report:
    try:
        return analyze(raw, ctx, threshold)
    except Exception as exc:  # one message must never stop the scan
        # A bug or an input beyond every limit: the message still gets a line in
        # messages.jsonl — what could be read of it, the failure as its warning — and the
        # scan goes on. No detector runs again (the failing one would fail again).
        note = f"analysis failed: {type(exc).__name__}: {exc}"[:300]
        try:
            parsed = parse_message(raw.data)
        except Exception:  # the parser itself failed: an empty message carries the note
            parsed = parse_message(b"")
        parsed.warn(note)
        parsed.limits_hit.append("analysis")
        reason = Reason("structure", "analysis_failed", 0.0, note)
        return Report(raw, parsed, View(parsed), [reason], [], 0.0, "clean")
