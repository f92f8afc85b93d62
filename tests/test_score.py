"""Scoring against truth.json, and the per-address baselines of bench/baselines.py.

The baselines are checked at their edges (a leaky bucket that overflows at the sixth event of
a burst and not a microsecond earlier, fail2ban's inclusive window, Sentinel's fixed bins)
both as pure replays and end to end: Entra diagnostic records → lake → baseline → score.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from tests.helpers import REPO, ingest_paths
from tocsin.simulate.entra_records import Place, signin_record
from tocsin.simulate.score import (
    ScoredAlert,
    fp_rate,
    parse_time,
    score,
    summarize,
)
from tocsin.simulate.truth import Benign, Campaign, Org, Trap, Truth, Window


def _load_baselines() -> ModuleType:
    name = "tocsin_bench_baselines"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / "baselines.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


bl = _load_baselines()

T0 = datetime(2020, 9, 10, 12, 0, tzinfo=UTC)
TENANT = "6f1a0c9e-3b2d-4f5e-8a7b-1c2d3e4f5a6b"
S = 1_000_000  # microseconds per second
T0_US = int(T0.timestamp()) * S


# --------------------------------------------------------------------------------------------
# helpers


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _rows(offsets_s: list[float], users: list[str] | None = None, ip: str = "198.51.100.7"):  # type: ignore[no-untyped-def]
    names = users or [f"u{i}@x.example" for i in range(len(offsets_s))]
    return [(ip, T0_US + round(o * S), u, TENANT) for o, u in zip(offsets_s, names, strict=True)]


def _overflow_times(rows: list[Any], scenario: Any) -> list[float]:
    return [(ep[-1][1] - T0_US) / S for ep in bl.leaky_replay(rows, scenario)]


def _ban_windows(rows: list[Any]) -> list[tuple[float, float, int]]:
    jail = bl.Fail2banJail()
    out = bl._fail2ban_replay(rows, jail.maxretry, 600 * S, 600 * S)
    return [((ep[0][1] - T0_US) / S, (ep[-1][1] - T0_US) / S, len(ep)) for ep in out]


class Lake:
    """Entra diagnostic records written to a file, ingested into a fresh lake."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.records: list[dict[str, Any]] = []

    def add(
        self,
        at: datetime,
        user: str,
        ip: str,
        code: int = 50126,
        *,
        interactive: bool = True,
        app: str = "Office 365 Exchange Online",
    ) -> None:
        self.records.append(
            signin_record(
                moment=at,
                user=user,
                place=Place(ip),
                error_code=code,
                interactive=interactive,
                app=app,
                seed=len(self.records) + 1,
            )
        )

    def baselines(self) -> dict[str, list[dict[str, Any]]]:
        path = self.tmp / "signins.ndjson"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in self.records))
        ingested = ingest_paths(self.tmp / "data", path)
        assert ingested.rejects.count == 0
        assert len(ingested.events) == len(self.records)
        con = bl.open_lake(self.tmp / "data")
        try:
            return dict(bl.run_all(con))
        finally:
            con.close()


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Lake]:
    yield Lake(tmp_path)


# --------------------------------------------------------------------------------------------
# CrowdSec leaky bucket (pure replay)


def test_six_events_in_five_seconds_overflow_at_the_sixth() -> None:
    assert _overflow_times(_rows([0, 1, 2, 3, 4, 5]), bl.SSH_BF) == [5.0]


def test_five_events_never_overflow() -> None:
    assert _overflow_times(_rows([0, 0, 0, 0, 0]), bl.SSH_BF) == []


def test_six_events_over_two_minutes_do_not_overflow() -> None:
    assert _overflow_times(_rows([0, 24, 48, 72, 96, 120]), bl.SSH_BF) == []


