"""Threat intelligence: importers (real feeds and hostile files), actor names, matching, and
the `ioc:<actor>` tag sign-ins get on their way into the lake."""

from __future__ import annotations

import ipaddress
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner, Result

from tests.helpers import REPO, SHARED, ingest_paths
from tocsin.attribution import actors
from tocsin.cli import app
from tocsin.enrich import tags
from tocsin.intel import FORMATS, IntelIndex, Options, import_files, lookup, read_file, sniff
from tocsin.intel.match import match_domains, match_ips, match_urls
from tocsin.intel.misp import supported_types as misp_types
from tocsin.intel.pattern import PatternError, parse
from tocsin.intel.values import BadValue, normalise, recognise
from tocsin.simulate.entra_records import Place, signin_record
from tocsin.store.duck import connect

INTEL = SHARED / "intel"
NOW = datetime(2026, 1, 15, tzinfo=UTC)

# Every file in shared/data/intel, with what an import reads from it:
# (path, format, records, indicators, repeats, skipped, problems).
# records = objects/attributes/rows/data lines carrying a value; for every file
# records = indicators + repeats + skipped (+ problems), checked below.
# maltrail: records are the lines that are neither blank nor '#' comments. Repeats are lines
# whose value was already read: exact duplicate lines, and IP:port lines for an address
# already listed with another port (apt_sofacy: 2,353 lines = 1,814 indicators + 451 repeats
# + 88 path-only trails such as /locale/protocol/volume.php, which name no host to match).
# MSTIC May21 NOBELIUM: 127 rows give 197 indicators: the IoC column plus the SHA1, MD5 and
# C2Domain columns (C2Domain cells hold several ';'-separated domains or an IP).
# MSTIC Rapid Release: 237 rows, 8 of types tocsin cannot match (filepath, GUID,
# commandline); row 206 has the impossible date 19/20/2022 (a problem; it loads without a start).
REAL_FILES = [
    ("attack_identity_subset_stix21.json", "stix", 0, 0, 0, 26, 0),
    ("maltrail/365stealer_phishtool.txt", "maltrail", 8, 6, 0, 2, 0),
    ("maltrail/apt_33.txt", "maltrail", 115, 101, 13, 1, 0),
    ("maltrail/apt_cadetblizzard.txt", "maltrail", 1, 1, 0, 0, 0),
    ("maltrail/apt_charmingkitten.txt", "maltrail", 2448, 2314, 118, 16, 0),
    ("maltrail/apt_coldriver.txt", "maltrail", 477, 475, 2, 0, 0),
    ("maltrail/apt_duke.txt", "maltrail", 868, 861, 4, 3, 0),
    ("maltrail/apt_judgmentpanda.txt", "maltrail", 25, 25, 0, 0, 0),
    ("maltrail/apt_sofacy.txt", "maltrail", 2353, 1814, 451, 88, 0),
    ("maltrail/apt_unc1151.txt", "maltrail", 627, 614, 7, 6, 0),
    ("maltrail/apt_unc2452.txt", "maltrail", 259, 211, 42, 6, 0),
    ("maltrail/apt_voidblizzard.txt", "maltrail", 46, 45, 1, 0, 0),
    ("maltrail/evilginx.txt", "maltrail", 1730, 1715, 14, 1, 0),
    ("maltrail/evilproxy.txt", "maltrail", 103, 103, 0, 0, 0),
    ("maltrail/gophish.txt", "maltrail", 6850, 6536, 314, 0, 0),
    ("maltrail/sinkhole_sofacy.txt", "maltrail", 6, 6, 0, 0, 0),
    ("mstic/May21NOBELIUMIoCs.csv", "csv", 127, 197, 51, 0, 0),
    ("mstic/RapidReleaseTI_Indicators.csv", "csv", 237, 227, 2, 8, 1),
    ("mstic/MicrosoftMapping.json", "microsoft_actor_names", 0, 0, 0, 0, 0),
    # Plain address lists (Tor exits) read as trails without an actor: importing them is the
    # user's choice (tocsin already bundles Tor history for the `tor` tag).
    ("tor/tor_exit_ips_current.txt", "maltrail", 2277, 2277, 0, 0, 0),
    ("tor/secops-institute_tor-exit-nodes_2024-02-27.lst", "maltrail", 1746, 1746, 0, 0, 0),
]
# Reference data that is not indicators: declined as unreadable, with the reason.
NOT_INDICATORS = [
    "LICENSE-mitre-attack.txt",
    "maltrail/LICENSE-maltrail.txt",
    "mstic/LICENSE-mstic-CC-BY-4.0.txt",
    "mstic/MSFT_PublicIPs.csv",
    "mstic/OfficeWorldWide-IPRanges.json",
    "mstic/nordvpn-servers.csv",
    "mstic/pia-servers.csv",
    "mstic/torguardvpn-servers.csv",
    "tor/alireza-rezaee_latest.exits.csv",
    "tor/tor_exit_history_2018-2026.csv",
    "tor/LICENSE-alireza-rezaee-tor-nodes.txt",
    "tor/LICENSE-secops-institute-tor-ip-addresses.txt",
]


def _stix_object(kind: str, oid: str, **fields: Any) -> dict[str, Any]:
    base = {
        "type": kind,
        "spec_version": "2.1",
        "id": f"{kind}--{oid}",
        "created": "2020-08-01T00:00:00.000Z",
        "modified": "2020-08-01T00:00:00.000Z",
    }
    return {**base, **fields}


def _indicator(oid: str, pattern: str, **fields: Any) -> dict[str, Any]:
    return _stix_object(
        "indicator",
        oid,
        pattern=pattern,
        pattern_type=fields.pop("pattern_type", "stix"),
        valid_from=fields.pop("valid_from", "2020-08-01T00:00:00Z"),
        created_by_ref="identity--00000000-0000-4000-8000-00000000cert",
        **fields,
    )


def _bundle(*objects: dict[str, Any]) -> bytes:
    identity = _stix_object(
        "identity",
        "00000000-0000-4000-8000-00000000cert",
        name="Example Election CERT",
        identity_class="organization",
    )
    actor = _stix_object(
        "intrusion-set",
        "00000000-0000-4000-8000-0000strontium",
        name="STRONTIUM",
        aliases=["Fancy Bear"],
    )
    return orjson.dumps(
        {"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001",
         "objects": [identity, actor, *objects]}
    )  # fmt: skip


