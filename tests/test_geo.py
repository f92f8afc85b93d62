"""Offline place and AS of source addresses: vendor fields win, geoip2fast fills the gaps, the
user's .mmdb files come first, and a bad database is a clear error."""

from __future__ import annotations

import ipaddress
import json
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.helpers import ingest_paths
from tocsin.cli import app
from tocsin.enrich import geo
from tocsin.enrich.geo import GeoError, GeoResolver, Place
from tocsin.ingest import RejectLog, ingest
from tocsin.simulate.entra_records import Place as RecordPlace
from tocsin.simulate.entra_records import signin_record
from tocsin.store.duck import connect
from tocsin.store.lake import Lake

WHEN = datetime(2024, 5, 6, 12, tzinfo=UTC)


# --- a tiny MaxMind DB writer (format: https://maxmind.github.io/MaxMind-DB/) ---------------
# No maintained writer is on PyPI for Python, so the test encodes the few types it needs.


def _control(kind: int, size: int) -> bytes:
    assert size < 285
    small, extra = (size, b"") if size < 29 else (29, bytes([size - 29]))
    if kind <= 7:
        return bytes([(kind << 5) | small]) + extra
    return bytes([small, kind - 7]) + extra  # extended type: type bits 0, next byte type - 7


def _encode(value: Any) -> bytes:
    if isinstance(value, str):
        raw = value.encode()
        return _control(2, len(raw)) + raw
    if isinstance(value, float):
        return _control(3, 8) + struct.pack(">d", value)
    if isinstance(value, dict):
        body = b"".join(_encode(k) + _encode(v) for k, v in value.items())
        return _control(7, len(value)) + body
    if isinstance(value, list):
        return _control(11, len(value)) + b"".join(_encode(v) for v in value)
    if isinstance(value, tuple):  # (type, unsigned int): uint16 5, uint32 6, uint64 9
        kind, number = value
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        return _control(kind, len(raw)) + raw
    if isinstance(value, int):
        return _encode((6, value))
    raise TypeError(value)


def write_mmdb(path: Path, networks: dict[str, dict[str, Any]], kind: str = "Test-City") -> Path:
    """An IPv4 database (record size 24) answering ``networks``."""
    nodes: list[list[Any]] = [[None, None]]
    for cidr, record in networks.items():
        net = ipaddress.IPv4Network(cidr)
        bits = format(int(net.network_address), "032b")[: net.prefixlen]
        node = 0
        for depth, bit in enumerate(bits):
            side = int(bit)
            if depth == len(bits) - 1:
                nodes[node][side] = ("data", record)
            else:
                if nodes[node][side] is None:
                    nodes.append([None, None])
                    nodes[node][side] = len(nodes) - 1
                node = nodes[node][side]
    count = len(nodes)
    data = b""
    offsets: dict[int, int] = {}
    tree = b""
    for left, right in nodes:
        values = []
        for child in (left, right):
            if child is None:
                values.append(count)
            elif isinstance(child, int):
                values.append(child)
            else:
                key = id(child[1])
                if key not in offsets:
                    offsets[key] = len(data)
                    data += _encode(child[1])
                values.append(count + 16 + offsets[key])
        tree += b"".join(v.to_bytes(3, "big") for v in values)
    metadata = {
        "node_count": (6, count),
        "record_size": (5, 24),
        "ip_version": (5, 4),
        "database_type": kind,
        "languages": ["en"],
        "binary_format_major_version": (5, 2),
        "binary_format_minor_version": (5, 0),
        "build_epoch": (9, 1700000000),
        "description": {"en": "tocsin test database"},
    }
    path.write_bytes(tree + b"\x00" * 16 + data + b"\xab\xcd\xefMaxMind.com" + _encode(metadata))
    return path


# --- sign-ins with and without the vendor's place ---------------------------------------------


def _record(ip: str, n: int, *, placed: bool, asn: int | None = None) -> dict[str, Any]:
    record = signin_record(moment=WHEN, user=f"user{n}@campaign.example",
                           place=RecordPlace(ip=ip, country="FR", city="Paris", asn=asn),
                           error_code=50126, seed=n + 1)  # fmt: skip
    if not placed:
        record.pop("location", None)
        record["properties"].pop("location", None)
        record["properties"].pop("autonomousSystemNumber", None)
    return record