def test_leak_boundary_is_exact() -> None:
    # After five pours 2 s apart the bucket holds exactly capacity - 1 pours at t = 10 s: one
    # whole token is left, so the sixth event pours. A microsecond earlier it overflows.
    assert _overflow_times(_rows([0, 2, 4, 6, 8, 10]), bl.SSH_BF) == []
    assert _overflow_times(_rows([0, 2, 4, 6, 8, 9.999999]), bl.SSH_BF) == [9.999999]


def test_slow_but_steady_rate_overflows_eventually() -> None:
    # One failure every 9.5 s gains half a second per event on a 10 s leak: it overflows
    # once the bucket has filled (after ~80 events), which a "6 in a window" count would not.
    times = _overflow_times(_rows([i * 9.5 for i in range(200)]), bl.SSH_BF)
    assert times and times[0] > 500


def test_blackhole_swallows_repeat_overflows_for_a_minute() -> None:
    # One failure a second for three minutes: the bucket overflows every 6 s (it dies on each
    # overflow and refills), the blackhole lets one alert through per minute. The overflow
    # exactly when the blackhole expires alerts (expiry is strictly after the overflow time).
    rows = _rows([float(i) for i in range(180)])
    assert _overflow_times(rows, bl.SSH_BF) == [5.0, 65.0, 125.0]
    no_blackhole = bl.LeakyScenario("x", blackhole=timedelta(0))
    assert len(_overflow_times(rows, no_blackhole)) == 30


def test_blackhole_is_per_address() -> None:
    a = _rows([0, 1, 2, 3, 4, 5], ip="198.51.100.1")
    b = _rows([0, 1, 2, 3, 4, 5], ip="198.51.100.2")
    alerts = [bl._alert("x", "x", ip, ep) for ip, ev in bl._by_ip(a + b)
              for ep in bl.leaky_replay(ev, bl.SSH_BF)]  # fmt: skip
    assert [x["src_ips"] for x in alerts] == [["198.51.100.1"], ["198.51.100.2"]]


def test_alert_names_every_event_poured_into_the_bucket() -> None:
    rows = _rows([0, 1, 2, 3, 4, 5])
    (episode,) = list(bl.leaky_replay(rows, bl.SSH_BF))
    alert = bl._alert(bl.SSH_BF.name, "t", "198.51.100.7", episode)
    assert alert["users"] == sorted(f"u{i}@x.example" for i in range(6))
    assert alert["first_seen"] == "2020-09-10T12:00:00Z"
    assert alert["last_seen"] == "2020-09-10T12:00:05Z"
    assert alert["evidence_count"] == 6 and alert["tenant"] == TENANT
    assert alert["severity"] == "medium" and alert["compromised_users"] == []


def test_user_enum_counts_distinct_users_only() -> None:
    same = _rows([float(i) for i in range(100)], ["a@x.example"] * 100)
    assert _overflow_times(same, bl.SSH_BF_USER_ENUM) == []
    assert _overflow_times(same, bl.SSH_BF) != []
    six = _rows([0, 1, 2, 3, 4, 5])
    assert _overflow_times(six, bl.SSH_BF_USER_ENUM) == [5.0]
    # A repeated account between them neither fills the bucket nor delays the overflow.
    users = ["a", "b", "a", "c", "d", "b", "e", "f"]
    rows = _rows([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5], [f"{u}@x.example" for u in users])
    assert _overflow_times(rows, bl.SSH_BF_USER_ENUM) == [3.5]


def test_user_enum_forgets_users_when_the_bucket_dies() -> None:
    first = ["a", "b", "c", "d", "e"]
    again = ["a", "b", "c", "d", "e", "f"]
    users = [f"{u}@x.example" for u in first + again]
    # 36 s after the last pour the bucket is alive: a…e are still known, only f pours.
    alive = _rows([0, 1, 2, 3, 4, 40, 41, 42, 43, 44, 45], users)
    assert _overflow_times(alive, bl.SSH_BF_USER_ENUM) == []
    # 66 s after (past (capacity + 1) × leakspeed = 60 s) it died: a new bucket counts a…f.
    dead = _rows([0, 1, 2, 3, 4, 70, 71, 72, 73, 74, 75], users)
    assert _overflow_times(dead, bl.SSH_BF_USER_ENUM) == [75.0]


