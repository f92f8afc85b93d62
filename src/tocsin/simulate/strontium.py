"""STRONTIUM's 2020 credential-harvesting tooling: password spray and brute force.

Parameters from Microsoft's reporting of 10 September 2020 (Microsoft Security blog,
"STRONTIUM: Detecting new patterns in credential harvesting",
https://www.microsoft.com/en-us/security/blog/2020/09/10/strontium-detecting-new-patters-credential-harvesting/,
and Microsoft On the Issues, "New cyberattacks targeting U.S. elections"): in spray mode about
four attempts per targeted account per hour for days to weeks, nearly every one from a
different address; in brute-force mode about 335 attempts per account per hour; both through
a pool of about 1,100 addresses, mostly Tor exits, about 20 of them replaced every day.
See :mod:`tocsin.simulate.profiles` for the numbers as parameters.
"""

from __future__ import annotations

import random
from datetime import timedelta

from tocsin.simulate.clients import EXCHANGE, INTRUDER_CLIENTS, OFFICE_HOME
from tocsin.simulate.infra import SPRAY_AGENTS, SPRAY_OS, hosting_spot, tor_exits_throughout
from tocsin.simulate.infra import tor_spot as _tor_spot
from tocsin.simulate.plan import DAY, HOUR, MINUTE, CampaignInfo, CampaignPlan, Plan, Spec
from tocsin.simulate.profiles import BruteParams, SprayParams
from tocsin.simulate.render import Client, Device, Shape, Spot, Who, new_id
from tocsin.simulate.world import Person, World
from tocsin.simulate.writer import Stream

ACTOR = "STRONTIUM"
BAD_PASSWORD = Shape(50126)
LOCKED = Shape(50053)
NO_SUCH_USER = Shape(50034)
SOURCE = (
    "Microsoft Security blog, 2020-09-10, STRONTIUM: Detecting new patterns in credential "
    "harvesting"
)


def tooling_clients() -> list[Client]:
    """The tooling's few, dated clients (the Outlook 2010 string only talks to Exchange)."""
    clients = []
    for agent, os_name in zip(SPRAY_AGENTS, SPRAY_OS, strict=True):
        device = Device(os_name)
        apps = (EXCHANGE,) if agent.client_app != "Browser" else (EXCHANGE, OFFICE_HOME)
        clients += [Client(app, agent, device) for app in apps]
    return clients


class AddressPool:
    """About 1,100 addresses in use on any day, about 20 of them replaced each day."""

    def __init__(self, world: World, params: SprayParams, rng: random.Random) -> None:
        end = world.start + timedelta(days=world.days - 1)
        needed = params.pool + params.rotate_per_day * world.days
        tor = tor_exits_throughout(world.start, end)
        rng.shuffle(tor)
        tor_count = min(len(tor), round(needed * params.tor_share))
        candidates = [_tor_spot(ip) for ip in tor[:tor_count]]
        candidates += [hosting_spot(rng, world.taken) for _ in range(needed - tor_count)]
        rng.shuffle(candidates)
        active, reserve = candidates[: params.pool], candidates[params.pool :]
        self.by_day: list[list[Spot]] = []
        for day in range(world.days):
            if day:
                for index in sorted(rng.sample(range(len(active)), params.rotate_per_day)):
                    active[index] = reserve.pop()
            self.by_day.append(list(active))


class _Target:
    __slots__ = ("compromise", "end", "org", "start", "who")

    def __init__(self, org: int, who: Who, start: float, end: float) -> None:
        self.org, self.who, self.start, self.end = org, who, start, end
        self.compromise: tuple[float, Shape] | None = None


