"""Every rule passes its own fixtures; the loader refuses broken rules with their file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import ingest_paths
from tocsin.detect.engine import evaluate, render_sql, sql_literal
from tocsin.detect.fixtures import run_fixtures
from tocsin.detect.rules import DETECTIONS_DIR, load_rules
from tocsin.store.duck import connect
from tocsin.store.lake import Lake, create_views

RULES = load_rules()


def test_installed_rules_load_cleanly() -> None:
    assert [str(e) for e in RULES.errors] == []
    assert {r.id for r in RULES.rules} >= {"password_guessing", "password_spray_ip"}


@pytest.mark.parametrize("rule", RULES.rules, ids=lambda r: r.id)
def test_rule_fixtures(rule: object) -> None:
    result = run_fixtures(rule)  # type: ignore[arg-type]
    assert result.passed, "\n".join(result.problems)


def _copy_rule(tmp_path: Path, rule_id: str) -> Path:
    src = next(DETECTIONS_DIR.glob(f"*/{rule_id}"))
    dst = tmp_path / "identity" / rule_id
    shutil.copytree(src, dst)
    return dst


def test_loader_collects_every_error_with_its_file(tmp_path: Path) -> None:
    wall = _copy_rule(tmp_path, "password_guessing")
    sql = (wall / "rule.sql").read_text()
    (wall / "rule.sql").write_text(
        sql.replace("WHERE peak_in_window", "WHERE time < now() AND peak_in_window")
    )
    bad_meta = _copy_rule(tmp_path, "password_spray_ip")
    text = (bad_meta / "rule.yml").read_text()
    (bad_meta / "rule.yml").write_text(text.replace("techniques: [T1110.003]", "techniques: [X1]"))
    undeclared = tmp_path / "identity" / "extra_rule"
    shutil.copytree(wall, undeclared)
    (undeclared / "rule.yml").write_text(
        (undeclared / "rule.yml").read_text().replace("id: password_guessing", "id: extra_rule")
    )
    (undeclared / "rule.sql").write_text(sql + "\n-- $nope\nSELECT $nope")
    shutil.rmtree(undeclared / "tests")
    loaded = load_rules(tmp_path)
    messages = [str(e) for e in loaded.errors]
    assert any("password_guessing/rule.sql" in m and "wall-clock" in m for m in messages)
    assert any("password_spray_ip/rule.yml" in m and "techniques" in m for m in messages)
    assert any("extra_rule" in m and "tests/ is missing" in m for m in messages)
    assert any("extra_rule/rule.sql" in m and "$nope" in m for m in messages)
    assert loaded.rules == []


def test_rules_run_on_event_time_not_wall_clock(tmp_path: Path) -> None:
    """A 2020 attack replayed years later still alerts, dated 2020."""
    rule = RULES.get("password_guessing")
    got = ingest_paths(tmp_path, *sorted(rule.tests_dir.glob("attack*")))
    assert got.events
    lake = Lake(tmp_path)
    con = connect()
    create_views(con, lake)
    alerts = evaluate(con, [rule]).alerts
    assert alerts and all(a.first_seen.startswith("2020-09-03") for a in alerts)


def test_alert_ids_are_stable_across_rescans(tmp_path: Path) -> None:
    rule = RULES.get("password_spray_ip")
    files = sorted(rule.tests_dir.glob("attack*"))
    first = ingest_paths(tmp_path / "a", *files)
    second = ingest_paths(tmp_path / "b", *files)
    ids = []
    for got, lake_dir in ((first, tmp_path / "a"), (second, tmp_path / "b")):
        assert got.events
        con = connect()
        create_views(con, Lake(lake_dir))
        ids.append([a.id for a in evaluate(con, [rule]).alerts])
    assert ids[0] == ids[1] and ids[0]


def test_evidence_query_returns_exactly_the_evidence(tmp_path: Path) -> None:
    rule = RULES.get("password_guessing")
    ingest_paths(tmp_path, *sorted(rule.tests_dir.glob("*.ndjson")))
    con = connect()
    create_views(con, Lake(tmp_path))
    for alert in evaluate(con, [rule]).alerts:
        rows = con.execute(alert.evidence["query"]).fetchall()
        assert len(rows) == alert.evidence_count
        ids = {r[0] for r in rows}
        assert set(alert.evidence["event_ids"]) <= ids


def test_sql_literals_cannot_break_out() -> None:
    hostile = "x' OR 1=1 --"
    assert sql_literal(hostile) == "'x'' OR 1=1 --'"
    assert render_sql('"user" = {user}', {"user": hostile}) == "\"user\" = 'x'' OR 1=1 --'"
    con = connect()
    assert con.execute(f"SELECT {sql_literal(hostile)}").fetchone() == (hostile,)


def test_every_rule_technique_is_in_the_bundled_attack_data() -> None:
    from tocsin.attribution.attack import techniques

    known = techniques()
    missing = {t: r.id for r in RULES.rules for t in r.meta.techniques if t not in known}
    assert missing == {}
