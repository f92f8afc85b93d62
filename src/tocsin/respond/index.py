"""The in-memory index ``GET /v1/check`` answers from, in microseconds, without the database.

Built from every active decision (enforced and simulated) and the allowlist; the API rebuilds
it when the decisions change. Expiry needs no rebuild: each match is checked against the clock.

Answer: ``deny`` (a ban), ``step-up`` (captcha, MFA step-up, or an account whose password must
be reset or sessions revoked), else ``allow``. An allowlisted address is always allowed for
decisions about addresses, networks, countries and user agents; decisions about the account
(scope ``user``) still apply, since they are about the person, not where they are. Simulated
decisions never change the answer: they are reported under ``simulated``, so a proxy can log
what enforce mode would do.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from tocsin.respond.decision import Decision, iso
from tocsin.respond.targets import Allowlist, IPAddress

RESULT_OF: Final = {
    "ban": "deny",
    "captcha": "step-up",
    "mfa_stepup": "step-up",
    "reset_password": "step-up",
    "revoke_sessions": "step-up",
}
_RANK: Final = {"allow": 0, "step-up": 1, "deny": 2}
_ALLOW: Final[dict[str, Any]] = {
    "result": "allow",
    "decision_id": None,
    "action": None,
    "scope": None,
    "until": None,
    "scenario": None,
    "allowlisted": None,
    "simulated": None,
}


@dataclass(slots=True)
class DecisionIndex:
    allowlist: Allowlist
    version: int = 0
    exact: dict[tuple[str, str], list[Decision]] = field(default_factory=dict)
    # (ip version, prefix length) -> network address as int -> decisions
    ranges: dict[tuple[int, int], dict[int, list[Decision]]] = field(default_factory=dict)
    # single addresses: (ip version, address as int) -> decisions
    addresses: dict[tuple[int, int], list[Decision]] = field(default_factory=dict)
    # ip version -> [(host bits, bucket)]: what an address of that version is looked up in
    probes: dict[int, list[tuple[int, dict[int, list[Decision]]]]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, decisions: Iterable[Decision], allowlist: Allowlist, version: int = 0
    ) -> DecisionIndex:
        index = cls(allowlist, version)
        for d in decisions:
            if d.action not in RESULT_OF:
                continue
            if d.scope == "range":
                net = ipaddress.ip_network(d.value)
                bucket = index.ranges.setdefault((net.version, net.prefixlen), {})
                bucket.setdefault(int(net.network_address), []).append(d)
            elif d.scope == "ip":
                address = ipaddress.ip_address(d.value)
                index.addresses.setdefault((address.version, int(address)), []).append(d)
            else:
                index.exact.setdefault((d.scope, d.value), []).append(d)
        for (version, prefix), bucket in sorted(index.ranges.items()):
            bits = 32 if version == 4 else 128
            index.probes.setdefault(version, []).append((bits - prefix, bucket))
        return index

    def __len__(self) -> int:
        return sum(len(v) for v in (*self.exact.values(), *self.addresses.values())) + sum(
            len(ds) for bucket in self.ranges.values() for ds in bucket.values()
        )

    def matches(
        self,
        address: IPAddress | None,
        user: str | None,
        user_agent: str | None,
        asn: str | None,
        country: str | None,
    ) -> tuple[list[Decision], str | None]:
        """Decisions that apply, and the allowlist entry that shielded the address (if any)."""
        found: list[Decision] = []
        if user:
            found += self.exact.get(("user", user), ())
        shield = self.allowlist.contains_address(address) if address is not None else None
        if shield is not None:
            return found, f"{shield.source}: {shield.network}"
        if address is not None:
            number = int(address)
            found += self.addresses.get((address.version, number), ())
            for shift, bucket in self.probes.get(address.version, ()):
                found += bucket.get((number >> shift) << shift, ())
        if user_agent:
            found += self.exact.get(("user_agent", user_agent), ())
        if asn:
            found += self.exact.get(("asn", asn), ())
        if country:
            found += self.exact.get(("country", country), ())
        return found, None

    def check(
        self,
        now: datetime,
        address: IPAddress | None,
        user: str | None = None,
        user_agent: str | None = None,
        asn: str | None = None,
        country: str | None = None,
    ) -> dict[str, Any]:
        found, shield = self.matches(address, user, user_agent, asn, country)
        if not found:
            return {**_ALLOW, "allowlisted": shield}
        live = [d for d in found if d.active(now)]
        enforced = _strongest([d for d in live if not d.simulated])
        simulated = _strongest([d for d in live if d.simulated])
        answer: dict[str, Any] = {**_ALLOW, "allowlisted": shield}
        if enforced is not None:
            answer.update(
                result=RESULT_OF[enforced.action],
                decision_id=enforced.id,
                action=enforced.action,
                scope=enforced.scope,
                until=iso(enforced.ends_at),
                scenario=enforced.scenario,
            )
        if simulated is not None and (
            enforced is None
            or _RANK[RESULT_OF[simulated.action]] > _RANK[RESULT_OF[enforced.action]]
        ):
            answer["simulated"] = {
                "result": RESULT_OF[simulated.action],
                "decision_id": simulated.id,
                "action": simulated.action,
            }
        return answer


def _strongest(decisions: list[Decision]) -> Decision | None:
    if not decisions:
        return None
    return max(decisions, key=lambda d: (_RANK[RESULT_OF[d.action]], d.ends_at, -d.id))
