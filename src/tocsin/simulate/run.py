"""Run a simulation: build the world and its plans, write every organisation's days, and truth.

Deterministic: every random draw comes from ``random.Random`` seeded with a string made of
the seed and what is being drawn (an organisation, a day, a campaign), never from global
state, hash order or the clock — so the same arguments write the same bytes, whether the
organisations are generated one after another or in parallel processes.
"""

from __future__ import annotations

import ipaddress
import math
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from tocsin.simulate.attacks import MfaFatigue, Stuffing
from tocsin.simulate.plan import CampaignInfo, CampaignPlan, Overrides, TrapInfo, TrapPlan
from tocsin.simulate.population import Population
from tocsin.simulate.profiles import PROFILES, SIZES, Profile, SprayParams, brute_hours
from tocsin.simulate.strontium import AddressPool, BruteForce, Spray
from tocsin.simulate.traps import plan_traps
from tocsin.simulate.truth import Benign, Campaign, Org, Trap, Truth, Window
from tocsin.simulate.world import World, build_world
from tocsin.simulate.writer import BENIGN, Stream, Tally

DEFAULT_START = date(2020, 9, 1)
DEFAULT_DAYS = 14
FIRST_TRAP_OWNER = 100


class SimulationError(ValueError):
    """Arguments that cannot be simulated (unknown profile or size, bad window, output)."""


@dataclass(slots=True)
class Setup:
    world: World
    campaigns: list[CampaignPlan]
    traps: list[TrapPlan]
    overrides: Overrides


@dataclass(slots=True)
class Result:
    truth: Truth
    files: list[Path]
    seconds: float

    @property
    def events(self) -> int:
        t = self.truth
        return t.benign.events + sum(c.events for c in t.campaigns) + sum(x.events for x in t.traps)


def setup(profile: Profile, seed: int, size: str, start: date, days: int) -> Setup:
    world = build_world(seed, size, start, days)
    traps, vpn_ips = plan_traps(world, FIRST_TRAP_OWNER)
    campaigns: list[CampaignPlan] = []
    if profile.spray or profile.brute:
        rng = random.Random(f"{seed}:pool")  # noqa: S311 - simulation, not security
        pool = AddressPool(world, profile.spray or SprayParams(), rng)
        sprayed: set[str] = set()
        if profile.spray:
            spray = Spray(world, len(campaigns) + 1, profile.spray, pool)
            campaigns.append(spray)
            sprayed = spray.target_users()
        if profile.brute:
            hours = brute_hours(size)
            brute = BruteForce(world, len(campaigns) + 1, profile.brute, pool, hours, sprayed)
            campaigns.append(brute)
    if profile.stuffing:
        campaigns.append(Stuffing(world, len(campaigns) + 1, profile.stuffing))
    if profile.mfa_fatigue:
        campaigns.append(MfaFatigue(world, len(campaigns) + 1, profile.mfa_fatigue, vpn_ips))
    overrides: Overrides = {}
    for trap in traps:
        overrides.update(trap.overrides)
    return Setup(world, campaigns, list(traps), overrides)


_SETUPS: dict[tuple[str, int, str, date, int], Setup] = {}


def _cached_setup(key: tuple[str, int, str, date, int]) -> Setup:
    if key not in _SETUPS:
        _SETUPS.clear()
        _SETUPS[key] = setup(PROFILES[key[0]], *key[1:])
    return _SETUPS[key]


def generate_org(
    key: tuple[str, int, str, date, int], org_index: int, out: Path
) -> tuple[dict[int, Tally], list[Path]]:
    """Write one organisation's files; return what each owner put in them."""
    s = _cached_setup(key)
    world, org = s.world, s.world.orgs[org_index]
    stream = Stream(out, org.domain, org.tenant, world.start_ts, world.days)
    population = Population(world, org, s.overrides)
    plans = [*s.campaigns, *s.traps]
    # Local days just outside the window matter only where they overlap it (west or east of UTC).
    zones = {p.city.tz for p in org.people} | {org.city.tz}
    end_ts = world.start_ts + world.days * 86400
    west = any(world.local_midnight(tz, 0) > world.start_ts for tz in zones)
    east = any(world.local_midnight(tz, world.days) < end_ts for tz in zones)
    for day in range(-1, world.days + 1):
        if (day == -1 and west) or (day == world.days and east) or 0 <= day < world.days:
            population.day(day, stream)
        if 0 <= day < world.days:
            for plan in plans:
                plan.emit(org_index, day, stream)
        stream.flush(day - 1)
    return stream.tallies, stream.files


