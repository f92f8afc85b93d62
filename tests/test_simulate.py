"""`tocsin simulate`: deterministic, parseable, and true to its parameters and its truth.json."""

from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from tests.helpers import ingest_paths
from tocsin.enrich.data import hosting_asns, tor_exits_active, vpn_servers
from tocsin.simulate import PROFILES, SIZES, Result, SimulationError, prepare_out, simulate
from tocsin.simulate.geo import CITIES, MOBILE
from tocsin.simulate.infra import SPRAY_AGENTS
from tocsin.simulate.profiles import ORGS
from tocsin.simulate.render import MFA_DENIED, MFA_NO_RESPONSE
from tocsin.simulate.run import setup
from tocsin.simulate.truth import Campaign, Truth

START = date(2020, 9, 1)


class Row:
    """The fields of one written record that the tests look at."""

    __slots__ = (
        "app",
        "asn",
        "category",
        "city",
        "client",
        "code",
        "country",
        "detail",
        "file",
        "ip",
        "mfa",
        "tenant",
        "time",
        "ua",
        "user",
    )

    def __init__(self, record: dict[str, Any], file: str) -> None:
        p = record["properties"]
        self.time = datetime.fromisoformat(record["time"][:26]).replace(tzinfo=UTC)
        self.user: str = p["userPrincipalName"]
        self.ip: str = p["ipAddress"]
        self.code: int = p["status"]["errorCode"]
        self.detail: str | None = p["status"].get("additionalDetails")
        self.category: str = record["category"]
        self.app: str = p["appDisplayName"]
        self.client: str = p["clientAppUsed"]
        self.ua: str = p["userAgent"]
        self.asn: int = p["autonomousSystemNumber"]
        self.country: str = p["location"]["countryOrRegion"]
        self.city: str = p["location"]["city"]
        self.tenant: str = record["tenantId"]
        self.mfa: str | None = (p.get("mfaDetail") or {}).get("authMethod")
        self.file = file


def read_rows(out: Path) -> list[Row]:
    rows = []
    for path in sorted(out.glob("*/signins-*.ndjson")):
        rows += [Row(orjson.loads(line), path.name) for line in path.read_bytes().splitlines()]
    return rows


def digests(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def strontium(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, list[Row]]:
    out = tmp_path_factory.mktemp("strontium") / "logs"
    result = simulate("strontium-2020", 7, out)
    return result, read_rows(out)


@pytest.fixture(scope="module")
def benign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, list[Row]]:
    out = tmp_path_factory.mktemp("benign") / "logs"
    result = simulate("benign", 5, out)
    return result, read_rows(out)


def _campaign(truth: Truth, kind: str) -> Campaign:
    return next(c for c in truth.campaigns if c.kind == kind)


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


# -- determinism ------------------------------------------------------------------------------


def test_same_seed_writes_the_same_bytes_different_seed_does_not(tmp_path: Path) -> None:
    one = simulate("strontium-2020", 11, tmp_path / "a", days=4, jobs=1)
    two = simulate("strontium-2020", 11, tmp_path / "b", days=4, jobs=2)  # in parallel
    other = simulate("strontium-2020", 12, tmp_path / "c", days=4, jobs=1)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert one.truth == two.truth
    changed = digests(tmp_path / "c")
    assert set(changed) == set(digests(tmp_path / "a"))  # same files …
    assert all(changed[name] != digest for name, digest in digests(tmp_path / "a").items())
    assert other.truth.campaigns[0].target_users != one.truth.campaigns[0].target_users


# -- the real parser reads everything ---------------------------------------------------------


@pytest.mark.slow
def test_every_file_is_read_by_tocsin_without_a_reject(
    strontium: tuple[Result, list[Row]], tmp_path: Path
) -> None:
    result, _ = strontium
    ingested = ingest_paths(tmp_path / "data", *sorted({p.parent for p in result.files}))
    assert ingested.rejects.count == 0
    reports = ingested.result.reports
    assert len(reports) == len(result.files) == 3 * 14
    assert all(r.format == "entra_diagnostic" and not r.skipped_total for r in reports)
    events = ingested.events
    assert len(events) == result.events
    assert all(e["src_asn"] is not None and e["src_country"] for e in events)
    # tocsin's own enrichment sees the attackers the way it would see real ones.
    attackers = {ip for c in result.truth.campaigns for ip in c.attacker_ips}
    vpn_trap = {ip for t in result.truth.traps if t.kind == "commercial_vpn" for ip in t.ips}
    tagged = {e["src_ip"] for e in events if {"tor", "hosting"} & set(e["ip_tags"] or [])}
    assert tagged - vpn_trap == attackers
    tor = {e["src_ip"] for e in events if "tor" in (e["ip_tags"] or [])}
    assert len(tor) >= 0.8 * len(_campaign(result.truth, "spray").attacker_ips)
    reasons = Counter(e["reason"] for e in events)
    assert {"ok", "bad_password", "unknown_user", "locked", "mfa_required"} <= set(reasons)


