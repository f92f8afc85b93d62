"""Threat-actor names: every alias of an actor resolves to one canonical actor.

Vendors name the same people differently: STRONTIUM, APT28, Fancy Bear, Sofacy, Forest Blizzard
and ATT&CK's G0007 are one actor. Indicators, alerts and reports must say one name, so every
actor name that enters tocsin goes through :func:`resolve`. Three bundled sources feed it:

* Microsoft's threat-actor naming map (``data/MicrosoftMapping.json``, CC BY 4.0,
  © Microsoft): the current weather name, the origin, and the older and other vendors' names;
* the ATT&CK groups of the bundled ATT&CK data (:mod:`tocsin.attribution.attack`): group id,
  ATT&CK's name and its aliases — merged into the Microsoft actor whose current name ATT&CK
  lists as an alias;
* maltrail's ``# Aliases:`` headers of its APT trails (``data/maltrail-aliases.json``, MIT):
  names no other source knows are added to the actor the rest of the header points to.

The canonical display name is Microsoft's current name followed by the 2020 element name, the
best-known ``APTnn`` name (else ATT&CK's name) and the ATT&CK id, e.g.
``Forest Blizzard (STRONTIUM, APT28, G0007)``; the key is ``forest_blizzard``. A name that is
ambiguous (Microsoft lists LABYRINTH CHOLLIMA under four actors) or unknown passes through
as-is, so an unknown actor is never silently merged into a known one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.resources import files
from typing import Final

import orjson

from tocsin.attribution import attack

_DATA = files("tocsin.attribution") / "data"
_MAX_NAME = 200

# Microsoft's 2016-2023 scheme named nation-state actors after chemical elements.
_ELEMENT_NAMES = """
    hydrogen helium lithium beryllium boron carbon nitrogen oxygen fluorine neon sodium magnesium
    aluminium aluminum silicon phosphorus sulfur sulphur chlorine argon potassium
    calcium scandium titanium vanadium chromium manganese iron cobalt nickel copper zinc gallium
    germanium arsenic selenium bromine krypton rubidium strontium yttrium zirconium niobium
    molybdenum technetium ruthenium rhodium palladium silver cadmium indium tin antimony
    tellurium iodine xenon cesium caesium barium lanthanum cerium praseodymium neodymium
    promethium samarium europium gadolinium terbium dysprosium holmium erbium thulium ytterbium
    lutetium hafnium tantalum tungsten rhenium osmium iridium platinum gold mercury thallium
    lead bismuth polonium astatine radon francium radium actinium thorium protactinium uranium
    neptunium plutonium americium curium berkelium californium einsteinium fermium mendelevium
    nobelium lawrencium rutherfordium dubnium seaborgium bohrium hassium meitnerium darmstadtium
    roentgenium copernicium nihonium flerovium moscovium livermorium tennessine oganesson"""
_ELEMENTS: Final = frozenset(_ELEMENT_NAMES.split())
_APT = re.compile(r"^APT[\s-]?\d+$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, slots=True)
class Actor:
    """One threat actor under its canonical name."""

    key: str  # forest_blizzard: stable, for tags (``ioc:forest_blizzard``) and joins
    name: str  # Forest Blizzard (STRONTIUM, APT28, G0007)
    aliases: tuple[str, ...]  # every name known for it, including the parts of ``name``
    microsoft: str | None = None  # Microsoft's current name
    element: str | None = None  # Microsoft's element name (2016-2023)
    attack_id: str | None = None  # ATT&CK group id
    attack_name: str | None = None
    origin: str | None = None  # Microsoft's "Origin/Threat"
    known: bool = True  # False: a name no bundled source knows, passed through as-is

    @property
    def short(self) -> str:
        """The main name alone: ``Forest Blizzard``."""
        return self.name.split(" (", 1)[0]


def alias_key(name: str) -> str:
    """Compare names without case, spaces or punctuation: ``Fancy Bear`` = ``fancy-bear``."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def slug(name: str) -> str:
    """``Forest Blizzard`` → ``forest_blizzard`` (ASCII letters, digits and ``_`` only)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:64].strip("_")
    if key:
        return key
    return "actor_" + hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:10]


def clean_name(name: str) -> str:
    """A name from a feed as it may be stored and shown: no control characters, one line."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", name))
    text = " ".join(text.split())
    return text[:_MAX_NAME]


