"""MISP events (the JSON MISP exports and its REST API returns).

Read: ``{"Event": {...}}``, a list of those, ``{"response": [...]}``, or a bare event. Each
attribute, at the event's top level or inside an ``Object``, of a network or file type
becomes an indicator. The actor comes from galaxy tags (``misp-galaxy:threat-actor="Sofacy"``,
``misp-galaxy:mitre-intrusion-set="APT28 - G0007"``) and galaxy clusters, on the attribute or
the event. Confidence starts from ``--confidence`` (or the ``misp:confidence-level`` tag),
is halved when ``to_ids`` is false (MISP's own "not for detection"), and is lowered to the
decay score when the export carries one; a decayed attribute is imported already expired.
"""

from __future__ import annotations

import re
from typing import Any

from tocsin.attribution.actors import Actor, resolve_names
from tocsin.intel.collect import Collector, text
from tocsin.intel.jsondoc import Unreadable
from tocsin.intel.values import BadValue, parse_time

# MISP attribute type → (tocsin type hint per "|"-separated part; None: part is not a value)
_TYPES: dict[str, tuple[str | None, ...]] = {
    "ip-src": ("ip",),
    "ip-dst": ("ip",),
    "ip-src|port": ("ip", None),
    "ip-dst|port": ("ip", None),
    "domain": ("domain",),
    "hostname": ("domain",),
    "domain|ip": ("domain", "ip"),
    "hostname|port": ("domain", None),
    "url": ("url",),
    "email": ("email",),
    "email-src": ("email",),
    "email-dst": ("email",),
    "email-reply-to": ("email",),
    "md5": ("md5",),
    "sha1": ("sha1",),
    "sha256": ("sha256",),
    "filename|md5": (None, "md5"),
    "filename|sha1": (None, "sha1"),
    "filename|sha256": (None, "sha256"),
    "AS": ("asn",),
}
_CONFIDENCE_LEVEL = {
    "completely-confident": 100,
    "usually-confident": 75,
    "fairly-confident": 50,
    "rarely-confident": 25,
    "unconfident": 0,
}
_GALAXY_TAG = re.compile(r'^misp-galaxy:([a-z0-9-]+)="(.*)"$', re.IGNORECASE | re.DOTALL)
_ACTOR_GALAXIES = ("threat-actor", "intrusion-set", "activity-group", "microsoft-activity-group")
_MAX_ATTRIBUTES = 1_000_000


def supported_types() -> list[str]:
    """The MISP attribute types read as indicators."""
    return list(_TYPES)


def is_misp(document: Any) -> bool:
    if isinstance(document, dict):
        return (
            "Event" in document
            or "response" in document
            or ("Attribute" in document and "info" in document)
        )
    return (
        isinstance(document, list)
        and bool(document)
        and isinstance(document[0], dict)
        and ("Event" in document[0])
    )


def events_of(document: Any) -> list[Any]:
    if isinstance(document, dict) and "response" in document:
        document = document["response"]
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        return []
    return [d.get("Event", d) if isinstance(d, dict) else d for d in document]


def _tags(holder: dict[str, Any]) -> list[str]:
    tags = holder.get("Tag")
    if not isinstance(tags, list):
        return []
    return [str(t["name"]) for t in tags if isinstance(t, dict) and isinstance(t.get("name"), str)]