def _indicates(oid: str, indicator: str) -> dict[str, Any]:
    return _stix_object(
        "relationship",
        oid,
        relationship_type="indicates",
        source_ref=f"indicator--{indicator}",
        target_ref="intrusion-set--00000000-0000-4000-8000-0000strontium",
    )


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _read(path: Path) -> tuple[Any, dict[str, Any]]:
    report, found = read_file(path, Options(now=NOW))
    return report, found


# Real feeds --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "records", "indicators", "repeats", "skipped", "problems"), REAL_FILES
)
def test_real_intel_files_import_with_these_counts(
    name: str, fmt: str, records: int, indicators: int, repeats: int, skipped: int, problems: int
) -> None:
    report, found = _read(INTEL / name)
    assert report.unreadable is None
    assert report.format == fmt
    counted = (
        report.records,
        report.indicators,
        report.duplicates,
        sum(report.skipped.values()),
        report.problem_count,
    )
    assert counted == (records, indicators, repeats, skipped, problems), report.problems[:5]
    assert len(found) == indicators
    if fmt == "maltrail":
        # Independent count: lines that are neither blank nor comments.
        lines = (INTEL / name).read_text().splitlines()
        data = [x for x in lines if x.strip() and not x.strip().startswith("#")]
        assert records == len(data) == indicators + repeats + skipped + problems


def test_each_real_feed_names_its_actor() -> None:
    expected = {
        "maltrail/apt_sofacy.txt": "forest_blizzard",
        "maltrail/apt_duke.txt": "midnight_blizzard",
        "maltrail/apt_unc2452.txt": "midnight_blizzard",  # NOBELIUM in the alias header
        "maltrail/apt_charmingkitten.txt": "mint_sandstorm",
        "maltrail/apt_coldriver.txt": "star_blizzard",
        "maltrail/apt_judgmentpanda.txt": "violet_typhoon",
        "maltrail/apt_voidblizzard.txt": "void_blizzard",
        "maltrail/apt_unc1151.txt": "unc1151",  # known to maltrail only
        "maltrail/apt_33.txt": "peach_sandstorm",  # no header: the trail name
        "maltrail/apt_cadetblizzard.txt": "cadet_blizzard",
        "mstic/May21NOBELIUMIoCs.csv": "midnight_blizzard",  # from the Release title
    }
    for name, key in expected.items():
        _, found = _read(INTEL / name)
        assert {i.actor_key for i in found.values()} == {key}, name
    # Tools and sinkholes are not actors.
    for name in ("maltrail/evilginx.txt", "maltrail/gophish.txt", "maltrail/sinkhole_sofacy.txt"):
        _, found = _read(INTEL / name)
        assert {i.actor_key for i in found.values()} == {None}, name
    _, rapid = _read(INTEL / "mstic/RapidReleaseTI_Indicators.csv")
    assert Counter(i.actor_key for i in rapid.values()) == {
        "carmine_tsunami": 164,
        "storm_1061": 44,  # unknown to every bundled source: passes through
        "citrine_sleet": 11,  # ActivityGroupNames Storm-0139, a Citrine Sleet alias
        "storm_1028": 8,
    }


@pytest.mark.parametrize("name", NOT_INDICATORS)
def test_reference_data_is_declined_not_imported(name: str) -> None:
    report, found = _read(INTEL / name)
    assert report.unreadable and "not an indicator file" in report.unreadable
    assert found == {}


def test_attack_bundle_says_it_holds_no_indicators() -> None:
    report, _ = _read(INTEL / "attack_identity_subset_stix21.json")
    assert any("no indicator objects" in n for n in report.notes)
    assert any("APT28" in n and "ZIRCONIUM" in n for n in report.notes)


def test_mstic_layouts_map_by_header() -> None:
    _, may = _read(INTEL / "mstic/May21NOBELIUMIoCs.csv")
    by_value = {i.value: i for i in may.values()}
    first = by_value["cdnappservice.web.app"]  # the cell ends with a no-break space
    assert first.type == "domain" and first.valid_from == datetime(2021, 1, 28, tzinfo=UTC)
    assert "tlp:white" in first.labels and first.actor and "NOBELIUM" in first.actor
    # Extra hash columns and split C2Domain cells become indicators of their own.
    assert by_value["0588cf19b8058d5a842f9d3e9b02b3acf2524d71"].type == "sha1"
    assert by_value["f5a9d696828051d4487dde248a973658"].type == "md5"
    assert {"dataplane.theyardservice.com", "worldhomeoutlet.com"} <= set(by_value)
    assert by_value["139.99.167.177"].type == "ipv4"
    assert by_value["holescontracting.com"].type == "domain"  # "(compromised WordPress site)"
    # Empty FirstSeen falls back to DateAdded.
    assert all(i.valid_from is not None for i in may.values())

    _, rapid = _read(INTEL / "mstic/RapidReleaseTI_Indicators.csv")
    domain = next(i for i in rapid.values() if i.value == "goodsforuw.com")
    assert domain.valid_until == datetime(2022, 11, 7, tzinfo=UTC)  # ExpirationDateTime
    assert domain.valid_from is None  # its TimeGenerated is 19/20/2022
    assert domain.confidence == 100 and domain.actor == "Carmine Tsunami"
    assert {i.confidence for i in rapid.values()} == {100}


# Actor names -------------------------------------------------------------------------------


def test_aliases_resolve_to_one_actor() -> None:
    names = ["STRONTIUM", "APT28", "Forest Blizzard", "Fancy Bear", "fancy-bear", "Sofacy",
             "G0007", "sednit", "TG-4127", "zebrocy"]  # fmt: skip
    found = {actors.resolve(n).key for n in names}
    assert found == {"forest_blizzard"}
    actor = actors.resolve("strontium")
    assert actor.name == "Forest Blizzard (STRONTIUM, APT28, G0007)"
    assert actor.microsoft == "Forest Blizzard" and actor.attack_id == "G0007"
    assert actor.origin == "Russia" and actor.known
    assert actors.resolve("NOBELIUM").name == "Midnight Blizzard (NOBELIUM, APT29, G0016)"
    assert actors.resolve("ZIRCONIUM").name == "Violet Typhoon (ZIRCONIUM, APT31, G0128)"
    assert actors.resolve("Charming Kitten").name == "Mint Sandstorm (PHOSPHORUS, APT35, G0059)"
    assert actors.resolve("COLDRIVER").name == "Star Blizzard (SEABORGIUM, G1033)"
    assert actors.resolve("Ember Bear").name == "Cadet Blizzard (Ember Bear, G1003)"
    assert actors.resolve("APT42").name == "APT42 (G1044)"  # ATT&CK only
    assert actors.resolve("calisto").key == "star_blizzard"  # maltrail header only