# --------------------------------------------------------------------------------------------
# fail2ban (pure replay)


def test_fail2ban_window_includes_both_ends() -> None:
    assert _ban_windows(_rows([0, 150, 300, 450, 600])) == [(0.0, 600.0, 5)]
    assert _ban_windows(_rows([0, 150, 300, 450, 600.000001])) == []
    assert _ban_windows(_rows([0, 1, 2, 3])) == []


def test_fail2ban_ban_is_prolonged_by_a_ticket_filled_during_it() -> None:
    # 20 failures 30 s apart: banned at the 5th (120 s); each further 5 fill a ticket during
    # the ban and prolong it, so it is one ban with all 20 failures. A burst after it ends is
    # a second ban.
    steady = [i * 30.0 for i in range(20)]
    burst = [2000.0, 2001.0, 2002.0, 2003.0, 2004.0]
    assert _ban_windows(_rows(steady + burst)) == [(0.0, 570.0, 20), (2000.0, 2004.0, 5)]


def test_fail2ban_forgets_the_ticket_that_banned_and_counts_failures_during_the_ban() -> None:
    # Banned at 40 s until 640 s; 50…80 s (4 failures) land on a new ticket; one more at
    # 641 s, after the ban, completes it (all five within 10 minutes): a second ban.
    rows = _rows([0, 10, 20, 30, 40, 50, 60, 70, 80, 641])
    assert _ban_windows(rows) == [(0.0, 80.0, 9), (50.0, 641.0, 5)]
    # Had the ban not cleared the ticket, 641 s would see 0…40 s too: still one more ban only.
    assert len(_ban_windows(_rows([0, 10, 20, 30, 40, 50, 60, 70, 80]))) == 1


# --------------------------------------------------------------------------------------------
# the baselines end to end over a real lake


def test_baselines_over_the_lake(lake: Lake) -> None:
    # Brute force: 6 failures on one account from one address in 5 s.
    for i in range(6):
        lake.add(T0 + timedelta(seconds=i), "victim@x.example", "203.0.113.9")
    # Spray from one address: 5 accounts within 20 minutes (one fixed bin), slowly.
    for i in range(5):
        lake.add(T0 + timedelta(minutes=2 * i), f"s{i}@x.example", "203.0.113.20")
    # Distributed spray: 40 accounts, each from its own address, once.
    for i in range(40):
        lake.add(T0 + timedelta(seconds=30 * i), f"d{i}@x.example", f"192.0.2.{i + 1}")
    found = lake.baselines()
    by_ip = {d: sorted(ip for a in alerts for ip in a["src_ips"]) for d, alerts in found.items()}
    assert by_ip["fail2ban"] == ["203.0.113.20", "203.0.113.9"]
    assert by_ip["crowdsec"] == ["203.0.113.9"]  # ssh-bf; the spray is too slow for buckets
    assert by_ip["sentinel"] == ["203.0.113.20"]  # one account is not a spray
    crowd = found["crowdsec"][0]
    assert crowd["rule"] == "crowdsecurity/ssh-bf" and crowd["users"] == ["victim@x.example"]
    spray = found["sentinel"][0]
    assert spray["users"] == [f"s{i}@x.example" for i in range(5)]
    assert spray["metrics"]["window_breaches"] == 1
    assert spray["tenant"] == TENANT


def test_crowdsec_user_enum_over_the_lake(lake: Lake) -> None:
    for i in range(6):
        lake.add(T0 + timedelta(seconds=i), f"e{i}@x.example", "203.0.113.30")
    rules = sorted(a["rule"] for a in lake.baselines()["crowdsec"])
    assert rules == ["crowdsecurity/ssh-bf", "crowdsecurity/ssh-bf_user-enum"]


