"""What the API holds while it runs: the stores, and the in-memory snapshot checks read.

The snapshot (decision index and API-key hashes) is rebuilt in a worker thread whenever the
decision audit trail grows (every change writes a row to it), checked every
``refresh_seconds``; readers swap to a new snapshot atomically and never wait on the database.

With a configuration that names a channel, a notification worker thread delivers the outbox
(what scans queued) every ``notify_seconds``, as ``tocsin notify send --follow`` would; the
outbox's leases let both run at once without sending anything twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from tocsin.config import Config
from tocsin.respond.bouncers import Bouncer, Bouncers
from tocsin.respond.index import DecisionIndex
from tocsin.respond.store import Clock, DecisionStore, utcnow
from tocsin.respond.targets import Allowlist
from tocsin.respond.watch import AlertWatcher
from tocsin.store.state import StateStore

log = logging.getLogger("tocsin.api")


@dataclass(frozen=True, slots=True)
class ApiSettings:
    state_url: str
    config: Config | None = None
    data_dir: Path | None = None
    refresh_seconds: float = 1.0
    # Turn alerts that reach the state database into decisions every this many seconds
    # (None: do not; scans still do it themselves).
    respond_seconds: float | None = 5.0
    # Deliver due notifications every this many seconds (None: do not; `notify send` does).
    notify_seconds: float | None = 30.0
    clock: Clock = utcnow


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: int
    index: DecisionIndex
    keys: dict[str, Bouncer]


class Runtime:
    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.state = StateStore(settings.state_url)
        self.state.migrate()
        self.store = DecisionStore(self.state, settings.config, settings.clock)
        self.bouncers = Bouncers(self.state)
        self.allowlist: Allowlist = self.store.allowlist
        # The allowlist in force from now on: bouncers that pulled before may hold decisions
        # it covers, and are told to delete them (see respond.crowdsec.stream).
        self.started_at = settings.clock()
        self.mode = settings.config.response.mode if settings.config else "simulate"
        self.snapshot = Snapshot(-1, DecisionIndex(self.allowlist), {})
        self.watcher = (
            AlertWatcher(self.store, settings.config, settings.data_dir)
            if settings.config is not None and settings.config.response.policy
            else None
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._notify_stop = threading.Event()
        self._notifier: threading.Thread | None = None
        self.reload()

    def reload(self, force: bool = False) -> bool:
        """Rebuild the snapshot if decisions or keys changed; True if it was rebuilt."""
        version = self.store.version()
        if not force and version == self.snapshot.version:
            return False
        decisions = self.store.query(active_only=True)
        index = DecisionIndex.build(decisions, self.allowlist, version)
        self.snapshot = Snapshot(version, index, self.bouncers.key_hashes())
        return True

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._refresh_loop()))
        if self.watcher is not None and self.settings.respond_seconds:
            self._tasks.append(
                asyncio.create_task(self._respond_loop(self.settings.respond_seconds))
            )
        if self.delivers_notifications:
            # A thread, not a task: SMTP and webhook calls block, and the check path must not
            # wait behind them.
            self._notifier = threading.Thread(
                target=self._notify_worker, name="tocsin-notify", daemon=True
            )
            self._notifier.start()

    @property
    def delivers_notifications(self) -> bool:
        config = self.settings.config
        return bool(
            config is not None
            and self.settings.notify_seconds
            and (config.channels.smtp is not None or config.channels.webhooks)
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._notifier is not None:
            self._notify_stop.set()
            # A message being sent finishes (its lease keeps others off it meanwhile).
            await asyncio.to_thread(self._notifier.join, 60)
            self._notifier = None
        self.state.dispose()

    def _notify_worker(self) -> None:
        from tocsin.notify import run_sender  # the notification stack loads only when used

        assert self.settings.config is not None and self.settings.notify_seconds
        while not self._notify_stop.is_set():
            try:
                report = run_sender(
                    self.settings.config,
                    self.settings.state_url,
                    self._notify_stop,
                    interval=self.settings.notify_seconds,
                )
                log.info("notification worker stopped: %s", report)
                return
            except Exception:  # a broken channel or database: log, wait, try again
                log.exception("notification delivery failed; retrying")
                self._notify_stop.wait(self.settings.notify_seconds)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.refresh_seconds)
            try:
                await asyncio.to_thread(self.reload)
            except Exception:  # the API keeps answering from the last good snapshot
                log.exception("could not reload decisions")

    async def _respond_loop(self, every: float) -> None:
        assert self.watcher is not None
        while True:
            try:
                outcome = await asyncio.to_thread(self.watcher.run_once)
                if outcome.created or outcome.extended or outcome.refused:
                    log.info("responded to alerts: %s", outcome.summary())
                    await asyncio.to_thread(self.reload)
            except Exception:
                log.exception("could not respond to new alerts")
            await asyncio.sleep(every)