def test_unknown_and_ambiguous_names_pass_through() -> None:
    unknown = actors.resolve("  Storm-9999 ")
    assert (unknown.name, unknown.key, unknown.known) == ("Storm-9999", "storm_9999", False)
    # Microsoft lists LABYRINTH CHOLLIMA under four actors: never guessed.
    ambiguous = actors.resolve("LABYRINTH CHOLLIMA")
    assert not ambiguous.known and ambiguous.key == "labyrinth_chollima"
    weird = actors.resolve("\x1b[31mevil\u202e")
    assert "\x1b" not in weird.name and weird.key == "31mevil"


# STIX, MISP, CSV, trails -----------------------------------------------------------------------


def test_stix_indicators_with_actor_validity_and_confidence(tmp_path: Path) -> None:
    bundle = _bundle(
        _indicator("1", "[ipv4-addr:value = '198.51.100.7']", confidence=85,
                   valid_until="2020-12-01T00:00:00Z",
                   external_references=[{"source_name": "x", "url": "https://example.org/r"}]),
        _indicates("r1", "1"),
        _indicator("2", "[domain-name:value = 'Login.Strontium-Phish.EXAMPLE.'] OR "
                   "[url:value = 'HTTPS://Strontium-Phish.example/owa?x=1'] OR "
                   "[email-addr:value = 'Alert@Strontium-Phish.example']"),
        _indicates("r2", "2"),
        _indicator("3", "[ipv4-addr:value = '203.0.113.0/24' OR ipv6-addr:value = "
                   "'2001:DB8:0:0::7'] OR [autonomous-system:number = 64500]"),
        _indicator("4", "[file:hashes.'SHA-256' = '" + "ab" * 32 + "' AND file:hashes.MD5 = '"
                   + "cd" * 16 + "']", revoked=True),
    )  # fmt: skip
    report, found = _read(_write(tmp_path, "feed.json", bundle))
    assert report.format == "stix" and report.source == "Example Election CERT"
    assert report.problem_count == 0, report.problems
    values = {(i.type, i.value): i for i in found.values()}
    assert set(values) == {
        ("ipv4", "198.51.100.7"),
        ("domain", "login.strontium-phish.example"),
        ("url", "https://strontium-phish.example/owa?x=1"),
        ("email", "alert@strontium-phish.example"),
        ("cidr", "203.0.113.0/24"),
        ("ipv6", "2001:db8::7"),
        ("asn", "64500"),
        ("sha256", "ab" * 32),
        ("md5", "cd" * 16),
    }
    ip = values[("ipv4", "198.51.100.7")]
    assert ip.actor_key == "forest_blizzard"
    assert "fancy bear" in {a.casefold() for a in ip.actor_aliases}
    assert ip.confidence == 85 and ip.reference == "https://example.org/r"
    assert ip.valid_from == datetime(2020, 8, 1, tzinfo=UTC)
    assert ip.valid_until == datetime(2020, 12, 1, tzinfo=UTC)
    assert values[("domain", "login.strontium-phish.example")].actor_key == "forest_blizzard"
    assert values[("cidr", "203.0.113.0/24")].actor_key is None  # no relationship
    assert values[("cidr", "203.0.113.0/24")].confidence == 50  # the default
    revoked = values[("md5", "cd" * 16)]
    assert "revoked" in revoked.labels and not revoked.valid_at(NOW)


def test_stix_patterns_tocsin_does_not_support_are_reported_per_object(tmp_path: Path) -> None:
    bundle = _bundle(
        _indicator("ok", "[ipv4-addr:value = '198.51.100.1']"),
        _indicator("and", "[ipv4-addr:value = '198.51.100.2' AND network-traffic:dst_port = 443]"),
        _indicator("within", "[ipv4-addr:value = '198.51.100.3'] WITHIN 60 SECONDS"),
        _indicator("like", "[domain-name:value LIKE '%.example']"),
        _indicator("broken", "[ipv4-addr:value = '198.51.100.4'"),
        _indicator("bad-ip", "[ipv4-addr:value = '198.51.100.300']"),
        _indicator("private", "[ipv4-addr:value = '10.1.2.3']"),
        _indicator("sigma", "title: x", pattern_type="sigma"),
    )
    report, found = _read(_write(tmp_path, "feed.json", bundle))
    assert [i.value for i in found.values()] == ["198.51.100.1"]
    problems = {p.location.split("--")[1].rstrip(")"): p.reason for p in report.problems}
    assert set(problems) == {"and", "within", "like", "broken", "bad-ip", "private"}
    assert "WITHIN" in problems["within"] and "LIKE" in problems["like"]
    assert "expected ']'" in problems["broken"] and "private" in problems["private"]
    assert report.skipped == Counter({"indicators with pattern_type sigma (only stix is read)": 1})


def test_pattern_parser() -> None:
    listed = parse("[domain-name:value IN ('a.example', 'b.example')]")
    assert [(c.kind, c.value) for c in listed] == [("domain", "a.example"), ("domain", "b.example")]
    escaped = parse(r"[url:value = 'http://x.example/it\'s']")
    assert escaped[0].value == "http://x.example/it's"
    for bad in ["", "[", "(" * 5000, "[x-custom:value = 'a']", "[ipv4-addr:value != '1.2.3.4']",
                "[a:b = 'x'] FOLLOWEDBY [c:d = 'y']", "[ipv4-addr:value = '1' OR ipv4-addr:value "
                "= '2' AND ipv4-addr:value = '3']", "'" + "a" * 70000]:  # fmt: skip
        with pytest.raises(PatternError):
            parse(bad)


