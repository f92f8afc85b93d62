"""Traps: ordinary situations that look like attacks to a careless detection.

* ``nat_password_change`` — a forced password change: dozens of people behind the office NAT
  fail (expired password, then sometimes a typo of the new one) within twenty minutes, then
  sign in.
* ``cgnat`` — one mobile-carrier CGNAT address shared by a couple of dozen staff in a day.
* ``legacy_retry`` — an old phone (Exchange ActiveSync) at someone's home, and an old IMAP4
  poller in the office, retrying a stale password every few minutes for days.
* ``travel`` — staff abroad for several days: hotel and venue Wi-Fi, new addresses and
  countries, MFA challenges, a typo or two; their phones roam home-routed.
* ``commercial_vpn`` — privacy-minded staff signing in through the same few commercial VPN
  egress addresses.
"""

from __future__ import annotations

import random
from collections import Counter

from tocsin.simulate.clients import EAS_OLD_IPHONE, EXCHANGE, IMAP
from tocsin.simulate.geo import BUSINESS, CITIES, RESIDENTIAL, pick
from tocsin.simulate.infra import vpn_servers_in, vpn_spot
from tocsin.simulate.plan import DAY, HOUR, MINUTE, DayOverride, Spec, TrapInfo, TrapPlan
from tocsin.simulate.population import OK, REFRESH, TYPO
from tocsin.simulate.render import Client, Device, Shape, Spot, Who, new_id
from tocsin.simulate.truth import TrapKind
from tocsin.simulate.world import Org, Person, World

EXPIRED = Shape(50055)
NEW_PLACE_MFA = Shape(50076)
DESTINATIONS = {
    "US": ("London", "Brussels", "Berlin", "Paris", "Toronto"),
    "GB": ("Brussels", "Berlin", "Paris", "Washington"),
    "DE": ("Brussels", "London", "Paris"),
}


def _weekday(world: World, low: int, high: int, rng: random.Random) -> int:
    days = [
        d
        for d in range(low, max(low + 1, high))
        if (world.start.toordinal() + d) % 7 in range(1, 6)
    ]
    return rng.choice(days or [low])


def _largest(world: World) -> int:
    return max(range(len(world.orgs)), key=lambda i: len(world.orgs[i].people))


class _Trap(TrapPlan):
    def __init__(self, world: World, owner: int, kind: TrapKind, org: int) -> None:
        super().__init__(owner, f"{world.seed}:trap:{kind}", world.start_ts, world.days)
        self.world = world
        self.org_index = org
        self.org: Org = world.orgs[org]
        self.info = TrapInfo(kind, self.org.tenant)
        self.rng = random.Random(f"{world.seed}:trap-plan:{kind}")  # noqa: S311 - simulation

    def at(self, day: int, hour: float, tz: str | None = None) -> float:
        return self.world.local_midnight(tz or self.org.city.tz, day) + hour * HOUR

    def people(self, n: int, exclude: set[str]) -> list[Person]:
        pool = [p for p in self.org.people if p.who.upn not in exclude]
        return self.rng.sample(pool, min(n, len(pool)))


def nat_password_change(world: World, owner: int) -> _Trap:
    trap = _Trap(world, owner, "nat_password_change", _largest(world))
    rng, org = trap.rng, trap.org
    day = _weekday(world, 2, world.days - 2, rng)
    staff = len(org.people)
    count = rng.randint(40, min(60, round(staff * 0.9))) if staff >= 50 else round(staff * 0.85)
    office = org.office[0]
    for person in trap.people(count, set()):
        trap.overrides[(person.who.upn, day)] = DayOverride(owner, at_office=True, active=True)
        client = person.kit.laptop_browser[0]
        t = trap.at(day, 9.0) + rng.uniform(0, 20 * MINUTE)
        flow = new_id(rng)
        trap.add(trap.org_index, Spec(t, EXPIRED, person.who, office, client, flow))
        if rng.random() < 0.4:
            t += rng.uniform(20, 90)
            trap.add(trap.org_index, Spec(t, TYPO, person.who, office, client, flow))
        t += rng.uniform(40, 180)
        trap.add(trap.org_index, Spec(t, OK, person.who, office, client, flow))
    trap.info.notes = "forced password change: expired password (50055), typos, then success"
    return trap