# -- STRONTIUM's parameters hold in the output ------------------------------------------------


def test_spray_follows_microsofts_reporting(strontium: tuple[Result, list[Row]]) -> None:
    result, rows = strontium
    truth = result.truth
    spray = _campaign(truth, "spray")
    assert spray.actor == "STRONTIUM" and spray.techniques == ["T1110.003", "T1078.004"]
    assert sorted(spray.tenants) == sorted(o.tenant_id for o in truth.orgs)  # one campaign
    ips, users = set(spray.attacker_ips), set(spray.target_users)
    tooling_agents = {a.user_agent for a in SPRAY_AGENTS}
    attempts = [r for r in rows if r.ip in ips and r.user in users and r.ua in tooling_agents]
    per_hour: dict[tuple[str, datetime], list[str]] = defaultdict(list)
    for r in attempts:
        per_hour[(r.user, _hour(r.time))].append(r.ip)
    # About four attempts per targeted account per hour, nearly each from a different address.
    assert abs(statistics.median(len(v) for v in per_hour.values()) - 4) <= 1.5
    assert abs(statistics.median(len(set(v)) for v in per_hour.values()) - 4) <= 1.5
    # For days: most accounts are sprayed for two days or more.
    spans = defaultdict(list)
    for r in attempts:
        spans[r.user].append(r.time)
    assert statistics.median(max(t) - min(t) for t in spans.values()) >= timedelta(days=1.5)
    # About 20% of each organisation's accounts, plus names that are not accounts (50034).
    unknown = {r.user for r in attempts if r.code == 50034}
    assert unknown and unknown <= users
    for org in truth.orgs:
        real = {u for u in users - unknown if u.endswith("@" + org.domain)}
        assert 0.15 <= len(real) / org.users <= 0.25, org.domain
    # A pool of about 1,100 mostly-Tor addresses, never more than the pool on one day.
    tooling = {r.ip for r in attempts}
    assert 1000 <= len(tooling) <= 1500
    by_day = defaultdict(set)
    for r in attempts:
        by_day[r.time.date()].add(r.ip)
    # (Small organisations see only part of the day's pool: ~2,000 attempts a day.)
    assert 600 <= max(len(v) for v in by_day.values()) <= 1100
    tor = set(tor_exits_active(START, START + timedelta(days=13)))
    assert len(tooling & tor) / len(tooling) >= 0.8
    assert {r.ua for r in rows if r.ip in tor} <= tooling_agents
    codes = Counter(r.code for r in attempts if r.user not in unknown)
    assert codes[50126] / sum(codes.values()) >= 0.9 and codes[50053] > 0
    # A few accounts fall: the right password from the tooling (success or an MFA prompt).
    assert 1 <= len(spray.compromised_users) <= 6
    for user in spray.compromised_users:
        assert any(r.code in (0, 50074, 50076) for r in attempts if r.user == user), user


def test_brute_force_follows_microsofts_reporting(strontium: tuple[Result, list[Row]]) -> None:
    result, rows = strontium
    brute = _campaign(result.truth, "brute_force")
    assert brute.actor == "STRONTIUM" and brute.techniques == ["T1110.001", "T1078.004"]
    assert len(brute.target_users) == 3 and len(brute.compromised_users) == 1
    ips, users = set(brute.attacker_ips), set(brute.target_users)
    assert not users & set(_campaign(result.truth, "spray").target_users)
    attempts = [r for r in rows if r.ip in ips and r.user in users]
    per_hour = Counter((r.user, _hour(r.time)) for r in attempts)
    full_hours = [n for n in per_hour.values() if n > 200]  # not the first and last hours
    assert abs(statistics.median(full_hours) - 335) <= 335 * 0.15
    for user in users:
        assert 180 <= len({r.ip for r in attempts if r.user == user}) <= 200
    codes = Counter(r.code for r in attempts)
    assert codes[50126] and codes[50053]  # Smart Lockout answers most of them
    fell = brute.compromised_users[0]
    assert [r.code for r in attempts if r.user == fell][-1] in (0, 50074)


