"""Block-list exports (aggregated, allowlist out, simulated labelled, target limits) — each
format loaded by the real tool where it is installed — and account-action checklists with
their execution against a mock tenant."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tocsin.respond.accounts import Credentials, Executor, checklist, plan
from tocsin.respond.decision import Decision
from tocsin.respond.export import ExportError, entries, render
from tocsin.respond.targets import AllowEntry, Allowlist

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
_ids = iter(range(1, 1_000_000))


def _d(value: str, scope: str = "ip", action: str = "ban", simulated: bool = False,
       ends: timedelta = timedelta(hours=1)) -> Decision:  # fmt: skip
    return Decision(
        id=next(_ids), scope=scope, value=value, action=action, origin="alert",
        origin_ref="al-1", scenario="tocsin/distributed_spray", reason="r",
        simulated=simulated, created_by="t", tenant=None, created_at=NOW - timedelta(hours=1),
        changed_at=NOW - timedelta(hours=1), until=NOW + ends, ends_at=NOW + ends,
    )  # fmt: skip


NONE = Allowlist([])


def test_aggregation_is_exact_for_ipv4_and_ipv6() -> None:
    ds = [_d(f"192.0.2.{i}") for i in range(256)] + [
        _d("2001:db8::/65", "range"), _d("2001:db8:0:0:8000::/65", "range"),
        _d("198.51.100.7"), _d("198.51.100.8", action="captcha"),  # captcha: not a block
        _d("203.0.113.9", ends=timedelta(hours=-1)),  # expired
    ]  # fmt: skip
    got = [e.text for e in entries(ds, NONE, NOW)]
    assert got == ["192.0.2.0/24", "198.51.100.7", "2001:db8::/64"]


def test_allowlist_is_taken_out_again_at_export() -> None:
    allow = Allowlist([AllowEntry(ipaddress.ip_network("192.0.2.10/32"), "egress")])
    got = entries([_d("192.0.2.0/24", "range")], allow, NOW)
    nets = [e.network for e in got]
    assert sum(n.num_addresses for n in nets) == 255
    assert not any(ipaddress.ip_address("192.0.2.10") in n for n in nets)


def test_simulated_lines_are_labelled_and_kept_apart() -> None:
    ds = [_d("192.0.2.1"), _d("192.0.2.2", simulated=True), _d("192.0.2.1", simulated=True)]
    items = entries(ds, NONE, NOW)
    assert [(e.text, e.simulated) for e in items] == [("192.0.2.1", False), ("192.0.2.2", True)]
    text = render("plain", items, now=NOW, mode="simulate")
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert body[0] == "192.0.2.1"
    assert body[1].startswith("192.0.2.2  # simulated: decision ")
    for fmt in ("nftables", "ipset", "nginx"):
        out = render(fmt, items, now=NOW, mode="simulate")
        assert sum("simulated" in line for line in out.splitlines() if "192.0.2.2" in line) == 1
    entra = json.loads(render("entra", items, now=NOW, mode="simulate"))
    assert [b["displayName"] for b in entra] == [
        "tocsin block list",
        "tocsin block list [SIMULATED - not enforced]",
    ]
    okta = json.loads(render("okta", items, now=NOW, mode="simulate"))
    assert [z["status"] for z in okta] == ["ACTIVE", "INACTIVE"]


def test_target_limits_split_or_refuse() -> None:
    many = [_d(f"10.{i // 256}.{i % 256}.1") for i in range(4500)]
    items = entries(many, NONE, NOW)
    assert len(items) == 4500
    entra = json.loads(render("entra", items, now=NOW, mode="enforce"))
    assert [len(b["ipRanges"]) for b in entra] == [2000, 2000, 500]
    assert entra[0]["displayName"] == "tocsin block list 1/3"
    assert entra[0]["ipRanges"][0] == {
        "@odata.type": "#microsoft.graph.iPv4CidrRange",
        "cidrAddress": "10.0.0.1/32",
    }
    okta = json.loads(render("okta", items, now=NOW, mode="enforce"))
    assert [len(z["gateways"]) for z in okta] == [1000] * 4 + [500]
    assert okta[0]["gateways"][0] == {"type": "CIDR", "value": "10.0.0.1/32"}
    assert all(z["usage"] == "BLOCKLIST" and z["type"] == "IP" for z in okta)
    with pytest.raises(ExportError, match="max-entries"):
        render("plain", items, now=NOW, mode="enforce", max_entries=100)


def test_entra_takes_no_mask_as_wide_as_8_bits() -> None:
    """Entra named locations accept CIDR masks greater than /8 only: wider blocks are cut."""
    wide = entries([_d("44.0.0.0/8", "range"), _d("45.0.0.0/8", "range")], NONE, NOW)
    assert [e.text for e in wide] == ["44.0.0.0/7"]
    (body,) = json.loads(render("entra", wide, now=NOW, mode="enforce"))
    assert [r["cidrAddress"] for r in body["ipRanges"]] == [
        "44.0.0.0/9", "44.128.0.0/9", "45.0.0.0/9", "45.128.0.0/9"
    ]  # fmt: skip
    assert "44.0.0.0/7" in render("plain", wide, now=NOW, mode="enforce")


def _netns(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["unshare", "-n", *cmd], capture_output=True, text=True)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft"), reason="needs root and nft")
def test_nftables_export_loads_in_a_private_namespace(tmp_path: Path) -> None:
    ds = [_d("192.0.2.0/25", "range"), _d("2001:db8::1"), _d("198.51.100.9", simulated=True)]
    path = tmp_path / "blocklist.nft"
    path.write_text(render("nftables", entries(ds, NONE, NOW), now=NOW, mode="simulate"))
    done = _netns("sh", "-c", f"nft -f {path} && nft -f {path} && nft list table inet tocsin")
    assert done.returncode == 0, done.stderr
    assert "192.0.2.0/25" in done.stdout and "2001:db8::1" in done.stdout
    assert "198.51.100.9" in done.stdout


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ipset"), reason="needs root, ipset")
def test_ipset_export_restores_in_a_private_namespace(tmp_path: Path) -> None:
    ds = [_d("192.0.2.0/25", "range"), _d("2001:db8::1"), _d("198.51.100.9", simulated=True)]
    path = tmp_path / "blocklist.ipset"
    path.write_text(render("ipset", entries(ds, NONE, NOW), now=NOW, mode="simulate"))
    done = _netns("sh", "-c", f"ipset restore -exist < {path} && ipset restore -exist < {path}"
                  " && ipset list tocsin4 && ipset list tocsin6")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert 'comment "simulated: decision' in done.stdout and "2001:db8::1" in done.stdout


def test_checklist_names_the_exact_calls() -> None:
    ds = [
        _d("chloe@harper2020.example", "user", "revoke_sessions"),
        _d("mo@harper2020.example", "user", "reset_password", simulated=True),
        _d("192.0.2.1"),  # not an account action
    ]
    text = checklist(plan(ds), "enforce")
    assert "POST https://graph.microsoft.com/v1.0/users/chloe%40harper2020.example/" \
           "revokeSignInSessions" in text  # fmt: skip
    assert 'PATCH https://graph.microsoft.com/v1.0/users/mo%40harper2020.example ' \
           '{"passwordProfile":{"forceChangePasswordNextSignIn":true}}' in text  # fmt: skip
    assert "/api/v1/users/{id}/lifecycle/expire_password" in text
    assert "DELETE https://YOUR-ORG.okta.com/api/v1/users/{id}/sessions?oauthTokens=true" in text
    assert text.count("- [ ]") == 2 and "SIMULATED" in text


def test_account_actions_dry_run_without_credentials_and_execute_with_them() -> None:
    seen: list[tuple[str, str, str, bytes]] = []

    def tenant(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, str(request.url), request.headers["authorization"],
                     request.content))  # fmt: skip
        if request.method == "GET":
            return httpx.Response(200, json={"id": "00u1abc"})
        return httpx.Response(204)

    ds = [
        _d("chloe@harper2020.example", "user", "ban"),
        _d("mo@harper2020.example", "user", "revoke_sessions", simulated=True),
    ]
    transport = httpx.MockTransport(tenant)
    nothing = Executor(Credentials(), transport).run(plan(ds), execute=True)
    assert seen == [] and all(not r.executed for r in nothing)
    assert {r.reason for r in nothing} == {
        "no entra credentials configured", "no okta credentials configured", "simulated decision"
    }  # fmt: skip
    creds = Credentials.from_env({
        "TOCSIN_GRAPH_TOKEN": "graph-test-token",
        "TOCSIN_OKTA_ORG_URL": "https://harper.okta.example/",
        "TOCSIN_OKTA_TOKEN": "okta-test-token",
    })  # fmt: skip
    executor = Executor(creds, transport)
    dry = executor.run(plan(ds, creds.okta_url), execute=False)
    assert seen == [] and {r.reason for r in dry} == {"dry run asked for", "simulated decision"}
    results = executor.run(plan(ds, creds.okta_url), execute=True)
    assert [(m, u) for m, u, _, _ in seen] == [
        ("PATCH", "https://graph.microsoft.com/v1.0/users/chloe%40harper2020.example"),
        ("POST", "https://graph.microsoft.com/v1.0/users/chloe%40harper2020.example/"
                 "revokeSignInSessions"),
        ("GET", "https://harper.okta.example/api/v1/users/chloe%40harper2020.example"),
        ("POST", "https://harper.okta.example/api/v1/users/00u1abc/lifecycle/suspend"),
        ("DELETE", "https://harper.okta.example/api/v1/users/00u1abc/sessions?oauthTokens=true"),
    ]  # fmt: skip
    assert seen[0][2] == "Bearer graph-test-token" and seen[3][2] == "SSWS okta-test-token"
    assert json.loads(seen[0][3]) == {"accountEnabled": False}
    assert [r.executed for r in results if r.decision_id == ds[0].id] == [True] * 4
    again = executor.run(plan(ds, creds.okta_url), execute=True)
    assert len(seen) == 5 and "already executed" in {r.reason for r in again}
