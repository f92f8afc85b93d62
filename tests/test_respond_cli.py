"""`tocsin decisions …` as a person uses it: add (checked), list, delete, audit, export, keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tocsin.cli import app

runner = CliRunner()


def _run(tmp_path: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["decisions", *args, "--data-dir", str(tmp_path)])
    assert result.exit_code == code, result.output
    return result.stdout


def test_add_list_delete_audit(tmp_path: Path) -> None:
    out = _run(tmp_path, "add", "--ip", "185.220.101.7", "--duration", "2h",
               "--reason", "SOC ticket 42", "--enforce")  # fmt: skip
    assert out.startswith("decision 1: ban ip 185.220.101.7 until") and "(enforced)" in out
    out = _run(tmp_path, "add", "--user", "Chloe@Harper2020.example", "--action",
               "revoke_sessions", "--reason", "phished")  # fmt: skip
    assert "(simulated)" in out  # no tocsin.toml: simulate is the default
    listed = [json.loads(line) for line in _run(tmp_path, "list", "--json").splitlines()]
    assert [(d["id"], d["value"], d["simulated"]) for d in listed] == [
        (1, "185.220.101.7", False),
        (2, "chloe@harper2020.example", True),
    ]
    assert "185.220.101.7" in _run(tmp_path, "list")
    assert _run(tmp_path, "delete", "1", "--reason", "fp").startswith("1 decision(s) deleted")
    _run(tmp_path, "delete", "1", code=1)
    trail = [json.loads(line) for line in _run(tmp_path, "audit", "1").splitlines()]
    assert [a["event"] for a in trail] == ["created", "deleted"]
    assert trail[0]["detail"]["reason"] == "SOC ticket 42" and trail[1]["actor"].startswith("cli")
    assert [d["id"] for d in map(json.loads, _run(tmp_path, "list", "--json").splitlines())] == [2]
    every = _run(tmp_path, "list", "--all", "--json").splitlines()
    assert [json.loads(x)["status"] for x in every] == ["deleted", "active"]


@pytest.mark.parametrize(
    "args",
    [
        ["--range", "0.0.0.0/0"],
        ["--range", "::/0"],
        ["--range", "10.0.0.0/8"],
        ["--ip", "not-an-ip"],
        ["--user-agent", "curl\x1b[31m"],
        ["--ip", "1.2.3.4", "--user", "x@y.z"],
        ["--ip", "1.2.3.4", "--duration", "forever"],
        ["--ip", "1.2.3.4", "--action", "nuke"],
    ],
)
def test_bad_adds_exit_2_and_store_nothing(tmp_path: Path, args: list[str]) -> None:
    result = runner.invoke(
        app, ["decisions", "add", *args, "--reason", "x", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert _run(tmp_path, "list", "--json") == ""


def test_bouncer_keys(tmp_path: Path) -> None:
    key = _run(tmp_path, "bouncer", "add", "edge-proxy").strip()
    assert key.startswith("tcs_")
    _run(tmp_path, "bouncer", "add", "edge-proxy", code=2)  # names are unique
    _run(tmp_path, "bouncer", "add", "bad name!", code=2)
    assert "edge-proxy\tbouncer" in _run(tmp_path, "bouncer", "list")
    _run(tmp_path, "bouncer", "delete", "edge-proxy")
    _run(tmp_path, "bouncer", "delete", "edge-proxy", code=2)


def test_export_formats_and_account_dry_run(tmp_path: Path) -> None:
    _run(tmp_path, "add", "--range", "45.153.160.0/24", "--reason", "r", "--enforce")
    _run(tmp_path, "add", "--ip", "45.153.161.1", "--reason", "r")  # simulated
    _run(tmp_path, "add", "--user", "mo@x.example", "--action", "reset_password",
         "--reason", "r", "--enforce")  # fmt: skip
    plain = _run(tmp_path, "export", "--format", "plain")
    assert "45.153.160.0/24\n" in plain and "45.153.161.1  # simulated: decision 2" in plain
    assert "45.153.161.1" not in _run(tmp_path, "export", "--format", "plain", "--no-simulated")
    for fmt in ("nftables", "ipset", "nginx", "entra", "okta", "checklist"):
        assert "45.153.16" in _run(tmp_path, "export", "--format", fmt) or fmt == "checklist"
    _run(tmp_path, "export", "--format", "pdf", code=2)
    _run(tmp_path, "export", "--format", "plain", "--name", "x;rm -rf /", code=2)
    out_file = tmp_path / "deny.conf"
    _run(tmp_path, "export", "--format", "nginx", "--output", str(out_file))
    assert "deny 45.153.160.0/24;" in out_file.read_text()
    dry = _run(tmp_path, "accounts", "--execute")
    assert "PATCH https://graph.microsoft.com/v1.0/users/mo%40x.example" in dry
    assert "dry run (no entra credentials configured)" in dry
    events = [json.loads(x)["event"] for x in _run(tmp_path, "audit").splitlines()]
    assert "exported" in events and "dry_run" in events
