"""MITRE ATT&CK techniques and groups, from the bundled (trimmed) ATT&CK Enterprise STIX data.

The bundle (``data/attack-enterprise-identity-subset.json``) holds the techniques and groups
tocsin's rules and playbooks use, taken from ATT&CK v18.1 (© The MITRE Corporation, reproduced
with permission; terms in ``data/LICENSE-mitre-attack.txt``). Names, tactics and links shown in
alerts and reports come from here, never from hand-typed strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import orjson

_BUNDLE = files("tocsin.attribution") / "data" / "attack-enterprise-identity-subset.json"


@dataclass(frozen=True, slots=True)
class Technique:
    id: str
    name: str
    tactics: tuple[str, ...]
    url: str
    stix_id: str


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    name: str
    aliases: tuple[str, ...]
    url: str
    stix_id: str
    techniques: tuple[str, ...]


def _external(obj: dict[str, Any]) -> tuple[str, str]:
    for ref in obj.get("external_references", []):
        if ref.get("source_name") == "mitre-attack":
            return str(ref["external_id"]), str(ref.get("url", ""))
    raise ValueError(f"{obj.get('id')} has no ATT&CK id")


@cache
def _load() -> tuple[dict[str, Technique], dict[str, Group]]:
    bundle = orjson.loads(_BUNDLE.read_bytes())
    objects = {o["id"]: o for o in bundle["objects"]}
    techniques: dict[str, Technique] = {}
    by_stix: dict[str, str] = {}
    for obj in objects.values():
        if obj["type"] == "attack-pattern" and not obj.get("revoked"):
            tid, url = _external(obj)
            phases = tuple(p["phase_name"] for p in obj.get("kill_chain_phases", []))
            techniques[tid] = Technique(tid, obj["name"], phases, url, obj["id"])
            by_stix[obj["id"]] = tid
    uses: dict[str, list[str]] = {}
    for obj in objects.values():
        is_use = obj["type"] == "relationship" and obj.get("relationship_type") == "uses"
        if is_use and obj["target_ref"] in by_stix:
            uses.setdefault(obj["source_ref"], []).append(by_stix[obj["target_ref"]])
    groups: dict[str, Group] = {}
    for obj in objects.values():
        if obj["type"] == "intrusion-set" and not obj.get("revoked"):
            gid, url = _external(obj)
            groups[gid] = Group(gid, obj["name"], tuple(obj.get("aliases", [])), url, obj["id"],
                                tuple(sorted(set(uses.get(obj["id"], [])))))  # fmt: skip
    return techniques, groups


def technique(technique_id: str) -> Technique:
    """The ATT&CK technique ``T1110.003`` (KeyError if the bundle does not have it)."""
    return _load()[0][technique_id]


def techniques() -> dict[str, Technique]:
    return dict(_load()[0])


def group(name_or_id: str) -> Group:
    """A group by ATT&CK id (G0007) or any alias (STRONTIUM, Forest Blizzard), case-insensitive."""
    groups = _load()[1]
    if name_or_id in groups:
        return groups[name_or_id]
    wanted = name_or_id.casefold()
    for g in groups.values():
        if wanted == g.name.casefold() or wanted in (a.casefold() for a in g.aliases):
            return g
    raise KeyError(name_or_id)
