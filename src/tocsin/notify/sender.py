"""The sender: claim a batch from the outbox, deliver each message, record the result.

One message at a time, its lease renewed just before and the message marked sent as soon
as the channel accepted it, so a crash (even SIGKILL) can repeat at most the one message in
flight, and a batch slower than its lease never sends what another sender has taken over.
Rate limits are checked before each send and defer the message without counting an attempt.
A failing channel never stops the batch: each message is retried with backoff, and
dead-lettered when it cannot succeed.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from tocsin.config import Config
from tocsin.notify.channels import DeliveryError
from tocsin.notify.channels.smtp import SmtpMailer, build_email
from tocsin.notify.channels.webhooks import WebhookPoster
from tocsin.notify.outbox import Message, Outbox, utc_now

log = logging.getLogger("tocsin.notify")


class Deliverer(Protocol):
    def deliver(self, message: Message) -> str: ...

    def end_batch(self) -> None:
        """Close what a batch opened (the SMTP connection)."""


class ConfiguredChannels:
    """Delivers through the channels ``tocsin.toml`` configures (secrets from the env)."""

    def __init__(
        self,
        config: Config,
        *,
        mailer: SmtpMailer | None = None,
        webhooks: WebhookPoster | None = None,
    ) -> None:
        self.config = config
        smtp = config.channels.smtp
        self.mailer = mailer or (
            SmtpMailer(smtp, config.secret(smtp.password_env)) if smtp else None
        )
        self.webhooks = webhooks or WebhookPoster(
            config.channels.webhooks,
            {h.name: config.secret(h.secret_env) for h in config.channels.webhooks},
        )

    def deliver(self, message: Message) -> str:
        if message.channel == "email":
            if self.mailer is None:
                raise DeliveryError("no [channels.smtp] in the configuration: cannot send mail")
            mail = build_email(message, self.mailer.channel.sender, utc_now())
            return self.mailer.send(mail, message.destination)
        if message.channel == "webhook":
            return self.webhooks.send(message)
        raise DeliveryError(f"unknown channel {message.channel!r}", permanent=True)

    def end_batch(self) -> None:
        if self.mailer is not None:
            self.mailer.close()


@dataclass(slots=True)
class SendReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0
    lease_lost: int = 0
    would_send: list[Message] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, other: SendReport) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.deferred += other.deferred
        self.lease_lost += other.lease_lost
        self.would_send.extend(other.would_send)
        self.errors.update(other.errors)


class Sender:
    def __init__(
        self,
        outbox: Outbox,
        channels: Deliverer,
        *,
        batch: int = 50,
        lease: timedelta = timedelta(minutes=5),
        owner: str | None = None,
        on_result: Callable[[Message, str, str], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.channels = channels
        self.batch = batch
        self.lease = lease
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.on_result = on_result

    def run_once(self, *, dry_run: bool = False) -> SendReport:
        """One batch. With ``dry_run``, only list what is due (nothing claimed or sent)."""
        report = SendReport()
        if dry_run:
            report.would_send = self.outbox.due(self.batch)
            return report
        messages = self.outbox.claim(self.owner, self.batch, self.lease)
        report.claimed = len(messages)
        try:
            for message in messages:
                self._one(message, report)
        finally:
            self.channels.end_batch()
        return report

    def run(
        self,
        *,
        stop: threading.Event | None = None,
        interval: float = 30.0,
        until_empty: bool = False,
        max_batches: int | None = None,
    ) -> SendReport:
        """Batches until ``stop`` is set (the serve loop), or until nothing is due."""
        total = SendReport()
        stop = stop or threading.Event()
        batches = 0
        while not stop.is_set():
            report = self.run_once()
            total.add(report)
            batches += 1
            if max_batches is not None and batches >= max_batches:
                break
            if report.claimed == 0:
                if until_empty:
                    break
                stop.wait(interval)
        return total

    def _one(self, message: Message, report: SendReport) -> None:
        # A slow batch can outlive its lease; another sender may have taken this message.
        if not self.outbox.renew(message, self.owner, self.lease):
            report.lease_lost += 1
            self._tell(message, "skipped", "lease lost: another sender has it")
            return
        until = self.outbox.rate_limited_until(message)
        if until is not None:
            self.outbox.defer(message, self.owner, until, "rate limit")
            report.deferred += 1
            self._tell(message, "deferred", f"rate limit until {until.isoformat()}")
            return
        try:
            detail = self.channels.deliver(message)
        except DeliveryError as exc:
            state = self.outbox.mark_failed(message, self.owner, str(exc), permanent=exc.permanent)
            if state == "dead":
                report.dead += 1
            else:
                report.retried += 1
            report.errors[str(exc)] += 1
            log.warning(
                "notification %s to %s: %s (%s)", message.id, message.destination, exc, state
            )
            self._tell(message, state, str(exc))
            return
        except Exception as exc:  # a bug must not lose the message: retry it, report it
            error = f"internal error: {type(exc).__name__}: {exc}"
            state = self.outbox.mark_failed(message, self.owner, error, permanent=False)
            report.retried += state != "dead"
            report.dead += state == "dead"
            report.errors[error] += 1
            log.exception("notification %s failed", message.id)
            self._tell(message, state, error)
            return
        if self.outbox.mark_sent(message, self.owner, detail):
            report.sent += 1
        else:
            report.lease_lost += 1
        self._tell(message, "sent", detail)

    def _tell(self, message: Message, state: str, detail: str) -> None:
        if self.on_result is not None:
            self.on_result(message, state, detail)
