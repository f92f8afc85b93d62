"""`tocsin rules test`: run each rule on its own attack and benign fixtures.

A rule's ``tests/`` folder holds raw vendor-format files — ``attack*`` and ``benign*`` — and
``expected.json``, the reviewed golden alerts. The fixtures go through the real path (format
sniffing, parsing, the lake, the rule SQL), so a parser change that breaks a rule shows here.

* attack + benign together must produce exactly the expected alerts (noise must not hide or
  distort the attack);
* benign alone must produce no alert from the rule;
* every fixture file must parse without a single reject.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tocsin.detect.engine import evaluate
from tocsin.detect.rules import Rule
from tocsin.events import Alert
from tocsin.ingest import RejectLog, ingest
from tocsin.sources.base import ReadOptions
from tocsin.store.duck import connect
from tocsin.store.lake import Lake, create_views

GOLDEN_FIELDS = (
    "id",
    "severity",
    "first_seen",
    "last_seen",
    "tenant",
    "users",
    "compromised_users",
    "src_ips",
    "evidence_count",
    "summary",
)
# Syslog fixtures carry no year; fixtures are replayed as this year so goldens never drift.
FIXTURE_YEAR = 2020


@dataclass(slots=True)
class FixtureResult:
    rule: str
    problems: list[str] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    updated: bool = False

    @property
    def passed(self) -> bool:
        return not self.problems


def golden(alert: Alert) -> dict[str, Any]:
    data = alert.to_dict()
    return {k: data[k] for k in GOLDEN_FIELDS}


def fixture_files(rule: Rule, kind: str) -> list[Path]:
    return sorted(
        p for p in rule.tests_dir.glob(f"{kind}*") if p.is_file() and not p.name.endswith(".md")
    )


def run_fixtures(rule: Rule, *, update: bool = False) -> FixtureResult:
    result = FixtureResult(rule.id)
    attack, benign = fixture_files(rule, "attack"), fixture_files(rule, "benign")
    if not attack:
        result.problems.append("no attack fixture (tests/attack*)")
    if not benign:
        result.problems.append("no benign fixture (tests/benign*)")
    if result.problems:
        return result
    alerts = _alerts_for(rule, attack + benign, result)
    result.alerts = [golden(a) for a in alerts]
    expected_path = rule.tests_dir / "expected.json"
    if update:
        expected_path.write_bytes(
            orjson.dumps(result.alerts, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        )
        result.updated = True
    elif not expected_path.is_file():
        result.problems.append("tests/expected.json is missing (write it with --update, review)")
    else:
        expected = orjson.loads(expected_path.read_bytes())
        if expected != result.alerts:
            result.problems.append(_diff(expected, result.alerts))
    if not result.alerts:
        result.problems.append("the attack fixture raises no alert")
    quiet = _alerts_for(rule, benign, result)
    if quiet:
        shown = "; ".join(f"{a.severity} {a.summary[:120]}" for a in quiet[:3])
        result.problems.append(f"benign fixture raises {len(quiet)} alert(s): {shown}")
    return result


def _alerts_for(rule: Rule, files: list[Path], result: FixtureResult) -> list[Alert]:
    with tempfile.TemporaryDirectory(prefix="tocsin-rule-test-") as tmp:
        lake = Lake(Path(tmp))
        con = connect(temp_directory=lake.tmp_dir)
        rejects = RejectLog()
        try:
            with lake.locked():
                ingested = ingest(files, lake, con, rejects, options=ReadOptions(year=FIXTURE_YEAR))
            for entry in rejects.kept:
                where = f"{Path(entry.file).name}:{entry.line or entry.record}"
                result.problems.append(f"fixture reject at {where}: {entry.reason}")
            for report in ingested.reports:
                if report.note:
                    result.problems.append(f"fixture {Path(report.path).name}: {report.note}")
            create_views(con, lake)
            evaluation = evaluate(con, [rule])
            for run in evaluation.runs:
                if run.error:
                    result.problems.append(f"rule failed: {run.error}")
            return evaluation.alerts
        finally:
            con.close()


def _diff(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> str:
    lines = [
        f"alerts differ from tests/expected.json ({len(expected)} expected, {len(actual)} got)"
    ]
    by_id = {a["id"]: a for a in actual}
    for want in expected:
        got = by_id.pop(want["id"], None)
        if got is None:
            lines.append(f"  missing: {want['severity']} {want['users'][:3]} {want['first_seen']}")
            continue
        for key in GOLDEN_FIELDS:
            if want.get(key) != got.get(key):
                lines.append(
                    f"  {want['id']} {key}: expected {want.get(key)!r}, got {got.get(key)!r}"
                )
    for extra in by_id.values():
        lines.append(
            f"  unexpected: {extra['severity']} {extra['users'][:3]} {extra['first_seen']}"
        )
    return "\n".join(lines)
