"""Properties of the identity rules that their fixtures alone do not pin down.

* unfamiliar_location measures distance in SQL with the haversine formula: it must agree with
  a Python computation, including across the antimeridian and for near-antipodal points, and
  a feasible flight must stay quiet;
* alert ids never change when more data arrives later: replaying a fixture cut short and then
  in full keeps the id of every alert raised on the shorter log;
* each alert's evidence query returns exactly its evidence.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.helpers import ingest_paths
from tocsin.detect.engine import evaluate
from tocsin.detect.rules import Rule, load_rules
from tocsin.events import Alert
from tocsin.simulate.entra_records import Place, signin_record
from tocsin.store.duck import connect
from tocsin.store.lake import Lake, create_views

RULES = load_rules()
IDENTITY_RULES = (
    "mfa_fatigue",
    "anonymizer_signin",
    "unfamiliar_location",
    "user_enumeration",
    "legacy_protocol",
)
TENANT = "0d9c3b2a-1e4f-4a5b-8c7d-6e5f4a3b2c1d"


def _alerts(data_dir: Path, rule: Rule, *files: Path) -> list[Alert]:
    ingest_paths(data_dir, *files)
    con = connect()
    create_views(con, Lake(data_dir))
    try:
        return evaluate(con, [rule]).alerts
    finally:
        con.close()


def _wrong_passwords(path: Path, attempts: list[tuple[datetime, str]], place: Place) -> Path:
    """A diagnostic-format file of wrong-password sign-ins (50126), one per (time, account)."""
    path.write_bytes(
        b"".join(
            orjson.dumps(
                signin_record(
                    moment=moment, user=user, place=place, error_code=50126, tenant_id=TENANT
                )
            )
            + b"\n"
            for moment, user in attempts
        )
    )
    return path


def _haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lat1, lon1), (lat2, lon2) = (tuple(map(math.radians, p)) for p in (a, b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


JOURNEYS = {
    # name: (from, to, minutes between the two sign-ins)
    "washington-moscow": ((38.9, -77.03), (55.75, 37.62), 45),
    "london-sydney": ((51.51, -0.13), (-33.87, 151.21), 120),
    "anchorage-tokyo": ((61.22, -149.9), (35.68, 139.69), 30),  # across the antimeridian
    "madrid-wellington": ((40.42, -3.7), (-41.29, 174.78), 10),  # nearly antipodal
    "quito-singapore": ((-0.18, -78.47), (1.35, 103.82), 1),
}
# A real flight: Washington to London in eight hours (about 740 km/h).
FLIGHT = ((38.9, -77.03), (51.51, -0.13), 8 * 60)


def _journey_records() -> list[dict[str, Any]]:
    start = datetime(2021, 3, 1, tzinfo=UTC)
    records: list[dict[str, Any]] = []
    seed = 500_000
    for name, (a, b, minutes) in {**JOURNEYS, "flight": FLIGHT}.items():
        user = f"{name}@journeys.example"
        here = Place(f"198.51.100.{len(records) % 250}", "XA", "Here", "", a[0], a[1])
        there = Place(f"203.0.113.{len(records) % 250}", "XB", "There", "", b[0], b[1])
        moments = [start, start + timedelta(days=2)]  # history: the place is usual
        moments.append(moments[-1] + timedelta(minutes=minutes))
        for k, moment in enumerate(moments):
            seed += 1
            place = there if k == 2 else here
            records.append(signin_record(moment=moment, user=user, place=place,
                                         tenant_id=TENANT, seed=seed))  # fmt: skip
    return records


def test_travel_distance_matches_python_haversine(tmp_path: Path) -> None:
    log = tmp_path / "journeys.ndjson"
    log.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in _journey_records()))
    alerts = _alerts(tmp_path / "lake", RULES.get("unfamiliar_location"), log)
    by_user = {a.users[0].split("@")[0]: a for a in alerts}
    assert set(by_user) == set(JOURNEYS)  # the real flight is not impossible
    for name, (a, b, minutes) in JOURNEYS.items():
        alert = by_user[name]
        expected = _haversine_km(a, b)
        assert alert.severity == "medium"
        assert abs(alert.metrics["distance_km"] - expected) <= 1, name
        speed = expected / max(minutes / 60, 1 / 60)
        assert abs(alert.metrics["speed_kmh"] - speed) <= 1, name


def _cut(files: list[Path], out: Path, until: str) -> Path:
    """The fixture's records up to ``until`` (an Entra timestamp), as one file."""
    lines = [line for f in files for line in f.read_bytes().splitlines() if line.strip()]
    kept = [line for line in lines if orjson.loads(line)["time"][:19] <= until[:19]]
    out.write_bytes(b"".join(line + b"\n" for line in sorted(kept)))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("rule_id", IDENTITY_RULES)