class Spray(CampaignPlan):
    """Low and slow: every targeted account about four times an hour, from rotating addresses."""

    def __init__(self, world: World, owner: int, params: SprayParams, pool: AddressPool) -> None:
        super().__init__(owner, f"{world.seed}:spray", world.start_ts, world.days)
        rng = random.Random(f"{world.seed}:spray-plan")  # noqa: S311 - simulation
        self.params, self.pool, self.clients = params, pool, tooling_clients()
        self.info = CampaignInfo("spray-1", "spray", ACTOR, ["T1110.003"], _spray_notes(params))
        first = self.start_ts + DAY  # the campaign starts on the second day
        last = self.start_ts + world.days * DAY - HOUR
        self.targets: list[list[_Target]] = []
        people: list[_Target] = []
        for i, org in enumerate(world.orgs):
            accounts = org.accounts
            chosen = rng.sample(accounts, round(params.target_share * len(accounts)))
            unknown = rng.sample(
                org.unknown_names,
                min(len(org.unknown_names), max(2, round(len(chosen) * params.unknown_share))),
            )
            chosen += [
                Who(f"{name}@{org.domain}", "", org.tenant, exists=False) for name in unknown
            ]
            targets = []
            for who in chosen:
                length = min(rng.uniform(*params.account_days) * DAY, last - first)
                begin = first + rng.uniform(0, last - first - length)
                targets.append(_Target(i, who, begin, begin + length))
            staff = {p.who.upn for p in org.people}
            people += [t for t in targets if t.who.upn in staff]
            self.targets.append(targets)
        count = min(6, max(2, sum(len(t) for t in self.targets) // 40))
        for target in rng.sample(people, min(count, len(people))):
            moment = target.start + rng.uniform(0.3, 0.9) * (target.end - target.start)
            code = 0 if rng.random() < 0.55 else rng.choice((50074, 50076))
            target.compromise = (moment, Shape(code))
            self.info.compromised.add(target.who.upn)
            if code == 0 and rng.random() < 0.75:
                intrude(self, target.org, target.who, moment, rng, hosting_spot(rng, world.taken))
        if self.info.compromised:
            self.info.techniques.append("T1078.004")

    def target_users(self) -> set[str]:
        return {t.who.upn for targets in self.targets for t in targets}

    def emit(self, org: int, day: int, stream: Stream) -> None:
        super().emit(org, day, stream)  # the intruder's sign-ins after a compromise
        day_start = self.start_ts + day * DAY
        day_end = day_start + DAY
        addresses = self.pool.by_day[day]
        interval = HOUR / self.params.attempts_per_hour
        lockout = self.params.lockout_share
        for target in self.targets[org]:
            if target.end <= day_start or target.start >= day_end:
                continue
            rng = random.Random(f"{self.tag}:{target.who.upn}:{day}")  # noqa: S311 - simulation
            stop = min(target.end, day_end)
            if target.compromise and target.compromise[0] < stop:
                stop = target.compromise[0]
                if day_start <= stop:
                    spot = rng.choice(addresses)
                    stream.emit(
                        stop,
                        self.owner,
                        target.compromise[1],
                        target.who,
                        spot,
                        rng.choice(self.clients),
                        rng,
                    )
            exists = target.who.exists
            t = max(target.start, day_start) + rng.uniform(0, interval)
            while t < stop:
                shape = BAD_PASSWORD if rng.random() >= lockout else LOCKED
                if not exists:
                    shape = NO_SUCH_USER
                stream.emit(
                    t,
                    self.owner,
                    shape,
                    target.who,
                    rng.choice(addresses),
                    rng.choice(self.clients),
                    rng,
                )
                t += interval * rng.uniform(0.55, 1.45)


def _spray_notes(p: SprayParams) -> str:
    return (
        f"≈{p.attempts_per_hour:g} attempts per account per hour, nearly each from a "
        f"different address; pool of {p.pool:,} addresses ({p.tor_share:.0%} Tor), "
        f"{p.rotate_per_day} rotated daily; {p.target_share:.0%} of accounts targeted. "
        f"Source: {SOURCE}"
    )


def intrude(plan: Plan, org: int, who: Who, moment: float, rng: random.Random, spot: Spot) -> None:
    """The intruder signs in with the password from other infrastructure and reads mail."""
    t = moment + rng.uniform(5, 60) * MINUTE
    plan.add(org, Spec(t, Shape(0), who, spot, INTRUDER_CLIENTS[0], new_id(rng)))
    end = t + rng.uniform(1, 2) * HOUR
    while t < end:
        t += rng.uniform(5, 15) * MINUTE
        plan.add(org, Spec(t, Shape(0, interactive=False), who, spot, INTRUDER_CLIENTS[1]))


class BruteForce(CampaignPlan):
    """Many passwords fast against a handful of accounts at one organisation."""

    def __init__(
        self,
        world: World,
        owner: int,
        params: BruteParams,
        pool: AddressPool,
        hours: tuple[float, float],
        avoid: set[str],
    ) -> None:
        super().__init__(owner, f"{world.seed}:brute", world.start_ts, world.days)
        rng = random.Random(f"{world.seed}:brute-plan")  # noqa: S311 - simulation
        self.info = CampaignInfo(
            "brute_force-1",
            "brute_force",
            ACTOR,
            ["T1110.001", "T1078.004"],
            f"≈{params.attempts_per_hour:g} attempts per account per hour from "
            f"{params.addresses} addresses; Smart Lockout answers most with 50053. "
            f"Source: {SOURCE}",
        )
        org = world.orgs[0]
        addresses = rng.sample(pool.by_day[0], params.addresses)
        clients = tooling_clients()
        # Not the spray's targets: each campaign's accounts stay its own in the truth.
        people = [p for p in org.people if p.who.upn not in avoid]
        victims: list[Person] = rng.sample(people, 3 if len(org.people) < 1000 else 5)
        for n, person in enumerate(victims):
            length = min(rng.uniform(*hours) * HOUR, world.days * DAY / 2)
            latest = max(world.days * DAY - length - HOUR, 0.0)
            begin = self.start_ts + rng.uniform(min(2 * DAY, latest), latest)
            end = begin + length
            fall = begin + rng.uniform(0.5, 0.95) * length if n == 0 else None
            self._attack(params, person.who, begin, end, fall, addresses, clients, rng)
            if fall is not None:
                self.info.compromised.add(person.who.upn)

    def _attack(
        self,
        params: BruteParams,
        who: Who,
        t: float,
        end: float,
        fall: float | None,
        addresses: list[Spot],
        clients: list[Client],
        rng: random.Random,
    ) -> None:
        mean = HOUR / params.attempts_per_hour
        failures, locked_until = 0, 0.0
        while t < end:
            spot, client = rng.choice(addresses), rng.choice(clients)
            if t < locked_until:
                self.add(0, Spec(t, LOCKED, who, spot, client))
            elif fall is not None and t >= fall:  # the right password, proven
                self.add(0, Spec(t, Shape(rng.choice((0, 50074))), who, spot, client))
                return
            else:
                self.add(0, Spec(t, BAD_PASSWORD, who, spot, client))
                failures += 1
                if failures >= params.lockout_threshold:
                    locked_until = t + params.lockout_seconds
            t += mean * rng.uniform(0.5, 1.5)