MISP_EVENT: dict[str, Any] = {
    "Event": {
        "id": "1207",
        "orgc_id": "2",
        "org_id": "2",
        "date": "2020-09-10",
        "threat_level_id": "1",
        "info": "STRONTIUM password spraying and phishing against election organisations",
        "published": True,
        "uuid": "5f5a3c1e-9a34-4bd4-8e55-4b0c0a0f1207",
        "analysis": "2",
        "timestamp": "1599742800",
        "distribution": "1",
        "sharing_group_id": "0",
        "Org": {"id": "2", "name": "Example Election ISAC"},
        "Orgc": {"id": "2", "name": "Example Election ISAC"},
        "Attribute": [
            {"id": "1", "type": "ip-src", "category": "Network activity", "to_ids": True,
             "uuid": "a1", "timestamp": "1599742800", "comment": "spray source (Tor exit)",
             "deleted": False, "first_seen": "2020-08-18T00:00:00.000000+00:00",
             "last_seen": None, "value": "198.51.100.23"},
            {"id": "2", "type": "domain", "category": "Network activity", "to_ids": True,
             "uuid": "a2", "value": "strontium-phish.example"},
            {"id": "3", "type": "url", "category": "Payload delivery", "to_ids": True,
             "uuid": "a3", "value": "hxxps://login.strontium-phish[.]example/owa/"},
            {"id": "4", "type": "email-src", "category": "Payload delivery", "to_ids": True,
             "uuid": "a4", "value": "Security-Alert@strontium-phish.example"},
            {"id": "5", "type": "sha256", "category": "Payload delivery", "to_ids": True,
             "uuid": "a5", "value": "9f" * 32},
            {"id": "6", "type": "ip-dst|port", "category": "Network activity", "to_ids": True,
             "uuid": "a6", "value": "203.0.113.40|443"},
            {"id": "7", "type": "AS", "category": "Network activity", "to_ids": False,
             "uuid": "a7", "value": "AS64500"},
            {"id": "8", "type": "hostname", "category": "Network activity", "to_ids": False,
             "uuid": "a8", "value": "cdn.strontium-phish.example"},
            {"id": "9", "type": "link", "category": "External analysis", "to_ids": False,
             "uuid": "a9", "value": "https://blogs.microsoft.com/on-the-issues/2020/09/10/"
             "cyberattacks-us-elections-trump-biden/"},
            {"id": "10", "type": "text", "category": "Other", "uuid": "a10", "value": "notes"},
            {"id": "11", "type": "ip-src", "category": "Network activity", "to_ids": True,
             "uuid": "a11", "value": "10.0.0.5"},
            {"id": "12", "type": "ip-dst", "category": "Network activity", "to_ids": True,
             "uuid": "a12", "value": "198.51.100.99",
             "decay_score": [{"score": 12.5, "decayed": True,
                              "DecayingModel": {"id": "1", "name": "NIDS Simple Decaying Model"}}]},
            {"id": "13", "type": "ip-dst", "category": "Network activity", "to_ids": True,
             "uuid": "a13", "value": "198.51.100.98", "deleted": True},
            {"id": "14", "type": "domain", "category": "Network activity", "to_ids": True,
             "uuid": "a14", "value": ["not", "a", "string"]},
            {"id": "15", "type": "ip-dst", "category": "Network activity", "to_ids": True,
             "uuid": "a15", "value": "198.51.100.24",
             "Tag": [{"name": "misp-galaxy:threat-actor=\"APT29\""}]},
        ],
        "Object": [
            {"id": "1", "name": "domain-ip", "meta-category": "network", "uuid": "o1",
             "Attribute": [
                 {"type": "domain", "object_relation": "domain", "to_ids": True, "uuid": "o1a",
                  "value": "mail.strontium-phish.example"},
                 {"type": "ip-dst", "object_relation": "ip", "to_ids": True, "uuid": "o1b",
                  "value": "203.0.113.41"},
             ]},
        ],
        "Galaxy": [
            {"name": "Threat Actor", "type": "threat-actor", "GalaxyCluster": [
                {"type": "threat-actor", "value": "Sofacy",
                 "meta": {"synonyms": ["APT 28", "APT28", "Pawn Storm", "Fancy Bear"]}}]},
        ],
        "Tag": [
            {"name": "tlp:amber"},
            {"name": "misp-galaxy:threat-actor=\"Sofacy\""},
            {"name": "misp-galaxy:mitre-intrusion-set=\"APT28 - G0007\""},
            {"name": "misp:confidence-level=\"usually-confident\""},
        ],
    }
}  # fmt: skip


def test_misp_event(tmp_path: Path) -> None:
    report, found = _read(_write(tmp_path, "event.json", orjson.dumps(MISP_EVENT)))
    assert report.format == "misp" and report.source == "Example Election ISAC"
    values = {i.value: i for i in found.values()}
    assert set(values) == {
        "198.51.100.23", "strontium-phish.example", "https://login.strontium-phish.example/owa/",
        "security-alert@strontium-phish.example", "9f" * 32, "203.0.113.40", "64500",
        "cdn.strontium-phish.example", "198.51.100.99", "198.51.100.24",
        "mail.strontium-phish.example", "203.0.113.41",
    }  # fmt: skip
    spray = values["198.51.100.23"]
    assert spray.actor_key == "forest_blizzard" and spray.source_kind == "misp"
    assert spray.confidence == 75  # misp:confidence-level="usually-confident"
    assert spray.valid_from == datetime(2020, 8, 18, tzinfo=UTC)
    assert spray.description == "spray source (Tor exit)"
    assert spray.reference and spray.reference.startswith("https://blogs.microsoft.com/")
    assert "tlp:amber" in spray.labels
    assert values["cdn.strontium-phish.example"].confidence == 37  # to_ids false: halved
    assert values["64500"].type == "asn"
    decayed = values["198.51.100.99"]
    assert "decayed" in decayed.labels and decayed.confidence == 12
    assert not decayed.valid_at(NOW)
    assert values["198.51.100.24"].actor_key == "midnight_blizzard"  # attribute tag wins
    assert values["mail.strontium-phish.example"].actor_key == "forest_blizzard"  # in an Object
    assert report.skipped == Counter({
        "attributes of type link (not a network or file indicator)": 1,
        "attributes of type text (not a network or file indicator)": 1,
        "deleted attributes": 1,
    })  # fmt: skip
    assert {p.location: p.reason for p in report.problems} == {
        "Event.Attribute[10]": "10.0.0.5 is private, local or reserved address space",
        "Event.Attribute[13]": "attribute 'type' and 'value' must be strings",
    }


def test_misp_shapes(tmp_path: Path) -> None:
    event = MISP_EVENT["Event"]
    for shape in ([MISP_EVENT], {"response": [MISP_EVENT]}, event):
        report, found = _read(_write(tmp_path, "e.json", orjson.dumps(shape)))
        assert report.format == "misp" and len(found) == 12, shape.__class__


