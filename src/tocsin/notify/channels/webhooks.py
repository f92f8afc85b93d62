"""Webhooks: generic signed JSON, Slack and Microsoft Teams incoming webhooks.

Generic webhooks are signed: ``X-Tocsin-Signature: t=<unix time>,v1=<hex>`` where ``hex`` is
HMAC-SHA256 over ``"<t>." + body`` with the key from the configured environment variable.
A receiver recomputes it, compares in constant time and rejects a timestamp more than five
minutes away from its clock (``verify_signature``): a captured request cannot be replayed
later, and ``X-Tocsin-Delivery`` (the idempotency key) lets it drop a repeat.

Slack and Teams URLs carry their own secret token: they are never logged or put in an error.
Redirects are not followed (a signed body must not be forwarded elsewhere).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson

from tocsin.config import WebhookChannel
from tocsin.notify.channels import DeliveryError
from tocsin.notify.i18n import Localiser
from tocsin.notify.outbox import Message

SIGNATURE_HEADER = "X-Tocsin-Signature"
TOLERANCE_SECONDS = 300
_SLACK_TEXT_LIMIT = 2900
_RETRY_STATUSES = {408, 425, 429}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` and its time is within ``tolerance``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def generic_payload(message: Message) -> dict[str, Any]:
    return {
        "type": "tocsin.notification",
        "version": 1,
        "delivery": message.key,
        "kind": message.kind,
        "organisation": message.organisation,
        "campaign": message.campaign,
        "severity": message.severity,
        "language": message.language,
        "queued_at": message.created_at.isoformat(),
        "subject": message.subject,
        "text": message.body_text,
        "data": message.payload or {},
    }


def slack_payload(message: Message) -> dict[str, Any]:
    """Block Kit: a header and the text in sections (Slack caps a section at 3,000 chars).

    The text carries values from the logs an attacker chose (account names): ``&<>`` are
    escaped, so no ``<url|link>`` or ``<!channel>`` can be written, and ``verbatim`` stops
    Slack turning a bare URL or a channel name into a link.
    """
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150]}}
    ]
    for chunk in _chunks(_slack_escape(message.body_text), _SLACK_TEXT_LIMIT)[:45]:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": chunk, "verbatim": True}}
        )
    return {"text": _slack_escape(message.subject), "blocks": blocks}


def teams_payload(message: Message) -> dict[str, Any]:
    """An Adaptive Card in a message, the format Teams' incoming webhooks (Workflows) take.

    Every paragraph is a RichTextBlock of plain TextRuns: unlike a TextBlock, a TextRun is
    not read as Markdown, so an account name like ``[Sign in](https://…)`` stays text.
    """

    def paragraph(text: str, **run: Any) -> dict[str, Any]:
        return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **run}]}

    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            paragraph(message.subject, weight="Bolder", size="Medium"),
            *(paragraph(p) for p in message.body_text.split("\n\n") if p.strip()),
        ],
        "msteams": {"width": "Full"},
    }
    if Localiser(message.language).direction == "rtl":
        card["rtl"] = True
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


class WebhookPoster:
    def __init__(
        self,
        hooks: list[WebhookChannel],
        secrets: Mapping[str, str | None],
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self.hooks = {h.name: h for h in hooks}
        self.secrets = secrets
        self.clock = clock
        self.client = httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)

    def send(self, message: Message) -> str:
        hook = self.hooks.get(message.destination)
        if hook is None:
            raise DeliveryError(f"no webhook named {message.destination!r} in the configuration")
        if not _usable_url(hook.url):
            raise DeliveryError(f"webhook {hook.name!r}: bad URL", permanent=True)
        headers = {"Content-Type": "application/json", "User-Agent": "tocsin"}
        if hook.kind == "slack":
            body = orjson.dumps(slack_payload(message))
        elif hook.kind == "teams":
            body = orjson.dumps(teams_payload(message))
        else:
            body = orjson.dumps(generic_payload(message))
            headers["X-Tocsin-Delivery"] = message.key
            if hook.secret_env:
                secret = self.secrets.get(hook.name)
                if not secret:
                    raise DeliveryError(
                        f"webhook {hook.name!r}: the environment variable {hook.secret_env} "
                        "is empty or missing; not sending unsigned"
                    )
                timestamp = int(self.clock())
                headers["X-Tocsin-Timestamp"] = str(timestamp)
                headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        try:
            response = self.client.post(hook.url, content=body, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise DeliveryError(
                f"webhook {hook.name!r}: bad URL ({type(exc).__name__})", permanent=True
            ) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"webhook {hook.name!r} unreachable: {type(exc).__name__}"
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return f"webhook {hook.name!r}: HTTP {status}"
        retry = status in _RETRY_STATUSES or status >= 500
        raise DeliveryError(f"webhook {hook.name!r} answered HTTP {status}", permanent=not retry)

    def close(self) -> None:
        self.client.close()


def _usable_url(url: str) -> bool:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return False
    host = parsed.host
    bad = "%" in host or any(c.isspace() for c in host)  # "exa mple" arrives as "exa%20mple"
    return parsed.scheme in ("http", "https") and bool(host) and not bad


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _chunks(text: str, size: int) -> list[str]:
    out: list[str] = []
    current = ""
    for para in text.split("\n\n"):
        piece = para if not current else "\n\n" + para
        if len(current) + len(piece) > size and current:
            out.append(current)
            current = para
        else:
            current += piece
        while len(current) > size:
            out.append(current[:size])
            current = current[size:]
    if current:
        out.append(current)
    return out
