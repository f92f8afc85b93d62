"""Loaders for the bundled enrichment snapshots (see data/NOTICE.md for sources and licences)."""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Final

DATA: Final = files("tocsin.enrich") / "data"


@dataclass(frozen=True, slots=True)
class TorExit:
    ip: str
    first_seen: date
    last_seen: date


@dataclass(frozen=True, slots=True)
class VpnServer:
    ip: str
    provider: str
    country: str


def _csv_rows(name: str) -> list[dict[str, str]]:
    raw = (DATA / name).read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))


@cache
def tor_exits() -> tuple[TorExit, ...]:
    """Every Tor exit address in the bundled history, with the days it was seen."""
    return tuple(
        TorExit(r["ip"], date.fromisoformat(r["first_seen"]), date.fromisoformat(r["last_seen"]))
        for r in _csv_rows("tor_exit_history.csv.gz")
    )


def tor_exits_active(start: date, end: date) -> list[str]:
    """Addresses that were Tor exits at some point between ``start`` and ``end``."""
    return sorted(t.ip for t in tor_exits() if t.first_seen <= end and t.last_seen >= start)


@cache
def vpn_servers() -> tuple[VpnServer, ...]:
    return tuple(
        VpnServer(r["ip"], r["provider"], r["country"]) for r in _csv_rows("vpn_servers.csv.gz")
    )


@cache
def hosting_asns() -> dict[int, tuple[str, str]]:
    """ASN → (organisation, kind) where kind is hosting, cloud or vpn."""
    return {int(r["asn"]): (r["organisation"], r["kind"]) for r in _csv_rows("hosting_asns.csv")}
