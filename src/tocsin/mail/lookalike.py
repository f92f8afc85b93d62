"""Lookalike domains: typos, homoglyphs, IDN/punycode and combosquats of domains people trust.

The references are the protected organisations' own domains (from tocsin.toml) and the login
domains of common providers (``known.PROVIDER_DOMAINS``), so detection works without any
configuration. A candidate domain is compared by its registrable part:

* **typo**: the permutations dnstwist generates for each reference (addition, omission,
  repetition, transposition, keyboard replacement, bit flips, vowel swap, hyphenation, plural…)
  looked up in a set — built once per scan, a few milliseconds per reference;
* **edit distance 1** for longer names, covering what keyboard-based permutations miss;
* **homoglyph / IDN**: the name reduced to a *skeleton* — Unicode compatibility forms folded
  (fullwidth, mathematical letters), accents dropped, the Cyrillic and Greek letters that
  render as Latin ones mapped to them, and ASCII look-alikes (``rn``→``m``, ``0``→``o``,
  ``1``/``i``→``l``, ``vv``→``w``) folded — equal to a reference's skeleton. dnstwist only
  *generates* homoglyph variants, which cannot cover several substitutions at once; the
  skeleton is the reverse check and covers any number;
* **combosquat**: the reference name plus words (``microsoft-support.com``,
  ``paypalsecure.net``), or the whole reference domain used as a subdomain of another
  (``paypal.com.account-check.ru``);
* **TLD swap** (``harper2020.org`` for ``harper2020.example``), for configured organisations
  only: big providers legitimately own their name under many country domains.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import dnstwist  # type: ignore[import-untyped]

from tocsin.mail.known import BRANDS, FREEMAIL, PROVIDER_DOMAINS
from tocsin.mail.urls import display_host, public_suffix, registrable

_FUZZERS = [
    "addition",
    "bitsquatting",
    "hyphenation",
    "insertion",
    "omission",
    "plural",
    "repetition",
    "replacement",
    "transposition",
    "vowel-swap",
    "various",
]
# Reference names that are everyday words: a domain containing them is not a combosquat.
_COMMON_WORDS = frozenset(
    ("office", "outlook", "live", "apple", "zoom", "slack", "proton", "amazon", "google",
     "github", "auth0", "adobe")
)  # fmt: skip
_CONFUSABLE = str.maketrans(
    {
        # Cyrillic letters that render as Latin ones
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "һ": "h",
        "ӏ": "l",
        "ɡ": "g",
        "ո": "n",
        "ս": "u",
        "ց": "g",
        "օ": "o",
        "ᴄ": "c",
        "ʏ": "y",
        "ɩ": "i",
        "ı": "i",
        "ł": "l",
        # Greek
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "ϲ": "c",
        "ϳ": "j",
        # Latin look-alikes NFKD does not fold
        "ø": "o",
        "đ": "d",
        "ħ": "h",
        "ŧ": "t",
        "ƅ": "b",
        "ɑ": "a",
        "ɒ": "a",
    }
)
_ASCII_FOLDS = (
    ("rn", "m"),
    ("vv", "w"),
    ("cl", "d"),
    ("0", "o"),
    ("1", "l"),
    ("i", "l"),
    ("|", "l"),
    ("!", "l"),
    ("5", "s"),
    ("$", "s"),
    ("@", "a"),
)


def unconfuse(text: str) -> str:
    """Lower-case, compatibility forms and accents folded, Cyrillic/Greek look-alikes as Latin."""
    folded = unicodedata.normalize("NFKD", text.casefold()).translate(_CONFUSABLE)
    return "".join(c for c in folded if not unicodedata.combining(c))


def skeleton(label: str) -> str:
    """What a name looks like, not what it is: ``pаypaI`` and ``paypal`` share a skeleton."""
    text = unconfuse(label)
    for old, new in _ASCII_FOLDS:
        text = text.replace(old, new)
    return text.replace("-", "")


def _one_edit(a: str, b: str) -> bool:
    """Damerau–Levenshtein distance exactly 1 (one insert, delete, substitute or swap)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


@dataclass(frozen=True, slots=True)
class Lookalike:
    domain: str  # the candidate's registrable domain (as people see it)
    reference: str  # the trusted domain it imitates
    kind: str  # "organisation" or "provider"
    how: str  # "typo (omission)", "homoglyph", "IDN homoglyph", "combosquat", …

    def describe(self) -> str:
        whose = "your organisation's" if self.kind == "organisation" else "the provider domain"
        return f"{self.domain} imitates {whose} {self.reference} ({self.how})"