def test_csv_list_by_header_with_bom_and_semicolons(tmp_path: Path) -> None:
    text = (
        "\ufeffIndicator;Indicator Type;Threat Actor;Valid Until;Confidence;Comment\n"
        "198.51.100.7;IPv4;Fancy Bear;12/31/2020;90;spray\n"
        "evil[.]example;domain;;;;defanged\n"
        "198.51.100.8;IPv4;Fancy Bear;31/12/2020;90;day first\n"
        "198.51.100.9;IPv4;Fancy Bear;12/31/2020;high;\n"
    )
    report, found = _read(_write(tmp_path, "list.csv", text))
    assert report.format == "csv"
    values = {i.value: i for i in found.values()}
    assert set(values) == {"198.51.100.7", "evil.example"}
    assert values["198.51.100.7"].valid_until == datetime(2020, 12, 31, tzinfo=UTC)
    assert values["198.51.100.7"].actor_key == "forest_blizzard"
    assert values["198.51.100.7"].confidence == 90
    assert [p.location for p in report.problems] == ["row at line 4", "row at line 5"]


def test_csv_invalid_utf8_row_is_reported_and_the_rest_loads(tmp_path: Path) -> None:
    data = (
        b"IoC,IoC_Type,ActivityGroupNames\n"
        b"198.51.100.1,IP,STRONTIUM\n"
        b"198.51.100.\xff2,IP,STRONTIUM\n"
        b"198.51.100.3,IP,Fancy Bear\n"
        b"\x00\x00,IP,x\n"
    )
    report, found = _read(_write(tmp_path, "bad.csv", data))
    assert sorted(i.value for i in found.values()) == ["198.51.100.1", "198.51.100.3"]
    assert (report.problems[0].location, report.problems[0].reason) == (
        "row at line 3",
        "invalid UTF-8 in the row; row skipped",
    )
    assert report.problem_count == 2


def test_trail_with_alias_header_ports_comments_and_defanged_values(tmp_path: Path) -> None:
    text = (
        "# Copyright (c) 2014-2026 Maltrail developers\n"
        "# Aliases: strontium, sednit, somethingnew\n\n"
        "# Reference: https://example.org/report-1\n"
        "evil.example\n"
        "EVIL.example.\n"
        "198.51.100.7:8443\n"
        "198.51.100.7:443\n"
        "http://198.51.100.8/gate.php\n"
        "bad[.]example # inline note\n"
        "/wp-admin/x.php\n"
        "192.168.1.1\n"
        "# Reference: https://example.org/report-2\n"
        "203.0.113.0/24\n"
    )
    report, found = _read(_write(tmp_path, "apt_custom.txt", text))
    assert report.format == "maltrail" and report.source == "maltrail:apt_custom"
    values = {i.value: i for i in found.values()}
    assert set(values) == {
        "evil.example", "198.51.100.7", "http://198.51.100.8/gate.php", "bad.example",
        "203.0.113.0/24",
    }  # fmt: skip
    assert report.duplicates == 2
    ip = values["198.51.100.7"]
    assert {"port:443", "port:8443"} <= set(ip.labels)
    assert ip.actor_key == "forest_blizzard" and "somethingnew" in ip.actor_aliases
    assert ip.reference == "https://example.org/report-1"
    assert values["203.0.113.0/24"].reference == "https://example.org/report-2"
    assert [(p.location, p.reason) for p in report.problems] == [
        ("line 12", "192.168.1.1 is private, local or reserved address space")
    ]
    assert sum(report.skipped.values()) == 1


def test_values_are_normalised() -> None:
    cases = {
        "2001:0DB8:0000::0001": ("ipv6", "2001:db8::1"),
        "::ffff:198.51.100.1": ("ipv4", "198.51.100.1"),
        "198.51.100.9/24": ("cidr", "198.51.100.0/24"),
        "198.51.100.9/32": ("ipv4", "198.51.100.9"),
        "*.Bücher.example.": ("domain", "xn--bcher-kva.example"),
        "hxxps://EVIL[.]example:443/Path?q=1#frag": ("url", "https://evil.example/Path?q=1"),
        "AS64500": ("asn", "64500"),
        "A" * 64: ("sha256", "a" * 64),
    }
    for raw, expected in cases.items():
        assert recognise(raw) == expected, raw
    for bad in ["0.0.0.0/0", "127.0.0.1", "fe80::1", "localhost", "x" * 3000, "1.2.3.4 5.6.7.8"]:
        with pytest.raises(BadValue):
            recognise(bad)
    with pytest.raises(BadValue):
        normalise("domain", 5)


# Hostile input -----------------------------------------------------------------------------


def test_hostile_stix_files_report_problems_and_load_the_rest(tmp_path: Path) -> None:
    good = [_indicator(str(n), f"[ipv4-addr:value = '198.51.100.{n}']") for n in range(1, 4)]
    bundle = _bundle(*good)
    cases: dict[str, bytes] = {
        "truncated": bundle[: bundle.index(b"198.51.100.3") - 40],
        "deep": bundle.replace(b'"pattern_type"', b'"x":' + b"[" * 100_000 + b"]" * 100_000
                               + b',"pattern_type"', 1),
        "huge": _bundle(*good, _indicator("9", "[domain-name:value = '" + "a" * 3_000_000 + "']"),
                        _indicator("10", "[ipv4-addr:value = '198.51.100.10']",
                                   description="x" * 5_000_000)),
        "utf8": bundle.replace(b"Example Election CERT", b"Example \xff\xfe CERT"),
        "types": _bundle(*good, "text", 7, None, {"type": 1, "id": []},  # type: ignore[arg-type]
                         _indicator("t1", 42), _indicator("t2", "[ipv4-addr:value = '1.1.1.1']",
                                                          valid_from=1599000000),
                         _indicator("t3", "[ipv4-addr:value = '1.1.1.2']", confidence="high"),
                         _indicator("t4", "[ipv4-addr:value = '1.1.1.3']", labels="x"),
                         _indicator("t5", "[ipv4-addr:value = '1.1.1.4']",
                                    valid_until="2019-01-01T00:00:00Z")),
        "duplicates": _bundle(*good, good[0], {**good[1], "modified": "2021-01-01T00:00:00Z",
                                               "pattern": "[ipv4-addr:value = '198.51.100.77']"}),
    }  # fmt: skip
    expected = {
        "truncated": ({"198.51.100.1", "198.51.100.2"}, ["not valid JSON", "streaming stopped"]),
        "deep": (
            {"198.51.100.2", "198.51.100.3"},
            ["not valid JSON", "nested deeper than 64 levels"],
        ),
        "huge": (
            {"198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.10"},
            ["pattern longer than"],
        ),
        "utf8": ({"198.51.100.1", "198.51.100.2", "198.51.100.3"}, ["invalid UTF-8 at byte"]),
        "types": (
            {"198.51.100.1", "198.51.100.2", "198.51.100.3"},
            ["not a STIX object (str)", "not a STIX object (int)", "not a STIX object (NoneType)",
             "'type' and 'id' must be strings", "pattern must be a string, not int",
             "valid_from must be a timestamp string", "confidence must be an integer",
             "labels must be a list of strings", "valid_until is not after valid_from"],
        ),
        "duplicates": (
            {"198.51.100.1", "198.51.100.77", "198.51.100.3"},
            ["duplicate id (same version as objects[2]); ignored"],
        ),
    }  # fmt: skip
    for name, data in cases.items():
        report, found = _read(_write(tmp_path, f"{name}.json", data))
        values, reasons = expected[name]
        assert report.format == "stix" and report.unreadable is None, name
        assert {i.value for i in found.values()} == values, (name, report.problems)
        got = [p.reason for p in report.problems]
        assert len(got) == len(reasons), (name, got)
        for reason, problem in zip(reasons, got, strict=True):
            assert reason in problem, (name, got)
        assert all(len(p.reason) <= 500 for p in report.problems)
    huge = next(i for i in _read(tmp_path / "huge.json")[1].values() if i.value.endswith(".10"))
    assert huge.description is not None and len(huge.description) <= 1024


