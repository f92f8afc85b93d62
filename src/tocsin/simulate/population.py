"""Ordinary work: the sign-ins an organisation's people and service accounts make every day.

Per person and local day: the phone refreshes its tokens through the day (home Wi-Fi, the
office, or the carrier's shared CGNAT addresses); on a working day the laptop signs in
interactively in the morning (office NAT or home), opens a browser app or two later, and its
desktop apps refresh tokens non-interactively until the evening. Weekends are short. Noise
is what real tenants show: a typo or two before the right password, MFA prompts away from
the office, a rare Smart Lockout, a mistyped user name; a scanner sending mail over
Authenticated SMTP and a shared mailbox polled over IMAP4 from the office.
"""

from __future__ import annotations

import random

from tocsin.simulate.plan import HOUR, MINUTE, DayOverride, Overrides
from tocsin.simulate.render import Client, Shape, Spot, Who, new_id
from tocsin.simulate.world import Org, Person, ServiceAccount, World
from tocsin.simulate.writer import BENIGN, Stream

TYPO_SHARE = 0.025  # interactive sign-ins preceded by one or two wrong passwords
LOCKOUT_SHARE = 0.0005  # … by enough wrong passwords for Smart Lockout (50053)
WRONG_NAME_SHARE = 0.003  # … by a mistyped user name (50034)
MFA_SHARE = 0.3  # interactive sign-ins away from the office that are challenged for MFA
LOCKOUT_THRESHOLD = 10  # Entra Smart Lockout default

OK = Shape(0)
REFRESH = Shape(0, interactive=False)
TYPO = Shape(50126)
LOCKED = Shape(50053)
NO_SUCH_USER = Shape(50034)
MFA_PROMPT = Shape(50074)


