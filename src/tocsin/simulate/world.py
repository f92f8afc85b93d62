"""The simulated organisations: their people, devices, homes, office and mobile networks."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from tocsin.simulate.clients import EXCHANGE, IMAP, SMTP, Kit
from tocsin.simulate.geo import BUSINESS, CITIES, HOME_CITIES, MOBILE, RESIDENTIAL, City, pick
from tocsin.simulate.infra import excluded_addresses
from tocsin.simulate.profiles import ORGS, SIZES, OrgSpec
from tocsin.simulate.render import Client, Device, Spot, Who


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "aaron abby adam adrian aisha alex alice amara amir ana andre angela anna arjun ava ben "
    "bianca brian bruno caleb carla carlos carmen chen chloe chris claire colin dana daniel "
    "david deepa diana diego dina dmitri eli elena elif emil emily emma eric eva fatima felix "
    "fiona frank gabriel george grace hana hannah hassan helen hugo ian imani ines irene isaac "
    "ivan jack jade james jamal jane jason javier jen jin joanna john jonas jordan jose julia "
    "kai karen kate kenji kevin kim kira laura leila lena leo liam lily lin lucas lucy luis "
    "maria mark marta maya mei mia michael mila mohamed nadia naomi nathan nia nina noah nora "
    "olga omar oscar paul pedro peter priya quinn rachel rafael raj rebecca rosa ruth ryan "
    "sam sara sean simone sofia sophie stefan susan tara teresa thomas tom uma victor vikram "
    "wei will yara yusuf zara zoe"
)
LAST = _words(
    "abbott adams ahmed alvarez anderson bailey baker banerjee bauer becker bell bennett "
    "brooks brown campbell carter castro chen clark cohen collins cooper costa cruz davies "
    "davis diaz dubois edwards evans fischer fisher flores foster garcia gonzalez gordon "
    "graham gray green gupta hall harris hayes hernandez hill hoffmann hughes hussain jackson "
    "james jensen johnson jones kaur kelly khan kim king klein koch kowalski kumar lee lewis "
    "lopez martin martinez meyer miller mitchell moore morales morgan murphy nguyen novak "
    "obrien okafor olsen ortiz owens park patel perez peterson phillips price rahman ramirez "
    "reed reyes richter rivera roberts robinson rodriguez rossi russell sanchez santos "
    "schmidt schneider scott shah silva singh smith stewart sullivan taylor thomas thompson "
    "torres turner walker wang ward watson weber white williams wilson wong wright yang "
    "young zhang"
)
MFA_METHODS = (
    "Mobile app notification",
    "Mobile app notification",
    "Text message",
    "OATH verification code",
)


@dataclass(slots=True)
class Person:
    who: Who
    display: str
    city: City
    home: Spot
    moved_home: Spot | None  # a new residential address (DHCP lease) from move_day on
    move_day: int
    carrier_pool: list[Spot]
    office_share: float  # chance of working from the office on a weekday
    weekend: float  # chance of doing some work on a weekend day
    start_hour: float  # usual local start of the working day
    mfa: str
    kit: Kit

    def home_on(self, day: int) -> Spot:
        return self.moved_home if self.moved_home and day >= self.move_day else self.home


@dataclass(slots=True)
class ServiceAccount:
    who: Who
    client: Client
    every_minutes: float  # polling period, or the mean gap between jobs
    office_hours_only: bool


@dataclass(slots=True)
class Org:
    spec: OrgSpec
    tenant: str
    city: City
    people: list[Person]
    services: list[ServiceAccount]
    office: list[Spot]
    unknown_names: list[str] = field(default_factory=list)  # departed staff, role names

    @property
    def domain(self) -> str:
        return self.spec.domain

    @property
    def accounts(self) -> list[Who]:
        return [p.who for p in self.people] + [s.who for s in self.services]


@dataclass(slots=True)
class World:
    seed: int
    start: date
    days: int
    orgs: list[Org]
    taken: set[str]  # every address handed out so far (plus Tor exits and VPN servers)

    @property
    def start_ts(self) -> float:
        return datetime(
            self.start.year, self.start.month, self.start.day, tzinfo=ZoneInfo("UTC")
        ).timestamp()

    def local_midnight(self, tz: str, day: int) -> float:
        return _midnight(tz, self.start.toordinal() + day)


@cache
def _midnight(tz: str, ordinal: int) -> float:
    d = date.fromordinal(ordinal)
    return datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz)).timestamp()


def tenant_id(domain: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"tenant.{domain}"))


def _login(style: str, first: str, last: str) -> str:
    if style == "flast":
        return f"{first[0]}{last}"
    if style == "firstl":
        return f"{first}{last[0]}"
    return f"{first}.{last}"


def _names(rng: random.Random, style: str, count: int, used: set[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    while len(out) < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        login = base = _login(style, first, last)
        n = 2
        while login in used:
            login, n = f"{base}{n}", n + 1
        used.add(login)
        out.append((login, f"{first.title()} {last.title()}"))
    return out


def build_world(seed: int, size: str, start: date, days: int) -> World:
    taken = set(excluded_addresses())
    orgs = [_build_org(seed, ORGS[i], n, days, taken) for i, n in SIZES[size]]
    return World(seed, start, days, orgs, taken)


def _build_org(seed: int, spec: OrgSpec, accounts: int, days: int, taken: set[str]) -> Org:
    rng = random.Random(f"{seed}:org:{spec.domain}")  # noqa: S311 - simulation, not security
    tenant = tenant_id(spec.domain)
    city = CITIES[spec.city]
    office_net = pick(rng, BUSINESS[spec.country])
    office = [Spot(office_net.address(rng, taken), office_net.asn, city, office_net.name)]
    if accounts >= 1000:
        office.append(Spot(office_net.address(rng, taken), office_net.asn, city, office_net.name))
    pools: dict[str, list[Spot]] = {}
    people_count = accounts - 2
    used = {"scanner", "press", "info"}
    people = []
    for n, (login, display) in enumerate(_names(rng, spec.upn_style, people_count, used)):
        remote = rng.random() < 0.2
        home_city = CITIES[rng.choice(HOME_CITIES[spec.country])] if remote else city
        isp = pick(rng, RESIDENTIAL[spec.country])
        home = Spot(isp.address(rng, taken), isp.asn, home_city, isp.name)
        moved = None
        if rng.random() < 0.12:
            moved = Spot(isp.address(rng, taken), isp.asn, home_city, isp.name)
        carrier = pick(rng, MOBILE[spec.country])
        if carrier.name not in pools:  # mobile addresses geolocate to the carrier's gateway
            size = max(3, min(300, people_count // 15))
            pools[carrier.name] = [
                Spot(carrier.address(rng, taken), carrier.asn, city, carrier.name)
                for _ in range(size)
            ]
        people.append(
            Person(
                who=Who(f"{login}@{spec.domain}", display, tenant),
                display=display,
                city=home_city,
                home=home,
                moved_home=moved,
                move_day=rng.randrange(1, max(2, days)),
                carrier_pool=pools[carrier.name],
                office_share=0.0 if remote else rng.uniform(0.1, 0.8),
                weekend=rng.uniform(0.2, 0.6) if spec.kind == "campaign" else rng.uniform(0, 0.3),
                start_hour=rng.gauss(8.6, 0.6),
                mfa=rng.choice(MFA_METHODS),
                kit=Kit(rng, f"{n:05d}"),
            )
        )
    legacy = Device("")
    mailbox = "press" if spec.kind in ("campaign", "party", "newsroom") else "info"
    services = [
        ServiceAccount(
            Who(f"scanner@{spec.domain}", "Office Scanner", tenant),
            Client(EXCHANGE, SMTP, legacy),
            75.0,
            True,
        ),
        ServiceAccount(
            Who(f"{mailbox}@{spec.domain}", f"{mailbox.title()} Office", tenant),
            Client(EXCHANGE, IMAP, legacy),
            30.0,
            False,
        ),
    ]
    # Sign-in names that are not accounts: people who left, and guessable role names.
    departed = _names(rng, spec.upn_style, max(3, people_count // 6), used)
    unknown = [login for login, _ in departed]
    unknown += [r for r in ("admin", "it", "hr", "contact", "finance", "media") if r not in used]
    return Org(spec, tenant, city, people, services, office, unknown)
