"""The whole path on real data: scan the bundled synthetic logs → alerts → policy → decisions
in simulate mode → the export shows them labelled simulated → enforce mode → the bouncer stream
serves them → delete → the stream says so. Plus the policy's safety rules."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.helpers import REPO
from tests.test_state import _alert
from tocsin.api import ApiSettings, create_app
from tocsin.cli import app as cli
from tocsin.config import Config
from tocsin.respond import Bouncers, DecisionStore
from tocsin.respond.policy import propose
from tocsin.scan import ScanConfig, run_scan
from tocsin.store.state import StateStore

SYNTHETIC = REPO / "samples" / "logs" / "synthetic"
POLICY = """
[[organisations]]
id = "harper2020"
name = "Harper for Senate 2020"
tenants = ["4d6f8a2b-1c3e-4a5f-9b7d-2e8c0f1a3b5c"]
egress = ["185.220.101.33/32"]   # pretend one attacking address is the office: it must win

[response]
mode = "{mode}"

[[response.policy]]
rules = ["*"]
min_severity = "high"
action = "ban"
scope = "ip"
duration = "7d"

[[response.policy]]
rules = ["compromise_after_attack"]
min_severity = "critical"
action = "revoke_sessions"
scope = "user"
duration = "1d"
"""

# What the policy above asks for on the synthetic office's two attacks (185.220.101.33 too,
# but it is the "office" and refused).
TARGETS = {
    ("ip", "185.220.101.7", "ban"),
    ("ip", "185.220.101.132", "ban"),
    ("ip", "185.220.101.47", "ban"),
    ("ip", "45.153.160.2", "ban"),
    ("user", "chloe@harper2020.example", "revoke_sessions"),
}


def _config(tmp_path: Path, mode: str) -> Path:
    path = tmp_path / f"{mode}.toml"
    path.write_text(POLICY.replace("{mode}", mode))
    return path


def _scan(tmp_path: Path, mode: str) -> dict[str, object]:
    from tocsin.config import load_config

    result = run_scan(
        ScanConfig(
            paths=[SYNTHETIC],
            data_dir=tmp_path / "data",
            out_dir=tmp_path / "out",
            config=load_config(_config(tmp_path, mode)),
        )
    )
    return result.response


@pytest.mark.slow
def test_scan_simulate_export_enforce_stream(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path / "data")
    summary = _scan(tmp_path, "simulate")
    assert summary["mode"] == "simulate"
    assert summary["refused"] == 1  # 185.220.101.33 is the "office"
    state = StateStore(f"sqlite:///{tmp_path / 'data' / 'state.db'}")
    store = DecisionStore(state)
    made = store.query()
    # One decision per target and cause: an address two alerts of one campaign name is
    # banned once; if the alerts are not grouped into a campaign, once per alert.
    assert {(d.scope, d.value, d.action) for d in made} == TARGETS
    assert summary["created"] == len(made) and all(d.simulated for d in made)
    assert any(a["event"] == "refused" and a["value"] == "185.220.101.33" for a in store.audit())
    # The export over the same data directory shows what would be enforced, labelled.
    sim_cfg = str(_config(tmp_path, "simulate"))
    out = runner.invoke(cli, ["decisions", "export", "--format", "plain", "--data-dir", data,
                              "--config", sim_cfg])  # fmt: skip
    assert out.exit_code == 0, out.output
    entries = [line for line in out.stdout.splitlines() if not line.startswith("#")]
    assert entries and all("# simulated: decision" in line for line in entries)
    assert not any("185.220.101.33" in line for line in entries)
    checklist = runner.invoke(cli, ["decisions", "export", "--format", "checklist",
                                    "--data-dir", data, "--config", sim_cfg])  # fmt: skip
    assert "chloe@harper2020.example" in checklist.stdout and "SIMULATED" in checklist.stdout
    assert "/revokeSignInSessions" in checklist.stdout
    # Re-scanning changes nothing; the same scan in enforce mode makes enforced decisions.
    assert _scan(tmp_path, "simulate")["created"] == 0
    assert _scan(tmp_path, "enforce")["created"] == len(made)
    enforced = store.query(simulated=False)
    assert {(d.scope, d.value, d.action) for d in enforced} == TARGETS
    out = runner.invoke(cli, ["decisions", "export", "--format", "nginx", "--data-dir", data,
                              "--config", str(_config(tmp_path, "enforce"))])  # fmt: skip
    denies = [line for line in out.stdout.splitlines() if line.startswith("deny ")]
    assert denies and not any("simulated" in line for line in denies)
    # The bouncer stream serves the enforced ones only.
    key = Bouncers(state).add("fw", "test")
    app = create_app(ApiSettings(state_url=state.url, respond_seconds=None))
    with TestClient(app) as client:
        h = {"X-Api-Key": key}
        first = client.get("/v1/decisions/stream?startup=true", headers=h).json()
        served = [d["value"] for d in first["new"]]
        assert sorted(served) == sorted(v for s, v, _ in TARGETS if s == "ip")  # each once
        assert {d["id"] for d in first["new"]} <= {d.id for d in enforced}
        res = runner.invoke(cli, ["decisions", "delete", "--value", "45.153.160.2",
                                  "--data-dir", data, "--reason", "fp"])  # fmt: skip
        assert res.exit_code == 0, res.output
        import time

        time.sleep(2.1)  # past the stream's 2 s overlap
        delta = client.get("/v1/decisions/stream", headers=h).json()
        assert [d["value"] for d in delta["deleted"]] == ["45.153.160.2"]
    state.dispose()


def test_policy_matches_rules_severity_confidence() -> None:
    config = Config.model_validate(
        {
            "response": {
                "mode": "enforce",
                "policy": [
                    {"rules": ["distributed_*"], "min_severity": "high", "min_confidence": 0.8,
                     "action": "ban", "scope": "range", "duration": "1d"},
                    {"rules": ["*"], "min_severity": "low", "action": "mfa_stepup",
                     "scope": "user", "duration": "1h"},
                    {"rules": ["*"], "min_severity": "critical", "action": "reset_password",
                     "scope": "user", "duration": "1h"},
                ]
            }
        }
    )  # fmt: skip
    spray = _alert(
        rule="distributed_spray",
        severity="high",
        confidence=0.9,
        src_ips=["45.153.160.2", "45.153.160.9", "2001:db8::5"],
        users=["a@x.example", "b@x.example"],
        compromised_users=["b@x.example"],
    )
    weak = replace(spray, id="al-2", confidence=0.5)
    got = {(p.scope, p.action, p.value) for p in propose(config, [spray, weak], created_by="t")}
    assert ("range", "ban", "45.153.160.0/24") in got
    assert ("range", "ban", "2001:db8::/64") in got
    assert ("user", "mfa_stepup", "a@x.example") in got  # gentle: every targeted account
    assert not any(a == "reset_password" for _, a, _ in got)  # not critical
    crit = replace(spray, id="al-3", severity="critical", campaign="cp-1")
    resets = [p for p in propose(config, [crit], created_by="t") if p.action == "reset_password"]
    assert [p.value for p in resets] == ["b@x.example"]  # only the compromised one
    assert resets[0].origin == "campaign" and resets[0].origin_ref == "cp-1"
    assert all(not p.simulated for p in resets)


STAFF_BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


@pytest.mark.slow
def test_shared_targets_are_refused_when_staff_sign_in_through_them(tmp_path: Path) -> None:
    """Country, network and user-agent decisions are checked against the lake: the synthetic
    office's 40 people (39 besides mo) sign in from the US with one Chrome; mo (compromised
    by the spray) signs in from AS60117 with python-requests."""
    run_scan(ScanConfig(paths=[SYNTHETIC], data_dir=tmp_path / "data"))
    policy = [
        {"rules": ["*"], "min_severity": "low", "action": "ban", "scope": scope}
        for scope in ("country", "asn", "user_agent")
    ]
    config = Config.model_validate({"response": {"mode": "enforce", "policy": policy}})
    alert = _alert(
        countries=["US", "DE"], src_asns=[60117], src_ips=["185.220.101.7"],
        user_agents=[STAFF_BROWSER, "python-requests/2.24.0"],
        compromised_users=["mo@harper2020.example"],
    )  # fmt: skip
    got = {
        p.value: p.refuse
        for p in propose(config, [alert], created_by="t", data_dir=tmp_path / "data")
    }
    assert got["US"] is not None and "39 account(s) outside this attack" in got["US"]
    assert got[STAFF_BROWSER] is not None and "lock them out" in got[STAFF_BROWSER]
    assert got["DE"] is None and got["60117"] is None and got["python-requests/2.24.0"] is None
    # Without mo among the compromised, their sign-ins protect the network and the client too.
    innocent = replace(alert, compromised_users=[])
    got = {
        p.value: p.refuse
        for p in propose(config, [innocent], created_by="t", data_dir=tmp_path / "data")
    }
    assert got["60117"] is not None and got["python-requests/2.24.0"] is not None


def test_user_agent_decisions_need_the_lake_to_prove_staff_do_not_use_it(tmp_path: Path) -> None:
    config = Config.model_validate(
        {"response": {"policy": [{"rules": ["*"], "action": "ban", "scope": "user_agent",
                                  "min_severity": "low"}]}}
    )  # fmt: skip
    alert = _alert(user_agents=["python-requests/2.24.0"])
    (p,) = propose(config, [alert], created_by="t", data_dir=tmp_path / "nothing")
    assert p.refuse is not None and "no event lake" in p.refuse
    assert p.simulated  # the default mode is simulate
