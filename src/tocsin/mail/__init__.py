"""Mail: spear-phishing, lookalike domains and web beacons in mailbox exports (being written)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tocsin.config import Config
from tocsin.events import Alert


@dataclass(slots=True)
class MailScan:
    """What scanning mail produced: alerts (contract 2) and a summary for scan.json."""

    alerts: list[Alert] = field(default_factory=list)
    messages: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


def looks_like_mail(path: Path) -> bool:
    """True for an .eml/.msg message, an mbox file or a Maildir folder (by content)."""
    return False


def scan_mail(
    paths: list[Path], *, data_dir: Path, out_dir: Path | None, config: Config | None
) -> MailScan:
    """Analyse every message under ``paths``; write ``out_dir/messages.jsonl``."""
    return MailScan()