def cgnat(world: World, owner: int, exclude: set[str]) -> _Trap:
    trap = _Trap(world, owner, "cgnat", _largest(world))
    rng, org = trap.rng, trap.org
    # A day of events: the phones of staff on one carrier share one CGNAT address.
    phones = [p for p in org.people if p.kit.phone_apps and p.who.upn not in exclude]
    carriers = Counter(p.carrier_pool[0].network for p in phones)
    carrier = min(carriers, key=lambda c: (-carriers[c], c))
    users = [p for p in phones if p.carrier_pool[0].network == carrier][:40]
    spot = rng.choice(users[0].carrier_pool)
    day = _weekday(world, 1, world.days - 1, rng)
    for person in users:
        for _ in range(rng.randint(2, 5)):
            t = trap.at(day, rng.uniform(8.0, 20.0))
            trap.add(
                trap.org_index,
                Spec(t, REFRESH, person.who, spot, rng.choice(person.kit.phone_apps)),
            )
        t = trap.at(day, rng.uniform(8.0, 20.0))
        client = person.kit.phone_apps[0]
        if rng.random() < 0.1:
            trap.add(trap.org_index, Spec(t - rng.uniform(8, 30), TYPO, person.who, spot, client))
        trap.add(trap.org_index, Spec(t, OK, person.who, spot, client))
    trap.info.notes = f"{len(users)} staff on one {carrier} carrier-grade NAT address"
    return trap


def legacy_retry_phone(world: World, owner: int) -> _Trap:
    """An old iPhone at home syncing mail over Exchange ActiveSync with a stale password."""
    trap = _Trap(world, owner, "legacy_retry", 0)
    person = next(p for p in trap.people(len(trap.org.people), set()) if p.moved_home is None)
    client = Client(EXCHANGE, EAS_OLD_IPHONE, Device("Ios", "", "iPhone"))
    _retry(trap, person.who, client, person.home)
    trap.info.notes = "old iPhone (Exchange ActiveSync) retrying a stale password from home"
    return trap


def legacy_retry_poller(world: World, owner: int) -> _Trap:
    """A retired IMAP4 poller in the office still using the shared mailbox's old password."""
    trap = _Trap(world, owner, "legacy_retry", len(world.orgs) - 1)
    mailbox = trap.org.services[1]
    _retry(trap, mailbox.who, Client(EXCHANGE, IMAP, Device("")), trap.org.office[0])
    trap.info.notes = "retired IMAP4 poller retrying the shared mailbox's old password"
    return trap


def _retry(trap: _Trap, who: Who, client: Client, spot: Spot) -> None:
    rng = trap.rng
    t = trap.start_ts + rng.randint(1, max(1, trap.days - 6)) * DAY + rng.uniform(0, DAY)
    end = t + rng.uniform(2, 4.5) * DAY
    failures = 0
    while t < end:
        failures += 1
        shape = Shape(50053) if failures % 12 == 0 else TYPO  # Smart Lockout now and then
        trap.add(trap.org_index, Spec(t, shape, who, spot, client))
        t += rng.uniform(3, 12) * MINUTE


