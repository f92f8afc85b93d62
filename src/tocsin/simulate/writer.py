"""Collect one organisation's events, write one JSON Lines file per UTC day, and count.

Generators hand every event to :meth:`Stream.emit` with the *owner* it belongs to (0 for
ordinary work, else a campaign or a trap). Events outside the simulated window are dropped
there, so what ``truth.json`` says is counted from exactly what was written.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

from tocsin.simulate.render import Client, Renderer, Shape, Spot, Who

BENIGN = 0
_by_time = itemgetter(0)


@dataclass(slots=True)
class Tally:
    """What one owner put in the logs."""

    events: int = 0
    users: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)
    tenants: set[str] = field(default_factory=set)
    first: float = float("inf")
    last: float = float("-inf")

    def merge(self, other: Tally) -> None:
        self.events += other.events
        self.users |= other.users
        self.ips |= other.ips
        self.tenants |= other.tenants
        self.first = min(self.first, other.first)
        self.last = max(self.last, other.last)


class Stream:
    """The events of one organisation, bucketed by UTC day until that day is written."""

    def __init__(self, out_dir: Path, domain: str, tenant: str, start_ts: float, days: int) -> None:
        self.dir = out_dir / domain
        self.tenant = tenant
        self.start_ts = start_ts
        self.days = days
        self.renderer = Renderer(tenant)
        self.buckets: dict[int, list[tuple[float, str]]] = {}
        self.benign = Tally()
        self.tallies: dict[int, Tally] = {BENIGN: self.benign}
        self.files: list[Path] = []

    def emit(
        self,
        ts: float,
        owner: int,
        shape: Shape,
        who: Who,
        spot: Spot,
        client: Client,
        rng: random.Random,
        correlation: str | None = None,
    ) -> None:
        day = int((ts - self.start_ts) // 86400)
        if day < 0 or day >= self.days:
            return
        line = self.renderer.line(ts, shape, who, spot, client, rng, correlation)
        bucket = self.buckets.get(day)
        if bucket is None:
            bucket = self.buckets[day] = []
        bucket.append((ts, line))
        if owner == BENIGN:
            self.benign.events += 1
        else:
            tally = self.tallies.get(owner)
            if tally is None:
                tally = self.tallies[owner] = Tally()
            tally.events += 1
            tally.users.add(who.upn)
            tally.ips.add(spot.ip)
            tally.tenants.add(self.tenant)
            tally.first = min(tally.first, ts)
            tally.last = max(tally.last, ts)

    def flush(self, day: int) -> None:
        """Write the file for UTC ``day`` (events sorted by time) and forget them."""
        bucket = self.buckets.pop(day, None)
        if not bucket or not 0 <= day < self.days:
            return
        bucket.sort(key=_by_time)
        self.dir.mkdir(parents=True, exist_ok=True)
        stamp = self.renderer.time(self.start_ts + day * 86400)[:10]
        path = self.dir / f"signins-{stamp}.ndjson"
        with path.open("wb") as handle:
            for start in range(0, len(bucket), 1_000):
                chunk = bucket[start : start + 1_000]
                handle.write(("\n".join(line for _, line in chunk) + "\n").encode())
        self.files.append(path)