def test_fail2ban_counts_refused_second_factors_not_policy_blocks(lake: Lake) -> None:
    for i in range(5):
        lake.add(T0 + timedelta(seconds=i), "mfa@x.example", "203.0.113.40", 500121)
    for i in range(5):
        lake.add(T0 + timedelta(seconds=i), "ca@x.example", "203.0.113.41", 53003)
    assert [a["src_ips"] for a in lake.baselines()["fail2ban"]] == [["203.0.113.40"]]


def test_sentinel_uses_fixed_20_minute_bins(lake: Lake) -> None:
    # 5 accounts in 2 minutes, but 3 before 12:20 and 2 after: no bin holds 5.
    start = datetime(2020, 9, 10, 12, 19, tzinfo=UTC)
    for i in range(5):
        lake.add(start + timedelta(seconds=30 * i), f"b{i}@x.example", "203.0.113.50")
    assert lake.baselines()["sentinel"] == []


def test_sentinel_needs_five_accounts_in_one_table_and_app(lake: Lake) -> None:
    for i in range(3):
        lake.add(T0 + timedelta(minutes=i), f"i{i}@x.example", "203.0.113.60")
    for i in range(2):
        lake.add(T0 + timedelta(minutes=i), f"n{i}@x.example", "203.0.113.60", interactive=False)
    for i in range(4):
        lake.add(T0 + timedelta(minutes=i), f"a{i}@x.example", "203.0.113.61")
    lake.add(T0, "a4@x.example", "203.0.113.61", app="Microsoft Teams")
    # 50057 (disabled account) is not one of the rule's failure codes.
    for i in range(4):
        lake.add(T0 + timedelta(minutes=i), f"c{i}@x.example", "203.0.113.62")
    lake.add(T0, "c4@x.example", "203.0.113.62", 50057)
    assert lake.baselines()["sentinel"] == []


def test_sentinel_reports_all_failures_of_a_breaching_address(lake: Lake) -> None:
    for i in range(5):
        lake.add(T0 + timedelta(minutes=i), f"s{i}@x.example", "203.0.113.70")
    lake.add(T0 + timedelta(days=1), "late@x.example", "203.0.113.70", 50053)
    (alert,) = lake.baselines()["sentinel"]
    assert "late@x.example" in alert["users"] and len(alert["users"]) == 6
    assert alert["last_seen"] == _iso(T0 + timedelta(days=1))


def test_sentinel_stays_quiet_on_an_address_where_as_many_sign_in(lake: Lake) -> None:
    for i in range(5):
        lake.add(T0 + timedelta(minutes=i), f"o{i}@x.example", "203.0.113.80")
    for i in range(5):
        lake.add(T0 + timedelta(minutes=10 + i), f"ok{i}@x.example", "203.0.113.80", 0)
    assert lake.baselines()["sentinel"] == []
    lake.add(T0 + timedelta(minutes=3), "o5@x.example", "203.0.113.80")
    assert len(lake.baselines()["sentinel"]) == 1


def test_baseline_alerts_score_like_tocsin_alerts(lake: Lake) -> None:
    # A STRONTIUM-style spray: 30 accounts, each tried from rotating addresses, slowly. The
    # per-address baselines see nothing; the scorer says so.
    for i in range(30):
        for k in range(4):
            lake.add(
                T0 + timedelta(minutes=15 * k, seconds=i),
                f"t{i}@x.example",
                f"192.0.2.{(i * 4 + k) % 120 + 1}",
            )
    truth = _truth(
        [
            _campaign(
                "spray-1",
                "spray",
                [f"t{i}@x.example" for i in range(30)],
                [f"192.0.2.{n}" for n in range(1, 121)],
                T0,
                T0 + timedelta(hours=1),
            )
        ]
    )
    for detector, alerts in lake.baselines().items():
        run = score(truth, alerts)
        assert not run.campaigns[0].detected, detector
        assert run.campaigns[0].target_recall == 0.0


# --------------------------------------------------------------------------------------------
# score


def _window(start: datetime, end: datetime) -> Window:
    return Window(_iso(start), _iso(end))


