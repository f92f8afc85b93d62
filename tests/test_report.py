"""`tocsin report`: a campaign as a STIX 2.1 bundle valid for the reference library (and the
validator), and as CSV and plain indicator lists."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import stix2
from typer.testing import CliRunner

from tests.helpers import ingest_paths
from tests.test_campaigns import make_alert
from tocsin.attribution import attack
from tocsin.attribution.campaigns import cluster
from tocsin.attribution.report import (
    AddressFacts,
    address_facts,
    indicators_csv,
    indicators_plain,
    stix_bundle,
)
from tocsin.attribution.score import attribute_all
from tocsin.attribution.store import save_campaigns
from tocsin.cli import app
from tocsin.simulate.entra_records import Place, signin_record
from tocsin.store.duck import connect
from tocsin.store.lake import Lake, create_views
from tocsin.store.state import StateStore, default_url

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
IPS = ["185.220.101.4", "198.51.100.7", "2001:db8::7"]
STRONTIUM_LIKE = {
    "tor_share": 0.9, "pace_median": 4.0, "failure_share": 0.99, "rotation_median": 3.9,
    "addresses": 1100, "uncommon_agent_share": 0.9, "ioc_actors": {"forest_blizzard": 2},
}  # fmt: skip


def _campaign(attributed: bool = True) -> dict[str, Any]:
    alerts = [
        make_alert("a", tenant="org-a", ips=IPS[:2], rule="distributed_spray"),
        make_alert("b", tenant="org-b", ips=IPS[1:], rule="distributed_spray"),
    ]
    campaigns = cluster(alerts)
    assert len(campaigns) == 1
    if attributed:
        campaigns[0].features.update(STRONTIUM_LIKE)
    attribute_all(campaigns, alerts)
    return campaigns[0].to_dict()


def _facts(campaign: dict[str, Any]) -> list[AddressFacts]:
    return address_facts(None, campaign)


def _validate(bundle: dict[str, Any]) -> stix2.Bundle:
    parsed = stix2.parse(json.dumps(bundle), allow_custom=False)
    validator = pytest.importorskip("stix2validator")
    results = validator.validate_instance(bundle, validator.ValidationOptions(version="2.1"))
    assert results.is_valid, [str(e) for e in results.errors]
    return parsed


def test_attributed_campaign_is_a_valid_stix21_bundle() -> None:
    campaign = _campaign()
    assert campaign["actor"]["key"] == "forest_blizzard"
    bundle = stix_bundle(campaign, _facts(campaign), now=NOW)
    parsed = _validate(bundle)
    by_type: dict[str, list[Any]] = {}
    for obj in parsed.objects:
        by_type.setdefault(obj.type, []).append(obj)
    ids = {o.id for o in parsed.objects}
    assert {o.name for o in by_type["identity"]} == {"tocsin", "org-a", "org-b"}
    (camp,) = by_type["campaign"]
    assert camp.first_seen == datetime(2020, 9, 2, tzinfo=UTC)
    (intrusion,) = by_type["intrusion-set"]
    assert intrusion.name == "APT28"
    assert {"STRONTIUM", "Forest Blizzard", "Fancy Bear"} <= set(intrusion.aliases)
    ref = intrusion.external_references[0]
    assert (ref.source_name, ref.external_id, ref.url) == (
        "mitre-attack", "G0007", "https://attack.mitre.org/groups/G0007",
    )  # fmt: skip
    relations = {(r.relationship_type, r.source_ref, r.target_ref): r
                 for r in by_type["relationship"]}  # fmt: skip
    attributed = relations[("attributed-to", camp.id, intrusion.id)]
    assert attributed.confidence == round(campaign["actor"]["confidence"] * 100)
    (technique,) = by_type["attack-pattern"]
    spraying = attack.technique("T1110.003")
    assert technique.name == spraying.name == "Password Spraying"
    assert technique.external_references[0].url == spraying.url
    assert ("uses", camp.id, technique.id) in relations
    patterns = sorted(i.pattern for i in by_type["indicator"])
    assert patterns == [
        "[ipv4-addr:value = '185.220.101.4']",
        "[ipv4-addr:value = '198.51.100.7']",
        "[ipv6-addr:value = '2001:db8::7']",
    ]
    for indicator in by_type["indicator"]:
        assert ("indicates", indicator.id, camp.id) in relations
        assert indicator.valid_until > indicator.valid_from
    sightings = by_type["sighting"]
    assert len(sightings) == 2 + 3  # the campaign at each organisation, each indicator
    for sighting in sightings:
        assert sighting.sighting_of_ref in ids
        assert set(sighting.where_sighted_refs) <= ids
    for obj in parsed.objects:
        if obj.type != "marking-definition":
            assert obj.object_marking_refs == [stix2.TLP_AMBER.id]
    # The same campaign exported twice: the same objects (MISP/OpenCTI update, not duplicate).
    assert stix_bundle(campaign, _facts(campaign), now=NOW) == bundle


def test_unattributed_campaign_has_no_intrusion_set() -> None:
    campaign = _campaign(attributed=False)
    assert campaign["actor"] is None
    bundle = stix_bundle(campaign, _facts(campaign), now=NOW, tlp="green")
    parsed = _validate(bundle)
    types = {o.type for o in parsed.objects}
    assert "intrusion-set" not in types
    assert not any(getattr(o, "relationship_type", "") == "attributed-to" for o in parsed.objects)
    assert "Unattributed." in next(o for o in parsed.objects if o.type == "campaign").description
    assert stix2.TLP_GREEN.id in {o.id for o in parsed.objects}


def test_csv_and_plain_exports() -> None:
    campaign = _campaign()
    facts = _facts(campaign)
    facts[0].tags, facts[0].org = ["tor"], '=HYPERLINK("http://evil.example")'
    rows = list(csv.DictReader(io.StringIO(indicators_csv(campaign, facts))))
    assert [r["value"] for r in rows] == IPS
    assert rows[0]["tags"] == "tor" and rows[2]["type"] == "ipv6"
    assert rows[0]["as_org"].startswith("'=")  # never a formula in a spreadsheet
    assert rows[0]["actor"].startswith("Forest Blizzard") and rows[0]["campaign"] == campaign["id"]
    plain = indicators_plain(campaign, facts).splitlines()
    assert [line for line in plain if not line.startswith("#")] == IPS
    assert "attributed to Forest Blizzard" in plain[1]


def _signins(path: Path) -> Path:
    rows = [
        signin_record(moment=datetime(2020, 9, 2, 6, n, tzinfo=UTC), user=f"u{n}@org.example",
                      place=Place(ip=IPS[n % 2], country="DE"), error_code=50126, seed=n + 1)
        for n in range(5)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_addresses_are_described_from_the_lake(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ingest_paths(data, _signins(tmp_path / "s.json"))
    campaign = _campaign()
    campaign["first_seen"], campaign["last_seen"] = "2020-09-02T00:00:00Z", "2020-09-03T00:00:00Z"
    con = connect()
    create_views(con, Lake(data))
    facts = {f.ip: f for f in address_facts(con, campaign)}
    con.close()
    assert facts[IPS[0]].attempts == 3 and facts[IPS[1]].attempts == 2
    assert facts[IPS[0]].first_seen == "2020-09-02T06:00:00Z"
    assert "tor" in facts[IPS[0]].tags  # 185.220.101.4 was a Tor exit that day
    assert facts[IPS[0]].country == "DE"
    assert facts[IPS[2]].attempts == 0  # not in the lake: the campaign's dates


def test_cli_report(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = StateStore(default_url(data))
    data.mkdir()
    try:
        store.migrate()
        alerts = [make_alert("a", tenant="org-a", ips=IPS[:2]),
                  make_alert("b", tenant="org-b", ips=IPS[1:])]  # fmt: skip
        campaigns = cluster(alerts)
        attribute_all(campaigns, alerts)
        save_campaigns(store, campaigns)
    finally:
        store.dispose()
    cid = campaigns[0].id
    runner = CliRunner()
    listing = runner.invoke(app, ["report", "--data-dir", str(data)])
    assert listing.exit_code == 0 and cid in listing.output and "unattributed" in listing.output
    out = tmp_path / "bundle.json"
    made = runner.invoke(app, ["report", "--campaign", cid[:10], "--data-dir", str(data),
                               "--out", str(out)])  # fmt: skip
    assert made.exit_code == 0, made.output
    _validate(json.loads(out.read_text()))
    plain = runner.invoke(app, ["report", "-c", cid, "-f", "plain", "--data-dir", str(data)])
    assert plain.exit_code == 0 and IPS[2] in plain.output
    as_csv = runner.invoke(app, ["report", "-c", cid, "-f", "csv", "--data-dir", str(data)])
    assert as_csv.output.startswith("type,value,first_seen")
    for args, message in (
        (["-c", "cp-nope"], "no campaign"),
        (["-c", cid, "-f", "pdf"], "--format must be one of"),
        (["-c", cid, "--tlp", "purple"], "--tlp must be one of"),
    ):
        bad = runner.invoke(app, ["report", *args, "--data-dir", str(data)])
        assert bad.exit_code == 2 and message in bad.output