def test_binary_empty_and_truncated_misp(tmp_path: Path) -> None:
    for name, data in {
        "junk.bin": os.urandom(4096),
        "empty.json": b"",
        "nul.txt": b"\x00" * 64,
    }.items():
        report, found = _read(_write(tmp_path, name, data))
        assert report.unreadable and not found, name
    event = orjson.dumps(MISP_EVENT)
    cut = event[: event.index(b"203.0.113.40")]
    report, found = _read(_write(tmp_path, "cut.json", cut))
    assert report.format == "misp"
    assert "198.51.100.23" in {i.value for i in found.values()}
    assert any("not valid JSON" in p.reason for p in report.problems)


def test_ten_thousand_object_bundle_imports_in_seconds(tmp_path: Path) -> None:
    objects = [
        _indicator(f"{n:05d}", f"[ipv4-addr:value = '198.18.{n // 256}.{n % 256}']")
        for n in range(10_000)
    ]  # fmt: skip
    path = _write(tmp_path, "big.json", _bundle(*objects))
    started = time.perf_counter()
    result = import_files([path], tmp_path / "data", Options(now=NOW))
    elapsed = time.perf_counter() - started
    assert result.reports[0].new == 10_000 and result.total == 10_000
    assert elapsed < 6, f"{elapsed:.1f} s"


