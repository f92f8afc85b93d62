"""One message from bytes to a verdict with its reasons, and its line in messages.jsonl."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tocsin.detect.engine import alert_id
from tocsin.mail.detectors import run_all
from tocsin.mail.known import FREEMAIL
from tocsin.mail.model import Beacon, Context, Reason, View, build_view
from tocsin.mail.parse import ParsedMessage, parse_message
from tocsin.mail.reader import RawMessage
from tocsin.mail.score import SUSPICIOUS, combine, verdict
from tocsin.mail.urls import display_host, registrable

RULE_PHISHING = "mail_phishing"
RULE_BEACON = "mail_web_beacon"


@dataclass(slots=True)
class Report:
    raw: RawMessage
    parsed: ParsedMessage
    view: View
    reasons: list[Reason]
    beacons: list[Beacon]
    score: float
    verdict: str
    techniques: list[str] = field(default_factory=list)
    rule: str | None = None
    group_key: str | None = None
    alert: str | None = None

    @property
    def time(self) -> datetime | None:
        return self.parsed.time


def analyze(raw: RawMessage, ctx: Context, threshold: float = SUSPICIOUS) -> Report:
    """Parse, run every detector, score. Never raises on message content."""
    parsed = parse_message(raw.data)
    if raw.truncated:
        parsed.warn("message larger than the size limit: cut, the rest not analysed")
        parsed.limits_hit.append("size")
    if raw.error:
        parsed.warn(raw.error)
    view = build_view(parsed)
    reasons, beacons = run_all(view, ctx)
    score = combine(reasons)
    report = Report(raw, parsed, view, reasons, beacons, score, verdict(score, threshold))
    report.techniques = _techniques(report)
    if report.verdict != "clean":
        report.rule, report.group_key = _group(report)
        report.alert = alert_id(report.rule, report.group_key)
    return report


def _techniques(report: Report) -> list[str]:
    if report.verdict == "clean":
        return []
    found = {r.technique for r in report.reasons if r.technique}
    if not found:
        if report.parsed.attachments:
            found.add("T1566.001")
        elif report.view.links:
            found.add("T1566.002")
        else:
            found.add("T1598")  # a lure asking for a reply
    return sorted(found)


def _group(report: Report) -> tuple[str, str]:
    """One alert per campaign: the same sender (or beacon service) on the same day."""
    parsed = report.parsed
    day = parsed.time.date().isoformat() if parsed.time else "undated"
    top = max(report.reasons, key=lambda r: r.weight)
    targeted = [b for b in report.beacons if b.kind == "targeted"]
    if top.detector == "beacons" and targeted:
        return RULE_BEACON, f"beacon:{registrable(targeted[0].host)}:{day}"
    domain = registrable(parsed.sender.domain)
    who = parsed.sender.address if domain in FREEMAIL or not domain else domain
    return RULE_PHISHING, f"sender:{who or '(none)'}:{day}"


def record(report: Report) -> dict[str, Any]:
    """The message's line in messages.jsonl."""
    parsed = report.parsed
    raw = report.raw
    links = sorted({display_host(link.url.host) for link in report.view.links})
    return {
        "origin": {"file": raw.file, "index": raw.index, "format": raw.format},
        "message_id": parsed.message_id or None,
        "sha256": parsed.sha256,
        "time": parsed.time.isoformat().replace("+00:00", "Z") if parsed.time else None,
        "from": {"address": parsed.sender.address or None, "display": parsed.sender.display},
        "reply_to": parsed.reply_to.address if parsed.reply_to else None,
        "return_path": parsed.return_path or None,
        "subject": parsed.subject,
        "recipients": parsed.recipients,
        "verdict": report.verdict,
        "score": report.score,
        "reasons": [r.to_dict() for r in sorted(report.reasons, key=lambda r: -r.weight)],
        "beacons": [b.to_dict() for b in report.beacons],
        "techniques": report.techniques,
        "alert": report.alert,
        "auth": parsed.auth.to_dict(),
        "sender_ip": parsed.sender_ip,
        "link_domains": links[:50],
        "links": len(report.view.links),
        "attachments": [
            {"name": a.name, "content_type": a.content_type, "size": a.size, "sha256": a.sha256}
            for a in parsed.attachments[:50]
        ],
        "size": parsed.size,
        "parts": parsed.parts,
        "warnings": parsed.warnings,
    }