def test_alert_ids_survive_later_data(tmp_path: Path, rule_id: str) -> None:
    """Replay the log cut off inside each alert's episode: the id is already the final one."""
    rule = RULES.get(rule_id)
    files = sorted(rule.tests_dir.glob("*.ndjson"))
    full = {a.id: a for a in _alerts(tmp_path / "full", rule, *files)}
    cuts = set()
    for alert in full.values():
        start = datetime.fromisoformat(alert.first_seen)
        end = datetime.fromisoformat(alert.last_seen)
        for share in (0.5, 0.9):
            cuts.add((start + (end - start) * share).strftime("%Y-%m-%dT%H:%M:%S"))
    seen = 0
    for k, until in enumerate(sorted(cuts)):
        part = _cut(files, tmp_path / f"part-{k}.ndjson", until)
        for alert in _alerts(tmp_path / f"lake-{k}", rule, part):
            seen += 1
            assert alert.id in full, f"{rule_id} up to {until}: {alert.summary[:120]}"
            assert full[alert.id].first_seen == alert.first_seen
    assert seen, f"{rule_id}: no alert on any shortened log, the test proves nothing"


@pytest.mark.parametrize("rule_id", IDENTITY_RULES)
def test_evidence_query_returns_exactly_the_evidence(tmp_path: Path, rule_id: str) -> None:
    rule = RULES.get(rule_id)
    ingest_paths(tmp_path, *sorted(rule.tests_dir.glob("*.ndjson")))
    con = connect()
    create_views(con, Lake(tmp_path))
    alerts = evaluate(con, [rule]).alerts
    assert alerts
    for alert in alerts:
        rows = con.execute(alert.evidence["query"]).fetchall()
        assert len(rows) == alert.evidence_count, alert.summary[:120]
        assert set(alert.evidence["event_ids"]) <= {r[0] for r in rows}


def test_distributed_spray_without_user_agents_or_places(tmp_path: Path) -> None:
    """Logs that record no user agent, country or AS (some exports drop them) still alert."""
    rule = RULES.get("distributed_spray")
    attack = rule.tests_dir / "attack.ndjson"
    bare = tmp_path / "bare.ndjson"
    with attack.open("rb") as src, bare.open("wb") as out:
        for line in src:
            record = orjson.loads(line)
            props = record["properties"]
            props.pop("userAgent", None)
            props.pop("autonomousSystemNumber", None)
            props.pop("location", None)
            record.pop("location", None)
            out.write(orjson.dumps(record) + b"\n")
    alerts = _alerts(tmp_path / "data", rule, bare)
    assert alerts, "the spray is still found without user agents and places"
    assert all(a.user_agents == [] for a in alerts)


@pytest.mark.parametrize("start_minute", [0, 35, 59])
def test_spray_across_an_hour_boundary_is_still_found(tmp_path: Path, start_minute: int) -> None:
    """password_spray_ip skips addresses by fixed buckets before its sliding windows; a spray
    whose window straddles a bucket edge must still alert, wherever it starts."""
    rule = RULES.get("password_spray_ip")
    params = rule.params()
    window, users = int(params["window_minutes"]), int(params["min_users"])
    start = datetime(2020, 9, 3, 9, start_minute, tzinfo=UTC)
    spacing = timedelta(minutes=window) / users  # the users exactly fill one window
    path = _wrong_passwords(
        tmp_path / "spray.ndjson",
        [(start + n * spacing, f"staffer{n}@harper2020.example") for n in range(users)],
        Place("203.0.113.77"),
    )
    alerts = _alerts(tmp_path / "data", rule, path)
    assert [a.src_ips for a in alerts] == [["203.0.113.77"]]
    assert len(alerts[0].users) == users