# -- truth.json says exactly what is in the logs ----------------------------------------------


@pytest.mark.parametrize("profile", ["strontium-2020", "stuffing", "mfa-fatigue"])
def test_truth_matches_the_logs(profile: str, tmp_path: Path) -> None:
    result = simulate(profile, 3, tmp_path / "logs")
    truth = Truth.read(tmp_path / "logs" / "truth.json")
    assert truth == result.truth and truth.profile == profile and truth.size == "small"
    rows = read_rows(tmp_path / "logs")
    assert len(rows) == (
        truth.benign.events
        + sum(c.events for c in truth.campaigns)
        + sum(t.events for t in truth.traps)
    )
    assert truth.benign.user_days == truth.benign.users * 14
    assert truth.benign.users == sum(o.users for o in truth.orgs)
    attacker_ips = {ip for c in truth.campaigns for ip in c.attacker_ips}
    for campaign in truth.campaigns:
        ips, users = set(campaign.attacker_ips), set(campaign.target_users)
        mine = [r for r in rows if r.ip in ips and r.user in users]
        assert len(mine) == campaign.events, campaign.id
        assert {r.ip for r in mine} == ips and {r.user for r in mine} == users
        assert {r.tenant for r in mine} == set(campaign.tenants)
        assert set(campaign.compromised_users) <= users
        assert all(u == u.lower() for u in users)
        first, last = min(r.time for r in mine), max(r.time for r in mine)
        assert campaign.window.start <= first.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert campaign.window.end >= last.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert (campaign.actor == "STRONTIUM") == (profile == "strontium-2020")
        if campaign.compromised_users:
            assert "T1078.004" in campaign.techniques
    # … and vice versa: attacker addresses carry nothing but the campaigns' attempts.
    from_attackers = [r for r in rows if r.ip in attacker_ips]
    assert len(from_attackers) == sum(c.events for c in truth.campaigns)
    for trap in truth.traps:
        seen = [r for r in rows if r.ip in set(trap.ips) and r.user in set(trap.users)]
        assert {r.ip for r in seen} == set(trap.ips) and {r.user for r in seen} == set(trap.users)
        assert len(seen) >= trap.events and not set(trap.ips) & attacker_ips


def test_stuffing_is_wide_and_shallow(tmp_path: Path) -> None:
    result = simulate("stuffing", 2, tmp_path)
    stuffing = _campaign(result.truth, "stuffing")
    assert stuffing.actor is None and stuffing.techniques == ["T1110.004", "T1078.004"]
    rows = [r for r in read_rows(tmp_path) if r.ip in set(stuffing.attacker_ips)]
    tries = Counter(r.user for r in rows)
    assert max(tries.values()) <= 2 and len(tries) >= 0.3 * result.truth.benign.users
    assert any(r.code == 50034 for r in rows)  # departed staff
    assert len({r.asn for r in rows}) >= 8 and len({r.country for r in rows}) >= 5
    assert max(r.time for r in rows) - min(r.time for r in rows) <= timedelta(hours=6)
    assert stuffing.compromised_users
    assert not {r.asn for r in rows} & set(hosting_asns())  # residential, not datacentre


def test_mfa_fatigue_prompts_until_someone_approves(tmp_path: Path) -> None:
    result = simulate("mfa-fatigue", 4, tmp_path)
    fatigue = _campaign(result.truth, "mfa_fatigue")
    assert fatigue.techniques == ["T1621", "T1078.004"] and fatigue.actor is None
    assert len(fatigue.target_users) == 3 and len(fatigue.compromised_users) == 2
    rows = [r for r in read_rows(tmp_path) if r.ip in set(fatigue.attacker_ips)]
    everything = read_rows(tmp_path)
    for user in fatigue.target_users:
        home = Counter(
            r.city for r in everything if r.user == user and r.ip not in set(fatigue.attacker_ips)
        ).most_common(1)[0][0]
        mine = sorted(
            (r for r in rows if r.user == user and r.category == "SignInLogs"), key=lambda r: r.time
        )
        prompts = [r for r in mine if r.code == 50074]
        assert 10 <= len(prompts) <= 30
        assert prompts[-1].time - prompts[0].time <= timedelta(minutes=95)
        denied = {r.detail for r in mine if r.code == 500121}
        assert denied <= {MFA_DENIED, MFA_NO_RESPONSE}
        local = prompts[0].time.astimezone(ZoneInfo(CITIES[home].tz))
        assert 0 <= local.hour < 6  # an odd hour
        approved = [r for r in mine if r.code == 0]
        assert bool(approved) == (user in fatigue.compromised_users)
        if approved:
            assert approved[0].mfa == "Mobile app notification" and approved[0] is mine[-1]


