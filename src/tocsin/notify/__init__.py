"""Notify the people targeted, in their language, exactly once (being written)."""

from __future__ import annotations

from typing import Any

from tocsin.config import Config
from tocsin.events import Alert


def queue_notifications(
    config: Config | None, alerts: list[Alert], state_url: str
) -> dict[str, Any]:
    """Put the notifications ``alerts`` call for into the durable outbox.

    Returns a summary for scan.json.
    """
    return {}