@dataclass(slots=True)
class _Draft:
    microsoft: str | None = None
    origin: str | None = None
    attack_id: str | None = None
    attack_name: str | None = None
    other: str | None = None  # a name from maltrail when neither Microsoft nor ATT&CK has one
    strong: list[str] = field(default_factory=list)  # names that identify it outright
    names: list[str] = field(default_factory=list)  # every name, in source order

    def add(self, *names: str, strong: bool = False) -> None:
        for name in names:
            name = clean_name(name)
            if not name:
                continue
            if name.casefold() not in (n.casefold() for n in self.names):
                self.names.append(name)
            if strong and name not in self.strong:
                self.strong.append(name)

    def element(self) -> str | None:
        return next((n for n in self.names if n.casefold() in _ELEMENTS), None)

    def build(self) -> Actor:
        primary = self.microsoft or self.attack_name or self.other or self.names[0]
        element = self.element()
        apt = next((n for n in self.names if _APT.match(n)), None)
        second = apt.upper().replace(" ", "").replace("-", "") if apt else self.attack_name
        parts: list[str] = []
        for part in (element, second, self.attack_id):
            if part and alias_key(part) not in {alias_key(p) for p in [primary, *parts]}:
                parts.append(part)
        name = f"{primary} ({', '.join(parts)})" if parts else primary
        aliases = tuple(dict.fromkeys([primary, *parts, *self.names]))
        return Actor(
            key=slug(primary),
            name=name,
            aliases=aliases,
            microsoft=self.microsoft,
            element=element,
            attack_id=self.attack_id,
            attack_name=self.attack_name,
            origin=self.origin,
        )


class ActorRegistry:
    """Every known actor, and the index from each of its names to it."""

    def __init__(self, drafts: Iterable[_Draft]) -> None:
        self._drafts = list(drafts)
        self._strong: dict[str, set[int]] = {}
        self._alias: dict[str, set[int]] = {}
        for index, draft in enumerate(self._drafts):
            self._index(index, draft)
        self._actors = [d.build() for d in self._drafts]
        self._by_key = {a.key: a for a in self._actors}

    def _index(self, index: int, draft: _Draft) -> None:
        for name in draft.strong:
            self._strong.setdefault(alias_key(name), set()).add(index)
        for name in draft.names:
            self._alias.setdefault(alias_key(name), set()).add(index)

    def _find_index(self, name: str) -> int | None:
        key = alias_key(name)
        if not key:
            return None
        strong = self._strong.get(key, set())
        if len(strong) == 1:
            return next(iter(strong))
        aliases = self._alias.get(key, set())
        if not strong and len(aliases) == 1:
            return next(iter(aliases))
        return None  # unknown or ambiguous

    def find(self, name: str) -> Actor | None:
        """The known actor this name (or id) stands for, or None if unknown or ambiguous."""
        index = self._find_index(name)
        return None if index is None else self._actors[index]

    def by_key(self, key: str) -> Actor | None:
        return self._by_key.get(key)

    def resolve(self, name: str) -> Actor:
        """The canonical actor for ``name``; an unknown or ambiguous name passes through."""
        found = self.find(name)
        if found is not None:
            return found
        shown = clean_name(name)
        return Actor(key=slug(shown), name=shown, aliases=(shown,), known=False)

    def _vote(self, names: Iterable[str]) -> int | None:
        votes: Counter[int] = Counter()
        order: list[int] = []
        for name in names:
            index = self._find_index(name)
            if index is not None:
                votes[index] += 1
                if index not in order:
                    order.append(index)
        if not order:
            return None
        return max(order, key=lambda i: (votes[i], -order.index(i)))

    def resolve_names(self, names: Iterable[str], *, hint: str | None = None) -> Actor | None:
        """The actor a list of aliases (a maltrail header, a STIX ``aliases``) points to.

        The known actor most of the names resolve to wins (the first one on a tie); names no
        source knows are added to its aliases. With no known name, ``hint`` (else the first
        name) becomes an unknown actor carrying the names as aliases. Empty input: None.
        """
        cleaned = [c for n in names if isinstance(n, str) and (c := clean_name(n))]
        best = self._vote([*([hint] if hint else []), *cleaned])
        if best is not None:
            actor = self._actors[best]
            extra = [n for n in cleaned if not self._alias.get(alias_key(n))]
            if extra:
                actor = replace(actor, aliases=tuple(dict.fromkeys([*actor.aliases, *extra])))
            return actor
        if not cleaned and not hint:
            return None
        primary = clean_name(hint) if hint else cleaned[0]
        aliases = tuple(dict.fromkeys([primary, *cleaned]))
        return Actor(key=slug(primary), name=primary, aliases=aliases, known=False)

    def actors(self) -> list[Actor]:
        return list(self._actors)


