"""STIX 2.1 (and 2.0) bundles: indicator objects, and the actors they indicate.

An indicator's actor comes from an ``indicates`` relationship to an ``intrusion-set`` or
``threat-actor`` (directly, or through a ``campaign`` that is ``attributed-to`` one). Each
intrusion set's name and aliases go through :mod:`tocsin.attribution.actors`, so an
intrusion set called "STRONTIUM" is Forest Blizzard. A bundle without indicators (ATT&CK)
loads nothing, and the report says what it held instead.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from tocsin.attribution.actors import Actor, resolve_names
from tocsin.intel.collect import Collector, text
from tocsin.intel.jsondoc import Unreadable
from tocsin.intel.pattern import PatternError, parse
from tocsin.intel.values import BadValue, parse_time

_ACTOR_TYPES = ("intrusion-set", "threat-actor")
# The four STIX 2.1 TLP marking definitions have fixed ids.
_TLP = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "tlp:white",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "tlp:green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "tlp:amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "tlp:red",
}


def is_stix(document: Any) -> bool:
    if isinstance(document, dict):
        return document.get("type") == "bundle" or "pattern" in document
    return False


def objects_of(document: Any, c: Collector) -> list[Any]:
    """The objects of a bundle (or of a single object, or a list of objects)."""
    if isinstance(document, dict) and document.get("type") == "bundle":
        objects = document.get("objects", [])
        if not isinstance(objects, list):
            c.problem("objects", f"must be a list, not {type(objects).__name__}")
            return []
        return objects
    if isinstance(document, list):
        return document
    return [document]


def _where(index: int, obj: Any) -> str:
    oid = obj.get("id") if isinstance(obj, dict) else None
    shown = f" ({text(oid, 80)})" if isinstance(oid, str) else ""
    return f"objects[{index}]{shown}"


def read(objects: list[Any], c: Collector, default_source: str) -> None:
    kept = _dedupe(objects, c)
    by_id = {o["id"]: o for _, o in kept}
    c.set_source(_source_name(kept, by_id) or default_source)
    actors = _actors(kept, by_id, c)
    types: Counter[str] = Counter()
    for index, obj in kept:
        kind = obj["type"]
        types[kind] += 1
        if kind == "indicator":
            c.report.records += 1
            _indicator(index, obj, c, actors)
        elif kind not in ("relationship", "identity", "marking-definition", *_ACTOR_TYPES):
            c.skip(f"{text(kind, 60)} objects (not indicators)")
    sets = [o for _, o in kept if o["type"] in _ACTOR_TYPES]
    if sets:
        names = ", ".join(sorted({text(o.get("name"), 60) or "?" for o in sets})[:10])
        c.report.notes.append(f"{len(sets)} intrusion set(s)/threat actor(s): {names}")
    if not types["indicator"]:
        c.report.notes.append(
            "no indicator objects: nothing to match (threat knowledge such as ATT&CK, not "
            "indicators); actor names come from tocsin's bundled ATT&CK data"
        )


def _dedupe(objects: list[Any], c: Collector) -> list[tuple[int, dict[str, Any]]]:
    """Valid objects in order; of several versions of one id, the newest."""
    newest: dict[str, tuple[int, dict[str, Any]]] = {}
    for index, obj in enumerate(objects):
        where = _where(index, obj)
        if isinstance(obj, Unreadable):
            c.problem(where, obj.reason)
            continue
        if not isinstance(obj, dict):
            c.problem(where, f"not a STIX object ({type(obj).__name__})")
            continue
        if not isinstance(obj.get("type"), str) or not isinstance(obj.get("id"), str):
            c.problem(where, "not a STIX object: 'type' and 'id' must be strings")
            continue
        previous = newest.get(obj["id"])
        if previous is None:
            newest[obj["id"]] = (index, obj)
            continue
        old, new = str(previous[1].get("modified", "")), str(obj.get("modified", ""))
        if old == new:
            c.problem(where, f"duplicate id (same version as objects[{previous[0]}]); ignored")
        elif new > old:
            c.skip("older versions of an object")
            newest[obj["id"]] = (index, obj)
        else:
            c.skip("older versions of an object")
    return sorted(newest.values(), key=lambda pair: pair[0])


def _source_name(kept: list[tuple[int, dict[str, Any]]], by_id: dict[str, Any]) -> str | None:
    creators = {o.get("created_by_ref") for _, o in kept if o["type"] == "indicator"}
    if len(creators) == 1:
        identity = by_id.get(next(iter(creators)))  # type: ignore[arg-type]
        if isinstance(identity, dict) and isinstance(identity.get("name"), str):
            return str(identity["name"])
    return None


def _actor_of(obj: dict[str, Any]) -> Actor | None:
    name = obj.get("name")
    aliases = obj.get("aliases")
    names = [name] if isinstance(name, str) else []
    if isinstance(aliases, list):
        names += [a for a in aliases if isinstance(a, str)][:200]
    return resolve_names(names, hint=name if isinstance(name, str) else None)


def _actors(
    kept: list[tuple[int, dict[str, Any]]], by_id: dict[str, Any], c: Collector
) -> dict[str, list[Actor]]:
    """Indicator id → the actors it indicates."""
    actor_objects = {o["id"]: _actor_of(o) for _, o in kept if o["type"] in _ACTOR_TYPES}
    attributed: dict[str, list[str]] = {}
    indicates: dict[str, list[str]] = {}
    for index, rel in kept:
        if rel["type"] != "relationship":
            continue
        kind, src, dst = rel.get("relationship_type"), rel.get("source_ref"), rel.get("target_ref")
        if not (isinstance(kind, str) and isinstance(src, str) and isinstance(dst, str)):
            c.problem(_where(index, rel), "relationship without relationship_type/source/target")
            continue
        if kind == "attributed-to":
            attributed.setdefault(src, []).append(dst)
        elif kind == "indicates":
            indicates.setdefault(src, []).append(dst)

    def actors_for(ref: str, depth: int = 0) -> list[Actor]:
        found = actor_objects.get(ref)
        if found is not None:
            return [found]
        if depth > 3:
            return []
        return [a for nxt in attributed.get(ref, []) for a in actors_for(nxt, depth + 1)]

    return {src: [a for dst in dsts for a in actors_for(dst)] for src, dsts in indicates.items()}


def _time(obj: dict[str, Any], key: str) -> datetime | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadValue(f"{key} must be a timestamp string, not {type(value).__name__}")
    try:
        return parse_time(value)
    except BadValue as exc:
        raise BadValue(f"{key}: {exc}") from None


def _strings(obj: dict[str, Any], key: str) -> list[str]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadValue(f"{key} must be a list of strings")
    return value


def _indicator(
    index: int, obj: dict[str, Any], c: Collector, actors: dict[str, list[Actor]]
) -> None:
    where = _where(index, obj)
    pattern = obj.get("pattern")
    if not isinstance(pattern, str):
        c.problem(where, f"pattern must be a string, not {type(pattern).__name__}")
        return
    pattern_type = obj.get("pattern_type", "stix")
    if pattern_type != "stix":
        c.skip(f"indicators with pattern_type {text(pattern_type, 40)} (only stix is read)")
        return
    try:
        valid_from = _time(obj, "valid_from") or _time(obj, "created")
        valid_until = _time(obj, "valid_until")
        confidence = obj.get("confidence")
        if confidence is not None and (
            isinstance(confidence, bool) or not isinstance(confidence, int)
            or not 0 <= confidence <= 100
        ):  # fmt: skip
            raise BadValue("confidence must be an integer from 0 to 100")
        labels = _strings(obj, "labels") + _strings(obj, "indicator_types")
        markings = _strings(obj, "object_marking_refs")
        revoked = obj.get("revoked", False)
        if not isinstance(revoked, bool):
            raise BadValue("revoked must be true or false")
    except BadValue as exc:
        c.problem(where, str(exc))
        return
    if valid_from and valid_until and valid_until <= valid_from:
        c.problem(where, "valid_until is not after valid_from")
        return
    if "benign" in labels:
        c.skip("indicators marked benign (indicator_types)")
        return
    labels += [_TLP[m] for m in markings if m in _TLP]
    if revoked:
        labels.append("revoked")
        valid_until = valid_from or c.options.now
        valid_from = valid_until
    try:
        comparisons = parse(pattern)
    except PatternError as exc:
        c.problem(where, f"pattern not supported: {exc}")
        return
    found = {a.key: a for a in actors.get(obj["id"], [])}
    actor: Actor | None = None
    if len(found) == 1:
        actor = next(iter(found.values()))
    elif len(found) > 1:
        names = ", ".join(sorted(a.name for a in found.values()))
        c.problem(where, f"indicates several actors ({text(names, 200)}); left unattributed")
    description = " — ".join(
        t for t in (text(obj.get("name"), 200), text(obj.get("description"))) if t
    )
    for part, comparison in enumerate(comparisons):
        location = where if len(comparisons) == 1 else f"{where} value {part + 1}"
        c.add(
            comparison.kind,
            comparison.value,
            location=location,
            actor=actor,
            confidence=confidence,
            valid_from=valid_from,
            valid_until=valid_until,
            labels=labels,
            description=description or None,
            reference=_reference(obj),
        )


def _reference(obj: dict[str, Any]) -> str | None:
    refs = obj.get("external_references")
    if not isinstance(refs, list):
        return None
    for ref in refs:
        if isinstance(ref, dict) and isinstance(ref.get("url"), str):
            return str(ref["url"])
    return None
