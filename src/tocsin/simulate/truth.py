"""`truth.json`: what a simulation really contains, so detections can be scored against it.

Schema version 1 (a JSON object)::

    {
      "schema_version": 1,
      "profile": "strontium-2020", "seed": 7, "size": "small",
      "window": {"start": "2020-09-01T00:00:00Z", "end": "2020-09-15T00:00:00Z"},
      "orgs": [{"tenant_id": "…", "domain": "harper2020.example", "users": 42,
                "office_ips": ["203.0.113.10"]}],
      "benign": {"users": 4242, "user_days": 59388.0, "events": 812345},
      "campaigns": [{
          "id": "spray-1", "kind": "spray", "actor": "STRONTIUM",
          "techniques": ["T1110.003"],
          "tenants": ["…"], "target_users": ["a@x.example", …],
          "compromised_users": ["b@x.example"], "attacker_ips": ["185.220.101.7", …],
          "window": {"start": "…Z", "end": "…Z"}, "events": 12345,
          "notes": "≈4 attempts per account per hour from ≈4 addresses per account per hour"
      }],
      "traps": [{"kind": "nat_password_change", "tenant": "…", "users": […], "ips": […],
                 "window": {"start": "…Z", "end": "…Z"}, "events": 96,
                 "notes": "forced password change: …"}]
    }

Campaign kinds: ``spray``, ``brute_force``, ``stuffing``, ``mfa_fatigue``. Trap kinds:
``nat_password_change``, ``cgnat``, ``legacy_retry``, ``travel``, ``commercial_vpn``.
Users are lower-case sign-in names as they appear in the logs (and so in alerts).

Optional fields (readers must accept their absence): ``traps[].notes`` — a sentence saying
what the trap is (``""`` when absent), like ``campaigns[].notes``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

SCHEMA_VERSION = 1
CampaignKind = Literal["spray", "brute_force", "stuffing", "mfa_fatigue"]
TrapKind = Literal["nat_password_change", "cgnat", "legacy_retry", "travel", "commercial_vpn"]


@dataclass(slots=True)
class Window:
    start: str  # ISO 8601 UTC with Z
    end: str


@dataclass(slots=True)
class Org:
    tenant_id: str
    domain: str
    users: int
    office_ips: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Benign:
    users: int
    user_days: float
    events: int


@dataclass(slots=True)
class Campaign:
    id: str
    kind: CampaignKind
    actor: str | None
    techniques: list[str]
    tenants: list[str]
    target_users: list[str]
    compromised_users: list[str]
    attacker_ips: list[str]
    window: Window
    events: int
    notes: str = ""


@dataclass(slots=True)
class Trap:
    kind: TrapKind
    tenant: str
    users: list[str]
    ips: list[str]
    window: Window
    events: int
    notes: str = ""  # optional (see the module docstring)


@dataclass(slots=True)
class Truth:
    profile: str
    seed: int
    size: str
    window: Window
    orgs: list[Org]
    benign: Benign
    campaigns: list[Campaign] = field(default_factory=list)
    traps: list[Trap] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)

    def write(self, path: Path) -> None:
        path.write_bytes(self.to_json() + b"\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Truth:
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"truth.json schema_version {data.get('schema_version')!r} unknown")
        return cls(
            profile=data["profile"],
            seed=int(data["seed"]),
            size=data["size"],
            window=Window(**data["window"]),
            orgs=[Org(**o) for o in data["orgs"]],
            benign=Benign(**data["benign"]),
            campaigns=[
                Campaign(**{**c, "window": Window(**c["window"])}) for c in data["campaigns"]
            ],
            traps=[Trap(**{**t, "window": Window(**t["window"])}) for t in data["traps"]],
        )

    @classmethod
    def read(cls, path: Path) -> Truth:
        return cls.from_dict(orjson.loads(path.read_bytes()))
