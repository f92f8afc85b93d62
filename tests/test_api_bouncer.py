"""Real CrowdSec bouncers from Debian's packages against a real ``tocsin serve``.

* ``crowdsec-custom-bouncer`` calls a script for every decision it applies (``add``) and
  removes (``del``); the script records them. Decisions come from a real scan of the bundled
  synthetic logs in enforce mode, by hand, and by expiry.
* ``crowdsec-firewall-bouncer`` in nftables mode, inside a network namespace of its own (with
  tocsin serve beside it), so real kernel firewall sets are filled and emptied without touching
  this machine's firewall. Needs root; skipped otherwise.

Missing packages fail with the package to install (``make services`` installs them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.slow
TOCSIN = [sys.executable, "-m", "tocsin"]
SYNTHETIC = REPO / "samples" / "logs" / "synthetic"
CONFIG = """
[[organisations]]
id = "harper2020"
name = "Harper for Senate 2020"
tenants = ["4d6f8a2b-1c3e-4a5f-9b7d-2e8c0f1a3b5c"]
egress = ["203.0.113.10/32"]
mobile_ranges = ["172.58.0.0/16"]

[response]
mode = "enforce"

[[response.policy]]
rules = ["*"]
min_severity = "high"
action = "ban"
scope = "ip"
duration = "7d"
"""


def _need(binary: str, package: str) -> str:
    found = shutil.which(binary)
    if found is None:
        pytest.fail(f"{binary} is missing: apt-get install {package} (or make services)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tocsin(data: Path, *args: str) -> str:
    done = subprocess.run(
        [*TOCSIN, *args, "--data-dir", str(data)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def _wait(what: str, condition: Callable[[], bool], timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, Path]:
    """A data directory where a real enforce-mode scan of the synthetic logs made decisions."""
    config = tmp_path / "tocsin.toml"
    config.write_text(CONFIG)
    data = tmp_path / "data"
    done = subprocess.run(
        [*TOCSIN, "scan", str(SYNTHETIC), "--data-dir", str(data), "--config", str(config),
         "--out", str(tmp_path / "out"), "-q"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return data, config


def _serve(data: Path, config: Path, port: int, prefix: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*prefix, *TOCSIN, "serve", "--port", str(port), "--data-dir", str(data),
         "--config", str(config), "--refresh", "0.2", "--respond-every", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def _stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _bouncer_config(path: Path, port: int, key: str, extra: str) -> None:
    path.write_text(
        f"api_url: http://127.0.0.1:{port}/\napi_key: {key}\nupdate_frequency: 1s\n"
        f"daemonize: false\nlog_mode: stdout\nlog_level: debug\n"
        f"prometheus:\n  enabled: false\n{extra}"
    )


@pytest.fixture
def custom_bouncer(scanned: tuple[Path, Path], tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    binary = _need("crowdsec-custom-bouncer", "crowdsec-custom-bouncer")
    data, config = scanned
    key = _tocsin(data, "decisions", "bouncer", "add", "custom-test").strip()
    port = _free_port()
    serve = _serve(data, config, port, [])
    try:
        _wait("tocsin serve", lambda: _up(port), timeout=30)
    except AssertionError:
        _stop(serve)
        raise AssertionError(serve.stderr.read().decode() if serve.stderr else "") from None
    record = tmp_path / "applied.log"
    script = tmp_path / "apply.sh"
    script.write_text(f'#!/bin/sh\necho "$1 $2 $3 $4" >> {record}\n')
    script.chmod(0o755)
    cfg = tmp_path / "custom-bouncer.yaml"
    _bouncer_config(
        cfg, port, key,
        f"bin_path: {script}\nfeed_via_stdin: false\ncache_retention_duration: 1s\n"
        f"piddir: {tmp_path}\n",
    )  # fmt: skip
    log = (tmp_path / "bouncer.out").open("wb")
    bouncer = subprocess.Popen([binary, "-c", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
    try:
        yield data, record
    finally:
        _stop(bouncer, serve)
        log.close()


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _lines(record: Path) -> list[str]:
    return record.read_text().splitlines() if record.exists() else []


def _applied(record: Path, verb: str, value: str) -> bool:
    return any(line.split()[:2] == [verb, value] for line in _lines(record))


def test_custom_bouncer_applies_and_removes_tocsin_decisions(
    custom_bouncer: tuple[Path, Path],
) -> None:
    data, record = custom_bouncer
    # The scan's enforced decisions (the synthetic office's attackers) reach the bouncer…
    for value in ("185.220.101.7", "45.153.160.2", "185.220.101.132"):
        _wait(f"add {value}", lambda v=value: _applied(record, "add", v))  # type: ignore[misc]
    add = next(line for line in _lines(record) if line.startswith("add 185.220.101.7 "))
    seconds, scenario = add.split()[2:4]
    assert 6 * 86400 < int(seconds) <= 7 * 86400 and scenario.startswith("tocsin/")
    # …a simulated one never does, a manual enforced one does, and so does its expiry…
    _tocsin(data, "decisions", "add", "--ip", "198.51.100.23", "--simulate", "--reason", "t")
    _tocsin(data, "decisions", "add", "--ip", "192.0.2.77", "--duration", "4s", "--enforce",
            "--reason", "short test ban")  # fmt: skip
    _wait("add 192.0.2.77", lambda: _applied(record, "add", "192.0.2.77"))
    _wait("del 192.0.2.77 (expired)", lambda: _applied(record, "del", "192.0.2.77"))
    # …and deleting a decision removes it from the enforcement point.
    _tocsin(data, "decisions", "delete", "--value", "45.153.160.2", "--reason", "false positive")
    _wait("del 45.153.160.2", lambda: _applied(record, "del", "45.153.160.2"))
    assert not any("198.51.100.23" in line for line in _lines(record))
    assert not _applied(record, "del", "185.220.101.7")
    bouncers = _tocsin(data, "decisions", "bouncer", "list")
    assert "custom-test" in bouncers and "crowdsec-custom-bouncer" in bouncers


def _nft(ns: str) -> str:
    done = subprocess.run(
        ["ip", "netns", "exec", ns, "nft", "list", "ruleset"], capture_output=True, text=True
    )
    return done.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
def test_firewall_bouncer_fills_and_empties_a_real_nftables_set(
    scanned: tuple[Path, Path], tmp_path: Path
) -> None:
    binary = _need("crowdsec-firewall-bouncer", "crowdsec-firewall-bouncer")
    _need("nft", "nftables")
    _need("ip", "iproute2")
    data, config = scanned
    key = _tocsin(data, "decisions", "bouncer", "add", "fw-test").strip()
    ns = f"tocsin-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    serve = bouncer = None
    log = (tmp_path / "fw.out").open("wb")
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        port = _free_port()
        inside = ["ip", "netns", "exec", ns]
        serve = _serve(data, config, port, inside)
        _wait("tocsin serve in the namespace", lambda: subprocess.run(
            [*inside, sys.executable, "-c",
             f"import httpx; httpx.get('http://127.0.0.1:{port}/health').raise_for_status()"],
            capture_output=True).returncode == 0, timeout=30)  # fmt: skip
        cfg = tmp_path / "fw-bouncer.yaml"
        _bouncer_config(
            cfg, port, key,
            f"mode: nftables\npid_dir: {tmp_path}\ndisable_ipv6: false\ndeny_action: DROP\n"
            "deny_log: false\nsupported_decisions_types:\n  - ban\n"
            "blacklists_ipv4: crowdsec-blacklists\nblacklists_ipv6: crowdsec6-blacklists\n"
            "nftables:\n  ipv4:\n    enabled: true\n    set-only: false\n    table: crowdsec\n"
            "    chain: crowdsec-chain\n  ipv6:\n    enabled: true\n    set-only: false\n"
            "    table: crowdsec6\n    chain: crowdsec6-chain\n",
        )  # fmt: skip
        bouncer = subprocess.Popen([*inside, binary, "-c", str(cfg)], stdout=log, stderr=log)
        _wait("185.220.101.7 in the kernel set", lambda: "185.220.101.7" in _nft(ns))
        assert "45.153.160.2" in _nft(ns) and "203.0.113.10" not in _nft(ns)
        _tocsin(data, "decisions", "delete", "--value", "185.220.101.7", "--reason", "test")
        _wait("185.220.101.7 gone from the set", lambda: "185.220.101.7" not in _nft(ns))
        assert "45.153.160.2" in _nft(ns)
    finally:
        _stop(*[p for p in (bouncer, serve) if p is not None])
        log.close()
        subprocess.run(["ip", "netns", "delete", ns], check=False)
