"""Mail through a real SMTP server (aiosmtpd) started here: STARTTLS and implicit TLS with
AUTH, well-formed multipart text + HTML; failures retried or dead-lettered with clear errors."""

from __future__ import annotations

import ssl
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.test_notify_support import (
    SMTP_PASSWORD,
    SMTP_USER,
    campaign_config,
    free_port,
    smtp_server,
    spray_alert,
)
from tocsin.config import Config, SmtpChannel
from tocsin.notify import queue_notifications
from tocsin.notify.channels.smtp import SmtpMailer
from tocsin.notify.outbox import Outbox
from tocsin.notify.sender import ConfiguredChannels, Sender
from tocsin.store.state import StateStore

PASSWORD_ENV = "TOCSIN_TEST_SMTP_PASSWORD"  # noqa: S105 - the name of a variable, not a secret
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def _config(port: int, security: str, **smtp: Any) -> Config:
    base = campaign_config(max_per_domain_per_minute=1000)
    channel = SmtpChannel(
        host="127.0.0.1", port=port, security=security,  # type: ignore[arg-type]
        username=SMTP_USER, password_env=PASSWORD_ENV,
        sender="tocsin <tocsin@harper.example>", timeout_seconds=10, **smtp,
    )  # fmt: skip
    channels = base.channels.model_copy(update={"smtp": channel, "webhooks": []})
    return base.model_copy(update={"channels": channels})


def _deliver(
    tmp_path: Path, config: Config, cafile: Path | None, *, alert: Any = None
) -> tuple[Outbox, Any]:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    queue_notifications(config, [alert or spray_alert()], url)
    outbox = Outbox(StateStore(url), config.notify)
    assert config.channels.smtp is not None
    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    mailer = SmtpMailer(config.channels.smtp, config.secret(PASSWORD_ENV), ssl_context=context)
    report = Sender(outbox, ConfiguredChannels(config, mailer=mailer), owner="t").run_once()
    return outbox, report


def _parse(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_is_delivered_over_tls_with_auth(
    tmp_path: Path, security: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
    with smtp_server(tmp_path, security=security) as (sink, port, cert):
        outbox, report = _deliver(tmp_path, _config(port, security), cert)
    assert (report.sent, report.retried, report.dead) == (7, 0, 0)
    assert outbox.counts() == {"sent": 7}
    rows = {r.destination: r for r in outbox.rows()}
    assert sorted(r for m in sink.messages for r in m.rcpt_tos) == sorted(rows)
    for received in sink.messages:
        assert received.mail_from == "tocsin@harper.example"
        mail = _parse(received.data)
        [to] = received.rcpt_tos
        row = rows[to]
        assert mail["To"] == to
        assert mail["Subject"] == row.subject
        assert mail["Message-ID"].startswith(f"<tocsin.{row.key[:40]}@harper.example>")
        assert mail["Content-Language"] == row.language.replace("_", "-")
        assert mail["Auto-Submitted"] == "auto-generated"
        assert mail.get_content_type() == "multipart/alternative"
        text, html = list(mail.iter_parts())
        assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
        assert text.get_content_charset() == html.get_content_charset() == "utf-8"
        assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
        assert text.get_content().replace("\r\n", "\n") == row.body_text
        body = html.get_content().replace("\r\n", "\n")
        assert body == row.body_html
        assert "<img" not in body and "http" not in body and "style=" in body
        if row.language == "ar":
            assert 'dir="rtl"' in body
        if row.kind == "compromised":
            assert mail["Importance"] == "high"


def test_wrong_password_is_retried_with_a_clear_error_and_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wrong-secret-value")
    with smtp_server(tmp_path) as (sink, port, cert):
        outbox, report = _deliver(tmp_path, _config(port, "starttls"), cert)
    assert sink.messages == [] and report.sent == 0 and report.retried == 7
    for row in outbox.rows():
        assert row.state == "pending"
        assert "authentication failed for 'tocsin'" in (row.last_error or "")
        assert "wrong-secret-value" not in (row.last_error or "")
        for entry in outbox.audit(row.id):
            assert "wrong-secret-value" not in (entry.detail or "")


def test_unreachable_server_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
    outbox, report = _deliver(tmp_path, _config(free_port(), "starttls"), None)
    assert report.retried == 7 and report.sent == 0
    [error] = {r.last_error for r in outbox.rows()}
    assert error is not None and "unreachable" in error and "127.0.0.1" in error


def test_untrusted_certificate_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
    with smtp_server(tmp_path) as (sink, port, _):
        outbox, report = _deliver(tmp_path, _config(port, "starttls"), None)
    assert sink.messages == [] and report.retried == 7
    assert all("TLS failed" in (r.last_error or "") for r in outbox.rows())


def test_a_rejected_recipient_is_a_dead_letter_the_rest_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
    config = _config(2525, "starttls")
    org = config.organisations[0].model_copy(
        update={"security_contacts": ["soc@rejected.example", "security@harper.example"]}
    )
    config = config.model_copy(update={"organisations": [org]})
    with smtp_server(tmp_path) as (_sink, port, cert):
        smtp = config.channels.smtp
        assert smtp is not None
        channels = config.channels.model_copy(
            update={"smtp": smtp.model_copy(update={"port": port})}
        )
        config = config.model_copy(update={"channels": channels})
        outbox, report = _deliver(tmp_path, config, cert)
    assert (report.sent, report.dead) == (7, 1)
    [dead] = outbox.rows("dead")
    assert dead.destination == "soc@rejected.example"
    assert "550" in (dead.last_error or "") and "refused the recipient" in (dead.last_error or "")


def test_password_is_never_sent_in_clear_or_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, SMTP_PASSWORD)
    with smtp_server(tmp_path, security="none") as (sink, port, _):
        outbox, report = _deliver(tmp_path, _config(port, "none"), None)
    assert sink.messages == [] and report.retried == 7
    assert all("refusing to send the password without TLS" in (r.last_error or "")
               for r in outbox.rows())  # fmt: skip
    monkeypatch.delenv(PASSWORD_ENV)
    outbox, report = _deliver(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path,
                              _config(port, "starttls"), None)  # fmt: skip
    assert all(PASSWORD_ENV in (r.last_error or "") for r in outbox.rows())