def simulate(
    profile: str,
    seed: int,
    out: Path,
    size: str | None = None,
    start: date = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    jobs: int = 1,
    on_org: Callable[[str], None] | None = None,
) -> Result:
    """Write the logs and ``truth.json`` under ``out``; return the truth and what was written."""
    if profile not in PROFILES:
        raise SimulationError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    chosen = PROFILES[profile]
    size = size or chosen.default_size
    if size not in SIZES:
        raise SimulationError(f"unknown size {size!r}; known: {', '.join(SIZES)}")
    if not 3 <= days <= 366:
        raise SimulationError("days must be between 3 and 366")
    began = time.perf_counter()
    key = (profile, seed, size, start, days)
    s = _cached_setup(key)
    out.mkdir(parents=True, exist_ok=True)
    results: list[tuple[dict[int, Tally], list[Path]]] = []
    orgs = range(len(s.world.orgs))
    workers = max(1, min(jobs, len(orgs)))
    if workers == 1:
        for i in orgs:
            results.append(generate_org(key, i, out))
            if on_org:
                on_org(s.world.orgs[i].domain)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(generate_org, key, i, out) for i in orgs]
            for i, future in enumerate(futures):
                results.append(future.result())
                if on_org:
                    on_org(s.world.orgs[i].domain)
    tallies: dict[int, Tally] = {}
    files: list[Path] = []
    for org_tallies, org_files in results:
        files += org_files
        for owner, tally in org_tallies.items():
            tallies.setdefault(owner, Tally()).merge(tally)
    truth = _truth(chosen, seed, size, s, tallies)
    truth.write(out / "truth.json")
    _SETUPS.clear()
    return Result(truth, files, time.perf_counter() - began)


def prepare_out(out: Path, force: bool) -> None:
    """Refuse a non-empty output folder, unless ``force``: then remove a previous simulation.

    Only what a simulation writes is removed (``truth.json`` and ``*/signins-*.ndjson``);
    anything else there is an error, so a mistyped ``--out`` never deletes unrelated files.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise SimulationError(f"{out} exists and is not a folder")
    ours = [out / "truth.json", *out.glob("*/signins-*.ndjson")]
    ours = [p for p in ours if p.is_file()]
    folders = {p.parent for p in ours if p.parent != out}
    others = [p for p in out.rglob("*") if p not in ours and p not in folders]
    if others:
        raise SimulationError(f"{out} holds files a simulation did not write, e.g. {others[0]}")
    if ours and not force:
        raise SimulationError(f"{out} holds a previous simulation; use --force to replace it")
    for path in ours:
        path.unlink()
    for folder in folders:
        folder.rmdir()


def default_jobs() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _iso(ts: float, up: bool = False) -> str:
    moment = math.ceil(ts) if up else math.floor(ts)
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ips(ips: set[str]) -> list[str]:
    return sorted(ips, key=lambda ip: (":" in ip, ipaddress.ip_address(ip).packed))


def _truth(profile: Profile, seed: int, size: str, s: Setup, tallies: dict[int, Tally]) -> Truth:
    world = s.world
    end = world.start_ts + world.days * 86400
    accounts = sum(len(o.accounts) for o in world.orgs)
    truth = Truth(
        profile=profile.name,
        seed=seed,
        size=size,
        window=Window(_iso(world.start_ts), _iso(end)),
        orgs=[
            Org(o.tenant, o.domain, len(o.accounts), [x.ip for x in o.office]) for o in world.orgs
        ],
        benign=Benign(accounts, float(accounts * world.days), tallies[BENIGN].events),
    )
    for campaign in s.campaigns:
        tally = tallies.get(campaign.owner)
        if tally is not None and tally.events:
            truth.campaigns.append(_campaign(campaign.info, tally))
    for trap in s.traps:
        tally = tallies.get(trap.owner)
        if tally is not None and tally.events:
            truth.traps.append(_trap(trap.info, tally))
    return truth


def _window(tally: Tally) -> Window:
    return Window(_iso(tally.first), _iso(tally.last, up=True))


def _campaign(info: CampaignInfo, tally: Tally) -> Campaign:
    return Campaign(
        id=info.id,
        kind=info.kind,
        actor=info.actor,
        techniques=list(info.techniques),
        tenants=sorted(tally.tenants),
        target_users=sorted(tally.users),
        compromised_users=sorted(info.compromised & tally.users),
        attacker_ips=_ips(tally.ips),
        window=_window(tally),
        events=tally.events,
        notes=info.notes,
    )


def _trap(info: TrapInfo, tally: Tally) -> Trap:
    return Trap(
        kind=info.kind,
        tenant=info.tenant,
        users=sorted(tally.users),
        ips=_ips(tally.ips),
        window=_window(tally),
        events=tally.events,
        notes=info.notes,
    )
