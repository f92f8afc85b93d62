"""The API in-process: CrowdSec's wire contract and stream semantics, /v1/check, bad requests,
administration — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.test_respond_store import Clock, _config, _p
from tocsin.api import ApiSettings, create_app
from tocsin.api.runtime import Runtime
from tocsin.respond import Bouncers

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
GO_DURATION = re.compile(r"^-?(\d+h)?(\d+m)?\d+s$")


@dataclass
class Api:
    client: TestClient
    runtime: Runtime
    clock: Clock
    key: str
    admin_key: str

    def get(self, path: str, key: str | None = None, **params: Any) -> Any:
        headers = {"X-Api-Key": key if key is not None else self.key}
        return self.client.get(path, params=params, headers=headers)

    def add(self, *proposals: Any) -> list[int]:
        out = self.runtime.store.apply(list(proposals))
        self.runtime.reload()
        return [d.id for d in out.created]


@pytest.fixture
def api(state_url: str) -> Iterator[Api]:
    clock = Clock()
    settings = ApiSettings(
        state_url=state_url, config=_config(mode="enforce"), respond_seconds=None, clock=clock
    )
    app = create_app(settings)
    runtime: Runtime = app.state.runtime
    key = Bouncers(runtime.state).add("fw", "test")
    admin_key = Bouncers(runtime.state).add("soc", "test", role="admin")
    runtime.reload()
    with TestClient(app) as client:
        yield Api(client, runtime, clock, key, admin_key)


def test_keys_are_required(api: Api) -> None:
    for path in ("/v1/decisions/stream", "/v1/decisions", "/v1/check?ip=1.2.3.4"):
        for key in ("", "wrong-key-" + "x" * 30, "x" * 5000):
            resp = api.get(path, key=key)
            assert resp.status_code == 403, (path, key[:10])
            assert "X-Api-Key" in resp.json()["message"]
    assert api.client.get("/health").json() == {"status": "up"}


def test_stream_startup_then_deltas(api: Api) -> None:
    ban, sim, acct, country = api.add(
        _p(value="185.220.101.7", scenario="tocsin/distributed_spray", origin="campaign"),
        _p(value="45.153.160.2", simulated=True),  # never served to a bouncer
        _p("user", "chloe@x.example", action="revoke_sessions"),  # not for bouncers
        _p("country", "RU"),  # not in the default scopes
    )
    api.clock.now = T0 + timedelta(seconds=5)
    first = api.get("/v1/decisions/stream", startup="true").json()
    assert first["deleted"] == []
    (d,) = first["new"]
    assert d == {
        "id": ban, "origin": "campaign", "type": "ban", "scope": "Ip",
        "value": "185.220.101.7", "duration": "59m55s", "until": "2024-03-01T13:00:00Z",
        "scenario": "tocsin/distributed_spray", "simulated": False,
    }  # fmt: skip
    api.clock.now = T0 + timedelta(seconds=10)
    assert api.get("/v1/decisions/stream").json() == {"new": [], "deleted": []}
    # A new decision shows up once; a deletion shows up in "deleted".
    api.clock.now = T0 + timedelta(minutes=10)
    (rng,) = api.add(_p("range", "45.153.160.0/24"))
    api.clock.now += timedelta(seconds=5)
    new = api.get("/v1/decisions/stream").json()
    assert [x["id"] for x in new["new"]] == [rng] and new["new"][0]["scope"] == "Range"
    api.clock.now = T0 + timedelta(minutes=20)
    api.runtime.store.delete([ban], actor="test", reason="fp")
    api.clock.now += timedelta(seconds=5)
    delta = api.get("/v1/decisions/stream").json()
    assert delta["new"] == [] and [x["value"] for x in delta["deleted"]] == ["185.220.101.7"]
    assert delta["deleted"][0]["duration"] == "0s" or delta["deleted"][0]["duration"].startswith(
        "-"
    )
    # Expiry is a deletion too, without anyone touching the database.
    api.clock.now = T0 + timedelta(hours=2)
    gone = api.get("/v1/decisions/stream").json()
    assert [x["id"] for x in gone["deleted"]] == [rng]
    assert GO_DURATION.match(gone["deleted"][0]["duration"])
    # Other scopes on request; a restarting bouncer gets everything again.
    api.clock.now = T0 + timedelta(minutes=30)
    full = api.get("/v1/decisions/stream", startup="true", scopes="Country,ip,range").json()
    assert {x["id"] for x in full["new"]} == {country, rng}
    assert [x["id"] for x in full["deleted"]] == [ban]
    assert sim not in {x["id"] for x in full["new"]} and acct not in {x["id"] for x in full["new"]}


def test_stream_dedups_per_value_and_filters(api: Api) -> None:
    short, long_ = api.add(
        _p(value="185.220.101.7", seconds=600, scenario="tocsin/password_guessing"),
        _p(value="185.220.101.7", seconds=7200, scenario="tocsin/distributed_spray"),
    )
    (only,) = api.get("/v1/decisions/stream", startup="true").json()["new"]
    assert only["id"] == long_
    body = api.get("/v1/decisions/stream", startup="true", scenarios_not_containing="spray").json()
    assert [x["id"] for x in body["new"]] == [short]
    body = api.get("/v1/decisions/stream", startup="true", origins="alert").json()
    assert body["new"] == []  # both are manual
    # The short one expiring while the long one lasts is not a deletion.
    api.clock.now = T0 + timedelta(minutes=11)
    assert api.get("/v1/decisions/stream").json()["deleted"] == []


def test_last_pull_moves_only_forward_after_a_full_answer(api: Api) -> None:
    api.get("/v1/decisions/stream", startup="true")
    (b,) = [x for x in api.runtime.bouncers.list() if x.name == "fw"]
    assert b.last_pull == T0 and b.user_agent == "testclient"
    bad = api.get("/v1/decisions/stream", scopes="bogus-scope")
    assert bad.status_code == 400 and "unknown scope" in bad.json()["message"]
    api.clock.now = T0 + timedelta(minutes=1)
    assert api.get("/v1/decisions/stream", startup="maybe").status_code == 400
    (b,) = [x for x in api.runtime.bouncers.list() if x.name == "fw"]
    assert b.last_pull == T0  # the failed pulls did not move it


def test_a_grown_allowlist_unblocks_at_the_next_pull(state_url: str) -> None:
    """A decision served before the allowlist covered it (the office moved into the range):
    after tocsin restarts with the new allowlist, bouncers are told to delete it, once."""
    clock = Clock()
    before = ApiSettings(state_url, _config(mode="enforce"), respond_seconds=None, clock=clock)
    app = create_app(before)
    runtime: Runtime = app.state.runtime
    key = Bouncers(runtime.state).add("fw", "test")
    runtime.store.apply([_p(value="185.220.101.7"), _p(value="45.153.160.2")])
    h = {"X-Api-Key": key}
    clock.now = T0 + timedelta(seconds=5)
    with TestClient(app) as client:
        first = client.get("/v1/decisions/stream", params={"startup": "true"}, headers=h)
        assert {d["value"] for d in first.json()["new"]} == {"185.220.101.7", "45.153.160.2"}
    clock.now = T0 + timedelta(minutes=1)
    grown = _config(mode="enforce", allowlist=["192.0.2.128/25", "45.153.160.0/24"])
    app = create_app(ApiSettings(state_url, grown, respond_seconds=None, clock=clock))
    with TestClient(app) as client:
        clock.now += timedelta(seconds=5)
        delta = client.get("/v1/decisions/stream", headers=h).json()
        assert delta["new"] == [] and [d["value"] for d in delta["deleted"]] == ["45.153.160.2"]
        clock.now += timedelta(seconds=10)
        assert client.get("/v1/decisions/stream", headers=h).json() == {"new": [], "deleted": []}
        answer = client.get("/v1/check", params={"ip": "45.153.160.2"}, headers=h).json()
        assert answer["result"] == "allow" and "response.allowlist" in answer["allowlisted"]
        assert client.get("/v1/decisions", params={"ip": "45.153.160.2"}, headers=h).text == "null"


def test_decisions_list_filters_and_null(api: Api) -> None:
    assert api.get("/v1/decisions", ip="185.220.101.7").text == "null"
    ip_id, range_id = api.add(_p(value="185.220.101.7"), _p("range", "185.220.100.0/22"))
    got = api.get("/v1/decisions", ip="185.220.101.7").json()
    assert {x["id"] for x in got} == {ip_id, range_id}  # contains=true: ranges holding it
    got = api.get("/v1/decisions", range="185.220.0.0/16", contains="false").json()
    assert {x["id"] for x in got} == {ip_id, range_id}
    got = api.get("/v1/decisions", scope="ip", value="185.220.101.7").json()
    assert [x["id"] for x in got] == [ip_id]
    assert api.get("/v1/decisions", ip="not-an-ip").status_code == 400
    assert api.get("/v1/decisions", type="captcha").text == "null"


def test_check_answers(api: Api) -> None:
    ban, step, user, ua, sim = api.add(
        _p(value="185.220.101.7"),
        _p("range", "45.153.160.0/24", action="mfa_stepup"),
        _p("user", "chloe@x.example", action="revoke_sessions"),
        _p("user_agent", "python-requests/2.24.0"),
        _p(value="198.18.0.9", simulated=True),
    )

    def check(**params: str) -> dict[str, Any]:
        resp = api.get("/v1/check", **params)
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json()
        return result

    assert check(ip="185.220.101.7")["result"] == "deny"
    assert check(ip="185.220.101.7")["decision_id"] == ban
    assert (check(ip="45.153.160.99")["result"], check(ip="45.153.160.99")["decision_id"]) == (
        "step-up",
        step,
    )
    assert check(ip="8.8.8.8")["result"] == "allow"
    assert check(ip="8.8.8.8", user="Chloe@X.example")["decision_id"] == user
    assert check(ip="45.153.160.3", user_agent="python-requests/2.24.0")["result"] == "deny"
    assert check(ip="45.153.160.3", user_agent="python-requests/2.24.0")["decision_id"] == ua
    # Simulated decisions never change the answer, they are reported beside it.
    answer = check(ip="198.18.0.9")
    assert answer["result"] == "allow"
    assert answer["simulated"] == {"result": "deny", "decision_id": sim, "action": "ban"}
    # The organisation's own egress is always allowed, whatever matched…
    answer = check(ip="203.0.113.10", user_agent="python-requests/2.24.0")
    assert answer["result"] == "allow" and "egress" in answer["allowlisted"]
    # …except decisions about the account itself.
    assert check(ip="203.0.113.10", user="chloe@x.example")["result"] == "step-up"
    # Expired decisions stop applying, without a reload.
    api.clock.now = T0 + timedelta(hours=2)
    assert check(ip="185.220.101.7")["result"] == "allow"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("ip=999.1.1.1", "not an IP address"),
        ("ip=1.2.3.4;rm%20-rf", "not an IP address"),
        ("ipp=1.2.3.4", "unknown parameter"),
        ("ip=1.2.3.4&ip=5.6.7.8", "more than once"),
        ("", "at least one of"),
        ("user_agent=" + "A" * 9000, "at most 8192"),
        ("ip=1.2.3.4&asn=ASX", "asn"),
        ("ip=1.2.3.4&country=RUS", "country"),
        ("ip=1.2.3.4&user_agent=Mozilla%0d%0aX-Injected:%201", "control"),
        ("user=chloe%E2%80%AE@x.example", "bidi"),
        ("ip=1.2.3.4&" + "&".join(f"x{i}=1" for i in range(25)), "at most 20"),
        ("ip=%ff%fe", "not an IP address"),
    ],
)
def test_check_bad_requests(api: Api, query: str, message: str) -> None:
    resp = api.client.get(f"/v1/check?{query}", headers={"X-Api-Key": api.key})
    assert resp.status_code == 400 and message in resp.json()["message"]


def test_admin_api(api: Api) -> None:
    h = {"X-Api-Key": api.admin_key}
    body = {"scope": "ip", "value": "185.220.101.7", "action": "ban", "duration": "2h",
            "reason": "seen in the SOC"}  # fmt: skip
    made = api.client.post("/v1/admin/decisions", json=body, headers=h)
    assert made.status_code == 201, made.text
    (d,) = made.json()["created"]
    assert d["created_by"] == "api:soc" and d["simulated"] is False  # mode is enforce
    assert api.get("/v1/check", ip="185.220.101.7").json()["result"] == "deny"
    # A bouncer key may read, not write.
    assert api.client.post("/v1/admin/decisions", json=body,
                           headers={"X-Api-Key": api.key}).status_code == 403  # fmt: skip
    for bad, message in [
        ({**body, "value": "0.0.0.0/0", "scope": "range"}, "every address"),
        ({**body, "value": "::/0", "scope": "range"}, "every address"),
        ({**body, "value": "10.0.0.0/8", "scope": "range"}, "wider than"),
        ({**body, "value": "203.0.113.10"}, "allowlisted"),
        ({**body, "scope": "user_agent", "value": "x\u202eevil\nfoo"}, "control"),
        ({**body, "extra": "field"}, "extra"),
        ({**body, "scope": "galaxy"}, "scope"),
        ({**body, "duration": "forever"}, "duration"),
        ({**body, "action": "explode"}, "action"),
    ]:
        resp = api.client.post("/v1/admin/decisions", json=bad, headers=h)
        assert resp.status_code == 400, (bad, resp.text)
        assert message in resp.json()["message"].lower() or message in resp.text
    assert len(api.runtime.store.query()) == 1  # nothing bad got in
    trail = api.client.get(f"/v1/admin/decisions/{d['id']}/audit", headers=h).json()
    assert [a["event"] for a in trail] == ["created"]
    gone = api.client.delete(f"/v1/admin/decisions/{d['id']}", headers=h)
    assert gone.json() == {"nbDeleted": "1"}
    assert api.client.delete(f"/v1/admin/decisions/{d['id']}", headers=h).status_code == 404
    assert api.get("/v1/check", ip="185.220.101.7").json()["result"] == "allow"


def test_openapi_is_served(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for path in ("/v1/decisions/stream", "/v1/decisions", "/v1/check", "/v1/admin/decisions"):
        assert path in spec["paths"]


def test_serve_turns_new_alerts_into_decisions(tmp_path: Any) -> None:
    from tests.test_state import _alert
    from tocsin.config import Config
    from tocsin.store.state import StateStore

    url = f"sqlite:///{tmp_path / 'state.db'}"
    config = Config.model_validate(
        {"response": {"mode": "enforce", "policy": [
            {"rules": ["password_*"], "min_severity": "medium", "action": "ban", "scope": "ip"}
        ]}}
    )  # fmt: skip
    app = create_app(ApiSettings(state_url=url, config=config, respond_seconds=None))
    runtime: Runtime = app.state.runtime
    assert runtime.watcher is not None
    state = StateStore(url)
    state.upsert_alerts([_alert(src_ips=["45.153.160.2"])])
    out = runtime.watcher.run_once()
    assert [(d.value, d.created_by, d.simulated) for d in out.created] == [
        ("45.153.160.2", "serve", False)
    ]
    assert runtime.watcher.run_once().created == []  # only what changed since the last pass
    state.upsert_alerts([_alert(src_ips=["45.153.160.2"], last_seen="2020-09-03T05:00:00Z")])
    assert len(runtime.watcher.run_once().extended) == 1  # the attack went on
    runtime.reload()
    from tocsin.respond.targets import parse_address

    answer = runtime.snapshot.index.check(datetime.now(UTC), parse_address("45.153.160.2"))
    assert answer["result"] == "deny"
    state.dispose()
    runtime.state.dispose()


def test_serve_takes_every_alert_of_a_scan_in_batches(tmp_path: Any) -> None:
    """A scan stores its alerts with one timestamp; a pass that stops in the middle of them
    takes the rest next time."""
    from tests.test_state import _alert
    from tocsin.config import Config
    from tocsin.store.state import StateStore

    url = f"sqlite:///{tmp_path / 'state.db'}"
    config = Config.model_validate(
        {"response": {"policy": [{"rules": ["*"], "min_severity": "low", "action": "ban"}]}}
    )
    app = create_app(ApiSettings(state_url=url, config=config, respond_seconds=None))
    runtime: Runtime = app.state.runtime
    assert runtime.watcher is not None
    state = StateStore(url)
    state.upsert_alerts(
        [_alert(id=f"al-{i}", src_ips=[f"45.153.160.{i}"]) for i in range(1, 6)]
    )  # fmt: skip
    made = [d.value for _ in range(3) for d in runtime.watcher.run_once(batch=2).created]
    assert sorted(made) == [f"45.153.160.{i}" for i in range(1, 6)]
    assert runtime.watcher.run_once(batch=2).created == []
    state.dispose()
    runtime.state.dispose()
