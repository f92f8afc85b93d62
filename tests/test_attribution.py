"""Actor playbooks and attribution: scored, with reasons, "unattributed" by default; a single
weak signal never names an actor. End to end on the simulator's STRONTIUM profile."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from tests.test_campaigns import make_alert
from tocsin.attribution import attack, playbooks
from tocsin.attribution.campaigns import Campaign, cluster
from tocsin.attribution.correlate import correlate
from tocsin.attribution.playbooks import Condition, parse
from tocsin.attribution.score import (
    ATTRIBUTE_AT,
    CAP_BEHAVIOUR,
    CAP_SINGLE,
    CAP_SINGLE_STRONG,
    CAP_WEAK,
    attribute,
    compare,
)
from tocsin.cli import app
from tocsin.events import Actor
from tocsin.scan import ScanConfig, ScanResult, run_scan
from tocsin.simulate import simulate

REQUIRED = {
    "forest_blizzard": ("STRONTIUM", "APT28", "G0007"),
    "violet_typhoon": ("ZIRCONIUM", "APT31", "G0128"),
    "mint_sandstorm": ("PHOSPHORUS", "APT35", "G0059"),
    "star_blizzard": ("SEABORGIUM", "COLDRIVER", "G1033"),
}


def test_bundled_playbooks_load_and_agree_with_attack() -> None:
    loaded = playbooks.load()
    assert loaded.errors == []
    by_key = {p.actor.key: p for p in loaded.playbooks}
    assert set(REQUIRED) <= set(by_key)
    for key, names in REQUIRED.items():
        book = by_key[key]
        assert book.group.id == names[2] == book.actor.attack_id
        for name in names[:2]:
            assert name in book.aliases
        assert book.references and book.ioc_sources and book.victims and book.summary
        for technique in book.techniques:
            assert technique in attack.techniques()
        assert any(s.when.kind == "ioc" for s in book.signatures)
    strontium = by_key["forest_blizzard"]
    cited = " ".join(r.url for r in strontium.references)
    assert "2020/09/10/cyberattacks-us-elections-trump-biden" in cited
    assert playbooks.find("APT28") is strontium
    assert playbooks.find("forest_blizzard") is strontium


def test_broken_playbooks_report_every_problem() -> None:
    doc = yaml.safe_load("""
actor: Nobody Bear
attack_group: G9999
techniques: [T0000]
signatures:
  - {id: a, says: x, strength: huge, weight: 2, when: {feature: nonsense, at_least: 1}}
  - {id: b, says: y, strength: weak, weight: 0.1, when: {feature: tor_share}}
  - {id: c, says: z, strength: weak, weight: 0.1, when: {techniques_any: [T0001]}}
  - {id: d, says: w, strength: weak, weight: 0.1, when: {colour: red}}