# -- traps ------------------------------------------------------------------------------------


def test_benign_profile_has_traps_and_no_attack(benign: tuple[Result, list[Row]]) -> None:
    result, rows = benign
    truth = result.truth
    assert truth.campaigns == []
    assert {t.kind for t in truth.traps} == {
        "nat_password_change",
        "cgnat",
        "legacy_retry",
        "travel",
        "commercial_vpn",
    }
    tor = set(tor_exits_active(START, START + timedelta(days=13)))
    assert not {r.ip for r in rows} & tor
    vpn_trap = {ip for t in truth.traps if t.kind == "commercial_vpn" for ip in t.ips}
    assert not {r.asn for r in rows if r.ip not in vpn_trap} & set(hosting_asns())


def test_traps_look_like_the_real_thing(benign: tuple[Result, list[Row]]) -> None:
    result, rows = benign
    truth = result.truth
    orgs = {o.tenant_id: o for o in truth.orgs}
    for trap in truth.traps:
        ips, users = set(trap.ips), set(trap.users)
        start, end = (
            datetime.fromisoformat(w.replace("Z", "+00:00"))
            for w in (trap.window.start, trap.window.end)
        )
        mine = [r for r in rows if r.ip in ips and r.user in users and start <= r.time <= end]
        if trap.kind == "nat_password_change":
            org = orgs[trap.tenant]
            assert trap.ips == org.office_ips[:1]
            assert len(users) >= min(40, 0.8 * (org.users - 2))
            fails = [r for r in mine if r.code in (50055, 50126)]
            assert {r.user for r in fails} == users
            assert max(r.time for r in fails) - min(r.time for r in fails) <= timedelta(minutes=25)
            for user in users:
                last_fail = max(r.time for r in fails if r.user == user)
                assert any(
                    r.code == 0 and last_fail < r.time <= last_fail + timedelta(minutes=10)
                    for r in mine
                    if r.user == user
                )
        elif trap.kind == "cgnat":
            assert len(ips) == 1 and len(users) >= 12
            carrier_asns = {n.asn for nets in MOBILE.values() for n in nets}
            assert {r.asn for r in mine} <= carrier_asns
            assert sum(r.code == 0 for r in mine) / len(mine) >= 0.9
        elif trap.kind == "legacy_retry":
            assert len(ips) == 1 and len(users) == 1
            legacy = ("Exchange ActiveSync", "IMAP4")
            retries = [r for r in mine if r.client in legacy and r.code != 0]
            assert retries and {r.code for r in retries} <= {50126, 50053}
            times = sorted(r.time for r in retries)
            assert times[-1] - times[0] >= timedelta(days=1.9)
            assert max(b - a for a, b in pairwise(times)) <= timedelta(minutes=15)
        elif trap.kind == "travel":
            home = next(o for o in ORGS if o.domain == orgs[trap.tenant].domain).country
            assert {r.country for r in mine} and home not in {r.country for r in mine}
            assert any(r.mfa for r in mine) and any(r.code == 50126 for r in mine)
            assert (max(r.time for r in mine) - min(r.time for r in mine)).days >= 2
        elif trap.kind == "commercial_vpn":
            assert ips <= {v.ip for v in vpn_servers()}
            sharing = Counter(ip for ip, _ in {(r.ip, r.user) for r in mine})
            assert max(sharing.values()) >= 2  # the same VPN addresses, several staff
            assert any(r.code == 50126 for r in mine) and any(r.code == 0 for r in mine)


# -- ordinary work ------------------------------------------------------------------------------