@pytest.mark.parametrize("start_minute", [0, 10, 59])
def test_stuffing_across_a_bucket_edge_keeps_its_peak(tmp_path: Path, start_minute: int) -> None:
    """credential_stuffing counts its sliding-window peak only in fixed buckets that can hold a
    burst; a burst spread over a bucket edge (they fall on even UTC hours) must still alert,
    with the full number of accounts as its peak, wherever it starts. Starting at minute 10,
    each bucket holds fewer accounts than a burst needs; only both together reach it."""
    rule = RULES.get("credential_stuffing")
    params = rule.params()
    window = int(params["window_minutes"])
    accounts = 8
    assert accounts // 2 < int(params["min_accounts"]) <= accounts
    office = Place("198.51.100.10", asn=64500)
    records = [
        # ten days of ordinary sign-ins, so the organisation has a normal to exceed
        signin_record(
            moment=datetime(2020, 9, day, 8, 30, tzinfo=UTC) + timedelta(minutes=n),
            user=f"staffer{n}@harper2020.example", place=office, tenant_id=TENANT,
        )
        for day in range(1, 11) for n in range(accounts)
    ]  # fmt: skip
    start = datetime(2020, 9, 5, 9, start_minute, tzinfo=UTC)
    spacing = timedelta(minutes=window * 5 // 6) / accounts  # 100 minutes, over 10:00
    for n in range(accounts):
        records.append(
            signin_record(
                moment=start + n * spacing,
                user=f"staffer{n}@harper2020.example",
                place=Place(f"203.0.{n}.{n + 20}", asn=64600 + n % 4),
                error_code=50126,
                tenant_id=TENANT,
                user_agent="python-requests/2.25.1",
            )
        )
    path = tmp_path / "stuffing.ndjson"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    alerts = _alerts(tmp_path / "data", rule, path)
    assert len(alerts) == 1
    assert len(alerts[0].users) == accounts
    assert alerts[0].metrics["peak_accounts"] == accounts


@pytest.mark.parametrize("start_minute", [0, 25, 29])
def test_guessing_across_a_bucket_edge_keeps_its_peak(tmp_path: Path, start_minute: int) -> None:
    """account_guessing_episodes leaves out accounts whose failures can reach the peak in no
    two consecutive fixed buckets (as wide as the window, edges on the half hour here); a
    burst of guesses spread over an edge must still alert with its full peak. Starting at
    minute 25, each bucket holds half of it."""
    rule = RULES.get("password_guessing")
    params = rule.params()
    window, peak = int(params["window_minutes"]), int(params["min_failures"])
    assert window == 30
    start = datetime(2020, 9, 3, 9, start_minute, 30, tzinfo=UTC)
    path = _wrong_passwords(
        tmp_path / "guessing.ndjson",
        [(start + timedelta(minutes=n), "chloe@harper2020.example") for n in range(peak)],
        Place("203.0.113.9"),
    )
    alerts = _alerts(tmp_path / "data", rule, path)
    assert [a.users for a in alerts] == [["chloe@harper2020.example"]]
    assert alerts[0].metrics["peak_in_window"] == peak


@pytest.mark.parametrize(("success_after", "alerts_expected"), [(5, 0), (20, 0), (None, 1)])
def test_typo_followed_by_a_sign_in_in_the_next_half_hour_is_set_aside(
    tmp_path: Path, success_after: int | None, alerts_expected: int
) -> None:
    """user_enumeration sets typos aside: a lone unknown name followed within 30 minutes by a
    sign-in from its address. It looks for that sign-in only in the name's half-hour slot and
    the next; here the name is typed at 09:29:40, so a sign-in 20 minutes later falls in the
    next slot. Nine other names keep the burst one short of min_names without the typo."""
    rule = RULES.get("user_enumeration")
    assert int(rule.params()["min_names"]) == 10
    start = datetime(2020, 9, 3, 9, 20, tzinfo=UTC)
    records = [
        signin_record(
            moment=start + timedelta(minutes=n),
            user=f"nobody{n}@harper2020.example",
            place=Place(f"198.18.{n}.7"),
            error_code=50034,
            tenant_id=TENANT,
        )
        for n in range(9)
    ]
    typo_at = datetime(2020, 9, 3, 9, 29, 40, tzinfo=UTC)
    home = Place("198.19.0.44")
    records.append(
        signin_record(
            moment=typo_at, user="chole@harper2020.example", place=home, error_code=50034,
            tenant_id=TENANT,
        )
    )  # fmt: skip
    if success_after is not None:
        records.append(
            signin_record(
                moment=typo_at + timedelta(minutes=success_after),
                user="chloe@harper2020.example", place=home, tenant_id=TENANT,
            )
        )  # fmt: skip
    path = tmp_path / "names.ndjson"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    assert len(_alerts(tmp_path / "data", rule, path)) == alerts_expected
