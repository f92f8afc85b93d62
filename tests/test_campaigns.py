"""Campaigns: alerts sharing infrastructure across people and organisations, stable ids and
the state database (scan output: tests/test_attribution.py, on a simulated attack)."""

from __future__ import annotations

from sqlalchemy import inspect

from tocsin.attribution.campaigns import SLACK, campaign_id, cluster, netblock
from tocsin.attribution.store import get_campaign, list_campaigns, save_campaigns
from tocsin.events import Alert
from tocsin.store.state import StateStore

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0.0.0 Safari/537.36"


def make_alert(
    name: str,
    *,
    tenant: str | None = "org-a",
    users: list[str] | None = None,
    ips: list[str] | None = None,
    asns: list[int] | None = None,
    agents: list[str] | None = None,
    first: str = "2020-09-02T00:00:00Z",
    last: str = "2020-09-03T00:00:00Z",
    rule: str = "password_spray_ip",
    severity: str = "high",
    campaign: str | None = None,
) -> Alert:
    return Alert(
        id=f"al-{name}", rule=rule, title=rule, severity=severity,  # type: ignore[arg-type]
        confidence=0.8, first_seen=first, last_seen=last, tenant=tenant,
        users=users if users is not None else [f"{name}@{tenant}.example"],
        compromised_users=[], src_ips=ips or [], src_asns=asns or [], countries=[],
        user_agents=agents or [], techniques=["T1110.003"], evidence_count=10,
        evidence={"event_ids": [], "query": "SELECT 1", "group_key": name},
        summary="", recommended_actions=[], campaign=campaign,
    )  # fmt: skip


def _groups(alerts: list[Alert]) -> list[list[str]]:
    campaigns = cluster(alerts)
    return sorted(sorted(a.removeprefix("al-") for a in c.alert_ids) for c in campaigns)


def test_a_shared_address_joins_alerts_across_organisations() -> None:
    alerts = [
        make_alert("a", tenant="org-a", ips=["198.51.100.7", "203.0.113.1"]),
        make_alert("b", tenant="org-b", ips=["198.51.100.7"]),
        make_alert("c", tenant="org-c", ips=["192.0.2.99"]),
    ]
    campaigns = cluster(alerts)
    assert _groups(alerts) == [["a", "b"], ["c"]]
    joined = next(c for c in campaigns if len(c.alert_ids) == 2)
    assert joined.tenants == ["org-a", "org-b"]
    assert joined.users == ["a@org-a.example", "b@org-b.example"]
    assert joined.links == ["al-a ↔ al-b: 1 shared address(es), e.g. 198.51.100.7"]
    assert {a.campaign for a in alerts[:2]} == {joined.id}
    assert alerts[2].campaign != joined.id


def test_netblocks_user_agents_and_asns() -> None:
    # Two /24s in common: rotating addresses from the same ranges.
    two_blocks = [
        make_alert("a", ips=["198.51.100.1", "203.0.113.1"]),
        make_alert("b", tenant="org-b", ips=["198.51.100.2", "203.0.113.2"]),
    ]
    assert _groups(two_blocks) == [["a", "b"]]
    # One /24 alone is not enough; with the same user agent it is.
    one_block = [
        make_alert("a", ips=["198.51.100.1"]),
        make_alert("b", tenant="org-b", ips=["198.51.100.2"]),
    ]
    assert _groups(one_block) == [["a"], ["b"]]
    agent = [
        make_alert("a", ips=["198.51.100.1"], agents=["python-requests/2.22"]),
        make_alert("b", tenant="org-b", ips=["198.51.100.2"], agents=["python-requests/2.22"]),
    ]
    assert _groups(agent) == [["a", "b"]]
    # IPv6: the /48.
    assert netblock("2001:db8:1:2::5") == "2001:db8:1::/48"
    v6 = [
        make_alert("a", ips=["2001:db8:1:2::5"], agents=[CHROME]),
        make_alert("b", tenant="org-b", ips=["2001:db8:1:ffff::9"], agents=[CHROME]),
    ]
    assert _groups(v6) == [["a", "b"]]
    # An AS alone, or a user agent alone, is too common; together they join.
    asn_only = [
        make_alert("a", ips=["192.0.2.1"], asns=[64500]),
        make_alert("b", tenant="org-b", ips=["198.51.100.1"], asns=[64500]),
    ]
    assert _groups(asn_only) == [["a"], ["b"]]
    both = [
        make_alert("a", ips=["192.0.2.1"], asns=[64500], agents=["Outlook 2010"]),
        make_alert("b", tenant="org-b", ips=["198.51.100.1"], asns=[64500],
                   agents=["Outlook 2010"]),
    ]  # fmt: skip
    assert _groups(both) == [["a", "b"]]


