"""maltrail trails (and any plain list): one domain, IP, ``IP:port``, CIDR or URL per line.

Lines starting with ``#`` are comments; the header's ``# Aliases:`` line names the actor
(every alias goes through :mod:`tocsin.attribution.actors`), ``# MITRE:`` gives its ATT&CK
group and the first ``# Reference:`` becomes the indicators' reference. Following maltrail's
own convention, the trail's name is the file name: ``apt_*`` trails are actors (an unknown
one passes through under its header alias or trail name), other trails (``evilginx``,
``gophish``) are tools and carry no actor, and ``sinkhole_*`` trails list sinkholes — servers
researchers took over — which are kept for lookups but never matched (a sign-in from a
sinkhole is not the actor).
"""

from __future__ import annotations

import re
from pathlib import Path

from tocsin.attribution.actors import Actor, find, resolve_names
from tocsin.intel.collect import Collector, text
from tocsin.intel.values import BadValue, NotAttackerSpace, recognise

_HEADER_LINES = 40
_ALIASES = re.compile(r"^#\s*aliases\s*:\s*(.+)$", re.IGNORECASE)
_MITRE = re.compile(r"^#\s*mitre\s*:.*?\b(G\d{4})\b", re.IGNORECASE)
_REFERENCE = re.compile(r"^#\s*reference\s*:\s*(\S+)", re.IGNORECASE)
_PORT = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[A-Za-z0-9.-]+):(\d{1,5})$")


def _data_lines(body: str, limit: int | None = None) -> list[str]:
    out = []
    for line in body.splitlines():
        value = line.split(" #", 1)[0].strip()
        if value and not value.startswith("#"):
            out.append(value)
            if limit is not None and len(out) >= limit:
                break
    return out


def looks_like_trail(body: str) -> bool:
    """Mostly one indicator per line (or an empty trail with a maltrail header)."""
    sample = _data_lines(body, 200)
    if not sample:
        head = body[:4000].lower()
        return "aliases:" in head or "maltrail" in head
    good = 0
    for line in sample:
        try:
            recognise(line)
            good += 1
        except NotAttackerSpace:
            good += 1
        except BadValue:
            good += line.startswith("/")  # a maltrail path trail
    return good * 2 >= len(sample)


def _trail_actor(stem: str, aliases: list[str], group: str | None) -> Actor | None:
    names = aliases + ([group] if group else [])
    trail = stem.removeprefix("apt_")
    actor = resolve_names(names) if names else None
    if actor is not None and actor.known:
        return actor
    known = find(trail) or find(stem)
    if known is not None:
        return known
    if not stem.startswith("apt_"):
        return None  # a tool or malware trail, not an actor
    named = next((a for a in aliases if a.replace(" ", "").lower() == trail), None)
    return resolve_names(aliases, hint=named or trail.upper())


def read(body: str, c: Collector, path: str) -> None:
    stem = Path(path).stem.lower()
    c.set_source(f"maltrail:{stem}")
    lines = body.splitlines()
    aliases: list[str] = []
    group = None
    for line in lines[:_HEADER_LINES]:
        if match := _ALIASES.match(line.strip()):
            aliases += [a.strip() for a in match.group(1).split(",") if a.strip()]
        elif match := _MITRE.match(line.strip()):
            group = match.group(1)
    sinkhole = stem.startswith("sinkhole_")
    labels = [f"trail:{text(stem, 60)}"]
    if sinkhole:
        labels.append("sinkhole")
        owner = _trail_actor("apt_" + stem.removeprefix("sinkhole_"), aliases, group)
        actor = None
        former = f" (formerly {owner.name})" if owner is not None else ""
        description = f"Sinkhole{former}: a researcher-held server, not the actor's"
    else:
        actor = _trail_actor(stem, aliases, group)
        description = f"maltrail trail {stem}"
    reference = None  # a "# Reference:" comment applies to the lines below it
    for number, line in enumerate(lines, start=1):
        value = line.split(" #", 1)[0].strip()
        if value.startswith("#") and (match := _REFERENCE.match(value)):
            reference = match.group(1)
        if not value or value.startswith("#"):
            continue
        c.report.records += 1
        if value.startswith("/"):
            c.skip("path trails (a URL path on any host: not a value to match)")
            continue
        port = _PORT.match(value)
        c.add(
            None,
            value,
            location=f"line {number}",
            actor=actor,
            labels=[*labels, f"port:{port.group(1)}"] if port else labels,
            description=description,
            reference=reference,
        )
