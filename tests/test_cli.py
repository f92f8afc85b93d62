"""`tocsin` as a user runs it: a real subprocess, real files, exit codes and outputs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import IDENTITY, REPO

SYNTHETIC = REPO / "samples" / "logs" / "synthetic"
ADELE = IDENTITY / "entra_signinlogs" / "sentinel-traininglab_sign-in_adelete.csv"


def tocsin(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


def test_scan_writes_contract_outputs_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = tocsin("scan", SYNTHETIC, ADELE, "--data-dir", tmp_path / "data", "--out", out)
    assert run.returncode == 0, run.stderr
    assert "Events read: 1,127 (entra 1,127)" in run.stdout
    alerts = [json.loads(line) for line in (out / "alerts.jsonl").read_text().splitlines()]
    assert f"Alerts: {len(alerts)} (" in run.stdout
    # the week's two attacks: guessing that lands on chloe, a spray that lands on mo
    assert {a["rule"] for a in alerts} >= {
        "password_guessing", "password_spray_ip", "compromise_after_attack",
    }  # fmt: skip
    assert {u for a in alerts for u in a["compromised_users"]} == {
        "chloe@harper2020.example", "mo@harper2020.example",
    }  # fmt: skip
    for alert in alerts:
        assert alert["schema_version"] == 1
        assert alert["id"].startswith("al-")
        assert alert["first_seen"].endswith("Z") and alert["techniques"]
        assert alert["compromised_users"] and alert["summary"] and alert["recommended_actions"]
        assert alert["evidence"]["query"].startswith("SELECT * FROM events WHERE")
    summary = json.loads((out / "scan.json").read_text())
    assert summary["events_by_source"] == {"entra": 1127}
    assert summary["lake"]["added"] == 1127
    assert (out / "rejects.jsonl").read_text() == ""
    # Re-scanning the same data adds nothing and yields the same alert ids.
    again = tocsin(
        "scan", SYNTHETIC, ADELE, "--data-dir", tmp_path / "data", "--out", tmp_path / "o2"
    )
    assert again.returncode == 0
    assert "added to the lake: 0, already there: 1,127" in again.stdout
    ids = [
        json.loads(line)["id"]
        for line in (tmp_path / "o2" / "alerts.jsonl").read_text().splitlines()
    ]
    assert ids == [a["id"] for a in alerts]


def test_fail_on_gives_exit_1_only_at_or_above_the_threshold(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert tocsin("scan", SYNTHETIC, "--data-dir", data, "--fail-on", "critical").returncode == 1
    assert tocsin("scan", SYNTHETIC, "--data-dir", data).returncode == 0
    # a quiet export: nothing at or above "low"
    assert tocsin("scan", ADELE, "--data-dir", tmp_path / "d2", "--fail-on", "low").returncode == 0


def test_usage_errors_and_missing_input_exit_2(tmp_path: Path) -> None:
    missing = tocsin("scan", tmp_path / "nope.json", "--data-dir", tmp_path / "d")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert (
        tocsin("scan", ADELE, "--fail-on", "severe", "--data-dir", tmp_path / "d").returncode == 2
    )
    assert (
        tocsin("scan", ADELE, "--format", "nonsense", "--data-dir", tmp_path / "d").returncode == 2
    )
    assert tocsin("scan").returncode == 2


def test_strict_turns_rejects_into_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    line = (
        (
            IDENTITY
            / "entra_diagnostic_records"
            / "elastic-integrations_test-signinlogs-raw_subset.ndjson"
        )
        .read_text()
        .splitlines()[0]
    )
    bad.write_text(line + "\n{not json\n")
    out = tmp_path / "out"
    lenient = tocsin("scan", bad, "--data-dir", tmp_path / "d", "--out", out)
    assert lenient.returncode == 0
    assert (
        "1 record(s) rejected" in lenient.stdout and "bad.ndjson:2: invalid JSON" in lenient.stdout
    )
    rejects = [json.loads(x) for x in (out / "rejects.jsonl").read_text().splitlines()]
    assert rejects == [
        {"file": str(bad), "format": "entra_diagnostic", "line": 2, "record": 2,
         "reason": rejects[0]["reason"], "preview": "{not json", "size": 9}
    ]  # fmt: skip
    strict = tocsin("scan", bad, "--data-dir", tmp_path / "d2", "--strict")
    assert strict.returncode == 2


def test_forced_format(tmp_path: Path) -> None:
    run = tocsin("scan", ADELE, "--format", "entra_sentinel", "--data-dir", tmp_path / "d")
    assert run.returncode == 0 and "56 (entra 56)" in run.stdout
    wrong = tocsin("scan", ADELE, "--format", "entra_diagnostic", "--data-dir", tmp_path / "d2")
    assert wrong.returncode == 0 and "does not read csv files" in wrong.stdout


def test_terminal_output_escapes_attacker_text(tmp_path: Path) -> None:
    record = json.loads((SYNTHETIC / "campaign-office-2020-09.ndjson").read_text().splitlines()[0])
    hostile_user = "evil\x1b[2J[link=http://x]@harper2020.example"
    lines = []
    for i in range(12):
        r = json.loads(json.dumps(record))
        r["properties"]["userPrincipalName"] = hostile_user
        r["properties"]["id"] = f"id-{i}"
        r["properties"]["status"] = {"errorCode": 50126}
        r["time"] = f"2020-09-07T13:00:{i:02d}.0000000Z"
        r["properties"]["createdDateTime"] = r["time"]
        lines.append(json.dumps(r))
    f = tmp_path / "hostile.ndjson"
    f.write_text("\n".join(lines) + "\n")
    run = tocsin("scan", f, "--data-dir", tmp_path / "d")
    assert run.returncode == 0
    assert "\x1b[2J" not in run.stdout
    assert "[link=http://x]" in run.stdout  # shown as text, not swallowed as markup


def test_rules_and_formats_commands() -> None:
    listed = tocsin("rules", "list", "--json")
    assert listed.returncode == 0
    rules = json.loads(listed.stdout)
    assert {r["id"] for r in rules} >= {"password_guessing", "password_spray_ip"}
    assert all(r["techniques"] and r["false_positives"] for r in rules)
    tested = tocsin("rules", "test")
    assert tested.returncode == 0, tested.stdout
    assert "0 failed" in tested.stdout
    formats = tocsin("formats")
    assert formats.returncode == 0 and "entra_diagnostic" in formats.stdout


def test_explain_shows_why_an_alert_fired(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert tocsin("scan", SYNTHETIC, "--data-dir", data, "--out", tmp_path / "out").returncode == 0
    alerts = [json.loads(x) for x in (tmp_path / "out" / "alerts.jsonl").read_text().splitlines()]
    guessing = next(a for a in alerts if a["rule"] == "password_guessing")
    run = tocsin("explain", guessing["id"][:12], "--data-dir", data, "--sample", "3")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    for heading in (
        "What happened",
        "Why this rule fires",
        "Grouping key",
        "Evidence",
        "All of them",
    ):
        assert heading in out
    assert guessing["evidence"]["group_key"] in out.replace("\n", "")
    assert f"{guessing['evidence_count']} events now match" in out
    assert "threshold: min_failures" in out and "campaign-office-2020-09.ndjson:" in out
    assert "read_parquet(" in out
    missing = tocsin("explain", "al-nope", "--data-dir", data)
    assert missing.returncode == 2 and "no alert" in missing.stderr


def test_the_demo_runs_as_the_makefile_says(tmp_path: Path) -> None:
    """`make demo`: scan with the example configuration, list decisions, preview a notice for
    the alert the Makefile names (alert ids are stable, so that id must exist)."""
    makefile = (REPO / "Makefile").read_text()
    alert_id = re.search(r"--alert (al-[0-9a-f]+)", makefile)
    assert alert_id, "the demo previews a stored alert"
    data, out = tmp_path / "data", tmp_path / "out"
    config = REPO / "tocsin.example.toml"
    run = tocsin(
        "scan", REPO / "samples" / "logs", "--config", config, "--data-dir", data, "--out", out
    )
    assert run.returncode == 0, run.stderr
    ids = {json.loads(line)["id"] for line in (out / "alerts.jsonl").read_text().splitlines()}
    assert alert_id.group(1) in ids
    summary = json.loads((out / "scan.json").read_text())
    assert summary["response"]["mode"] == "simulate" and summary["response"]["created"] >= 2
    assert summary["notifications"]["queued"] >= 1
    listed = tocsin("decisions", "list", "--data-dir", data)
    assert listed.returncode == 0 and "45.153.160.2" in listed.stdout
    html = tmp_path / "notice.html"
    preview = tocsin(
        "notify", "preview", "--person", "chloe@harper2020.example", "--kind", "compromised",
        "--alert", alert_id.group(1), "--config", config, "--data-dir", data, "--html", html,
    )  # fmt: skip
    assert preview.returncode == 0, preview.stderr
    assert "chloe@harper2020.example" in preview.stdout and html.exists()