def _log(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _by_ip(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["src_ip"]: e for e in events}


def test_vendor_fields_win_over_lookups(tmp_path: Path) -> None:
    # Entra says Paris, AS 64500 for Google's resolver: the log saw the connection.
    log = _log(tmp_path / "s.json", [_record("8.8.8.8", 1, placed=True, asn=64500)])
    event = ingest_paths(tmp_path / "data", log).events[0]
    assert (event["src_country"], event["src_city"], event["src_asn"]) == ("FR", "Paris", 64500)
    # The bundled data names Google's AS; an AS name for a different AS number is not used.
    assert event["src_org"] is None


def test_unplaced_addresses_get_country_and_as_from_bundled_data(tmp_path: Path) -> None:
    log = _log(tmp_path / "s.json", [
        _record("8.8.8.8", 1, placed=False),
        _record("81.2.69.160", 2, placed=False),
        _record("10.1.2.3", 3, placed=False),  # private: no database knows it
    ])  # fmt: skip
    events = _by_ip(ingest_paths(tmp_path / "data", log).events)
    assert events["8.8.8.8"]["src_country"] == "US"
    assert events["8.8.8.8"]["src_org"] == "GOOGLE"
    assert events["8.8.8.8"]["src_city"] is None  # geoip2fast's bundled data has no cities
    assert events["81.2.69.160"]["src_country"] == "GB"
    assert events["10.1.2.3"]["src_country"] is None
    assert events["10.1.2.3"]["src_org"] is None


def test_an_as_name_of_a_hosting_provider_tags_the_event(tmp_path: Path) -> None:
    assert geo.classify_org("DIGITALOCEAN-ASN") == "hosting"
    assert geo.classify_org("Comcast Cable Communications, LLC") is None
    con = connect()
    con.execute("CREATE TABLE ev AS SELECT '203.0.113.9' AS src_ip, NULL::BIGINT AS src_asn, "
                "NULL::VARCHAR AS src_org, NULL::VARCHAR AS src_country, NULL::VARCHAR AS "
                "src_city, NULL::DOUBLE AS src_lat, NULL::DOUBLE AS src_lon, "
                "[]::VARCHAR[] AS ip_tags")  # fmt: skip
    geo.create_empty(con)
    con.execute("INSERT INTO _geo VALUES ('203.0.113.9', 'NL', NULL, NULL, NULL, NULL, "
                "'DIGITALOCEAN-ASN', 'hosting')")  # fmt: skip
    row = con.execute(f"SELECT src_country, src_org, ip_tags FROM ({geo.placed_select('ev')})")
    assert row.fetchall() == [("NL", "DIGITALOCEAN-ASN", ["hosting"])]


def test_a_city_from_a_database_disagreeing_on_the_country_is_not_used() -> None:
    first = Place(country="FR")
    assert first.merged(Place(country="DE", city="Berlin", lat=52.5, lon=13.4)) == first
    assert Place(asn=1, org="A").merged(Place(asn=2, org="B")) == Place(asn=1, org="A")
    assert Place().merged(Place(country="DE", city="Berlin")).city == "Berlin"


def test_user_mmdb_comes_before_bundled_data(tmp_path: Path) -> None:
    city = write_mmdb(tmp_path / "city.mmdb", {
        "81.2.69.0/24": {"country": {"iso_code": "GB"}, "city": {"names": {"en": "London"}},
                         "location": {"latitude": 51.5, "longitude": -0.1}},
    })  # fmt: skip
    asn = write_mmdb(tmp_path / "asn.mmdb", {
        "81.2.69.0/24": {"autonomous_system_number": 20712,
                         "autonomous_system_organization": "Andrews & Arnold Ltd"},
        "198.18.0.0/15": {"autonomous_system_number": 1},  # not global: never asked
    }, kind="Test-ASN")  # fmt: skip
    resolver = GeoResolver([city, asn])
    place = resolver.lookup("81.2.69.160")
    assert place == Place("GB", "London", 51.5, -0.1, 20712, "Andrews & Arnold Ltd")
    # Not in the user's databases: the bundled data answers.
    assert resolver.lookup("8.8.8.8") == Place(country="US", org="GOOGLE")
    log = _log(tmp_path / "s.json", [_record("81.2.69.160", 1, placed=False)])
    lake = Lake(tmp_path / "data", geoip=resolver)
    assert lake.geoip is resolver
    con = connect(temp_directory=lake.tmp_dir)
    with lake.locked():
        ingest([log], lake, con, RejectLog())
    row = con.execute(
        f"SELECT src_country, src_city, src_asn, src_org FROM read_parquet("
        f"'{lake.events_dir}/*/*/*.parquet')"
    ).fetchall()
    con.close()
    assert row == [("GB", "London", 20712, "Andrews & Arnold Ltd")]


def test_bad_geoip_databases_are_clear_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a maxmind database at all" * 10)
    with pytest.raises(GeoError, match="not a readable MaxMind/DB-IP database"):
        GeoResolver([junk])
    with pytest.raises(GeoError, match="no such geolocation database"):
        GeoResolver([tmp_path / "missing.mmdb"])
    bad_dat = tmp_path / "bad.dat.gz"
    bad_dat.write_bytes(b"\x1f\x8bnot gzip really")
    with pytest.raises(GeoError, match="not a usable geoip2fast data file"):
        GeoResolver([bad_dat])
    log = _log(tmp_path / "s.json", [_record("8.8.8.8", 1, placed=False)])
    result = CliRunner().invoke(app, ["scan", str(log), "--data-dir", str(tmp_path / "d"),
                                      "--geoip-db", str(junk), "--quiet"])  # fmt: skip
    assert result.exit_code == 2
    assert "not a readable MaxMind/DB-IP database" in result.output
    assert not (tmp_path / "d" / "events").exists()


def test_lookups_happen_once_per_address_and_skip_placed_ones() -> None:
    con = connect()
    con.execute("CREATE TABLE ev (src_ip VARCHAR, src_country VARCHAR, src_asn BIGINT, "
                "src_org VARCHAR)")  # fmt: skip
    con.execute("INSERT INTO ev VALUES ('8.8.8.8', NULL, NULL, NULL), "
                "('8.8.8.8', NULL, NULL, NULL), ('1.1.1.1', 'AU', 13335, NULL), "
                "('9.9.9.9', 'US', NULL, 'QUAD9'), (NULL, NULL, NULL, NULL)")  # fmt: skip
    assert geo.install(con, "ev") == 1
    assert con.execute("SELECT ip, country FROM _geo").fetchall() == [("8.8.8.8", "US")]