def travel(world: World, owner: int, busy: set[tuple[str, int]]) -> _Trap:
    """Two or three colleagues at a conference abroad for several days."""
    trap = _Trap(world, owner, "travel", 0)
    rng, org = trap.rng, trap.org
    city = CITIES[rng.choice(DESTINATIONS[org.spec.country])]
    nets = BUSINESS.get(city.country) or RESIDENTIAL[city.country]
    hotel_net, venue_net = pick(rng, nets), pick(rng, nets)
    hotel = Spot(hotel_net.address(rng, world.taken), hotel_net.asn, city, hotel_net.name)
    venue = Spot(venue_net.address(rng, world.taken), venue_net.asn, city, venue_net.name)
    first = _weekday(world, 2, world.days - 6, rng)
    length = rng.randint(3, 5)
    trip = range(first, first + length)
    away = {upn for upn, day in busy if day in trip}
    travellers = trap.people(rng.randint(2, 3), away)
    for person in travellers:
        for day in trip:
            place = (
                venue if day not in (first, first + length - 1) and rng.random() < 0.6 else hotel
            )
            trap.overrides[(person.who.upn, day)] = DayOverride(
                owner, laptop=place, tz=city.tz, at_office=False, active=True, mfa=True
            )
        # The first evening at the hotel: a typo or two, a new-location MFA challenge.
        client = person.kit.laptop_browser[1]
        t = trap.at(first, rng.uniform(19.0, 22.0), city.tz)
        flow = new_id(rng)
        for k in range(rng.randint(1, 2), 0, -1):
            trap.add(
                trap.org_index,
                Spec(t - k * rng.uniform(8, 25), TYPO, person.who, hotel, client, flow),
            )
        trap.add(trap.org_index, Spec(t + 5, NEW_PLACE_MFA, person.who, hotel, client, flow))
        done = Shape(0, mfa=person.mfa)
        trap.add(
            trap.org_index, Spec(t + rng.uniform(20, 45), done, person.who, hotel, client, flow)
        )
    trap.info.notes = f"{len(travellers)} staff in {city.name} ({city.country}) for {length} days"
    return trap


def commercial_vpn(world: World, owner: int, busy: set[tuple[str, int]]) -> tuple[_Trap, set[str]]:
    """A few staff routinely on the same commercial VPN egress addresses."""
    kinds = [o.spec.kind for o in world.orgs]
    org = next(
        (i for i, k in enumerate(kinds) if k in ("newsroom", "NGO", "think tank")),
        len(world.orgs) - 1,
    )
    trap = _Trap(world, owner, "commercial_vpn", org)
    rng = trap.rng
    country = trap.org.spec.country
    servers = [v for v in vpn_servers_in((country,)) if v.provider == "NordVPN"]
    chosen = [vpn_spot(v) for v in rng.sample(servers, 3)]
    users = trap.people(rng.randint(3, 6), {upn for upn, _ in busy})  # not the travellers
    for person in users:
        home_vpn = rng.choice(chosen)
        days = sorted(rng.sample(range(world.days), min(world.days, rng.randint(3, 6))))
        days = [d for d in days if (person.who.upn, d) not in busy] or days[:1]
        for day in days:
            spot = home_vpn if rng.random() < 0.7 else rng.choice(chosen)
            trap.overrides[(person.who.upn, day)] = DayOverride(owner, laptop=spot, at_office=False)
        client = person.kit.laptop_browser[0]
        t = trap.at(days[0], rng.uniform(9.0, 17.0))
        trap.add(org, Spec(t, TYPO, person.who, home_vpn, client))
        trap.add(org, Spec(t + rng.uniform(10, 30), OK, person.who, home_vpn, client))
    trap.info.notes = f"{len(users)} staff sharing {len(chosen)} NordVPN egress addresses"
    return trap, {s.ip for s in chosen}


def plan_traps(world: World, first_owner: int) -> tuple[list[_Trap], set[str]]:
    """Every trap, owners numbered from ``first_owner``; also the VPN addresses they use.

    A person's day is changed by one trap at most, so the traps' overrides never clash.
    """
    traps = [nat_password_change(world, first_owner)]
    busy = set(traps[0].overrides)
    travellers = travel(world, first_owner + len(traps), busy)
    traps.append(travellers)
    busy |= set(travellers.overrides)
    vpn, vpn_ips = commercial_vpn(world, first_owner + len(traps), busy)
    traps.append(vpn)
    abroad = set(travellers.overrides_users())
    traps.append(cgnat(world, first_owner + len(traps), abroad))
    traps.append(legacy_retry_phone(world, first_owner + len(traps)))
    if len(world.orgs) > 1:
        traps.append(legacy_retry_poller(world, first_owner + len(traps)))
    return traps, vpn_ips
