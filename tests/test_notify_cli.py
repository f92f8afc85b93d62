"""`tocsin notify`: preview, queue, send, status, retry — and clear errors for bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from tests.helpers import REPO
from tests.test_notify_support import free_port, spray_alert
from tocsin.cli import app
from tocsin.notify.outbox import Outbox
from tocsin.store.state import StateStore

EXAMPLE = REPO / "tocsin.example.toml"
runner = CliRunner()


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.output


def _config(tmp_path: Path, port: int) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('host = "smtp.harper2020.example"', 'host = "127.0.0.1"')
    text = text.replace("port = 587", f"port = {port}")
    text = text.replace('url = "https://hooks.harper2020.example/tocsin"',
                        f'url = "http://127.0.0.1:{port}/hook"')  # fmt: skip
    path = tmp_path / "tocsin.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _alerts(tmp_path: Path) -> Path:
    alert = spray_alert(
        tenant="4d6f8a2b-1c3e-4a5f-9b7d-2e8c0f1a3b5c",
        users=["chloe@harper2020.example", "max@harper2020.example"],
        compromised_users=[],
    )
    path = tmp_path / "alerts.jsonl"
    path.write_text(json.dumps(alert.to_dict()) + "\n", encoding="utf-8")
    return path


def test_preview_in_arabic_to_terminal_and_html(tmp_path: Path) -> None:
    html = tmp_path / "preview.html"
    code, out = _run("notify", "preview", "--config", EXAMPLE, "--person", "Chloe Martin",
                     "--kind", "compromised", "--lang", "ar", "--html", html)  # fmt: skip
    assert code == 0, out
    assert "عاجل" in out and "Chloe Martin" in out
    assert "To: chloe.martin@mail.example · compromised · ar (rtl)" in out
    assert '<html lang="ar" dir="rtl">' in html.read_text(encoding="utf-8")


def test_preview_defaults_to_the_persons_language_and_works_without_a_config() -> None:
    code, out = _run("notify", "preview", "--config", EXAMPLE, "--person",
                     "chloe@harper2020.example")  # fmt: skip
    assert code == 0 and "Avis de sécurité" in out and "· targeted · fr (ltr)" in out
    code, out = _run("notify", "preview", "--kind", "digest", "--lang", "ja")
    assert code == 0 and "セキュリティ概要" in out


def test_preview_dry_run_writes_nothing(tmp_path: Path) -> None:
    html = tmp_path / "p.html"
    code, out = _run("notify", "preview", "--html", html, "--dry-run")
    assert code == 0 and "would write" in out and not html.exists()


def test_preview_rejects_unknown_language_kind_and_person() -> None:
    code, out = _run("notify", "preview", "--lang", "de")
    assert code == 2 and "unknown --lang 'de'; available: ar, en, fr, id, ja, zh_Hans" in out
    code, out = _run("notify", "preview", "--kind", "urgent")
    assert code == 2 and "--kind must be one of targeted, compromised, digest" in out
    code, out = _run("notify", "preview", "--config", EXAMPLE, "--person", "nobody")
    assert code == 2 and "no person 'nobody'" in out


def test_a_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace('language = "fr"', 'language = "de"'))
    code, out = _run("notify", "send", "--config", bad, "--state-url", "sqlite://")
    assert code == 2 and "people[0].language" in out and "line 20" in out


def test_queue_send_status_retry(tmp_path: Path) -> None:
    config = _config(tmp_path, free_port())  # nothing listens there: SMTP unreachable
    alerts = _alerts(tmp_path)
    state = f"sqlite:///{tmp_path / 'state.db'}"
    code, out = _run("notify", "queue", "--config", config, "--alerts", alerts,
                     "--state-url", state, "--dry-run")  # fmt: skip
    assert code == 0 and "would queue: targeted (fr) → chloe@harper2020.example" in out
    assert Outbox(StateStore(state)).counts() == {}
    code, out = _run(
        "notify", "queue", "--config", config, "--alerts", alerts, "--state-url", state
    )
    assert code == 0 and "queued 3, already queued 0" in out  # Chloé, the contact, the webhook
    code, out = _run(
        "notify", "queue", "--config", config, "--alerts", alerts, "--state-url", state
    )
    assert code == 0 and "queued 0, already queued 3" in out
    code, out = _run("notify", "send", "--config", config, "--state-url", state, "--dry-run")
    assert code == 0 and "3 message(s) due; nothing sent" in out
    code, out = _run("notify", "send", "--config", config, "--state-url", state)
    assert code == 1, out
    assert "sent 0, retry later 3" in out
    # Says which environment variables are missing (and never what a secret is).
    assert "no password: the environment variable TOCSIN_SMTP_PASSWORD" in out
    assert "TOCSIN_WEBHOOK_SECRET is empty or missing; not sending unsigned" in out
    code, out = _run("notify", "status", "--state-url", state)
    assert code == 0 and "pending 3" in out
    later = datetime.now(UTC) + timedelta(hours=1)  # past the retry backoff
    outbox = Outbox(StateStore(state), clock=lambda: later)
    [claimed] = outbox.claim("x", 1, timedelta(minutes=1))
    outbox.mark_failed(claimed, "x", "gave up", permanent=True)
    code, out = _run("notify", "retry", "--state-url", state, "--dry-run")
    assert code == 0 and "would requeue 1 dead letter(s)" in out
    code, out = _run("notify", "retry", "--state-url", state)
    assert code == 0 and "requeued 1 dead letter(s)" in out
    assert outbox.counts() == {"pending": 3}