def _campaign(
    ident: str,
    kind: Any,
    targets: list[str],
    ips: list[str],
    start: datetime,
    end: datetime,
    compromised: list[str] | None = None,
) -> Campaign:
    return Campaign(
        id=ident,
        kind=kind,
        actor="STRONTIUM",
        techniques=["T1110.003"],
        tenants=[TENANT],
        target_users=targets,
        compromised_users=compromised or [],
        attacker_ips=ips,
        window=_window(start, end),
        events=100,
    )


def _truth(campaigns: list[Campaign], traps: list[Trap] | None = None) -> Truth:
    return Truth(
        profile="test",
        seed=1,
        size="small",
        window=_window(T0 - timedelta(days=7), T0 + timedelta(days=7)),
        orgs=[Org(TENANT, "x.example", 50)],
        benign=Benign(users=1000, user_days=20_000.0, events=50_000),
        campaigns=campaigns,
        traps=traps or [],
    )


def _alert(
    severity: str,
    users: list[str],
    ips: list[str],
    first: datetime,
    last: datetime,
    compromised: list[str] | None = None,
    rule: str = "r",
) -> dict[str, Any]:
    return {
        "id": f"al-{rule}-{first.isoformat()}-{','.join(users)}",
        "rule": rule,
        "severity": severity,
        "users": users,
        "compromised_users": compromised or [],
        "src_ips": ips,
        "first_seen": _iso(first),
        "last_seen": _iso(last),
        "tenant": TENANT,
    }


TARGETS = [f"{c}@x.example" for c in "abcdefghij"]
ATTACKER_IPS = ["185.220.101.1", "185.220.101.2", "185.220.101.3", "185.220.101.4"]
END = T0 + timedelta(days=2)


def _spray_truth() -> Truth:
    trap = Trap(
        kind="nat_password_change",
        tenant=TENANT,
        users=["t1@x.example", "t2@x.example"],
        ips=["203.0.113.10"],
        window=_window(T0 + timedelta(days=3), T0 + timedelta(days=3, hours=2)),
        events=40,
    )
    spray = _campaign("spray-1", "spray", TARGETS, ATTACKER_IPS, T0, END, ["c@x.example"])
    return _truth([spray], [trap])


def test_score_recall_detection_fp_and_traps() -> None:
    trap_day = T0 + timedelta(days=3, minutes=30)
    alerts = [
        # detecting: medium, shares an address, names a, b and compromised c (given as
        # compromised only: it still counts as targeted)
        _alert("medium", ["a@x.example", "B@x.example"], ["185.220.101.1"], T0, END,
               ["c@x.example"]),
        # overlapping but low: counted in alerts per campaign, not in recall
        _alert("low", ["d@x.example"], [], T0 + timedelta(hours=1), T0 + timedelta(hours=2)),
        # names a target, but two days after the window (beyond the 1-day slack)
        _alert("high", ["e@x.example"], [], END + timedelta(days=2), END + timedelta(days=2)),
        # benign accounts: false positives
        _alert("medium", ["x@x.example", "y@x.example"], ["10.0.0.1"], T0, T0),
        # a trap user, inside the trap window, high
        _alert("high", ["t1@x.example"], ["203.0.113.10"], trap_day, trap_day),
        # the trap's address, outside its window: not a trap alert
        _alert("medium", ["z@x.example"], ["203.0.113.10"], T0, T0),
        # the trap's user and a low severity, inside the window
        _alert("low", ["t2@x.example"], [], trap_day, trap_day),
    ]  # fmt: skip
    run = score(_spray_truth(), alerts)
    (c,) = run.campaigns
    assert c.detected and c.alerts == 2 and c.detecting_alerts == 1
    assert (c.targets_found, c.targets) == (3, 10) and c.target_recall == pytest.approx(0.3)
    assert (c.ips_found, c.attacker_ips) == (1, 4) and c.ip_recall == pytest.approx(0.25)
    assert c.compromised_recall == 1.0
    # e is a target, but flagged two days after the campaign: a false positive there.
    assert run.fp_users == ["e@x.example", "x@x.example", "y@x.example", "z@x.example"]
    assert run.fp_rate == pytest.approx(4 * 10_000 / 20_000)
    (trap,) = run.traps
    assert (trap.alerts, trap.high_alerts) == (2, 1)
    assert (run.trap_alerts, run.trap_high_alerts) == (2, 1)
    assert run.alerts == len(alerts)


