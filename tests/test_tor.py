"""`tocsin intel tor-refresh`: every kind of Tor exit list, problems per line, and sign-ins
tagged `tor` from the refreshed exits on the event's day only."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tests.helpers import ingest_paths
from tocsin.cli import app
from tocsin.enrich.tor import (
    TorRefreshError,
    exit_spans,
    read_exit_file,
    refresh,
    refreshed_exits,
    store_path,
)
from tocsin.simulate.entra_records import Place, signin_record

# Public addresses the bundled history (which ends 2026-08-22) cannot know on these days.
A, B, C = "81.2.69.160", "81.2.69.161", "2a01:4f8::7"
DAY = date(2026, 10, 1)


def _bulk(tmp_path: Path) -> Path:
    path = tmp_path / "torbulkexitlist"
    path.write_text(f"# fetched by hand\n{A}\n\n{B}\nnot-an-address\n10.0.0.1\n{A}\n{C}\n")
    return path


def test_bulk_exit_list_with_a_date_and_bad_lines(tmp_path: Path) -> None:
    spans, result = read_exit_file(_bulk(tmp_path), day=DAY)
    assert result.kind == "bulk_exit_list"
    assert sorted(spans) == sorted([A, B, C])
    assert (result.first_day, result.last_day, result.addresses) == (DAY, DAY, 3)
    assert result.problems == [
        "line 5: not a public IP address: 'not-an-address'",
        "line 6: not a public IP address: '10.0.0.1'",
    ]


def test_bulk_exit_list_defaults_to_the_files_day(tmp_path: Path) -> None:
    path = _bulk(tmp_path)
    moment = datetime(2026, 11, 3, 10, tzinfo=UTC).timestamp()
    os.utime(path, (moment, moment))
    _, result = read_exit_file(path)
    assert result.first_day == date(2026, 11, 3)


def test_exit_addresses_carry_their_own_days(tmp_path: Path) -> None:
    path = tmp_path / "exit-addresses"
    path.write_text(
        "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n"
        "Published 2026-09-30 22:00:00\nLastStatus 2026-10-01 01:00:00\n"
        f"ExitAddress {A} 2026-09-30 23:10:00\n"
        f"ExitAddress {A} 2026-10-01 02:10:00\n"
        "ExitAddress 999.1.1.1 2026-10-01 02:10:00\n"
        f"ExitAddress {B} 2026-10-03 02:10:00\n"
    )
    spans, result = read_exit_file(path)
    assert result.kind == "exit_addresses"
    assert spans[A] == [(date(2026, 9, 30), date(2026, 9, 30)), (DAY, DAY)]
    assert spans[B] == [(date(2026, 10, 3), date(2026, 10, 3))]
    assert result.problems == ["line 6: not a public address and a date"]


def test_onionoo_details_take_exit_flagged_relays(tmp_path: Path) -> None:
    document = {
        "version": "8.0",
        "relays_published": "2026-10-02 12:00:00",
        "relays": [
            {"nickname": "exit1", "or_addresses": [f"{A}:9001", f"[{C}]:9001"],
             "flags": ["Exit", "Fast", "Running"], "first_seen": "2026-09-01 00:00:00",
             "last_changed_address_or_port": "2026-09-20 00:00:00",
             "last_seen": "2026-10-02 11:00:00"},
            {"nickname": "middle", "or_addresses": [f"{B}:443"], "flags": ["Fast"],
             "last_seen": "2026-10-02 11:00:00"},
            {"nickname": "measured", "or_addresses": ["192.0.2.5:443"], "flags": ["Fast"],
             "exit_addresses": [B], "last_seen": "2026-10-02 11:00:00"},
            "junk",
            {"nickname": "noaddr", "or_addresses": [], "flags": ["Exit"],
             "last_seen": "2026-10-02 11:00:00"},
        ],
    }  # fmt: skip
    path = tmp_path / "details.json"
    path.write_bytes(orjson.dumps(document))
    spans, result = read_exit_file(path)
    assert result.kind == "onionoo_details"
    assert spans[A] == [(date(2026, 9, 20), date(2026, 10, 2))]
    assert spans["2a01:4f8::7"] == [(date(2026, 9, 20), date(2026, 10, 2))]
    assert B in spans  # measured exit address of a relay without the flag
    assert "192.0.2.5" not in spans
    assert result.problems == [
        "relays[2]: not a public IP address: '192.0.2.5:443'",
        "relays[3]: not an object",
        "relays[4]: no addresses",
    ]


def test_onionoo_summary_is_the_day_it_was_published(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_bytes(orjson.dumps({
        "relays_published": "2026-10-01 06:00:00",
        "relays": [{"n": "x", "f": "AB", "a": [A, C], "r": True}],
    }))  # fmt: skip
    spans, result = read_exit_file(path)
    assert result.kind == "onionoo_summary"
    assert spans == {A: [(DAY, DAY)], C: [(DAY, DAY)]}
    assert any("search=flag:exit" in n for n in result.notes)
    path.write_bytes(orjson.dumps({"relays": [{"a": [A]}]}))
    with pytest.raises(TorRefreshError, match="without 'relays_published'"):
        read_exit_file(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x1f\x8b\x08\x00junk", "compressed"),
        (b"{not json", "not valid JSON"),
        (b'{"relays": 3}', "without a 'relays' list"),
        (b"# only a comment\nhello world\n", "no Tor exit addresses"),
    ],
)
def test_files_that_are_no_exit_list(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "f"
    path.write_bytes(content)
    with pytest.raises(TorRefreshError, match=message):
        read_exit_file(path, day=DAY)


def test_refresh_merges_runs_of_days(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = tmp_path / "one"
    first.write_text(f"{A}\n")
    refresh(data, first, day=DAY)
    result = refresh(data, first, day=date(2026, 10, 2))
    assert (result.new, result.stored) == (0, 1)
    refresh(data, first, day=date(2026, 10, 9))
    assert [(e.first_seen, e.last_seen) for e in refreshed_exits(data)] == [
        (DAY, date(2026, 10, 2)),
        (date(2026, 10, 9), date(2026, 10, 9)),
    ]
    assert store_path(data).read_text().splitlines()[0] == "ip,first_seen,last_seen"
    # The bundled history is still there, next to the refreshed exits.
    assert len(exit_spans(data)) == len(exit_spans(None)) + 2


def _signins(path: Path, rows: list[tuple[str, datetime]]) -> Path:
    records = [
        signin_record(moment=when, user=f"user{n}@campaign.example", place=Place(ip=ip),
                      error_code=50126, seed=n + 1)
        for n, (ip, when) in enumerate(rows)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_signins_are_tagged_from_refreshed_exits_on_the_events_day(tmp_path: Path) -> None:
    data = tmp_path / "data"
    exits = tmp_path / "exits"
    exits.write_text(f"{A}\n")
    on_day, next_week = datetime(2026, 10, 1, 15, tzinfo=UTC), datetime(2026, 10, 8, tzinfo=UTC)
    log = _signins(tmp_path / "s.json", [(A, on_day), (A, next_week), (B, on_day)])
    runner = CliRunner()
    result = runner.invoke(app, ["intel", "tor-refresh", str(exits), "--date", "2026-10-01",
                                 "--data-dir", str(data)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "bulk_exit_list, 1 exit addresses on 2026-10-01" in result.output
    events = ingest_paths(data, log).events
    tags = {(e["src_ip"], e["time"]): e["ip_tags"] for e in events}
    assert "tor" in tags[(A, on_day)]
    assert "tor" not in tags[(A, next_week)]
    assert "tor" not in tags[(B, on_day)]


def test_cli_reports_bad_dates_and_unreadable_files(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["intel", "tor-refresh", str(tmp_path), "--date", "yesterday",
                              "--data-dir", str(tmp_path / "d")])  # fmt: skip
    assert bad.exit_code == 2
    assert "not a day" in bad.output
    good = tmp_path / "good"
    good.write_text(f"{A}\nnonsense\n")
    missing = tmp_path / "missing"
    result = runner.invoke(app, ["intel", "tor-refresh", str(good), str(missing), "--date",
                                 "2026-10-01", "--data-dir", str(tmp_path / "d")])  # fmt: skip
    assert result.exit_code == 2
    assert "line 2: not a public IP address: 'nonsense'" in result.output
    assert "cannot read it" in result.output
    assert refreshed_exits(tmp_path / "d")[0].ip == A  # the good file still counted
