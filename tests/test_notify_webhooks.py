"""Webhooks against a local HTTP server: signed generic JSON (HMAC-SHA256, timestamped
against replay), Slack Block Kit and Teams Adaptive Card payloads, and failure handling."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_notify_support import Hit, campaign_config, free_port, http_server, spray_alert
from tocsin.config import Config, WebhookChannel
from tocsin.notify import queue_notifications
from tocsin.notify.channels.webhooks import WebhookPoster, verify_signature
from tocsin.notify.outbox import Message, Outbox
from tocsin.notify.sender import ConfiguredChannels, Sender
from tocsin.store.state import StateStore

SECRET_ENV = "TOCSIN_TEST_WEBHOOK_SECRET"  # noqa: S105 - the name of a variable, not a secret
SECRET = "s3cret-signing-key"  # noqa: S105 - a throwaway key the test signs with


def _config(hooks: list[dict[str, Any]], language: str = "en") -> Config:
    base = campaign_config()
    org = base.organisations[0].model_copy(update={"languages": [language]})
    channels = base.channels.model_copy(
        update={"smtp": None, "webhooks": [WebhookChannel(**h) for h in hooks]}
    )
    return base.model_copy(update={"organisations": [org], "channels": channels})


def _deliver(tmp_path: Path, config: Config, **poster: Any) -> Outbox:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    queue_notifications(config, [spray_alert()], url)
    outbox = Outbox(StateStore(url), config.notify)
    hooks = WebhookPoster(
        config.channels.webhooks,
        {h.name: config.secret(h.secret_env) for h in config.channels.webhooks},
        **poster,
    )
    Sender(outbox, ConfiguredChannels(config, webhooks=hooks), owner="t").run_once()
    return outbox


def _webhook_rows(outbox: Outbox) -> dict[str, Any]:
    return {r.destination: r for r in outbox.rows() if r.channel == "webhook"}


def test_generic_webhook_is_signed_and_the_receiver_can_verify_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)

    def check(hit: Hit) -> int:
        ok = verify_signature(SECRET, hit.body, hit.headers.get("x-tocsin-signature", ""))
        return 204 if ok else 401

    with http_server(check) as (base, hits):
        hook = {"name": "soc", "url": f"{base}/hook", "secret_env": SECRET_ENV}
        outbox = _deliver(tmp_path, _config([hook]))
    [hit] = hits
    assert _webhook_rows(outbox)["soc"].state == "sent"
    body = json.loads(hit.body)
    row = _webhook_rows(outbox)["soc"]
    assert hit.headers["x-tocsin-delivery"] == row.key == body["delivery"]
    assert hit.headers["content-type"] == "application/json"
    assert (body["type"], body["kind"], body["campaign"]) == (
        "tocsin.notification", "digest", "cmp-2020-09"
    )  # fmt: skip
    data = body["data"]
    assert {p["name"] for p in data["people"] if p["compromised"]} == {"Ahmad Karimi", "Sam Harper"}
    assert data["src_ips"] and data["actor"]["name"] == "STRONTIUM"
    assert data["decisions"] == [
        {"action": "ban", "scope": "ip", "duration": "7d", "enforced": False}
    ]
    # A replay later, or a changed body, does not verify.
    header = hit.headers["x-tocsin-signature"]
    timestamp = int(hit.headers["x-tocsin-timestamp"])
    assert verify_signature(SECRET, hit.body, header, now=timestamp + 299)
    assert not verify_signature(SECRET, hit.body, header, now=timestamp + 301)
    assert not verify_signature(SECRET, hit.body + b" ", header, now=timestamp)
    assert not verify_signature("other-key", hit.body, header, now=timestamp)
    assert not verify_signature(SECRET, hit.body, "garbage", now=timestamp)


def test_signature_with_an_injected_transport_and_clock() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    hook = WebhookChannel(name="soc", url="https://soc.example/in", secret_env=SECRET_ENV)
    poster = WebhookPoster([hook], {"soc": SECRET}, transport=httpx.MockTransport(handler),
                           clock=lambda: 1_600_000_000.0)  # fmt: skip
    message = Message(
        id=1, key="k" * 64, kind="digest", language="en", channel="webhook", destination="soc",
        domain="soc.example", organisation="harper", campaign="c", severity="high",
        subject="s", body_text="t", body_html=None, payload={}, attempts=1,
        created_at=datetime(2020, 9, 10, tzinfo=UTC),
    )  # fmt: skip
    assert poster.send(message) == "webhook 'soc': HTTP 200"
    [request] = seen
    assert request.headers["x-tocsin-timestamp"] == "1600000000"
    assert request.headers["x-tocsin-signature"].startswith("t=1600000000,v1=")
    assert verify_signature(SECRET, request.content, request.headers["x-tocsin-signature"],
                            now=1_600_000_100)  # fmt: skip


def test_slack_and_teams_formats(tmp_path: Path) -> None:
    with http_server(lambda hit: 200) as (base, hits):
        hooks = [
            {"name": "slack", "url": f"{base}/slack", "kind": "slack"},
            {"name": "teams", "url": f"{base}/teams", "kind": "teams"},
        ]
        outbox = _deliver(tmp_path, _config(hooks, language="ar"))
    assert {r.state for r in _webhook_rows(outbox).values()} == {"sent"}
    by_path = {h.path: json.loads(h.body) for h in hits}
    slack = by_path["/slack"]
    assert slack["text"].startswith("إجراء مطلوب")
    assert slack["blocks"][0]["type"] == "header"
    sections = slack["blocks"][1:]
    assert sections and all(b["type"] == "section" and b["text"]["type"] == "mrkdwn"
                            and b["text"]["verbatim"] for b in sections)  # fmt: skip
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert "185.220.101.4" in "".join(b["text"]["text"] for b in sections)
    teams = by_path["/teams"]
    assert teams["type"] == "message"
    [attachment] = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["rtl"] is True
    assert card["body"][0]["inlines"][0]["text"].startswith("إجراء مطلوب")
    assert all(block["type"] == "RichTextBlock" for block in card["body"])
    # Slack and Teams URLs are secrets: they are in no error and no audit entry.
    for row in outbox.rows():
        assert base not in (row.last_error or "")


def test_attacker_chosen_text_cannot_become_a_link_or_a_mention(tmp_path: Path) -> None:
    """Account names in the logs are the attacker's to choose; the digest lists the ones that
    match no one. In Slack and Teams they stay text: no link, no @channel."""
    evil = "[sign-in](https://evil.example/login)<!channel><https://evil.example|x>"
    alert = spray_alert(users=[*spray_alert().users, evil])
    with http_server(lambda hit: 200) as (base, hits):
        hooks = [
            {"name": "slack", "url": f"{base}/slack", "kind": "slack"},
            {"name": "teams", "url": f"{base}/teams", "kind": "teams"},
        ]
        config = _config(hooks)
        url = f"sqlite:///{tmp_path / 'state.db'}"
        queue_notifications(config, [alert], url)
        outbox = Outbox(StateStore(url), config.notify)
        Sender(outbox, ConfiguredChannels(config), owner="t").run_once()
    by_path = {h.path: json.loads(h.body) for h in hits}
    slack_text = "".join(b["text"]["text"] for b in by_path["/slack"]["blocks"][1:])
    assert "&lt;!channel&gt;" in slack_text and "<!channel>" not in slack_text
    assert "<https://" not in slack_text
    assert all(b["text"].get("verbatim") for b in by_path["/slack"]["blocks"][1:])
    card = by_path["/teams"]["attachments"][0]["content"]
    kinds = {b["type"] for b in card["body"]} | {
        i["type"] for b in card["body"] for i in b["inlines"]
    }
    assert kinds == {"RichTextBlock", "TextRun"}  # TextRuns are never read as Markdown
    assert any("[sign-in](https://evil.example/login)" in i["text"]
               for b in card["body"] for i in b["inlines"])  # fmt: skip


@pytest.mark.parametrize(
    ("status", "state"),
    [(500, "pending"), (503, "pending"), (429, "pending"), (404, "dead"), (400, "dead"),
     (302, "dead")],
)  # fmt: skip
def test_http_failures_retry_or_dead_letter(tmp_path: Path, status: int, state: str) -> None:
    with http_server(lambda hit: status) as (base, _):
        outbox = _deliver(tmp_path, _config([{"name": "soc", "url": f"{base}/x"}]))
    row = _webhook_rows(outbox)["soc"]
    assert row.state == state
    assert row.last_error == f"webhook 'soc' answered HTTP {status}"


def test_unreachable_and_bad_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = [
        {"name": "down", "url": f"http://127.0.0.1:{free_port()}/x"},
        {"name": "bad", "url": "http://exa mple.example/x"},
        {"name": "unsigned", "url": "http://127.0.0.1:9/x", "secret_env": SECRET_ENV},
    ]
    monkeypatch.delenv(SECRET_ENV, raising=False)
    rows = _webhook_rows(_deliver(tmp_path, _config(hooks)))
    assert rows["down"].state == "pending"
    assert rows["down"].last_error == "webhook 'down' unreachable: ConnectError"
    assert rows["bad"].state == "dead" and "bad URL" in (rows["bad"].last_error or "")
    assert rows["unsigned"].state == "pending"
    assert "TOCSIN_TEST_WEBHOOK_SECRET is empty or missing; not sending unsigned" in (
        rows["unsigned"].last_error or ""
    )
