"""Actor playbooks (``playbooks/*.yml``): who an actor is and what it does, as data.

Each file names one actor (any alias; resolved by :mod:`tocsin.attribution.actors`), its
ATT&CK group (checked against the bundled ATT&CK data), the techniques it uses, where its
indicators are published, typical victims, public references, and **signatures**: behaviour
tocsin can measure in a campaign (:mod:`tocsin.attribution.features`), each with a strength
(``weak``, ``moderate``, ``strong``), a weight and a condition:

* ``{feature: NAME, at_least: X}`` / ``at_most`` / ``between: [X, Y]`` — a measured number;
* ``{rules_any: [RULE…]}`` — the campaign has an alert of one of these rules;
* ``{techniques_any: [T…]}`` — the campaign's alerts name one of these techniques;
* ``{ioc: true}`` — an attacking address is an indicator of this actor (``ioc:<key>``);
* ``{all: [COND…]}``, ``{any: [COND…]}``.

Loading collects every problem with its file and place instead of stopping at the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, Final

import yaml

from tocsin.attribution import actors, attack

STRENGTHS: Final = ("weak", "moderate", "strong")
FEATURES: Final = frozenset({
    "attempts", "addresses", "accounts", "tenants", "active_days", "tor_share",
    "hosting_share", "vpn_share", "failure_share", "pace_median", "pace_max",
    "rotation_median", "uncommon_agent_share", "office365_share", "personal_share",
    "alerts", "organisations", "targets", "compromised",
})  # fmt: skip
_BOUNDS: Final = ("at_least", "at_most", "between")


class PlaybookError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Condition:
    kind: str  # feature, rules, techniques, ioc, all, any
    feature: str | None = None
    low: float | None = None
    high: float | None = None
    values: tuple[str, ...] = ()
    parts: tuple[Condition, ...] = ()

    def test(self, features: Mapping[str, Any], actor_key: str) -> tuple[bool, list[str]]:
        """Whether the campaign meets it, and what was measured (for the reasons)."""
        if self.kind == "feature":
            assert self.feature is not None
            value = features.get(self.feature)
            if not isinstance(value, int | float):
                return False, [f"{self.feature} not measured"]
            ok = (self.low is None or value >= self.low) and (
                self.high is None or value <= self.high
            )
            return ok, [f"{self.feature} {_show(self.feature, value)}{self._bound()}"]
        if self.kind in ("rules", "techniques"):
            have = set(features.get(self.kind) or [])
            hit = sorted(have & set(self.values))
            return bool(hit), [f"{self.kind} {', '.join(hit)}"] if hit else []
        if self.kind == "ioc":
            count = int((features.get("ioc_actors") or {}).get(actor_key, 0))
            named = int((features.get("named_actors") or {}).get(actor_key, 0))
            measured = [f"{count} address(es) in this actor's indicators"] if count else []
            measured += [f"{named} alert(s) matched this actor's indicators"] if named else []
            return bool(count or named), measured
        results = [p.test(features, actor_key) for p in self.parts]
        measured = [m for _, ms in results for m in ms]
        ok = all(r for r, _ in results) if self.kind == "all" else any(r for r, _ in results)
        return ok, measured

    def _bound(self) -> str:
        name = self.feature or ""
        if self.low is not None and self.high is not None:
            return f", wanted {_show(name, self.low)}–{_show(name, self.high)}"
        if self.low is not None:
            return f", wanted ≥ {_show(name, self.low)}"
        return f", wanted ≤ {_show(name, self.high or 0)}"


def _show(feature: str, value: float) -> str:
    if feature.endswith("_share"):
        return f"{value * 100:.0f}%"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True, slots=True)
class Signature:
    id: str
    says: str
    strength: str
    weight: float
    when: Condition


@dataclass(frozen=True, slots=True)
class Reference:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Playbook:
    path: str
    actor: actors.Actor
    group: attack.Group
    aliases: tuple[str, ...]
    origin: str
    summary: str
    victims: tuple[str, ...]
    techniques: tuple[str, ...]
    ioc_sources: tuple[Reference, ...]
    references: tuple[Reference, ...]
    signatures: tuple[Signature, ...]


@dataclass(slots=True)
class Playbooks:
    playbooks: list[Playbook] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _condition(raw: object, where: str, errors: list[str]) -> Condition | None:
    if not isinstance(raw, dict) or len(raw) == 0:
        errors.append(f"{where}: a condition must be a mapping")
        return None
    if "feature" in raw:
        name = raw.get("feature")
        if name not in FEATURES:
            errors.append(
                f"{where}: unknown feature {name!r} (known: {', '.join(sorted(FEATURES))})"
            )
            return None
        bounds = [k for k in raw if k in _BOUNDS]
        extra = set(raw) - {"feature", *_BOUNDS}
        if len(bounds) != 1 or extra:
            errors.append(f"{where}: a feature needs exactly one of at_least, at_most, between")
            return None
        value = raw[bounds[0]]
        if bounds[0] == "between":
            ok = isinstance(value, list) and len(value) == 2
            if not ok or not all(isinstance(v, int | float) for v in value):
                errors.append(f"{where}: between needs [low, high]")
                return None
            return Condition("feature", str(name), float(value[0]), float(value[1]))
        if not isinstance(value, int | float) or isinstance(value, bool):
            errors.append(f"{where}: {bounds[0]} needs a number")
            return None
        low, high = (float(value), None) if bounds[0] == "at_least" else (None, float(value))
        return Condition("feature", str(name), low, high)
    if len(raw) != 1:
        errors.append(f"{where}: one of feature, rules_any, techniques_any, ioc, all, any")
        return None
    key, value = next(iter(raw.items()))
    if key in ("rules_any", "techniques_any"):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            errors.append(f"{where}: {key} needs a list of names")
            return None
        if key == "techniques_any":
            for t in value:
                if t not in attack.techniques():
                    errors.append(f"{where}: technique {t} is not in the bundled ATT&CK data")
        return Condition(key.removesuffix("_any"), values=tuple(value))
    if key == "ioc":
        if value is not True:
            errors.append(f"{where}: ioc: true")
            return None
        return Condition("ioc")
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            errors.append(f"{where}: {key} needs a list of conditions")
            return None
        parts = [_condition(v, f"{where}.{key}[{i}]", errors) for i, v in enumerate(value)]
        if any(p is None for p in parts):
            return None
        return Condition(key, parts=tuple(p for p in parts if p is not None))
    errors.append(f"{where}: unknown condition {key!r}")
    return None


def _references(raw: object, where: str, errors: list[str]) -> tuple[Reference, ...]:
    out = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        title = item.get("title") or item.get("name") if isinstance(item, dict) else None
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(title, str) or not isinstance(url, str) or not url.startswith("http"):
            errors.append(f"{where}[{i}]: needs a name or title and an http(s) url")
            continue
        out.append(Reference(title, url))
    return tuple(out)


def parse(doc: object, where: str) -> tuple[Playbook | None, list[str]]:
    """One playbook from a parsed YAML document; (None, problems) when unusable."""
    errors: list[str] = []
    if not isinstance(doc, dict):
        return None, [f"{where}: not a mapping"]
    name = doc.get("actor")
    actor = actors.find(name) if isinstance(name, str) else None
    if actor is None:
        errors.append(f"{where}: actor {name!r} is not a known actor name")
    group = None
    try:
        group = attack.group(str(doc.get("attack_group")))
    except KeyError:
        errors.append(f"{where}: attack_group {doc.get('attack_group')!r} not in the ATT&CK data")
    if actor is not None and group is not None and actor.attack_id not in (None, group.id):
        errors.append(f"{where}: {actor.name} is ATT&CK {actor.attack_id}, not {group.id}")
    techniques = doc.get("techniques") or []
    for t in techniques:
        if t not in attack.techniques():
            errors.append(f"{where}: technique {t} is not in the bundled ATT&CK data")
    signatures = []
    seen: set[str] = set()
    for i, raw in enumerate(doc.get("signatures") or []):
        at = f"{where}: signatures[{i}]"
        if not isinstance(raw, dict):
            errors.append(f"{at}: not a mapping")
            continue
        sid, says, strength = raw.get("id"), raw.get("says"), raw.get("strength")
        weight = raw.get("weight")
        if not isinstance(sid, str) or sid in seen:
            errors.append(f"{at}: needs a unique id")
        if not isinstance(says, str) or not says:
            errors.append(f"{at}: needs 'says' (the reason shown)")
        if strength not in STRENGTHS:
            errors.append(f"{at}: strength must be one of {', '.join(STRENGTHS)}")
        if not isinstance(weight, int | float) or not 0 < weight <= 1:
            errors.append(f"{at}: weight must be a number in (0, 1]")
        when = _condition(raw.get("when"), f"{at}.when", errors)
        if when is not None and not errors:
            seen.add(str(sid))
            signatures.append(Signature(str(sid), str(says), str(strength), float(weight), when))  # type: ignore[arg-type]
    if not signatures and not errors:
        errors.append(f"{where}: no signatures")
    if errors or actor is None or group is None:
        return None, errors
    return Playbook(
        path=where,
        actor=actor,
        group=group,
        aliases=tuple(str(a) for a in doc.get("aliases") or []),
        origin=str(doc.get("origin") or ""),
        summary=" ".join(str(doc.get("summary") or "").split()),
        victims=tuple(str(v) for v in doc.get("victims") or []),
        techniques=tuple(str(t) for t in techniques),
        ioc_sources=_references(doc.get("ioc_sources"), f"{where}: ioc_sources", errors),
        references=_references(doc.get("references"), f"{where}: references", errors),
        signatures=tuple(signatures),
    ), errors


def load_from(folder: Traversable) -> Playbooks:
    result = Playbooks()
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith((".yml", ".yaml")):
            continue
        try:
            doc = yaml.safe_load(entry.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            result.errors.append(f"{entry.name}: not YAML ({exc})")
            continue
        playbook, errors = parse(doc, entry.name)
        result.errors.extend(errors)
        if playbook is not None:
            result.playbooks.append(playbook)
    return result


@cache
def load() -> Playbooks:
    """The bundled playbooks."""
    return load_from(files("tocsin.attribution") / "playbooks")


def find(name: str) -> Playbook | None:
    """The playbook of the actor ``name`` (any alias) or of a campaign id's attributed key."""
    actor = actors.find(name)
    for playbook in load().playbooks:
        if playbook.actor.key in (name, actor.key if actor else None):
            return playbook
    return None
