"""The outbox: queued once, claimed under a lease, retried with backoff, dead-lettered,
rate-limited, audited — driven by an injected clock and a fake channel, on SQLite and on a
real PostgreSQL (the ``state_url`` fixture runs each test on both)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.test_notify_support import campaign_config, spray_alert
from tocsin.config import NotifySettings
from tocsin.notify import models, queue_notifications
from tocsin.notify.channels import DeliveryError
from tocsin.notify.outbox import Message, Outbox, backoff
from tocsin.notify.planner import Notice, notice_key
from tocsin.notify.render import Rendered
from tocsin.notify.sender import Sender, SendReport
from tocsin.store.state import Base, StateStore

T0 = datetime(2020, 9, 10, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class FakeChannels:
    """Delivers into a list; ``fail`` maps a destination to the error it raises."""

    sent: list[Message] = field(default_factory=list)
    fail: dict[str, Exception] = field(default_factory=dict)

    def deliver(self, message: Message) -> str:
        error = self.fail.get(message.destination)
        if error is not None:
            raise error
        self.sent.append(message)
        return "ok"

    def end_batch(self) -> None:
        return


def _store(url: str) -> tuple[StateStore, str]:
    store = StateStore(url)
    store.migrate()
    return store, url


def _notice(destination: str, campaign: str = "c1", kind: str = "targeted") -> Notice:
    return Notice(
        key=notice_key("test", destination, campaign, kind), kind=kind,  # type: ignore[arg-type]
        language="en", channel="email", destination=destination,
        domain=destination.rpartition("@")[2], organisation="harper", person=destination,
        campaign=campaign, severity="high", alert_ids=("al-1",), context={},
    )  # fmt: skip


RENDERED = Rendered("subject", "text\n", "<p>html</p>\n", "en", "ltr")


def test_migration_0003_creates_exactly_the_model_tables(state_url: str) -> None:
    store, _ = _store(state_url)
    store.migrate()  # idempotent
    mine = {models.OutboxRow.__tablename__, models.AuditRow.__tablename__}
    with store.engine.connect() as con:
        diff = compare_metadata(MigrationContext.configure(con), Base.metadata)
    ours = [d for d in diff if mine & set(_names(d))]
    store.dispose()
    assert ours == []


def _names(item: object) -> list[str]:
    if isinstance(item, tuple | list):
        return [n for x in item for n in _names(x)]
    table = getattr(item, "table", None)
    return [str(getattr(x, "name", "")) for x in (item, table) if x is not None]


def test_queueing_is_idempotent_across_rescans_and_restarts(state_url: str) -> None:
    _, url = _store(state_url)
    config = campaign_config()
    first = queue_notifications(config, [spray_alert()], url)
    # 6 people (2 compromised to their personal address, 4 targeted at work),
    # a digest to the security contact and one to the webhook.
    assert (first["queued"], first["already_queued"]) == (8, 0)
    assert first["by_kind"] == {"compromised": 2, "targeted": 4, "digest": 2}
    again = queue_notifications(config, [spray_alert()], url)  # a re-scan, a new process
    assert (again["queued"], again["already_queued"]) == (0, 8)
    store = StateStore(url)
    assert Outbox(store).counts() == {"pending": 8}
    # The urgent message goes to the personal address (the attacker may read the mailbox).
    destinations = {r.destination for r in Outbox(store).rows() if r.kind == "compromised"}
    assert destinations == {"ahmad.k@mail.example", "sam.harper@mail.example"}


def test_a_new_compromise_escalates_once_and_targeted_never_follows(state_url: str) -> None:
    _, url = _store(state_url)
    config = campaign_config()
    queue_notifications(config, [spray_alert(compromised_users=[])], url)
    store = StateStore(url)
    assert {r.kind for r in Outbox(store).rows()} == {"targeted", "digest"}
    escalated = queue_notifications(config, [spray_alert()], url)
    # Ahmad and Sam now get the urgent message; the contacts a new digest (email + webhook).
    assert escalated["by_kind"] == {"compromised": 2, "digest": 2}
    assert escalated["already_queued"] == 4  # the others, still only targeted
    # Later alerts that only say "targeted" add nothing for someone already told "compromised".
    later = queue_notifications(config, [spray_alert(compromised_users=[])], url)
    assert later["queued"] == 0


def test_targeted_is_superseded_by_an_earlier_compromised(state_url: str) -> None:
    _, url = _store(state_url)
    config = campaign_config()
    queue_notifications(config, [spray_alert(users=["ahmad@harper.example"])], url)
    alert = spray_alert(users=["ahmad@harper.example"], compromised_users=[], id="al-other")
    summary = queue_notifications(config, [alert], url)
    assert summary["superseded"] == 1 and summary["by_kind"] == {}


def test_a_compromise_cancels_the_targeted_notice_not_yet_sent(state_url: str) -> None:
    """Told "targeted" and then, minutes later, "compromised" is two messages where one is
    right: the pending calm one is cancelled (audited), the urgent one goes."""
    store, url = _store(state_url)
    config = campaign_config()
    queue_notifications(config, [spray_alert(compromised_users=[])], url)
    queue_notifications(config, [spray_alert()], url)
    rows = Outbox(store).rows(limit=1000)
    ahmad = [r for r in rows if r.person == "ahmad@harper.example"]
    assert {(r.kind, r.state) for r in ahmad} == {
        ("targeted", "cancelled"),
        ("compromised", "pending"),
    }
    [cancelled] = [r for r in ahmad if r.state == "cancelled"]
    trail = Outbox(store).audit(cancelled.id)
    assert [a.event for a in trail] == ["queued", "cancelled"]
    assert "superseded" in (trail[-1].detail or "")
    store.dispose()


def test_a_targeted_notice_already_sent_stays_sent(state_url: str) -> None:
    store, _ = _store(state_url)
    outbox = Outbox(store, clock=Clock())
    outbox.add(_notice("p@harper.example", kind="targeted"), RENDERED, None)
    assert Sender(outbox, FakeChannels(), owner="s").run_once().sent == 1
    assert outbox.add(_notice("p@harper.example", kind="compromised"), RENDERED, None) == "queued"
    assert {(r.kind, r.state) for r in outbox.rows()} == {
        ("targeted", "sent"),
        ("compromised", "pending"),
    }


def test_queueing_never_breaks_the_pipeline(tmp_path: Path) -> None:
    assert queue_notifications(None, [spray_alert()], "sqlite://")["enabled"] is False
    disabled = campaign_config(enabled=False)
    assert queue_notifications(disabled, [spray_alert()], "sqlite://")["enabled"] is False
    broken = f"sqlite:///{tmp_path / 'missing' / 'dir' / 'state.db'}"
    summary = queue_notifications(campaign_config(), [spray_alert()], broken)
    assert "error" in summary and summary["queued"] == 0


def test_below_min_severity_is_skipped_but_a_compromise_never_is(state_url: str) -> None:
    _, url = _store(state_url)
    config = campaign_config(min_severity="critical")
    low = spray_alert(severity="medium", compromised_users=[])
    assert queue_notifications(config, [low], url)["queued"] == 0
    low_but_compromised = spray_alert(severity="medium")
    assert queue_notifications(config, [low_but_compromised], url)["queued"] == 8


def test_two_senders_never_claim_the_same_message_and_leases_expire(state_url: str) -> None:
    store, _ = _store(state_url)
    clock = Clock()
    outbox = Outbox(store, clock=clock)
    for n in range(5):
        outbox.add(_notice(f"p{n}@harper.example"), RENDERED, None)
    a = outbox.claim("a", 3, timedelta(minutes=5))
    b = outbox.claim("b", 10, timedelta(minutes=5))
    assert len(a) == 3 and len(b) == 2
    assert not {m.id for m in a} & {m.id for m in b}
    assert outbox.claim("c", 10, timedelta(minutes=5)) == []
    clock.advance(minutes=6)  # a and b died: their leases run out
    c = outbox.claim("c", 10, timedelta(minutes=5))
    assert len(c) == 5 and all(m.attempts == 2 for m in c)
    # A sender whose lease was taken over cannot mark the message sent.
    assert outbox.mark_sent(a[0], "a", "late") is False
    assert outbox.mark_sent(c[0], "c", "ok") is True


def test_concurrent_senders_share_the_work_without_overlap(state_url: str) -> None:
    store, _ = _store(state_url)
    outbox = Outbox(store)
    for n in range(60):
        outbox.add(_notice(f"p{n}@harper.example"), RENDERED, None)
    claimed: dict[str, list[int]] = {"a": [], "b": [], "c": []}

    def work(owner: str) -> None:
        mine = Outbox(StateStore(state_url))
        while batch := mine.claim(owner, 7, timedelta(minutes=5)):
            claimed[owner] += [m.id for m in batch]
            for m in batch:
                mine.mark_sent(m, owner, "ok")
        mine.store.dispose()

    threads = [threading.Thread(target=work, args=(o,)) for o in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    every = [i for ids in claimed.values() for i in ids]
    assert sorted(every) == sorted(set(every)) and len(every) == 60
    assert outbox.counts() == {"sent": 60}
    store.dispose()


def test_a_batch_that_outlives_its_lease_does_not_send_what_another_took(state_url: str) -> None:
    store, _ = _store(state_url)
    clock = Clock()
    outbox = Outbox(store, clock=clock)
    for n in range(3):
        outbox.add(_notice(f"p{n}@harper.example"), RENDERED, None)
    channels = FakeChannels()
    slow = Sender(outbox, channels, owner="slow", lease=timedelta(minutes=5))
    batch = outbox.claim("slow", 10, timedelta(minutes=5))
    report = SendReport()
    slow._one(batch[0], report)  # sent in time
    clock.advance(minutes=6)  # the first send hung: the lease ran out
    taken = outbox.claim("fast", 10, timedelta(minutes=5))
    assert [m.id for m in taken] == [m.id for m in batch[1:]]
    for message in batch[1:]:
        slow._one(message, report)
    assert (report.sent, report.lease_lost) == (1, 2)
    assert [m.destination for m in channels.sent] == ["p0@harper.example"]


def test_backoff_is_exponential_capped_and_then_dead_letter(state_url: str) -> None:
    store, _ = _store(state_url)
    clock = Clock()
    outbox = Outbox(store, NotifySettings(max_attempts=4), clock=clock)
    outbox.add(_notice("p@down.example"), RENDERED, None)
    channels = FakeChannels(fail={"p@down.example": DeliveryError("SMTP unreachable")})
    sender = Sender(outbox, channels, owner="s")
    delays = []
    for _ in range(3):
        report = sender.run_once()
        assert report.retried == 1
        [row] = outbox.rows()
        assert row.state == "pending" and row.last_error == "SMTP unreachable"
        due = row.next_attempt_at.replace(tzinfo=UTC)
        delays.append((due - clock.now).total_seconds())
        assert sender.run_once().claimed == 0  # not due yet
        clock.now = due
    assert 48 <= delays[0] <= 72 and 96 <= delays[1] <= 144 and 192 <= delays[2] <= 288
    report = sender.run_once()  # the 4th attempt fails too: dead letter
    assert report.dead == 1
    [row] = outbox.rows()
    assert row.state == "dead" and row.attempts == 4
    events = [a.event for a in outbox.audit(row.key)]
    assert events == ["queued", "claimed", "retry", "claimed", "retry", "claimed", "retry",
                      "claimed", "dead"]  # fmt: skip
    assert backoff("k", 30) <= timedelta(hours=6) * 1.2
    # Fixed configuration: dead letters go back to the queue and are delivered.
    channels.fail.clear()
    assert outbox.requeue_dead() == 1
    assert sender.run_once().sent == 1
    assert outbox.counts() == {"sent": 1}


def test_a_rejected_recipient_is_dead_at_once_and_the_batch_goes_on(state_url: str) -> None:
    store, _ = _store(state_url)
    outbox = Outbox(store, clock=Clock())
    for who in ("a@harper.example", "gone@harper.example", "b@harper.example"):
        outbox.add(_notice(who), RENDERED, None)
    channels = FakeChannels(fail={"gone@harper.example": DeliveryError("550", permanent=True)})
    report = Sender(outbox, channels, owner="s").run_once()
    assert (report.sent, report.dead, report.retried) == (2, 1, 0)


def test_a_bug_in_a_channel_does_not_lose_the_message(state_url: str) -> None:
    store, _ = _store(state_url)
    outbox = Outbox(store, clock=Clock())
    outbox.add(_notice("a@harper.example"), RENDERED, None)
    channels = FakeChannels(fail={"a@harper.example": KeyError("oops")})
    report = Sender(outbox, channels, owner="s").run_once()
    assert report.retried == 1
    [row] = outbox.rows()
    assert row.state == "pending" and "internal error: KeyError" in (row.last_error or "")


def test_per_recipient_rate_limit_defers_without_spending_attempts(state_url: str) -> None:
    store, _ = _store(state_url)
    clock = Clock()
    outbox = Outbox(store, NotifySettings(max_per_recipient_per_hour=2), clock=clock)
    for campaign in ("c1", "c2", "c3"):
        outbox.add(_notice("busy@harper.example", campaign), RENDERED, None)
    channels = FakeChannels()
    sender = Sender(outbox, channels, owner="s")
    report = sender.run_once()
    assert (report.sent, report.deferred) == (2, 1)
    [waiting] = outbox.rows("pending")
    assert waiting.attempts == 0
    assert waiting.next_attempt_at.replace(tzinfo=UTC) == T0 + timedelta(hours=1)
    clock.advance(minutes=59)
    assert sender.run_once().claimed == 0
    clock.advance(minutes=1)
    assert sender.run_once().sent == 1
    assert len(channels.sent) == 3


def test_per_domain_rate_limit(state_url: str) -> None:
    store, _ = _store(state_url)
    clock = Clock()
    outbox = Outbox(store, NotifySettings(max_per_domain_per_minute=2), clock=clock)
    for n in range(3):
        outbox.add(_notice(f"p{n}@mail.example"), RENDERED, None)
    sender = Sender(outbox, FakeChannels(), owner="s")
    assert sender.run_once().deferred == 1
    clock.advance(seconds=61)
    assert sender.run_once().sent == 1


def test_dry_run_changes_nothing(state_url: str) -> None:
    store, _ = _store(state_url)
    outbox = Outbox(store, clock=Clock())
    outbox.add(_notice("a@harper.example"), RENDERED, None)
    channels = FakeChannels()
    report = Sender(outbox, channels, owner="s").run_once(dry_run=True)
    assert [m.destination for m in report.would_send] == ["a@harper.example"]
    assert channels.sent == [] and outbox.counts() == {"pending": 1}
    assert [a.event for a in outbox.audit(report.would_send[0].key)] == ["queued"]


@pytest.mark.parametrize("kind", ["targeted", "compromised"])
def test_audit_trail_of_a_delivery(state_url: str, kind: str) -> None:
    store, _ = _store(state_url)
    outbox = Outbox(store, clock=Clock())
    outbox.add(_notice("a@harper.example", kind=kind), RENDERED, None)
    Sender(outbox, FakeChannels(), owner="s").run_once()
    [row] = outbox.rows()
    trail = outbox.audit(row.id)
    assert [a.event for a in trail] == ["queued", "claimed", "sent"]
    assert trail[0].detail == f"{kind} in en to a@harper.example"