def test_targets_and_trap_users_are_excused_only_near_their_campaign_or_trap() -> None:
    trap_start = T0 + timedelta(days=3)
    near = [
        _alert("medium", ["a@x.example"], [], END + timedelta(hours=20), END + timedelta(hours=20)),
        _alert("medium", ["t1@x.example"], [], trap_start - timedelta(hours=20), trap_start),
        # one alert spanning the campaign and beyond explains its target throughout
        _alert("medium", ["b@x.example"], [], T0 - timedelta(days=5), T0 + timedelta(days=1)),
    ]
    assert score(_spray_truth(), near).fp_users == []
    far = [
        _alert("low", ["a@x.example"], [], T0 - timedelta(days=3), T0 - timedelta(days=2)),
        _alert("medium", ["t2@x.example"], [], T0 + timedelta(days=6), T0 + timedelta(days=6)),
    ]
    assert score(_spray_truth(), far).fp_users == ["a@x.example", "t2@x.example"]


def test_a_campaign_alert_naming_a_targeted_trap_user_is_not_a_trap_alert() -> None:
    trap_start = T0 + timedelta(days=3)
    trap = Trap(
        kind="cgnat",
        tenant=TENANT,
        users=["a@x.example", "t1@x.example"],  # a is also a spray target
        ips=["203.0.113.10", ATTACKER_IPS[0]],  # and one carrier address the spray used
        window=_window(trap_start, trap_start + timedelta(hours=2)),
        events=40,
    )
    spray = _campaign("spray-1", "spray", TARGETS, ATTACKER_IPS, T0, END)
    truth = _truth([spray], [trap])
    span = (T0, trap_start + timedelta(hours=1))
    about_spray = _alert("critical", ["a@x.example", "b@x.example"], ATTACKER_IPS, *span)
    swept_in = _alert("critical", ["a@x.example", "t1@x.example"], [ATTACKER_IPS[1]], *span)
    carrier = _alert("high", ["q@x.example"], ["203.0.113.10"], *span)
    (t,) = score(truth, [about_spray]).traps
    assert (t.alerts, t.high_alerts) == (0, 0)
    (t,) = score(truth, [about_spray, swept_in, carrier]).traps
    assert (t.alerts, t.high_alerts) == (2, 2)
    # After the campaign (and its slack) the same target is just a trap user.
    late = trap_start + timedelta(days=5)
    truth.traps[0].window = _window(late, late + timedelta(hours=1))
    (t,) = score(truth, [_alert("high", ["a@x.example"], [], late, late)]).traps
    assert (t.alerts, t.high_alerts) == (1, 1)


def test_compromised_recall_needs_the_alert_to_say_compromised() -> None:
    alerts = [_alert("high", ["c@x.example"], [], T0, T0)]
    (c,) = score(_spray_truth(), alerts).campaigns
    assert c.detected and c.target_recall == pytest.approx(0.1)
    assert c.compromised_recall == 0.0


def test_slack_is_one_day_either_side() -> None:
    def detected(at: datetime) -> bool:
        run = score(_spray_truth(), [_alert("medium", ["j@x.example"], [], at, at)])
        return run.campaigns[0].detected

    assert detected(END + timedelta(hours=23, minutes=59))
    assert detected(T0 - timedelta(days=1))
    assert not detected(END + timedelta(days=1, seconds=1))
    assert not detected(T0 - timedelta(days=1, seconds=1))
    # An alert spanning the whole window from before to after overlaps it.
    run = score(
        _spray_truth(),
        [_alert("medium", ["j@x.example"], [], T0 - timedelta(days=9), END + timedelta(days=9))],
    )
    assert run.campaigns[0].detected


