"""docs/notify.md kept true: its tocsin.toml is valid, every setting and verb is in it, and the
webhook example has the fields tocsin sends."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime

from tests.helpers import REPO
from tocsin.cli.notify import app
from tocsin.config import Config, NotifySettings, SmtpChannel, WebhookChannel
from tocsin.notify.channels.webhooks import generic_payload
from tocsin.notify.outbox import Message

NOTIFY_MD = (REPO / "docs" / "notify.md").read_text()


def _block(language: str, containing: str) -> str:
    for block in re.findall(rf"```{language}\n(.*?)```", NOTIFY_MD, re.S):
        if containing in block:
            return str(block)
    raise AssertionError(f"no ```{language} block with {containing!r}")


def test_the_configuration_example_is_valid_and_complete() -> None:
    config = Config.model_validate(tomllib.loads(_block("toml", "[notify]")))
    assert config.people[0].language == "fr"
    for model in (NotifySettings, SmtpChannel, WebhookChannel):
        missing = [key for key in model.model_fields if f"\n{key} = " not in NOTIFY_MD]
        assert missing == [], (model.__name__, missing)


def test_every_cli_verb_is_documented() -> None:
    cli = _block("sh", "tocsin notify send")
    verbs = [c.name for c in app.registered_commands]
    assert verbs and [v for v in verbs if f"tocsin notify {v}" not in cli] == []


def test_the_generic_webhook_example_has_the_fields_sent() -> None:
    message = Message(
        id=1, key="k", kind="digest", language="en", channel="webhook", destination="soc",
        domain="soc.example", organisation="harper", campaign="c", severity="high",
        subject="s", body_text="t", body_html=None, payload={}, attempts=1,
        created_at=datetime(2020, 9, 10, tzinfo=UTC),
    )  # fmt: skip
    example = _block("json", '"tocsin.notification"')
    documented = set(re.findall(r'"([a-z_]+)":', example))
    assert set(generic_payload(message)) <= documented
    # The data part: the fields queue.webhook_data writes.
    for field in ("src_ip_count", "told_directly", "other_accounts", "enforced", "alert_ids"):
        assert f'"{field}"' in example