def test_ordinary_work_looks_like_a_real_tenant(benign: tuple[Result, list[Row]]) -> None:
    result, rows = benign
    truth = result.truth
    # Every address always has the same network and place.
    places = {(r.ip, r.asn, r.country, r.city) for r in rows}
    assert len(places) == len({r.ip for r in rows})
    assert Counter(r.category for r in rows)["NonInteractiveUserSignInLogs"] > len(rows) / 3
    # Noise: typos then success, MFA prompts then success, mistyped names, rare lockouts.
    ok = [
        r
        for r in rows
        if r.category == "SignInLogs"
        and r.code == 0
        and "@" in r.user
        and not r.user.startswith(("scanner@", "press@", "info@"))
    ]
    typos = defaultdict(list)
    for r in rows:
        if r.code == 50126:
            typos[(r.user, r.ip)].append(r.time)
    preceded = sum(
        any(timedelta(0) < r.time - t <= timedelta(minutes=3) for t in typos[(r.user, r.ip)])
        for r in ok
    )
    assert 0.015 <= preceded / len(ok) <= 0.05
    codes = Counter(r.code for r in rows)
    assert codes[50074] and codes[50034] and codes[0] > 0.9 * len(rows)
    assert sum(r.mfa is not None for r in ok) >= codes[50074] * 0.9
    # Service accounts use legacy protocols, successfully, from the office.
    offices = {ip for o in truth.orgs for ip in o.office_ips}
    legacy = [r for r in rows if r.client in ("Authenticated SMTP", "IMAP4") and r.code == 0]
    assert {r.user.split("@")[0] for r in legacy} >= {"scanner"}
    assert {r.ip for r in legacy} <= offices
    # Interactive sign-ins happen in working hours, local time, mostly on weekdays.
    zone = ZoneInfo("America/New_York")
    harper = [r.time.astimezone(zone) for r in ok if r.user.endswith("@harper2020.example")]
    assert sum(6 <= t.hour < 20 for t in harper) / len(harper) >= 0.85
    assert sum(t.weekday() < 5 for t in harper) / len(harper) >= 0.7
    # Several people share each mobile carrier's CGNAT addresses.
    carrier_asns = {n.asn for nets in MOBILE.values() for n in nets}
    sharing = Counter(ip for ip, _ in {(r.ip, r.user) for r in rows if r.asn in carrier_asns})
    assert statistics.median(sharing.values()) >= 3


def test_files_are_per_organisation_and_utc_day_and_sorted(
    benign: tuple[Result, list[Row]],
) -> None:
    result, rows = benign
    domains = {p.parent.name for p in result.files}
    assert domains == {o.domain for o in result.truth.orgs}
    assert {p.name for p in result.files} == {
        f"signins-{START + timedelta(days=d)}.ndjson" for d in range(14)
    }
    tenants = {o.domain: o.tenant_id for o in result.truth.orgs}
    for path in result.files:
        tenant = tenants[path.parent.name]
        times = [r.time for r in rows if r.file == path.name and r.tenant == tenant]
        assert times == sorted(times)
        assert {t.date().isoformat() for t in times} == {path.name[8:18]}


# -- profiles, sizes, the command line ----------------------------------------------------------


def test_profiles_and_sizes() -> None:
    assert {"strontium-2020", "stuffing", "mfa-fatigue", "benign", "scale"} <= set(PROFILES)
    assert [n for _, n in SIZES["small"]] == [25, 40, 60]
    assert [n for _, n in SIZES["large"]] == [1500, 3000]
    assert sum(n for _, n in SIZES["huge"]) == 20_000
    scale = setup(PROFILES["scale"], 1, "huge", START, 14)  # planned, not written
    spray = scale.campaigns[0]
    assert spray.info.kind == "spray" and len(scale.campaigns) == 1
    targets = [t for org in spray.targets for t in org]  # type: ignore[attr-defined]
    assert 3950 <= sum(t.who.exists for t in targets) <= 4050  # 20% of 20,000
    with pytest.raises(SimulationError):
        simulate("no-such-profile", 1, Path("unused"))


def test_output_folder_is_never_clobbered_by_accident(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SimulationError, match="did not write"):
        prepare_out(tmp_path, force=True)
    assert (tmp_path / "notes.txt").exists()


def _tocsin(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_cli_writes_logs_and_truth(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ("simulate", "--profile", "benign", "--seed", "9", "--days", "3", "--out", out)
    run = _tocsin(*args)
    assert run.returncode == 0, run.stderr
    assert "Wrote " in run.stdout and "truth.json" in run.stdout
    truth = Truth.read(out / "truth.json")
    assert (
        truth.profile == "benign"
        and truth.seed == 9
        and truth.window.end == ("2020-09-04T00:00:00Z")
    )
    before = digests(out)
    again = _tocsin(*args)
    assert again.returncode == 2 and "--force" in again.stderr
    forced = _tocsin(*args, "--force", "--jobs", "1")
    assert forced.returncode == 0 and digests(out) == before
    assert _tocsin("simulate", "--profile", "nope", "--out", tmp_path / "x").returncode == 2
    listing = _tocsin("simulate", "--list")
    assert listing.returncode == 0 and "strontium-2020" in listing.stdout
