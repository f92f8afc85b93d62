"""`tocsin scan` on a folder that mixes sign-in logs and mail: both are read in one run.

Mail gives DIR/messages.jsonl (one line per message) and contract-2 alerts whose users are
the recipients; attacker-written text (subject, display name, URL) is escaped wherever
tocsin prints it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import IDENTITY, REPO
from tests.test_mail_detectors import build
from tocsin.mail.alerts import AlertBuilder
from tocsin.mail.analyze import analyze
from tocsin.mail.reader import RawMessage
from tocsin.mail.run import build_context
from tocsin.text import for_terminal

ADELE = IDENTITY / "entra_signinlogs" / "sentinel-traininglab_sign-in_adelete.csv"


def tocsin(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`tocsin` as a user runs it: a real subprocess, no colour, a wide terminal."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *map(str, args)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip


HOSTILE_SUBJECT = "[bold red]URGENT[/] \x1b[2J\x1b]8;;https://x.example\x07verify \u202eevil"
SPOOF_RESULTS = (
    "mx.harper2020.example; spf=fail smtp.mailfrom=micros0ft-login.example; dkim=none; "
    "dmarc=fail header.from=micros0ft-login.example"
)


def _phish(to: str, subject: str = HOSTILE_SUBJECT) -> bytes:
    html = (
        "<p>Your mailbox is full. Verify your account within 24 hours.</p>"
        '<a href="https://micros0ft-login.example/owa/?u=1">https://outlook.office.com</a>'
        '<img src="https://t.micros0ft-login.example/p/3f9c2a71b8e64d05a1c7e9f2b4d6a8c0e1f3a5b7"'
        ' width="1" height="1">'
    )
    return build(
        sender='"Microsoft Outlook [/]\x1b[31m" <alerts@micros0ft-login.example>',
        to=to,
        subject=subject,
        html=html,
        text="Your mailbox is full.",
        headers=[("Authentication-Results", SPOOF_RESULTS)],
    )


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    (folder / "logs").mkdir(parents=True)
    shutil.copy(ADELE, folder / "logs" / ADELE.name)
    (folder / "mail").mkdir()
    (folder / "mail" / "phish.eml").write_bytes(_phish("chloe@harper2020.example"))
    (folder / "mail" / "minutes.eml").write_bytes(
        build(sender="Mo <mo@harper2020.example>", to="chloe@harper2020.example")
    )
    with (folder / "mail" / "archive.mbox").open("wb") as f:
        for to in ("mo@harper2020.example", "chloe.martin@mail.example"):
            f.write(b"From alerts@micros0ft-login.example Tue Nov 25 10:00:00 2026\n")
            f.write(_phish(to, subject="Mailbox full: verify your account") + b"\n")
    return folder


@pytest.mark.slow
def test_scan_reads_logs_and_mail_together(mixed_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = tocsin(
        "scan", mixed_folder, "--data-dir", tmp_path / "data", "--out", out,
        "--config", REPO / "tocsin.example.toml",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Events read:" in run.stdout  # the log was read as a log
    assert "Mail read: 4 message(s): 3 phish, 0 suspicious, 1 clean" in run.stdout

    lines = [json.loads(x) for x in (out / "messages.jsonl").read_text().splitlines()]
    assert len(lines) == 4
    for line in lines:
        assert {
            "origin",
            "message_id",
            "verdict",
            "score",
            "reasons",
            "beacons",
            "recipients",
        } <= set(line)
        assert line["verdict"] in ("phish", "suspicious", "clean")
        assert 0 <= line["score"] <= 1
    by_file = {(Path(x["origin"]["file"]).name, x["origin"]["index"]): x for x in lines}
    assert set(by_file) == {("phish.eml", None), ("minutes.eml", None),
                            ("archive.mbox", 0), ("archive.mbox", 1)}  # fmt: skip
    phish = by_file[("phish.eml", None)]
    assert phish["verdict"] == "phish" and phish["recipients"] == ["chloe@harper2020.example"]
    assert {r["detector"] for r in phish["reasons"]} >= {"auth", "links", "lures"}
    assert all(r["evidence"] for r in phish["reasons"])
    assert phish["beacons"] and phish["beacons"][0]["url"].startswith("https://t.micros0ft")
    assert by_file[("minutes.eml", None)]["verdict"] == "clean"

    alerts = [json.loads(x) for x in (out / "alerts.jsonl").read_text().splitlines()]
    mail_alerts = [a for a in alerts if a["rule"].startswith("mail_")]
    assert mail_alerts
    users = {u for a in mail_alerts for u in a["users"]}
    assert users == {
        "chloe@harper2020.example",
        "mo@harper2020.example",
        "chloe.martin@mail.example",
    }
    techniques = {t for a in mail_alerts for t in a["techniques"]}
    assert techniques & {"T1566.002", "T1598.003"}
    for alert in mail_alerts:
        assert alert["schema_version"] == 1 and alert["id"].startswith("al-")
        assert alert["summary"] and alert["recommended_actions"] and alert["evidence_count"]
        assert "\x1b" not in alert["summary"]
    phish_line_alert = phish["alert"]
    assert phish_line_alert in {a["id"] for a in mail_alerts}

    scan = json.loads((out / "scan.json").read_text())
    assert scan["mail"]["messages"] == 4


@pytest.mark.slow
def test_rescanning_gives_the_same_alert_ids(mixed_folder: Path, tmp_path: Path) -> None:
    ids = []
    for run_number in range(2):
        out = tmp_path / f"out{run_number}"
        run = tocsin("scan", mixed_folder / "mail", "--data-dir", tmp_path / f"d{run_number}",
                     "--out", out)  # fmt: skip
        assert run.returncode == 0, run.stderr
        ids.append(
            sorted(json.loads(x)["id"] for x in (out / "alerts.jsonl").read_text().splitlines())
        )
    assert ids[0] == ids[1] and ids[0]


@pytest.mark.slow
def test_explain_a_mail_alert(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "phish.eml").write_bytes(_phish("chloe@harper2020.example"))
    out, data = tmp_path / "out", tmp_path / "data"
    assert tocsin("scan", tmp_path / "mail", "--data-dir", data, "--out", out).returncode == 0
    alert = json.loads((out / "alerts.jsonl").read_text().splitlines()[0])
    run = tocsin("explain", alert["id"], "--data-dir", data)
    assert run.returncode == 0, run.stderr
    assert "messages.jsonl" in run.stdout and "\x1b" not in run.stdout
    said = " ".join(run.stdout.split())
    assert "1 message(s), listed with their verdicts" in said
    assert "events now match" not in said  # a mail alert's evidence is not lake events


@pytest.mark.slow
def test_attacker_text_is_escaped_in_the_terminal(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "phish.eml").write_bytes(_phish("chloe@harper2020.example"))
    run = tocsin("scan", tmp_path / "mail", "--data-dir", tmp_path / "data", "--out",
                 tmp_path / "out")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stdout and "\u202e" not in run.stdout
    assert "\x07" not in run.stdout
    # Markup in the subject is shown as text, not interpreted by the terminal renderer.
    assert "[bold red]URGENT[/]" in " ".join(run.stdout.split())


def test_alert_text_is_plain_and_terminal_safe() -> None:
    ctx, _ = build_context(None, None)
    report = analyze(RawMessage("p.eml", None, _phish("a@example.net"), "eml"), ctx)
    builder = AlertBuilder()
    builder.add(report)
    (alert,) = builder.alerts()
    for text in (alert.summary, *alert.recommended_actions, *alert.metrics["subjects"]):
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    shown = for_terminal(alert.summary, 600)
    assert "\\[bold red]" in shown  # rich markup escaped for the terminal