def _microsoft_drafts() -> list[_Draft]:
    rows = orjson.loads((_DATA / "MicrosoftMapping.json").read_bytes())
    drafts = []
    for row in rows:
        name = str(row.get("Threat actor name") or "").strip()
        if not name:
            continue
        draft = _Draft(
            microsoft=clean_name(name), origin=str(row.get("Origin/Threat") or "") or None
        )
        draft.add(name, strong=True)
        others = [o.strip() for o in str(row.get("Other names") or "").split(",")]
        draft.add(*others)
        # The element name identifies the actor as surely as its weather name.
        element = draft.element()
        if element:
            draft.add(element, strong=True)
        drafts.append(draft)
    return drafts


def _merge_attack(drafts: list[_Draft]) -> None:
    by_name = {alias_key(d.microsoft): d for d in drafts if d.microsoft}
    for group in attack._load()[1].values():  # same package; parsed once, cached
        names = [group.name, *group.aliases]
        matches = {id(by_name[k]): by_name[k] for n in names if (k := alias_key(n)) in by_name}
        if len(matches) == 1:
            draft = next(iter(matches.values()))
        else:
            draft = _Draft()
            drafts.append(draft)
        draft.attack_id, draft.attack_name = group.id, group.name
        draft.add(group.name, group.id, strong=True)
        draft.add(*group.aliases)


def _merge_maltrail(drafts: list[_Draft]) -> None:
    headers: dict[str, list[str]] = orjson.loads((_DATA / "maltrail-aliases.json").read_bytes())
    for trail, aliases in headers.items():
        registry = ActorRegistry(drafts)
        stem = trail.removeprefix("apt_")
        index = registry._vote(aliases)
        if index is None:
            index = registry._vote([stem, trail])
        if index is not None:
            drafts[index].add(*[a for a in aliases if not registry._alias.get(alias_key(a))])
        else:
            named = next((a for a in aliases if alias_key(a) == alias_key(stem)), stem.upper())
            draft = _Draft(other=clean_name(named))
            draft.add(named, strong=True)
            draft.add(*aliases)
            drafts.append(draft)


@cache
def registry() -> ActorRegistry:
    """The registry built from the bundled Microsoft, ATT&CK and maltrail names."""
    drafts = _microsoft_drafts()
    _merge_attack(drafts)
    _merge_maltrail(drafts)
    return ActorRegistry(drafts)


def resolve(name: str) -> Actor:
    """The canonical actor for any alias (``STRONTIUM``, ``G0007``, ``fancy bear``…)."""
    return registry().resolve(name)


def find(name: str) -> Actor | None:
    """The known actor ``name`` stands for, or None (unknown or ambiguous)."""
    return registry().find(name)


def resolve_names(names: Iterable[str], *, hint: str | None = None) -> Actor | None:
    return registry().resolve_names(names, hint=hint)


def actors() -> list[Actor]:
    """Every known actor."""
    return registry().actors()
