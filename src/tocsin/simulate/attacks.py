"""Generic (unattributed) identity attacks: credential stuffing and MFA fatigue."""

from __future__ import annotations

import random

from tocsin.simulate.clients import EXCHANGE, INTRUDER_CLIENTS, OFFICE_HOME
from tocsin.simulate.geo import CAPITALS, CITIES, HOME_CITIES, RESIDENTIAL, pick
from tocsin.simulate.infra import (
    PROXY_COUNTRIES,
    STUFFING_AGENTS,
    hosting_spot,
    vpn_servers_in,
    vpn_spot,
)
from tocsin.simulate.plan import DAY, HOUR, MINUTE, CampaignInfo, CampaignPlan, Spec
from tocsin.simulate.profiles import MfaFatigueParams, StuffingParams
from tocsin.simulate.render import (
    MFA_DENIED,
    MFA_NO_RESPONSE,
    Client,
    Device,
    Shape,
    Spot,
    Who,
    new_id,
)
from tocsin.simulate.world import World

_PROXY_WEIGHTS = (30, 8, 8, 6, 6, 5, 5, 5, 4, 4, 3, 3, 3, 3, 3, 4)


class Stuffing(CampaignPlan):
    """Breached name/password pairs, tried once or twice each from residential proxies."""

    def __init__(self, world: World, owner: int, params: StuffingParams) -> None:
        super().__init__(owner, f"{world.seed}:stuffing", world.start_ts, world.days)
        rng = random.Random(f"{world.seed}:stuffing-plan")  # noqa: S311 - simulation
        self.info = CampaignInfo(
            "stuffing-1",
            "stuffing",
            None,
            ["T1110.004"],
            "breach list of current and departed staff; one or two tries per name from "
            "residential-proxy addresses in many countries and networks",
        )
        names: list[tuple[int, Who]] = []
        for i, org in enumerate(world.orgs):
            accounts = org.accounts
            listed = rng.sample(accounts, round(params.share * len(accounts)))
            departed = min(len(org.unknown_names), round(params.departed_share * len(listed)))
            gone = rng.sample(org.unknown_names, departed)
            names += [(i, who) for who in listed]
            names += [(i, Who(f"{n}@{org.domain}", "", org.tenant, exists=False)) for n in gone]
        rng.shuffle(names)
        length = rng.uniform(*params.hours) * HOUR
        begin = self.start_ts + rng.uniform(DAY, max(DAY, world.days * DAY - length - DAY))
        clients = [
            Client(
                EXCHANGE if a.client_app != "Browser" else OFFICE_HOME,
                a,
                Device("Windows 10" if a.client_app == "Browser" else ""),
            )
            for a in STUFFING_AGENTS
        ]
        proxies: list[Spot] = []
        step = length / len(names)
        real = [k for k, (_, who) in enumerate(names) if who.exists]
        lucky = set(rng.sample(real, max(1, round(params.success_share * len(real)))))
        for k, (org_index, who) in enumerate(names):
            t = begin + k * step + rng.uniform(0, step)
            for attempt in range(2 if rng.random() < 0.3 else 1):
                if proxies and rng.random() < 0.2:
                    spot = rng.choice(proxies)  # proxy pools recycle their exits
                else:
                    spot = _proxy(rng, world.taken)
                    proxies.append(spot)
                client = rng.choice(clients)
                if not who.exists:
                    shape = Shape(50034)
                elif k in lucky and attempt == 0:  # legacy protocols skip MFA
                    shape = Shape(0 if client.agent.client_app != "Browser" else 50076)
                    self.info.compromised.add(who.upn)
                else:
                    shape = Shape(50126)
                self.add(org_index, Spec(t, shape, who, spot, client))
                if shape.code in (0, 50076):
                    break
                t += rng.uniform(2, 20) * MINUTE
        if self.info.compromised:
            self.info.techniques.append("T1078.004")


def _proxy(rng: random.Random, taken: set[str]) -> Spot:
    country = rng.choices(PROXY_COUNTRIES, _PROXY_WEIGHTS)[0]
    network = pick(rng, RESIDENTIAL[country])
    cities = HOME_CITIES.get(country)
    city = CITIES[rng.choice(cities)] if cities else CAPITALS[country]
    return Spot(network.address(rng, taken), network.asn, city, network.name)


class MfaFatigue(CampaignPlan):
    """An intruder with the password pushes MFA prompts at night until someone approves."""

    def __init__(self, world: World, owner: int, params: MfaFatigueParams, avoid: set[str]) -> None:
        super().__init__(owner, f"{world.seed}:mfa", world.start_ts, world.days)
        rng = random.Random(f"{world.seed}:mfa-plan")  # noqa: S311 - simulation
        self.info = CampaignInfo(
            "mfa_fatigue-1",
            "mfa_fatigue",
            None,
            ["T1621"],
            f"{params.prompts[0]}-{params.prompts[1]} push prompts over "
            f"{params.minutes[0]:g}-{params.minutes[1]:g} minutes at night, from attacker "
            "infrastructure; the last victim never approves",
        )
        count = params.victims
        days = rng.sample(range(1, max(2, world.days - 1)), min(count, max(1, world.days - 2)))
        for n in range(count):
            org_index = n % len(world.orgs)
            org = world.orgs[org_index]
            person = rng.choice(org.people)
            gives_in = n < count - 1 or count == 1
            if n % 2 == 0:
                spot = hosting_spot(rng, world.taken)
            else:
                servers = [v for v in vpn_servers_in((org.spec.country,)) if v.ip not in avoid]
                spot = vpn_spot(rng.choice(servers))
            day = days[n % len(days)]
            start = world.local_midnight(person.city.tz, day) + rng.uniform(1.0, 4.0) * HOUR
            self._episode(org_index, person.who, spot, start, gives_in, params, rng)
            if gives_in:
                self.info.compromised.add(person.who.upn)
        if self.info.compromised:
            self.info.techniques.append("T1078.004")

    def _episode(
        self,
        org: int,
        who: Who,
        spot: Spot,
        start: float,
        gives_in: bool,
        params: MfaFatigueParams,
        rng: random.Random,
    ) -> None:
        client = INTRUDER_CLIENTS[0]
        prompts = rng.randint(*params.prompts)
        span = rng.uniform(*params.minutes) * MINUTE
        t = start
        for k in range(prompts):
            flow = new_id(rng)
            self.add(org, Spec(t, Shape(50074), who, spot, client, flow))
            if gives_in and k == prompts - 1:  # a push approved, half asleep
                approve = Shape(0, mfa="Mobile app notification")
                self.add(org, Spec(t + rng.uniform(8, 25), approve, who, spot, client, flow))
                break
            if rng.random() < 0.35:
                answer, wait = MFA_DENIED, rng.uniform(6, 30)
            else:
                answer, wait = MFA_NO_RESPONSE, rng.uniform(60, 75)
            self.add(org, Spec(t + wait, Shape(500121, detail=answer), who, spot, client, flow))
            t += wait + rng.uniform(0.3, 1.7) * max(10.0, span / prompts - 45)
        if gives_in:  # the intruder keeps the session and reads mail
            t, end = t + 60, t + rng.uniform(40, 90) * MINUTE
            while t < end:
                t += rng.uniform(5, 12) * MINUTE
                self.add(org, Spec(t, Shape(0, interactive=False), who, spot, INTRUDER_CLIENTS[1]))