def test_an_undetected_campaign_and_an_empty_recall() -> None:
    truth = _truth([_campaign("bf-1", "brute_force", ["v@x.example"], [], T0, END)])
    (c,) = score(truth, []).campaigns
    assert not c.detected and c.alerts == 0 and c.target_recall == 0.0
    assert c.ip_recall is None and c.compromised_recall is None


def test_summaries_pool_campaigns_and_take_the_median_over_detected() -> None:
    truth = _truth(
        [
            _campaign("s1", "spray", TARGETS[:4], ["1.1.1.1"], T0, END),
            _campaign("s2", "spray", TARGETS[4:], ["2.2.2.2", "3.3.3.3"], T0, END),
            _campaign("s3", "spray", ["q@x.example"], [], T0, END),
            _campaign("b1", "brute_force", ["v@x.example"], ["4.4.4.4"], T0, END, ["v@x.example"]),
        ]
    )
    alerts = [
        _alert("medium", TARGETS[:4], ["1.1.1.1"], T0, T0),  # s1: 4/4
        _alert("medium", [TARGETS[4]], ["2.2.2.2"], T0, T0),  # s2: 1/6 …
        _alert("medium", [TARGETS[5]], ["2.2.2.2"], T0, T0),  # … 2/6, three alerts in all
        _alert("medium", [], ["2.2.2.2"], T0, T0),
    ]
    run = score(truth, alerts)
    kinds = summarize(run.campaigns)
    spray = kinds["spray"]
    assert (spray.campaigns, spray.detected) == (3, 2)
    assert spray.target_recall == pytest.approx(6 / 11)  # pooled, not the mean of 1, 1/3, 0
    assert spray.ip_recall == pytest.approx(2 / 3)
    assert spray.compromised_recall is None
    assert spray.median_alerts == 2.0  # median of 1 and 3; s3 (missed) does not count
    assert kinds["brute_force"].median_alerts is None
    assert kinds["brute_force"].compromised_recall == 0.0
    assert kinds["all"].campaigns == 4 and kinds["all"].detected == 2


def test_fp_rate_pools_runs() -> None:
    truth = _spray_truth()
    one = score(truth, [_alert("medium", ["x@x.example"], [], T0, T0)])
    two = score(truth, [_alert("low", ["y@x.example", "w@x.example"], [], T0, T0)])
    assert one.fp_rate == pytest.approx(0.5)
    assert fp_rate([one, two]) == pytest.approx(3 * 10_000 / 40_000)
    assert fp_rate([]) == 0.0


def test_broken_alerts_are_refused() -> None:
    good = _alert("medium", ["a@x.example"], [], T0, T0)
    with pytest.raises(ValueError, match="severity"):
        score(_spray_truth(), [{**good, "severity": "urgent"}])
    with pytest.raises(ValueError, match="src_ips"):
        score(_spray_truth(), [{k: v for k, v in good.items() if k != "src_ips"}])
    with pytest.raises(ValueError, match="list"):
        score(_spray_truth(), [{**good, "users": "a@x.example"}])


