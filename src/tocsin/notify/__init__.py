"""Notify the people targeted — in their language, reliably, exactly once.

``queue_notifications`` (called by the scan once alerts are stored) plans who must hear what,
renders each message in its recipient's language and puts it in the durable outbox of the
state database; ``tocsin notify send`` (or the serve loop, ``run_sender``) delivers it.
See docs/notify.md.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from tocsin.config import Config
from tocsin.events import Alert
from tocsin.notify.outbox import Outbox
from tocsin.notify.planner import KINDS, Notice, Plan, plan_notifications
from tocsin.notify.queue import queue_for_alerts
from tocsin.notify.render import Rendered, render
from tocsin.notify.sender import ConfiguredChannels, Sender, SendReport
from tocsin.store.state import StateStore

__all__ = [
    "KINDS",
    "Notice",
    "Outbox",
    "Plan",
    "Rendered",
    "SendReport",
    "Sender",
    "plan_notifications",
    "queue_notifications",
    "render",
    "run_sender",
]

log = logging.getLogger("tocsin.notify")


def queue_notifications(
    config: Config | None, alerts: list[Alert], state_url: str
) -> dict[str, Any]:
    """Put the notifications ``alerts`` call for into the durable outbox.

    Returns a summary for scan.json. Never raises: a failure is reported in the summary and
    the next scan plans the same notifications again (queueing is idempotent), so none is lost.
    """
    if config is None:
        return {"enabled": False, "reason": "no configuration (tocsin.toml)"}
    if not config.notify.enabled:
        return {"enabled": False, "reason": "notify.enabled is false"}
    store = StateStore(state_url)
    try:
        store.migrate()
        return queue_for_alerts(config, alerts, Outbox(store, config.notify))
    except Exception as exc:
        log.exception("queueing notifications failed")
        return {"enabled": True, "error": f"{type(exc).__name__}: {exc}", "queued": 0}
    finally:
        store.dispose()


def run_sender(
    config: Config,
    state_url: str,
    stop: threading.Event,
    *,
    interval: float = 30.0,
    batch: int = 50,
    lease: timedelta = timedelta(minutes=5),
) -> SendReport:
    """The serve loop's notification worker: deliver due messages until ``stop`` is set."""
    store = StateStore(state_url)
    try:
        store.migrate()
        sender = Sender(
            Outbox(store, config.notify), ConfiguredChannels(config), batch=batch, lease=lease
        )
        return sender.run(stop=stop, interval=interval)
    finally:
        store.dispose()
