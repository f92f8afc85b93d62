"""Folding narrower alerts into the campaign alert: which addresses become the attack's."""

from __future__ import annotations

from tocsin.detect.engine import fold_alerts
from tocsin.events import Alert

SUPERSEDES = {"distributed_spray": ["anonymizer_signin", "compromise_after_attack"]}


def _alert(
    alert_id: str,
    rule: str,
    users: list[str],
    src_ips: list[str],
    *,
    compromised: list[str] | None = None,
    severity: str = "low",
) -> Alert:
    return Alert(
        id=alert_id,
        rule=rule,
        title=rule,
        severity=severity,  # type: ignore[arg-type]
        confidence=0.5,
        first_seen="2020-09-02T00:00:00Z",
        last_seen="2020-09-10T00:00:00Z",
        tenant="t1",
        users=users,
        compromised_users=compromised or [],
        src_ips=src_ips,
        src_asns=[],
        countries=[],
        user_agents=[],
        techniques=[],
        evidence_count=1,
        evidence={},
        summary=f"{rule} about {', '.join(users)}",
        recommended_actions=[],
    )


def test_a_targets_own_vpn_signin_is_folded_but_its_address_is_not_the_attackers() -> None:
    spray = _alert(
        "al-spray", "distributed_spray", ["susan", "caleb"], ["185.220.101.7"], severity="high"
    )
    own_vpn = _alert("al-vpn", "anonymizer_signin", ["susan"], ["194.35.233.241"])
    landed = _alert(
        "al-landed",
        "compromise_after_attack",
        ["caleb"],
        ["185.220.101.7"],
        compromised=["caleb"],
        severity="critical",
    )
    # The attacker, now holding caleb's password, signs in from a data centre.
    after = _alert("al-after", "anonymizer_signin", ["caleb"], ["145.239.153.14"])
    kept = fold_alerts([spray, own_vpn, after, landed], SUPERSEDES)
    assert [a.id for a in kept] == ["al-spray"]
    wide = kept[0]
    assert wide.severity == "critical"
    assert wide.compromised_users == ["caleb"]
    assert "194.35.233.241" not in wide.src_ips  # susan's own VPN: never an attack address
    assert "145.239.153.14" in wide.src_ips  # the compromised account's anomalous sign-in
    folded = {d["id"]: d for d in wide.metrics["also_detected"]}
    assert folded["al-vpn"]["src_ips"] == ["194.35.233.241"]
    assert folded["al-vpn"]["addresses_adopted"] is False
    assert folded["al-after"]["addresses_adopted"] is True


def test_alerts_of_another_organisation_or_time_are_not_folded() -> None:
    spray = _alert("al-spray", "distributed_spray", ["susan"], ["185.220.101.7"])
    elsewhere = _alert("al-other", "anonymizer_signin", ["susan"], ["185.220.101.7"])
    elsewhere.tenant = "t2"
    later = _alert("al-later", "anonymizer_signin", ["susan"], ["185.220.101.7"])
    later.first_seen, later.last_seen = "2020-10-01T00:00:00Z", "2020-10-01T01:00:00Z"
    kept = fold_alerts([spray, elsewhere, later], SUPERSEDES)
    assert {a.id for a in kept} == {"al-spray", "al-other", "al-later"}