def test_times_parse_as_utc() -> None:
    assert parse_time("2020-09-10T12:00:00.1234567Z") == datetime(
        2020, 9, 10, 12, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_time("2020-09-10T14:00:00+02:00") == T0
    assert parse_time("2020-09-10T12:00:00") == T0
    alert = ScoredAlert.from_dict(_alert("critical", ["A@X.example"], ["2001:DB8::1"], T0, T0))
    assert alert.users == {"a@x.example"} and alert.ips == {"2001:db8::1"} and alert.high


# --------------------------------------------------------------------------------------------
# bench/quality.py: the targets it gates on, and the README that states them


def _load_quality() -> ModuleType:
    name = "tocsin_bench_quality"
    if name in sys.modules:
        return sys.modules[name]
    sys.modules.setdefault("baselines", bl)  # quality.py imports its sibling by that name
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / "quality.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _run(tocsin_alerts: list[dict[str, Any]]) -> Any:
    quality = _load_quality()
    truth = _spray_truth()
    run = quality.Run("strontium-2020", "small", 1, truth)
    run.scores = {
        d: score(truth, tocsin_alerts if d == "tocsin" else []) for d in quality.DETECTORS
    }
    return run


def _statuses(runs: list[Any]) -> dict[str, str]:
    return {c.label.split(":")[0]: c.status for c in _load_quality().check_targets(runs)}


def test_quality_targets_pass_fail_and_skip() -> None:
    perfect = _alert("high", TARGETS, ATTACKER_IPS, T0, END, ["c@x.example"])
    got = _statuses([_run([perfect])])
    assert got == {
        "spray targeted-user recall ≥ 0.95": "PASS",
        "brute-force targeted-user recall = 1.0": "SKIP",
        "stuffing targeted-user recall ≥ 0.95": "SKIP",
        "compromised-user recall = 1.0 (every campaign)": "PASS",
        "≤ 0.5 FP users per 10,000 benign user-days": "PASS",
        "no high/critical alert on any trap": "PASS",
        "spray": "PASS",
    }
    trap_day = T0 + timedelta(days=3, minutes=30)
    misses = [
        _alert("medium", TARGETS[:9], ATTACKER_IPS, T0, END),  # 9/10 targets, no compromise
        _alert("high", ["t1@x.example"], [], trap_day, trap_day),
        _alert("medium", ["benign@x.example"], [], T0, T0),  # 1 FP user / 20,000 user-days
    ]
    got = _statuses([_run(misses)])
    assert got["spray targeted-user recall ≥ 0.95"] == "FAIL"
    assert got["compromised-user recall = 1.0 (every campaign)"] == "FAIL"
    assert got["no high/critical alert on any trap"] == "FAIL"
    assert got["≤ 0.5 FP users per 10,000 benign user-days"] == "PASS"  # 0.5 exactly
    many = [_alert("medium", [t], [], T0, T0) for t in TARGETS] + [perfect]
    assert _statuses([_run(many)])["spray"] == "FAIL"  # 11 alerts for one campaign
    assert _statuses([_run([])])["spray"] == "FAIL"  # not detected at all


def test_quality_table_rows_compare_every_detector() -> None:
    quality = _load_quality()
    perfect = _alert("high", TARGETS, ATTACKER_IPS, T0, END, ["c@x.example"])
    rows = quality.build_rows([_run([perfect])])
    assert [(r.kind, r.detector) for r in rows] == [
        (k, d) for k in ("spray", "all") for d in ("tocsin", "fail2ban", "crowdsec", "sentinel")
    ]
    cells = quality._cells(rows[0])
    assert cells[:7] == ["spray", "tocsin", "1/1", "1.000 (10/10)", "1.000 (4/4)",
                         "1.000 (1/1)", "1"]  # fmt: skip
    assert quality._cells(rows[1])[2:4] == ["0/1", "0.000 (0/10)"]
    text = quality.text_table(rows)
    assert "fail2ban" in text and "sentinel" in text


def test_bench_readme_states_the_targets_the_bench_checks() -> None:
    quality = _load_quality()
    readme = (REPO / "bench" / "README.md").read_text()
    for row in (
        f"| spray targeted-user recall | ≥ {quality.TARGET_SPRAY_RECALL} |",
        f"| stuffing targeted-user recall | ≥ {quality.TARGET_STUFFING_RECALL} |",
        f"| false-positive users per 10,000 benign user-days | ≤ {quality.TARGET_FP_RATE} |",
        f"| alerts per detected campaign, median, for each kind | ≤ "
        f"{quality.TARGET_MEDIAN_ALERTS:g} |",
    ):
        assert row in readme, row