def test_timing_keeps_apart_what_happened_months_apart() -> None:
    alerts = [
        make_alert("a", ips=["198.51.100.7"]),
        make_alert("b", tenant="org-b", ips=["198.51.100.7"], first="2021-03-01T00:00:00Z",
                   last="2021-03-02T00:00:00Z"),
        make_alert("c", tenant="org-b", ips=["198.51.100.7"], first="2020-09-05T12:00:00Z",
                   last="2020-09-06T00:00:00Z"),
    ]  # fmt: skip
    assert SLACK.days == 3
    assert _groups(alerts) == [["a", "c"], ["b"]]


def test_same_accounts_and_the_rules_own_campaign_id_join() -> None:
    alerts = [
        make_alert("spray", users=["x@o.example", "y@o.example"], ips=["198.51.100.1"]),
        make_alert("mfa", users=["x@o.example"], ips=["192.0.2.50"], rule="mfa_fatigue"),
        make_alert("r1", tenant="org-b", ips=["203.0.113.5"], campaign="cmp-1",
                   users=["p@b.example"]),
        make_alert("r2", tenant="org-c", ips=["192.0.2.200"], campaign="cmp-1",
                   users=["q@c.example"]),
    ]  # fmt: skip
    assert _groups(alerts) == [["mfa", "spray"], ["r1", "r2"]]
    assert all(a.campaign and a.campaign.startswith("cp-") for a in alerts)


def test_ids_are_stable_across_rescans_and_as_the_campaign_grows() -> None:
    first = [make_alert("a", ips=["198.51.100.7"]), make_alert("b", ips=["198.51.100.7"])]
    again = [make_alert("b", ips=["198.51.100.7"]), make_alert("a", ips=["198.51.100.7"])]
    grows = make_alert(
        "c", tenant="org-b", ips=["198.51.100.7"], first="2020-09-04T00:00:00Z",
        last="2020-09-05T00:00:00Z",
    )  # fmt: skip
    later = [*again, grows]
    ids = {cluster(run)[0].id for run in (first, again, later)}
    assert ids == {campaign_id("al-a")}
    grown = cluster(later)[0]
    assert (grown.first_seen, grown.last_seen) == ("2020-09-02T00:00:00Z", "2020-09-05T00:00:00Z")


def test_many_alerts_cluster_quickly() -> None:
    import time

    alerts = [
        make_alert(str(n), tenant=f"org-{n % 50}", ips=[f"10.{n % 200}.{n // 200}.1"],
                   asns=[64500 + n % 7], agents=[f"agent {n}"])
        for n in range(5000)
    ]  # fmt: skip
    started = time.perf_counter()
    campaigns = cluster(alerts)
    assert time.perf_counter() - started < 10
    assert len(campaigns) == 5000  # nothing shared but big ASes: nothing joined


def test_state_database_keeps_campaigns_and_drops_merged_ones(state_url: str) -> None:
    store = StateStore(state_url)  # SQLite and a real PostgreSQL
    try:
        store.migrate()
        assert "campaigns" in inspect(store.engine).get_table_names()
        apart = [make_alert("a", ips=["198.51.100.7"]), make_alert("b", ips=["192.0.2.1"])]
        assert save_campaigns(store, cluster(apart)) == (2, 0, 0)
        assert save_campaigns(store, cluster(apart)) == (0, 0, 0)
        # A new alert links both: one campaign (a's id, the earliest), b's is removed.
        joined = [*apart, make_alert("c", ips=["198.51.100.7", "192.0.2.1"])]
        assert save_campaigns(store, cluster(joined)) == (0, 1, 1)
        stored = list_campaigns(store)
        assert [c["id"] for c in stored] == [campaign_id("al-a")]
        assert stored[0]["alert_ids"] == ["al-a", "al-b", "al-c"]
        assert get_campaign(store, campaign_id("al-a")[:8]) == stored[0]
        assert get_campaign(store, "cp-nothing") is None
    finally:
        store.dispose()
