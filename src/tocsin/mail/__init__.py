"""Mail: spear-phishing, lookalike domains and web beacons in mailbox exports.

``tocsin scan`` hands every mail source it finds (.eml files, mbox files, Maildir folders,
Outlook .msg files) to :func:`scan_mail`, which judges each message — ``phish``,
``suspicious`` or ``clean``, a score and the reasons — writes one line per message to
``messages.jsonl`` and returns alerts (contract 2), one per campaign. See docs/mail.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tocsin.config import Config
from tocsin.events import Alert
from tocsin.mail.analyze import Report, analyze, record
from tocsin.mail.reader import RawMessage, read_messages, sniff
from tocsin.mail.run import MESSAGES_FILE, build_context, scan_sources
from tocsin.mail.score import PHISH, SUSPICIOUS

__all__ = [
    "MESSAGES_FILE",
    "PHISH",
    "SUSPICIOUS",
    "MailScan",
    "RawMessage",
    "Report",
    "analyze",
    "build_context",
    "looks_like_mail",
    "read_messages",
    "record",
    "scan_mail",
]


@dataclass(slots=True)
class MailScan:
    """What scanning mail produced: alerts (contract 2) and a summary for scan.json."""

    alerts: list[Alert] = field(default_factory=list)
    messages: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


def looks_like_mail(path: Path) -> bool:
    """True for an .eml/.msg message, an mbox file or a Maildir folder (by content)."""
    return sniff(path) is not None


def scan_mail(
    paths: list[Path], *, data_dir: Path, out_dir: Path | None, config: Config | None
) -> MailScan:
    """Analyse every message under ``paths``; write ``out_dir/messages.jsonl``."""
    alerts, total, summary = scan_sources(paths, data_dir=data_dir, out_dir=out_dir, config=config)
    return MailScan(alerts=alerts, messages=total, summary=summary)