class LookalikeIndex:
    """Reference domains and their permutations, built once per scan."""

    def __init__(
        self, protected: Iterable[str] = (), providers: Iterable[str] = PROVIDER_DOMAINS
    ) -> None:
        self.refs: dict[str, str] = {}
        for domain in providers:
            self.refs[registrable(domain)] = "provider"
        for domain in protected:
            if domain:
                self.refs[registrable(domain.lower())] = "organisation"
        self.legit: set[str] = set(self.refs)
        for _names, domains in BRANDS.values():
            self.legit.update(registrable(d) for d in domains)
        self.legit.update(FREEMAIL)
        self.labels: dict[str, list[str]] = {}  # label (name without suffix) → references
        self.skeletons: dict[str, list[str]] = {}
        self.permutations: dict[str, tuple[str, str]] = {}
        self.ref_labels = {ref: _label(ref) for ref in self.refs}
        for ref, label in self.ref_labels.items():
            self.labels.setdefault(label, []).append(ref)
            self.skeletons.setdefault(skeleton(label), []).append(ref)
            if len(label) >= 5:
                fuzzer = dnstwist.Fuzzer(ref)
                fuzzer.generate(fuzzers=_FUZZERS)
                for found in fuzzer.domains:
                    name = str(found["domain"])
                    if name != ref and name not in self.legit:
                        self.permutations.setdefault(name, (ref, str(found["fuzzer"])))
        self.by_length: dict[int, list[str]] = {}  # labels of 6+ letters, for one-edit typos
        for ref, label in self.ref_labels.items():
            if len(label) >= 6:
                self.by_length.setdefault(len(label), []).append(ref)
        self._cache: dict[str, Lookalike | None] = {}

    def check(self, host: str) -> Lookalike | None:
        """The reference ``host`` imitates, or None."""
        if host in self._cache:
            return self._cache[host]
        found = self._check(host)
        if len(self._cache) < 100_000:
            self._cache[host] = found
        return found

    def _check(self, host: str) -> Lookalike | None:
        reg = registrable(host)
        if not reg or reg in self.legit or "." not in reg:
            return self._subdomain(host, reg) if reg else None
        shown = display_host(reg)
        if reg in self.permutations:
            ref, fuzzer = self.permutations[reg]
            return Lookalike(shown, ref, self.refs[ref], f"typo ({fuzzer})")
        label = _label(reg)
        unicode_label = _label(shown) if shown != reg else label
        for ref in self.skeletons.get(skeleton(unicode_label), []):
            if self.ref_labels[ref] != label:
                how = "IDN homoglyph (punycode)" if "xn--" in reg else "homoglyph"
                return Lookalike(shown, ref, self.refs[ref], how)
        for ref in self.labels.get(label, []):
            if self.refs[ref] == "organisation" and ref != reg:
                return Lookalike(shown, ref, "organisation", "same name, other top-level domain")
        for length in (len(label) - 1, len(label), len(label) + 1):
            for ref in self.by_length.get(length, ()):
                if _one_edit(label, self.ref_labels[ref]):
                    return Lookalike(shown, ref, self.refs[ref], "typo (one character changed)")
        combo = self._combosquat(label, shown)
        return combo or self._subdomain(host, reg)

    def _combosquat(self, label: str, shown: str) -> Lookalike | None:
        parts = [p for p in label.replace("_", "-").split("-") if p]
        for ref, kind in self.refs.items():
            ref_label = self.ref_labels[ref]
            if ref_label not in label:  # both forms below contain the name itself
                continue
            minimum = 4 if kind == "organisation" else 5
            if len(ref_label) < minimum or label == ref_label:
                continue
            if len(parts) > 1 and ref_label in parts:
                return Lookalike(shown, ref, kind, "combosquat (name plus words)")
            joined = len(ref_label) >= 6 and ref_label not in _COMMON_WORDS
            joined = joined and len(label) >= len(ref_label) + 3
            if joined and (label.startswith(ref_label) or label.endswith(ref_label)):
                return Lookalike(shown, ref, kind, "combosquat (name plus words)")
        return None

    def _subdomain(self, host: str, reg: str) -> Lookalike | None:
        """``paypal.com.verify-account.ru``: a trusted domain worn as a subdomain."""
        if host == reg or not reg:
            return None
        sub = host[: -len(reg)].rstrip(".")
        labels = sub.split(".")
        for i in range(len(labels)):
            candidate = ".".join(labels[i:])
            if candidate in self.refs and reg not in self.legit:
                return Lookalike(
                    display_host(host),
                    candidate,
                    self.refs[candidate],
                    "trusted domain used as a subdomain",
                )
        return None


def _label(domain: str) -> str:
    suffix = public_suffix(domain)
    if suffix and domain.endswith("." + suffix):
        return domain[: -len(suffix) - 1]
    return domain.split(".", 1)[0]
