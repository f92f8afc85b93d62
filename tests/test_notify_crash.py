"""Kill the sender with SIGKILL in the middle of a batch: nothing is lost, and at most one
message — the one in flight — is delivered twice (with the same Message-ID)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest

from tests.test_notify_support import SMTP_PASSWORD, SMTP_USER, smtp_server, spray_alert
from tocsin.config import LANGUAGES, load_config
from tocsin.notify import queue_notifications
from tocsin.notify.outbox import Outbox
from tocsin.store.state import StateStore

PEOPLE = 150
PASSWORD_ENV = "TOCSIN_CRASH_SMTP_PASSWORD"  # noqa: S105 - the name of a variable, not a secret
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def _write_config(path: Path, port: int) -> None:
    lines = [
        "[[organisations]]", 'id = "harper"', 'name = "Harper for Senate"',
        'tenants = ["t-harper"]', 'domains = ["harper.example"]',
        'languages = ["en"]', "security_contacts = []", "",
    ]  # fmt: skip
    for n in range(PEOPLE):
        lines += [
            "[[people]]", f'name = "Person {n}"', 'organisation = "harper"',
            f'accounts = ["p{n}@harper.example"]', f'language = "{LANGUAGES[n % 6]}"', "",
        ]  # fmt: skip
    lines += [
        "[channels.smtp]", 'host = "localhost"', f"port = {port}", 'security = "starttls"',
        f'username = "{SMTP_USER}"', f'password_env = "{PASSWORD_ENV}"',
        'sender = "tocsin <tocsin@harper.example>"', "",
        "[notify]", "max_per_domain_per_minute = 100000", "max_per_recipient_per_hour = 10",
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_sigkill_mid_batch_loses_nothing_and_repeats_at_most_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    config_path = tmp_path / "tocsin.toml"
    with smtp_server(tmp_path, security="starttls") as (sink, port, cert):
        _write_config(config_path, port)
        users = [f"p{n}@harper.example" for n in range(PEOPLE)]
        alert = spray_alert(users=users, compromised_users=[], campaign="cmp-crash")
        summary = queue_notifications(load_config(config_path), [alert], url)
        assert summary["queued"] == PEOPLE
        sink.delay = 0.01  # a realistic server: each message takes a moment
        env = {**os.environ, PASSWORD_ENV: SMTP_PASSWORD, "SSL_CERT_FILE": str(cert)}
        command = [sys.executable, "-m", "tocsin", "notify", "send", "--config", str(config_path),
                   "--state-url", url, "--batch", "25", "--lease", "2"]  # fmt: skip
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 90
        while sink.count() < 40 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        output = first.stdout.read().decode() if first.stdout else ""
        killed_at = sink.count()
        assert first.returncode == -signal.SIGKILL, output
        assert 40 <= killed_at < PEOPLE, "the sender must die in the middle of the work"
        time.sleep(2.5)  # the dead sender's lease runs out
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
        assert second.returncode == 0, second.stdout + second.stderr
    received = Counter(r for m in sink.messages for r in m.rcpt_tos)
    assert set(received) == set(users), "every notification delivered at least once"
    repeated = {who: n for who, n in received.items() if n > 1}
    assert len(repeated) <= 1 and all(n == 2 for n in repeated.values()), repeated
    for who in repeated:
        ids = {message_from_bytes(m.data)["Message-ID"] for m in sink.messages
               if who in m.rcpt_tos}  # fmt: skip
        assert len(ids) == 1, "a repeat carries the same Message-ID, so clients show it once"
    outbox = Outbox(StateStore(url))
    assert outbox.counts() == {"sent": PEOPLE}
    # The audit trail shows the takeover: some message was claimed twice.
    claims = Counter(a.outbox_id for row in outbox.rows(limit=PEOPLE) for a in outbox.audit(row.id)
                     if a.event == "claimed")  # fmt: skip
    assert max(claims.values()) == 2