""")
    book, errors = parse(doc, "bad.yml")
    assert book is None
    text = "\n".join(errors)
    for expected in (
        "actor 'Nobody Bear' is not a known actor name",
        "attack_group 'G9999' not in the ATT&CK data",
        "technique T0000 is not in the bundled ATT&CK data",
        "signatures[0]: strength must be one of weak, moderate, strong",
        "signatures[0]: weight must be a number in (0, 1]",
        "signatures[0].when: unknown feature 'nonsense'",
        "signatures[1].when: a feature needs exactly one of at_least, at_most, between",
        "signatures[2].when: technique T0001 is not in the bundled ATT&CK data",
        "signatures[3].when: unknown condition 'colour'",
    ):
        assert expected in text
    assert parse("just text", "x.yml") == (None, ["x.yml: not a mapping"])


def _meets_only(signature_condition: Condition, key: str) -> dict[str, Any]:
    """Features that meet this one condition (and, for nested ones, all their parts)."""
    features: dict[str, Any] = {}

    def fill(cond: Condition) -> None:
        if cond.kind == "feature":
            assert cond.feature is not None
            features[cond.feature] = cond.low if cond.low is not None else cond.high
        elif cond.kind in ("rules", "techniques"):
            features.setdefault(cond.kind, []).append(cond.values[0])
        elif cond.kind == "ioc":
            features["ioc_actors"] = {key: 3}
        elif cond.kind == "all":
            for part in cond.parts:
                fill(part)
        else:
            fill(cond.parts[0])

    fill(signature_condition)
    return features


def test_a_single_signal_never_names_an_actor_with_high_confidence() -> None:
    """Every signature of every playbook, alone: at most the single-signal cap, never high."""
    books = playbooks.load().playbooks
    for book in books:
        for signature in book.signatures:
            features = _meets_only(signature.when, book.actor.key)
            for other in books:
                result = compare(features, other)
                assert result["level"] != "high"
                assert result["confidence"] <= CAP_SINGLE_STRONG
                if signature.strength != "strong":
                    assert result["confidence"] <= CAP_SINGLE < ATTRIBUTE_AT
            campaign = Campaign.from_dict(_empty_campaign())
            campaign.features = features
            verdict = attribute(campaign, books)
            if signature.strength != "strong":
                assert verdict["status"] == "unattributed", (book.path, signature.id)
            else:  # an imported indicator of the actor: named, with low confidence only
                assert verdict["actor"]["level"] == "low"


def test_weak_signals_together_stay_below_the_bar() -> None:
    for book in playbooks.load().playbooks:
        weak = [s for s in book.signatures if s.strength == "weak"]
        for pair in itertools.combinations(weak, 2):
            features: dict[str, Any] = {}
            for signature in pair:
                features.update(_meets_only(signature.when, book.actor.key))
            assert compare(features, book)["confidence"] <= CAP_WEAK < ATTRIBUTE_AT


def test_behaviour_alone_is_at_most_medium_and_indicators_raise_it() -> None:
    book = playbooks.find("STRONTIUM")
    assert book is not None
    behaviour = {
        "tor_share": 0.9, "pace_median": 4.0, "failure_share": 0.99, "rotation_median": 3.9,
        "addresses": 1100, "uncommon_agent_share": 0.9,
    }  # fmt: skip
    result = compare(behaviour, book)
    assert result["confidence"] == CAP_BEHAVIOUR
    assert result["level"] == "medium"
    assert (
        "confidence capped at 0.7: behaviour only, no indicator of the actor" in result["reasons"]
    )
    with_ioc = compare({**behaviour, "ioc_actors": {"forest_blizzard": 12}}, book)
    assert with_ioc["level"] == "high"
    assert any("12 address(es) in this actor's indicators" in r for r in with_ioc["reasons"])


def _empty_campaign() -> dict[str, Any]:
    return {
        "id": "cp-test", "first_seen": "2020-09-01T00:00:00Z",
        "last_seen": "2020-09-02T00:00:00Z", "severity": "high", "alert_ids": ["al-x"],
        "rules": [], "tenants": [], "users": [], "compromised_users": [], "src_ips": [],
        "netblocks": [], "src_asns": [], "countries": [], "user_agents": [], "techniques": [],
        "evidence_count": 0,
    }  # fmt: skip


def test_an_actor_a_rule_named_from_an_indicator_counts_and_stays() -> None:
    alert = make_alert("m", rule="mail_phishing", ips=[])
    alert.actor = Actor("COLDRIVER", 0.6, ["link to a COLDRIVER domain"])
    alert.techniques = ["T1566.002"]
    other = make_alert("n", ips=["192.0.2.1"])
    campaigns = correlate([alert, other], None)
    mail = next(c for c in campaigns if "al-m" in c.alert_ids)
    assert mail.features["named_actors"] == {"star_blizzard": 1}
    assert mail.attribution["status"] == "attributed"
    assert mail.attribution["actor"]["key"] == "star_blizzard"
    assert alert.actor is not None and alert.actor.name.startswith("Star Blizzard")
    assert other.actor is None  # unattributed: the alert names nobody


def test_unattributed_by_default() -> None:
    campaigns = correlate([make_alert("x", ips=["192.0.2.1"])], None)
    verdict = campaigns[0].attribution
    assert verdict["status"] == "unattributed" and verdict["actor"] is None
    assert verdict["reasons"]


# --- end to end on simulated organisations ----------------------------------------------------


def _scan(tmp: Path, profile: str) -> ScanResult:
    simulate(profile, 7, tmp / "logs", size="small", days=4)
    return run_scan(ScanConfig(paths=[tmp / "logs"], data_dir=tmp / "data", out_dir=tmp / "out"))


@pytest.fixture(scope="module")
def strontium(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ScanResult]:
    tmp = tmp_path_factory.mktemp("strontium")
    return tmp, _scan(tmp, "strontium-2020")


@pytest.mark.slow
def test_simulated_strontium_is_attributed_to_strontium_with_reasons(
    strontium: tuple[Path, ScanResult],
) -> None:
    tmp, result = strontium
    spray = next(c for c in result.campaigns if "distributed_spray" in c.rules)
    assert len(spray.tenants) == 3  # one campaign across the three organisations
    verdict = spray.attribution
    assert verdict["status"] == "attributed"
    actor = verdict["actor"]
    assert actor["key"] == "forest_blizzard" and "STRONTIUM" in actor["name"]
    assert actor["level"] == "medium"  # behaviour only: no indicator imported
    reasons = " ".join(actor["reasons"])
    for expected in ("Tor exit nodes", "few times an hour", "different address",
                     "uncommon user agents", "Office 365"):  # fmt: skip
        assert expected in reasons
    # Every alert of the campaign carries its id and the actor, with reasons.
    alerts = [orjson.loads(x) for x in (tmp / "out" / "alerts.jsonl").read_bytes().splitlines()]
    mine = [a for a in alerts if a["campaign"] == spray.id]
    assert {a["id"] for a in mine} == set(spray.alert_ids)
    assert all(a["actor"]["name"] == actor["name"] and a["actor"]["reasons"] for a in mine)
    stored = [orjson.loads(x) for x in (tmp / "out" / "campaigns.jsonl").read_bytes().splitlines()]
    assert {c["id"] for c in stored} == {c.id for c in result.campaigns}
    summary = json.loads((tmp / "out" / "scan.json").read_text())["campaigns"]
    assert {"id": spray.id, "actor": actor["name"], "confidence": actor["confidence"]} in summary[
        "attributed"
    ]
    # The other (lone anonymizer) campaigns are not STRONTIUM's.
    for campaign in result.campaigns:
        if campaign is not spray and "distributed_spray" not in campaign.rules:
            assert campaign.attribution["status"] == "unattributed"


@pytest.mark.slow
def test_explain_shows_the_attribution_and_its_reasons(strontium: tuple[Path, ScanResult]) -> None:
    tmp, result = strontium
    spray = next(c for c in result.campaigns if "distributed_spray" in c.rules)
    alert_id = next(a for a in spray.alert_ids)
    shown = CliRunner().invoke(
        app, ["explain", alert_id, "--data-dir", str(tmp / "data"), "--sample", "1"]
    )
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert f"Campaign {spray.id}" in text
    assert "Attribution: Forest Blizzard (STRONTIUM, APT28, G0007) — medium confidence" in text
    assert "Most attempts came through Tor exit nodes" in text
    assert "not seen: Attacking addresses are indicators" in text


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["stuffing", "mfa-fatigue", "benign"])
def test_other_attacks_and_ordinary_work_stay_unattributed(tmp_path: Path, profile: str) -> None:
    result = _scan(tmp_path, profile)
    for campaign in result.campaigns:
        assert campaign.attribution["status"] == "unattributed", campaign.attribution
    assert all(a.actor is None for a in result.evaluation.alerts)


def test_cluster_then_attribute_without_a_lake_uses_alert_facts() -> None:
    campaigns = cluster([make_alert("a", ips=["192.0.2.1"])])
    assert campaigns[0].features == {"named_actors": {}}


@pytest.mark.slow
def test_detect_again_keeps_campaign_ids_and_prints_the_attribution(
    strontium: tuple[Path, ScanResult],
) -> None:
    tmp, result = strontium
    spray = next(c for c in result.campaigns if "distributed_spray" in c.rules)
    again = CliRunner().invoke(app, ["detect", "--data-dir", str(tmp / "data"), "--quiet"])
    assert again.exit_code == 0, again.output
    text = " ".join(again.output.split())
    assert f"{spray.id}: Forest Blizzard (STRONTIUM, APT28, G0007), medium confidence" in text
    assert f"tocsin report --campaign {spray.id}" in text


def test_imported_indicators_of_the_actor_are_measured_and_raise_confidence(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from tests.helpers import ingest_paths
    from tests.test_intel import _indicates, _indicator, _store
    from tocsin.simulate.entra_records import Place, signin_record
    from tocsin.store.duck import connect
    from tocsin.store.lake import Lake, create_views

    data = _store(tmp_path, _indicator("1", "[ipv4-addr:value = '198.51.100.7']"),
                  _indicates("r1", "1"))  # fmt: skip
    records = [
        signin_record(moment=datetime(2020, 9, 2, 6, n, tzinfo=UTC), user=f"u{n}@o.example",
                      place=Place(ip="198.51.100.7"), error_code=50126, seed=n + 1)
        for n in range(3)
    ]  # fmt: skip
    log = tmp_path / "s.json"
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    ingest_paths(data, log)
    alert = make_alert("x", tenant="6f1a0c9e-3b2d-4f5e-8a7b-1c2d3e4f5a6b",
                       ips=["198.51.100.7"], first="2020-09-02T06:00:00Z",
                       last="2020-09-02T06:02:00Z")  # fmt: skip
    con = connect()
    create_views(con, Lake(data))
    (campaign,) = correlate([alert], con)
    con.close()
    assert campaign.features["ioc_actors"] == {"forest_blizzard": 1}
    assert campaign.features["attempts"] == 3 and campaign.features["failure_share"] == 1
    candidate = campaign.attribution["candidates"][0]
    assert candidate["key"] == "forest_blizzard"
    # The indicator and a few weak signals (Office 365, unfamiliar agent, technique): medium.
    assert campaign.attribution["status"] == "attributed"
    assert campaign.attribution["actor"]["level"] == "medium"
    assert any("1 address(es) in this actor's indicators" in r for r in candidate["reasons"])


def test_ordinary_phishing_with_tracking_pixels_names_nobody() -> None:
    """Beacons and phishing are everyday spam too: without the targets or an indicator that
    point to an actor, the mail campaigns of a public phishing corpus stay unattributed."""
    campaign = Campaign.from_dict(_empty_campaign())
    campaign.features = {
        "rules": ["mail_phishing", "mail_web_beacon"],
        "techniques": ["T1566.001", "T1566.002", "T1598", "T1598.002", "T1583.001"],
        "organisations": 1,
    }
    verdict = attribute(campaign)
    assert verdict["status"] == "unattributed"
    assert all(c["confidence"] < ATTRIBUTE_AT for c in verdict["candidates"])
