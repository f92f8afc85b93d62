"""`tocsin serve` delivers what scans queued: the notification worker runs beside the API."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.test_notify_support import campaign_config, http_server, spray_alert
from tocsin.api import ApiSettings, create_app
from tocsin.config import Config, WebhookChannel
from tocsin.notify import queue_notifications
from tocsin.notify.outbox import Outbox
from tocsin.store.state import StateStore

SECRET_ENV = "TOCSIN_TEST_SERVE_WEBHOOK_SECRET"  # noqa: S105 - a variable's name, not a secret


def _config(url: str) -> Config:
    base = campaign_config()
    channels = base.channels.model_copy(
        update={
            "smtp": None,
            "webhooks": [WebhookChannel(name="soc", url=url, secret_env=SECRET_ENV)],
        }
    )
    return base.model_copy(update={"channels": channels})


def test_serve_delivers_queued_notifications_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "serve-test-key")
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    with http_server(lambda hit: 204) as (base, hits):
        config = _config(f"{base}/hook")
        queue_notifications(config, [spray_alert()], state_url)
        settings = ApiSettings(
            state_url, config, data_dir=tmp_path, respond_seconds=None, notify_seconds=0.2
        )
        with TestClient(create_app(settings)) as client:
            assert client.get("/health").status_code == 200  # the API answers meanwhile
            deadline = time.monotonic() + 20
            while not hits and time.monotonic() < deadline:
                time.sleep(0.1)
        # Leaving the client stopped the worker: nothing more arrives.
        delivered = len(hits)
        time.sleep(0.5)
        assert len(hits) == delivered
    assert hits, "the serve loop delivered the webhook digest"
    body = json.loads(hits[0].body)
    assert body["type"] == "tocsin.notification" and body["kind"] == "digest"
    rows = Outbox(StateStore(state_url), config.notify).rows()
    assert {r.state for r in rows if r.channel == "webhook"} == {"sent"}


def test_serve_without_a_channel_starts_no_worker(tmp_path: Path) -> None:
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    config = campaign_config()
    config = config.model_copy(
        update={"channels": config.channels.model_copy(update={"smtp": None, "webhooks": []})}
    )
    app = create_app(ApiSettings(state_url, config, respond_seconds=None))
    with TestClient(app):
        runtime = app.state.runtime
        assert not runtime.delivers_notifications and runtime._notifier is None
