"""Decisions in the state database, on SQLite and on a real PostgreSQL: checked before they
exist, the allowlist always wins, expiry by the clock, every change and refusal audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tocsin.config import Config
from tocsin.respond import DecisionStore, Proposal
from tocsin.respond.bouncers import Bouncers
from tocsin.store.state import Base, StateStore

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _config(**response: object) -> Config:
    return Config.model_validate(
        {
            "organisations": [
                {
                    "id": "camp",
                    "name": "Campaign",
                    "egress": ["203.0.113.10/32"],
                    "mobile_ranges": ["172.58.0.0/16"],
                    "monitoring": ["198.51.100.7"],
                }
            ],
            "response": {"allowlist": ["192.0.2.128/25"], **response},
        }
    )


def _p(scope: str = "ip", value: str = "185.220.101.7", **kw: object) -> Proposal:
    base: dict[str, object] = {
        "scope": scope, "value": value, "action": "ban", "seconds": 3600, "origin": "manual",
        "scenario": "tocsin/manual", "reason": "test", "simulated": False, "created_by": "test",
    }  # fmt: skip
    base.update(kw)
    return Proposal(**base)  # type: ignore[arg-type]


@pytest.fixture
def store(state_url: str) -> Iterator[tuple[DecisionStore, Clock]]:
    state = StateStore(state_url)
    state.migrate()
    clock = Clock()
    yield DecisionStore(state, _config(), clock), clock
    state.dispose()


def test_migration_creates_exactly_the_model(state_url: str) -> None:
    state = StateStore(state_url)
    state.migrate()
    state.migrate()  # idempotent
    mine = {"decisions", "decision_audit", "bouncers"}
    with state.engine.connect() as con:
        diff = compare_metadata(MigrationContext.configure(con), Base.metadata)
    ours = [d for d in diff if any(getattr(x, "name", None) in mine for x in _flat(d))]
    state.dispose()
    assert ours == []


def _flat(item: object) -> list[object]:
    if isinstance(item, tuple | list):
        return [y for x in item for y in _flat(x)]
    table = getattr(item, "table", None)
    return [item, table] if table is not None else [item]


def test_create_audit_and_expire(store: tuple[DecisionStore, Clock]) -> None:
    s, clock = store
    out = s.apply([_p(), _p("range", "45.153.160.0/24", action="captcha", seconds=60)])
    assert [d.scope for d in out.created] == ["ip", "range"]
    ban, captcha = out.created
    assert ban.until == T0 + timedelta(hours=1) and not ban.simulated
    assert [d.id for d in s.query()] == [ban.id, captcha.id]
    clock.now = T0 + timedelta(seconds=61)  # the captcha ran out; expired decisions stop
    assert [d.id for d in s.query()] == [ban.id]
    assert s.sweep_expired() == 1 and s.sweep_expired() == 0
    events = [(a["event"], a["decision_id"]) for a in s.audit()]
    assert events == [("created", ban.id), ("created", captcha.id), ("expired", captcha.id)]
    assert s.get(captcha.id) is not None and s.get(captcha.id).status(clock.now) == "expired"  # type: ignore[union-attr]


def test_delete_stops_at_once_and_is_audited(store: tuple[DecisionStore, Clock]) -> None:
    s, clock = store
    (d,) = s.apply([_p()]).created
    clock.now = T0 + timedelta(minutes=5)
    done = s.delete([d.id], actor="cli:alice", reason="false positive")
    assert [x.id for x in done] == [d.id] and done[0].ends_at == clock.now
    assert s.query() == [] and s.delete([d.id], actor="x", reason="again") == []
    trail = s.audit(d.id)
    assert [a["event"] for a in trail] == ["created", "deleted"]
    assert trail[1]["actor"] == "cli:alice" and trail[1]["detail"]["reason"] == "false positive"


@pytest.mark.parametrize(
    ("scope", "value", "why"),
    [
        ("range", "0.0.0.0/0", "every address"),
        ("range", "::/0", "every address"),
        ("range", "10.0.0.0/8", "wider than the configured maximum /16"),
        ("range", "2400::/16", "wider than the configured maximum /32"),
        ("range", "185.220.101.7/24", "CIDR form"),  # host bits set: say what you mean
        ("ip", "999.1.1.1", "not an IP address"),
        ("ip", "185.220.101.7; DROP TABLE decisions", "not an IP address"),
        ("ip", "127.0.0.1", "loopback"),
        ("ip", "0.0.0.0", "unspecified"),  # noqa: S104 - a value, not a bind address
        ("user_agent", "Mozilla/5.0\r\nX-Injected: 1", "control"),
        ("user_agent", "curl", "too many clients"),
        ("user", "*", "not one account"),
        ("user", "a b@x", "sign-in name"),
        ("asn", "AS64512", "private"),
        ("country", "Russia", "two-letter"),
        ("everything", "x", "unknown scope"),
    ],
)
def test_bad_targets_are_refused_and_audited(
    store: tuple[DecisionStore, Clock], scope: str, value: str, why: str
) -> None:
    s, _ = store
    out = s.apply([_p(scope, value)])
    assert out.created == [] and why in out.refused[0].reason
    assert s.query() == []
    (row,) = s.audit()
    assert row["event"] == "refused" and why in row["detail"]["why"]


def test_unknown_action_and_bad_duration_refused(store: tuple[DecisionStore, Clock]) -> None:
    s, _ = store
    out = s.apply([_p(action="nuke"), _p(seconds=0), _p(seconds=400 * 86400)])
    assert len(out.refused) == 3 and s.query() == []


def test_allowlist_always_wins(store: tuple[DecisionStore, Clock]) -> None:
    s, _ = store
    out = s.apply(
        [
            _p(value="203.0.113.10"),  # the office egress
            _p(value="172.58.9.9"),  # the carrier range staff phones use
            _p(value="198.51.100.7"),  # monitoring
            _p("range", "192.0.2.128/26"),  # inside response.allowlist
            _p(value="::ffff:203.0.113.10"),  # the same egress, IPv4-mapped
        ]
    )
    assert out.created == [] and len(out.refused) == 5
    assert "organisations.camp.egress" in out.refused[0].reason
    assert "organisations.camp.mobile_ranges" in out.refused[1].reason


def test_private_and_carrier_nat_addresses_are_never_blocked_automatically(
    store: tuple[DecisionStore, Clock],
) -> None:
    """A sign-in "from" 10.0.0.5 is the organisation's own reverse proxy or NAT speaking for
    everyone behind it: a policy must not ban it. A person may, on purpose."""
    s, _ = store
    auto = [
        _p(value="10.0.0.5", origin="alert"),
        _p("range", "192.168.4.0/24", origin="campaign"),
        _p(value="100.72.1.9", origin="alert"),  # RFC 6598 carrier-grade NAT
        _p(value="fd12:3456::1", origin="alert"),  # RFC 4193 unique local
        _p("range", "172.16.0.0/16", origin="alert"),
    ]
    out = s.apply(auto)
    assert out.created == [] and len(out.refused) == 5
    assert all("private or carrier-NAT" in r.reason for r in out.refused)
    (manual,) = s.apply([_p(value="10.0.0.5", reason="the compromised build server")]).created
    assert manual.origin == "manual" and manual.value == "10.0.0.5"


def test_range_overlapping_the_allowlist_is_split_around_it(
    store: tuple[DecisionStore, Clock],
) -> None:
    s, _ = store
    out = s.apply([_p("range", "203.0.113.0/24")])
    assert out.split == 1
    values = sorted(d.value for d in out.created)
    assert "203.0.113.10" not in values and len(values) == 8
    import ipaddress

    nets = [ipaddress.ip_network(v) for v in values]
    assert sum(n.num_addresses for n in nets) == 255
    assert not any(ipaddress.ip_address("203.0.113.10") in n for n in nets)
    split = [a for a in s.audit() if a["event"] == "split"]
    assert split and "organisations.camp.egress" in split[0]["detail"]["allowlisted"][0]


def test_keyed_proposals_extend_not_copy(store: tuple[DecisionStore, Clock]) -> None:
    s, clock = store
    first = _p(key="k1", alert_last_seen="2024-03-01T10:00:00Z", origin="alert")
    (d,) = s.apply([first]).created
    assert s.apply([first]).unchanged == 1  # the same evidence again: nothing new
    clock.now = T0 + timedelta(minutes=30)
    grown = _p(key="k1", alert_last_seen="2024-03-01T11:00:00Z", origin="alert")
    out = s.apply([grown])
    assert [x.id for x in out.extended] == [d.id]
    assert out.extended[0].until == clock.now + timedelta(hours=1)
    # Deleted by a person: the same evidence does not bring it back…
    s.delete([d.id], actor="cli:alice", reason="fp")
    assert s.apply([grown]).unchanged == 1 and s.query() == []
    # …new activity does.
    newer = _p(key="k1", alert_last_seen="2024-03-01T12:00:00Z", origin="alert")
    assert len(s.apply([newer]).created) == 1


def test_simulated_and_enforced_are_separate(store: tuple[DecisionStore, Clock]) -> None:
    s, _ = store
    sim = _p(key="k", simulated=True, alert_last_seen="2024-03-01T10:00:00Z")
    enf = _p(key="k", simulated=False, alert_last_seen="2024-03-01T10:00:00Z")
    assert len(s.apply([sim]).created) == 1
    assert len(s.apply([enf]).created) == 1
    assert sorted(d.simulated for d in s.query()) == [False, True]
    assert [d.simulated for d in s.query(simulated=False)] == [False]


def test_ipv6_and_normalisation(store: tuple[DecisionStore, Clock]) -> None:
    s, _ = store
    out = s.apply(
        [
            _p(value="2001:DB8:0:0::1"),
            _p("range", "2001:db8:1::/48"),
            _p("range", "45.153.160.2/32"),
            _p("asn", "as60117"),
            _p("country", "ru"),
            _p("user", "  Chloe@Harper2020.Example "),
        ]
    )
    got = [(d.scope, d.value) for d in out.created]
    assert got == [
        ("ip", "2001:db8::1"),
        ("range", "2001:db8:1::/48"),
        ("ip", "45.153.160.2"),
        ("asn", "60117"),
        ("country", "RU"),
        ("user", "chloe@harper2020.example"),
    ]


def test_bouncer_keys_are_stored_hashed(state_url: str) -> None:
    state = StateStore(state_url)
    state.migrate()
    bouncers = Bouncers(state)
    key = bouncers.add("fw-1", "test")
    assert key.startswith("tcs_") and len(key) > 40
    with state.engine.connect() as con:
        stored = con.exec_driver_sql("SELECT key_hash FROM bouncers").scalar_one()
    assert key not in stored and len(stored) == 64
    found = bouncers.by_key(key)
    assert found is not None and found.name == "fw-1" and found.role == "bouncer"
    assert bouncers.by_key(key + "x") is None and bouncers.by_key("") is None
    now = datetime.now(UTC)
    bouncers.record_pull(found.id, now, "crowdsec-custom-bouncer/v0.0.15")
    bouncers.record_pull(found.id, now - timedelta(hours=1), None)  # never moves back
    (listed,) = bouncers.list()
    assert listed.last_pull is not None and abs((listed.last_pull - now).total_seconds()) < 1
    assert bouncers.delete("fw-1", "test") and bouncers.by_key(key) is None
    state.dispose()


@pytest.mark.parametrize(
    "text",
    ["1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3.04", "1.2.3",  # noqa: S104
     "1.2.3.4.5", "1..3.4", "\u0661.2.3.4", " 1.2.3.4 ", "+1.2.3.4", "1_0.2.3.4", "1.2.3.-4",
     "::ffff:1.2.3.4", "2001:db8::1", "a.b.c.d", "1.2.3.4/32"],
)  # fmt: skip
def test_address_parsing_agrees_with_ipaddress(text: str) -> None:
    """The quick dotted-quad path reads exactly what the standard library reads."""
    import ipaddress

    from tocsin.respond.targets import TargetError, parse_address

    try:
        expected: object = ipaddress.ip_address(text.strip())
        mapped = getattr(expected, "ipv4_mapped", None)
        expected = mapped or expected
    except ValueError:
        expected = None
    try:
        got: object = parse_address(text)
    except TargetError:
        got = None
    assert got == expected