def _actor_names(holder: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for tag in _tags(holder):
        match = _GALAXY_TAG.match(tag)
        if match and any(g in match.group(1).lower() for g in _ACTOR_GALAXIES):
            # "APT28 - G0007" (mitre-intrusion-set) names the group twice.
            names += [p.strip() for p in match.group(2).split(" - ") if p.strip()]
    galaxies = holder.get("Galaxy")
    for galaxy in galaxies if isinstance(galaxies, list) else []:
        if not isinstance(galaxy, dict) or not any(
            g in str(galaxy.get("type", "")).lower() for g in _ACTOR_GALAXIES
        ):
            continue
        clusters = galaxy.get("GalaxyCluster")
        for cluster in clusters if isinstance(clusters, list) else []:
            if isinstance(cluster, dict) and isinstance(cluster.get("value"), str):
                names += [p.strip() for p in cluster["value"].split(" - ") if p.strip()]
                meta = cluster.get("meta")
                synonyms = meta.get("synonyms") if isinstance(meta, dict) else None
                if isinstance(synonyms, list):
                    names += [s for s in synonyms if isinstance(s, str)][:100]
    return names


def _labels(tags: list[str]) -> list[str]:
    return [t for t in tags if t.lower().startswith("tlp:") or not t.startswith("misp-galaxy:")]


def _confidence(tags: list[str], default: int) -> int:
    for tag in tags:
        if tag.startswith("misp:confidence-level="):
            level = tag.split("=", 1)[1].strip('"')
            if level in _CONFIDENCE_LEVEL:
                return _CONFIDENCE_LEVEL[level]
    return default


def read(document: Any, c: Collector, default_source: str) -> None:
    events = events_of(document)
    if not events:
        c.problem("document", "no MISP event found")
        return
    first = events[0] if isinstance(events[0], dict) else {}
    orgc = first.get("Orgc")
    org = orgc.get("name") if isinstance(orgc, dict) else None
    c.set_source(org if isinstance(org, str) else default_source)
    for number, event in enumerate(events):
        where = "Event" if len(events) == 1 else f"Event[{number}]"
        if not isinstance(event, dict):
            c.problem(where, f"not a MISP event ({type(event).__name__})")
            continue
        read_event(event, c, where)


def read_event(event: dict[str, Any], c: Collector, where: str) -> None:
    tags = _tags(event)
    names = _actor_names(event)
    actor = resolve_names(names) if names else None
    info = text(event.get("info"), 300)
    reference = _event_reference(event)
    base = _confidence(tags, c.default_confidence)
    attributes = event.get("Attribute", [])
    if not isinstance(attributes, list):
        c.problem(f"{where}.Attribute", f"must be a list, not {type(attributes).__name__}")
        attributes = []
    for index, attribute in enumerate(attributes[:_MAX_ATTRIBUTES]):
        _attribute(attribute, c, f"{where}.Attribute[{index}]", actor, tags, base, info, reference)
    objects = event.get("Object", [])
    if not isinstance(objects, list):
        c.problem(f"{where}.Object", f"must be a list, not {type(objects).__name__}")
        objects = []
    for o_index, obj in enumerate(objects):
        o_where = f"{where}.Object[{o_index}]"
        inner = obj.get("Attribute", []) if isinstance(obj, dict) else None
        if not isinstance(inner, list):
            c.problem(o_where, "not a MISP object with an Attribute list")
            continue
        for index, attribute in enumerate(inner[:_MAX_ATTRIBUTES]):
            location = f"{o_where}.Attribute[{index}]"
            _attribute(attribute, c, location, actor, tags, base, info, reference)


def _event_reference(event: dict[str, Any]) -> str | None:
    attributes = event.get("Attribute")
    for attribute in attributes if isinstance(attributes, list) else []:
        if (
            isinstance(attribute, dict)
            and attribute.get("type") == "link"
            and isinstance(attribute.get("value"), str)
        ):
            return str(attribute["value"])
    uuid = event.get("uuid")
    return f"MISP event {uuid}" if isinstance(uuid, str) else None


def _attribute(
    attribute: Any,
    c: Collector,
    where: str,
    event_actor: Actor | None,
    event_tags: list[str],
    base: int,
    info: str | None,
    reference: str | None,
) -> None:
    if isinstance(attribute, Unreadable):
        c.problem(where, attribute.reason)
        return
    if not isinstance(attribute, dict):
        c.problem(where, f"not a MISP attribute ({type(attribute).__name__})")
        return
    kind, value = attribute.get("type"), attribute.get("value")
    if not isinstance(kind, str) or not isinstance(value, str):
        c.problem(where, "attribute 'type' and 'value' must be strings")
        return
    c.report.records += 1
    if attribute.get("deleted") in (True, "1", 1):
        c.skip("deleted attributes")
        return
    hints = _TYPES.get(kind)
    if hints is None:
        c.skip(f"attributes of type {text(kind, 40)} (not a network or file indicator)")
        return
    tags = _tags(attribute)
    names = _actor_names(attribute)
    actor = resolve_names(names) if names else event_actor
    labels = _labels(event_tags + tags)
    confidence = _confidence(tags, base)
    to_ids = attribute.get("to_ids", True)
    if to_ids in (False, "0", 0, "false"):
        confidence //= 2
        labels.append("to_ids:false")
    try:
        valid_from = parse_time(attribute.get("first_seen"))
    except BadValue as exc:
        c.problem(where, f"first_seen: {exc}")
        return
    valid_until = None
    decay = attribute.get("decay_score")
    if isinstance(decay, list) and decay:
        scores = [d for d in decay if isinstance(d, dict)]
        numbers = [float(d["score"]) for d in scores if isinstance(d.get("score"), int | float)]
        if numbers:
            confidence = min(confidence, int(min(numbers)))
        if any(d.get("decayed") is True for d in scores):
            labels.append("decayed")
            valid_until = c.options.now
            if valid_from is not None and valid_from >= valid_until:
                valid_from = valid_until
    parts = value.split("|") if len(hints) > 1 else [value]
    if len(parts) != len(hints):
        c.problem(where, f"a {text(kind, 40)} value needs {len(hints)} parts separated by '|'")
        return
    description = text(attribute.get("comment"), 500) or info
    for hint, part in zip(hints, parts, strict=True):
        if hint is None:
            continue
        c.add(
            hint,
            part,
            location=where,
            actor=actor,
            confidence=confidence,
            valid_from=valid_from,
            valid_until=valid_until,
            labels=labels,
            description=description,
            reference=reference,
        )