def test_reimport_is_idempotent_and_updates_in_place(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sofacy = INTEL / "maltrail" / "apt_sofacy.txt"
    first = import_files([sofacy], data, Options(now=NOW))
    again = import_files([sofacy], data, Options(now=NOW + timedelta(days=1)))
    assert (first.reports[0].new, first.total) == (1814, 1814)
    assert (again.reports[0].new, again.reports[0].updated, again.reports[0].unchanged) == (
        0,
        0,
        1814,
    )
    assert again.total == 1814
    # The same file with a different confidence updates every indicator, adds none.
    third = import_files([sofacy], data, Options(now=NOW, confidence=80))
    assert (third.reports[0].new, third.reports[0].updated, third.total) == (0, 1814, 1814)
    index = IntelIndex.load(data)
    hit = index.match_domains(["adawareblock.com"], NOW)["adawareblock.com"][0].indicator
    assert hit.confidence == 80 and hit.imported_at == NOW
    # --prune drops what a source no longer lists.
    trail = _write(tmp_path, "apt_sofacy.txt", "adawareblock.com\n")
    pruned = import_files([trail], data, Options(now=NOW, source="maltrail:apt_sofacy", prune=True))
    assert pruned.reports[0].pruned == 1813 and pruned.total == 1


# Matching ----------------------------------------------------------------------------------


def _store(tmp_path: Path, *objects: dict[str, Any]) -> Path:
    data = tmp_path / "data"
    result = import_files(
        [_write(tmp_path, "feed.json", _bundle(*objects))], data, Options(now=NOW)
    )
    assert result.problems == 0, result.reports[0].problems
    return data


def test_expired_indicators_stop_matching(tmp_path: Path) -> None:
    data = _store(
        tmp_path,
        _indicator("1", "[ipv4-addr:value = '198.51.100.7']", valid_from="2020-09-01T00:00:00Z",
                   valid_until="2020-10-01T00:00:00Z"),
        _indicator("2", "[domain-name:value = 'evil.example']", valid_until="2020-10-01T00:00:00Z"),
    )  # fmt: skip
    inside, after = datetime(2020, 9, 15, tzinfo=UTC), datetime(2020, 10, 1, tzinfo=UTC)
    before = datetime(2020, 8, 31, tzinfo=UTC)
    assert set(match_ips(data, ["198.51.100.7"], inside)) == {"198.51.100.7"}
    assert match_ips(data, ["198.51.100.7"], after) == {}  # valid_until is exclusive
    assert match_ips(data, ["198.51.100.7"], before) == {}
    assert match_domains(data, ["evil.example"], after) == {}
    found = lookup(data, "198.51.100.7", after)
    assert [m.indicator.state(after) for m in found.matches] == ["expired"]
    assert found.active() == []


def test_cidr_containment_and_ipv6(tmp_path: Path) -> None:
    data = _store(
        tmp_path,
        _indicator("1", "[ipv4-addr:value = '203.0.112.0/23']"),
        _indicator("2", "[ipv4-addr:value = '203.0.113.128/25']"),
        _indicates("r2", "2"),
        _indicator("3", "[ipv6-addr:value = '2001:db8:1::/48'] OR "
                   "[ipv6-addr:value = '2001:db8::9']"),
    )  # fmt: skip
    got = match_ips(data, ["203.0.113.200", "203.0.113.5", "203.0.114.1", "2001:db8:1:ff::1",
                           "2001:0db8::0009", "2001:db8:2::1", "not-an-ip"], NOW)  # fmt: skip
    assert {ip: sorted(m.how for m in ms) for ip, ms in got.items()} == {
        "203.0.113.200": ["inside 203.0.112.0/23", "inside 203.0.113.128/25"],
        "203.0.113.5": ["inside 203.0.112.0/23"],
        "2001:db8:1:ff::1": ["inside 2001:db8:1::/48"],
        "2001:0db8::0009": ["exact"],
    }


def test_parent_domain_url_host_and_email_domain_matches(tmp_path: Path) -> None:
    data = _store(
        tmp_path,
        _indicator("1", "[domain-name:value = 'evil.example'] OR [domain-name:value = 'web.app']"
                   " OR [ipv4-addr:value = '198.51.100.5']"),
        _indicates("r1", "1"),
        _indicator("2", "[url:value = 'http://phish.example/login']"),
    )  # fmt: skip
    domains = match_domains(
        data, ["login.evil.example", "EVIL.example.", "notevil.example", "x.web.app", "web.app"]
    )
    assert {d: [m.how for m in ms] for d, ms in domains.items()} == {
        "login.evil.example": ["host: parent domain evil.example"],
        "EVIL.example.": ["host: exact"],
        "web.app": ["host: exact"],  # a shared-hosting suffix matches only itself
    }
    urls = match_urls(
        data,
        ["https://sso.login.evil.example/a?b", "https://phish.example/login", "http://198.51.100.5/x",
         "http://phish.example/other"],
    )  # fmt: skip
    assert {u: [m.how for m in ms] for u, ms in urls.items()} == {
        "https://sso.login.evil.example/a?b": ["URL host: parent domain evil.example"],
        "https://phish.example/login": ["exact"],
        "http://198.51.100.5/x": ["URL host: exact"],
    }
    mail = IntelIndex.load(data).match_emails(["Alice@Mail.Evil.Example"])
    assert [m.indicator.actor_key for m in mail["Alice@Mail.Evil.Example"]] == ["forest_blizzard"]


def test_sinkholes_are_shown_but_never_matched(tmp_path: Path) -> None:
    data = tmp_path / "data"
    import_files([INTEL / "maltrail" / "sinkhole_sofacy.txt"], data, Options(now=NOW))
    assert match_ips(data, ["130.211.96.168"]) == {}
    found = lookup(data, "130.211.96.168")
    assert found.matches and "sinkhole" in found.matches[0].indicator.labels
    assert "Forest Blizzard" in (found.matches[0].indicator.description or "")


def test_lookup_tells_tor_vpn_and_hosting(tmp_path: Path) -> None:
    tor = lookup(tmp_path, "185.220.101.4")
    assert tor.kind == "ipv4" and tor.tor and tor.matches == []
    asn = lookup(tmp_path, "AS14061")
    assert asn.kind == "asn" and asn.hosting == ("DigitalOcean", "hosting")
    with pytest.raises(BadValue):
        lookup(tmp_path, "definitely not a value")


# Enrichment in the lake ------------------------------------------------------------------------


def _signins(path: Path, rows: list[tuple[str, datetime]]) -> Path:
    records = [
        signin_record(moment=when, user=f"user{n}@campaign.example", place=Place(ip=ip),
                      error_code=50126, seed=n + 1)
        for n, (ip, when) in enumerate(rows)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_end_to_end_signin_from_an_indicator_address_is_tagged(tmp_path: Path) -> None:
    data = _store(
        tmp_path,
        _indicator("1", "[ipv4-addr:value = '198.51.100.7']", valid_from="2020-09-01T00:00:00Z",
                   valid_until="2020-10-01T00:00:00Z", confidence=90),
        _indicates("r1", "1"),
        _indicator("2", "[ipv4-addr:value = '203.0.113.0/24'] OR "
                   "[ipv6-addr:value = '2001:db8::7']"),
        _indicator("3", "[ipv4-addr:value = '203.0.113.77']"),
        _indicates("r3", "3"),
    )  # fmt: skip
    during, later = datetime(2020, 9, 10, 12, tzinfo=UTC), datetime(2020, 10, 2, 12, tzinfo=UTC)
    log = _signins(tmp_path / "signins.json", [
        ("198.51.100.7", during),    # the indicator, while valid
        ("198.51.100.7", later),     # the same address after the indicator expired
        ("203.0.113.77", during),    # exact (actor) and inside the network (no actor)
        ("2001:db8::7", during),
        ("192.0.2.1", during),
    ])  # fmt: skip
    ingested = ingest_paths(data, log)
    tags_by = {(e["src_ip"], e["time"]): e["ip_tags"] for e in ingested.events}
    assert tags_by[("198.51.100.7", during)] == ["ioc:forest_blizzard"]
    assert tags_by[("198.51.100.7", later)] == []
    assert tags_by[("203.0.113.77", during)] == ["ioc", "ioc:forest_blizzard"]
    assert tags_by[("2001:db8::7", during)] == ["ioc"]
    assert tags_by[("192.0.2.1", during)] == []


def test_enrichment_without_an_intel_store(tmp_path: Path) -> None:
    log = _signins(tmp_path / "s.json", [("198.51.100.7", datetime(2020, 9, 10, tzinfo=UTC))])
    ingested = ingest_paths(tmp_path / "data", log)
    assert ingested.events[0]["ip_tags"] == []
    con = connect()
    tags.install(con)  # no data directory at all
    assert con.sql("SELECT count(*) FROM _intel_exact").fetchall() == [(0,)]


def test_an_unreadable_store_warns_and_events_still_enter_the_lake(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "intel").mkdir(parents=True)
    (data / "intel" / "indicators.parquet").write_bytes(b"PAR1 not really parquet")
    log = _signins(tmp_path / "s.json", [("198.51.100.7", datetime(2020, 9, 10, tzinfo=UTC))])
    with pytest.warns(RuntimeWarning, match="intel store .* is unreadable"):
        ingested = ingest_paths(data, log)
    assert len(ingested.events) == 1


def test_lake_join_agrees_with_the_python_matcher(tmp_path: Path) -> None:
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    nets = ["198.51.100.0/24", "198.51.100.128/25", "198.51.100.200/30", "203.0.113.0/24",
            "198.18.0.0/15", "198.19.255.0/24"]  # fmt: skip
    singles = ["198.51.100.201", "203.0.113.9", "198.18.7.7"]
    pattern = " OR ".join(f"[ipv4-addr:value = '{v}']" for v in nets + singles)
    data = _store(tmp_path, _indicator("1", pattern))
    bases = [0xC6336400, 0xCB007100, 0xC6120000]  # 198.51.100.0, 203.0.113.0, 198.18.0.0
    probes = [
        str(ipaddress.IPv4Address(rng.choice(bases) + rng.randrange(0, 1 << 17)))
        for _ in range(3000)
    ]
    probes += [*singles, "198.51.100.0", "198.51.100.255", "198.19.255.255", "198.20.0.0"]
    con = connect()
    tags.install(con, data)
    con.execute("CREATE TABLE ev AS SELECT unnest(?) AS src_ip", [probes])
    con.execute(
        "CREATE TABLE probe AS SELECT src_ip, TIMESTAMPTZ '2025-01-01' AS time, "
        "DATE '2025-01-01' AS day, NULL::BIGINT AS src_asn, NULL::VARCHAR AS src_org, "
        "[]::VARCHAR[] AS ip_tags FROM ev"
    )
    rows = con.execute(f"SELECT src_ip, ip_tags FROM ({tags.enriched_select('probe')})").fetchall()
    sql = {ip for ip, found in rows if "ioc" in found}
    python = set(match_ips(data, probes, datetime(2025, 1, 1, tzinfo=UTC)))
    assert sql == python and len(sql) > 500


# Command line ------------------------------------------------------------------------------


def _tocsin(*args: str | Path) -> Result:
    """`tocsin …` in-process (the real typer app; subprocess start-up costs seconds)."""
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200", "NO_COLOR": "1"})


def test_cli_import_and_lookup(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bad = _write(tmp_path, "bad.json", _bundle(_indicator("x", "[ipv4-addr:value = '1.2.3']")))
    rapid = INTEL / "mstic" / "RapidReleaseTI_Indicators.csv"
    run = _tocsin("intel", "import", INTEL / "maltrail" / "apt_sofacy.txt", bad, rapid,
                  "--data-dir", data)  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "apt_sofacy.txt: maltrail (source maltrail:apt_sofacy)" in run.stdout
    assert "1,814 indicators from 2,353 records: 1,814 new" in run.stdout
    assert "skipped 88: path trails" in run.stdout
    assert "objects[2] (indicator--x): not an IP address" in run.stdout
    assert "row at line 206: not a date" in run.stdout
    strict = _tocsin("intel", "import", bad, "--data-dir", data, "--strict")
    assert strict.exit_code == 2 and "0 new, 0 updated, 0 unchanged" in strict.stdout
    vpn_list = INTEL / "mstic" / "pia-servers.csv"
    missing = _tocsin("intel", "import", tmp_path / "nope.json", vpn_list, "--data-dir", data)
    assert missing.exit_code == 2 and "unreadable" in missing.stdout
    look = _tocsin("intel", "lookup", "login.adawareblock.com", "--data-dir", data, "--json")
    assert look.exit_code == 0, look.output
    shown = json.loads(look.stdout)
    assert shown["indicators"][0]["actor_key"] == "forest_blizzard"
    assert shown["indicators"][0]["matched"] == "parent domain adawareblock.com"
    table = _tocsin("intel", "lookup", "goodsforuw.com", "--data-dir", data, "--at", "2022-06-01")
    assert table.exit_code == 0 and "active" in table.stdout and "Carmine Tsunami" in table.stdout
    expired = _tocsin("intel", "lookup", "goodsforuw.com", "--data-dir", data)
    assert "expired" in expired.stdout
    assert _tocsin("intel", "lookup", "nonsense value", "--data-dir", data).exit_code == 2


def test_cli_runs_as_a_program(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "tocsin", "intel", "lookup", "AS14061", "--data-dir", tmp_path],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "AS14061 (asn)" in run.stdout and "DigitalOcean — hosting" in run.stdout


def test_sniffing_is_by_content_not_name(tmp_path: Path) -> None:
    assert sniff(orjson.dumps(MISP_EVENT)) == "misp"
    assert sniff(_bundle()) == "stix"
    assert sniff(b"\xef\xbb\xbfIoC,Type\n1.2.3.4,IP\n") == "csv"
    assert sniff(b"# comment\nevil.example\n198.51.100.1\n") == "maltrail"
    assert sniff(b"Lorem ipsum dolor sit amet.\nConsectetur adipiscing.\n") is None
    misnamed = _write(tmp_path, "list.csv", orjson.dumps(MISP_EVENT))
    assert _read(misnamed)[0].format == "misp"


def test_docs_name_every_format_and_misp_type() -> None:
    doc = (REPO / "docs" / "intel.md").read_text()
    assert [f for f in FORMATS if f"`{f}`" not in doc] == []
    missing = [t for t in misp_types() if "`" + t.replace("|", "\\|") + "`" not in doc]
    assert missing == []


def test_hostile_misp_and_csv_report_each_object_and_load_the_rest(tmp_path: Path) -> None:
    event = {"Event": {"info": "x", "Orgc": {"name": "ISAC"}, "Attribute": [
        {"type": "ip-src", "value": "198.51.100.5"},
        {"type": "ip-src", "value": 42},
        {"type": 7, "value": "198.51.100.6"},
        "junk",
        None,
        {"type": "ip-src", "value": "10.0.0.1"},
        {"type": "domain", "value": "evil..example"},
        {"type": "ip-src", "value": "198.51.100.9", "Tag": "not a list"},
    ], "Object": [{"Attribute": "x"}, 5]}}  # fmt: skip
    report, found = _read(_write(tmp_path, "event.json", orjson.dumps(event)))
    assert report.format == "misp"
    assert sorted(i.value for i in found.values()) == ["198.51.100.5", "198.51.100.9"]
    assert [(p.location, p.reason) for p in report.problems] == [
        ("Event.Attribute[1]", "attribute 'type' and 'value' must be strings"),
        ("Event.Attribute[2]", "attribute 'type' and 'value' must be strings"),
        ("Event.Attribute[3]", "not a MISP attribute (str)"),
        ("Event.Attribute[4]", "not a MISP attribute (NoneType)"),
        ("Event.Attribute[5]", "10.0.0.1 is private, local or reserved address space"),
        ("Event.Attribute[6]", "not a domain name: 'evil..example'"),
        ("Event.Object[0]", "not a MISP object with an Attribute list"),
        ("Event.Object[1]", "not a MISP object with an Attribute list"),
    ]
    rows = "IoC,Type\n198.51.100.20,ip\n,ip\nnot an ip,ip\n198.51.100.21,ip,extra,cols\n"
    report, found = _read(_write(tmp_path, "list.csv", rows))
    assert report.format == "csv"
    assert sorted(i.value for i in found.values()) == ["198.51.100.20", "198.51.100.21"]
    assert [p.location for p in report.problems] == ["row at line 3", "row at line 4"]