def mangle(rng: random.Random, upn: str) -> str:
    """A plausible typo of a sign-in name: a letter dropped, doubled or swapped."""
    local, _, domain = upn.partition("@")
    i = rng.randrange(len(local) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        local = local[:i] + local[i + 1 :]
    elif kind == 1:
        local = local[:i] + local[i] + local[i:]
    else:
        local = local[:i] + local[i + 1] + local[i] + local[i + 2 :]
    return f"{local}@{domain}"


class Population:
    def __init__(self, world: World, org: Org, overrides: Overrides) -> None:
        self.world = world
        self.org = org
        self.overrides = overrides
        self.upns = {who.upn for who in org.accounts}
        self.weekdays = [
            (world.start.toordinal() + g) % 7 not in (0, 6)  # ordinal 1 was a Monday
            for g in range(-1, world.days + 2)
        ]

    def is_weekday(self, day: int) -> bool:
        return self.weekdays[day + 1]

    def day(self, day: int, stream: Stream) -> None:
        """Every person's and service account's sign-ins on local ``day`` of the window."""
        rng = random.Random(f"{self.world.seed}:benign:{self.org.domain}:{day}")  # noqa: S311
        for person in self.org.people:
            _PersonDay(self, person, day, rng, stream).run()
        for service in self.org.services:
            self._service(service, day, rng, stream)

    def _service(self, svc: ServiceAccount, day: int, rng: random.Random, out: Stream) -> None:
        if svc.office_hours_only and not self.is_weekday(day):
            return
        midnight = self.world.local_midnight(self.org.city.tz, day)
        office = self.org.office[0]
        if svc.office_hours_only:  # jobs at random, during office hours
            t = 8.5 * HOUR + rng.expovariate(1 / (svc.every_minutes * MINUTE))
            while t < 18 * HOUR:
                out.emit(midnight + t, BENIGN, OK, svc.who, office, svc.client, rng)
                t += rng.expovariate(1 / (svc.every_minutes * MINUTE))
            return
        period = svc.every_minutes * MINUTE  # a poller, around the clock
        t = rng.uniform(0, period)
        while t < 24 * HOUR:
            out.emit(midnight + t, BENIGN, OK, svc.who, office, svc.client, rng)
            t += period + rng.uniform(-20, 20)


class _PersonDay:
    __slots__ = (
        "at_office",
        "day",
        "end",
        "home",
        "laptop",
        "laptop_owner",
        "mfa",
        "midnight",
        "out",
        "over",
        "person",
        "pop",
        "rng",
        "start",
    )

    def __init__(
        self, pop: Population, person: Person, day: int, rng: random.Random, out: Stream
    ) -> None:
        self.pop, self.person, self.day, self.rng, self.out = pop, person, day, rng, out
        self.over: DayOverride | None = pop.overrides.get((person.who.upn, day))
        tz = self.over.tz if self.over and self.over.tz else person.city.tz
        self.midnight = pop.world.local_midnight(tz, day)
        self.home = person.home_on(day)
        weekday = pop.is_weekday(day)
        self.at_office = weekday and rng.random() < person.office_share
        if self.over and self.over.at_office is not None:
            self.at_office = self.over.at_office
        self.laptop = rng.choice(pop.org.office) if self.at_office else self.home
        self.laptop_owner = BENIGN
        if self.over and self.over.laptop is not None:
            self.laptop, self.laptop_owner = self.over.laptop, self.over.owner
        self.mfa = bool(self.over and self.over.mfa)
        if weekday:
            self.start = person.start_hour + rng.gauss(0, 0.4)
            self.end = self.start + rng.gauss(8.5, 0.8)
        else:
            self.start = rng.uniform(10, 16)
            self.end = self.start + rng.uniform(1, 3)

    def active(self) -> bool:
        if self.over and self.over.active is not None:
            return self.over.active
        chance = 0.93 if self.pop.is_weekday(self.day) else self.person.weekend
        return self.rng.random() < chance

    def run(self) -> None:
        rng, kit = self.rng, self.person.kit
        active = self.active()
        if kit.phone_apps:
            for _ in range(rng.randint(3, 6) if active else rng.randint(1, 3)):
                hour = rng.uniform(7.0, 22.5)
                spot, owner = self.phone_spot(hour, active)
                self.emit(hour, REFRESH, spot, rng.choice(kit.phone_apps), owner)
            if kit.phone_browser and rng.random() < 0.05:
                hour = rng.uniform(7.5, 21.0)
                spot, owner = self.phone_spot(hour, active)
                self.sign_in(hour, spot, kit.phone_browser, owner)
        if not active:
            return
        first = rng.choice((*kit.laptop_apps, kit.laptop_browser[0]))
        self.sign_in(self.start, self.laptop, first, self.laptop_owner)
        for _ in range(rng.choices((0, 1, 2), (45, 40, 15))[0]):
            hour = rng.uniform(self.start + 0.5, self.end)
            self.sign_in(hour, self.laptop, rng.choice(kit.laptop_browser), self.laptop_owner)
        for app in kit.laptop_apps:
            hour = self.start + rng.uniform(0.1, 0.7)
            while hour < self.end:
                self.emit(hour, REFRESH, self.laptop, app, self.laptop_owner)
                hour += rng.uniform(0.8, 1.7)
        if kit.personal and rng.random() < 0.08:
            self.sign_in(rng.uniform(19.0, 23.0), self.home, kit.personal, BENIGN)

    def phone_spot(self, hour: float, active: bool) -> tuple[Spot, int]:
        if self.over and self.over.phone is not None:
            return self.over.phone, self.over.owner
        rng = self.rng
        working = active and self.start <= hour <= self.end
        if working and self.at_office and rng.random() < 0.5:
            return rng.choice(self.pop.org.office), BENIGN
        if not (working and self.at_office) and rng.random() < 0.6:
            if self.over and self.over.laptop is not None:  # the hotel's or VPN's Wi-Fi
                return self.over.laptop, self.over.owner
            return self.home, BENIGN
        return rng.choice(self.person.carrier_pool), BENIGN

    def emit(self, hour: float, shape: Shape, spot: Spot, client: Client, owner: int) -> None:
        who = self.person.who
        self.out.emit(self.midnight + hour * HOUR, owner, shape, who, spot, client, self.rng)

    def sign_in(self, hour: float, spot: Spot, client: Client, owner: int) -> None:
        """An interactive sign-in, with whatever went wrong on the way."""
        rng, who, out = self.rng, self.person.who, self.out
        ts = self.midnight + hour * HOUR
        flow = new_id(rng)
        challenged = self.mfa or (spot not in self.pop.org.office and rng.random() < MFA_SHARE)
        password_at = ts - rng.uniform(12, 40) if challenged else ts  # the password step
        roll = rng.random()
        if roll < LOCKOUT_SHARE:
            lock = password_at - rng.uniform(600, 2400)
            for k in range(LOCKOUT_THRESHOLD):
                t = lock - (LOCKOUT_THRESHOLD - k) * rng.uniform(8, 30)
                out.emit(t, owner, TYPO, who, spot, client, rng, flow)
            out.emit(lock, owner, LOCKED, who, spot, client, rng, flow)
        elif roll < LOCKOUT_SHARE + TYPO_SHARE:
            for k in range(rng.choice((1, 1, 2)), 0, -1):
                t = password_at - k * rng.uniform(6, 25)
                out.emit(t, owner, TYPO, who, spot, client, rng, flow)
        if rng.random() < WRONG_NAME_SHARE:
            wrong = mangle(rng, who.upn)
            if wrong not in self.pop.upns:
                nobody = Who(wrong, "", self.pop.org.tenant, exists=False)
                out.emit(
                    password_at - rng.uniform(60, 90),
                    owner,
                    NO_SUCH_USER,
                    nobody,
                    spot,
                    client,
                    rng,
                )
        if challenged:
            out.emit(password_at, owner, MFA_PROMPT, who, spot, client, rng, flow)
            out.emit(ts, owner, Shape(0, mfa=self.person.mfa), who, spot, client, rng, flow)
        else:
            out.emit(ts, owner, OK, who, spot, client, rng, flow)
