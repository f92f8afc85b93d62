"""The part of the STIX 2.1 pattern language an indicator list needs: values joined by OR.

Supported, inside one or more observations joined by ``OR``::

    [ipv4-addr:value = '198.51.100.7' OR ipv4-addr:value = '203.0.113.0/24']
    [domain-name:value IN ('evil.example', 'bad.example')] OR [url:value = 'http://x/y']
    [ipv4-addr:value ISSUBSET '198.51.100.0/24']
    [file:hashes.'SHA-256' = '…' AND file:hashes.MD5 = '…']   (hashes of one file)

Each comparison becomes one indicator. Anything that narrows a value (``AND`` between
different values, ``NOT``, ``!=``, ``LIKE``, ``MATCHES``, ``FOLLOWEDBY``, ``WITHIN`` and other
qualifiers, ports and other properties) cannot be a single value to match, so the pattern is
refused with a reason instead of being widened into something it did not say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

MAX_PATTERN: Final = 65536
MAX_DEPTH: Final = 32
MAX_TOKENS: Final = 20000


class PatternError(ValueError):
    """A pattern that is malformed or uses what tocsin does not support."""


@dataclass(frozen=True, slots=True)
class Comparison:
    path: str  # ipv4-addr:value
    kind: str  # indicator type hint for tocsin.intel.values.normalise
    value: str


@dataclass(frozen=True, slots=True)
class _Group:
    op: str  # AND, OR
    items: tuple[_Node, ...]


_Node = Comparison | _Group

_HASH_NAMES = {
    "md5": "md5", "sha1": "sha1", "sha-1": "sha1", "sha256": "sha256", "sha-256": "sha256",
}  # fmt: skip
_PATHS = {
    "ipv4-addr:value": "ipv4",
    "ipv6-addr:value": "ipv6",
    "domain-name:value": "domain",
    "url:value": "url",
    "email-addr:value": "email",
    "email-message:from_ref.value": "email",
    "email-message:sender_ref.value": "email",
    "network-traffic:dst_ref.value": "ip",
    "network-traffic:src_ref.value": "ip",
    "autonomous-system:number": "asn",
}
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>[tbh]?'(?:[^'\\]|\\.)*')
    | (?P<path>[a-z0-9][a-z0-9-]*:[A-Za-z0-9_-]+
               (?:\.[A-Za-z0-9_-]+|\.'(?:[^'\\]|\\.)*'|\[(?:\d+|\*)\])*)
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>!=|<>|<=|>=|==|=|<|>)
    | (?P<punct>[\[\](),])
    | (?P<word>[A-Za-z_]+)
    )""",
    re.VERBOSE,
)


def _tokens(pattern: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos, end = 0, len(pattern.rstrip())
    while pos < end:
        match = _TOKEN.match(pattern, pos)
        if match is None or match.end() == pos:
            raise PatternError(f"unexpected text at character {pos}: {pattern[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
        if len(out) > MAX_TOKENS:
            raise PatternError(f"pattern has more than {MAX_TOKENS} tokens")
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        _, text = self.take()
        if text != value:
            shown = text or "end of pattern"
            raise PatternError(f"expected {value!r}, found {shown!r}")

    def word(self) -> str:
        kind, text = self.peek()
        return text.upper() if kind == "word" else ""

    # observation expressions: [..] OR [..], ( .. ), qualifiers are refused
    def observations(self, depth: int = 0) -> _Node:
        if depth > MAX_DEPTH:
            raise PatternError(f"nested deeper than {MAX_DEPTH} levels")
        items = [self.observation(depth)]
        ops = set()
        while self.word() in ("OR", "AND", "FOLLOWEDBY"):
            ops.add(self.take()[1].upper())
            items.append(self.observation(depth))
        if "FOLLOWEDBY" in ops:
            raise PatternError("FOLLOWEDBY (a sequence of observations) is not supported")
        return _group(ops, items)

    def observation(self, depth: int) -> _Node:
        _, text = self.peek()
        if text == "(":
            self.take()
            node = self.observations(depth + 1)
            self.expect(")")
        elif text == "[":
            self.take()
            node = self.comparisons(depth + 1)
            self.expect("]")
        else:
            raise PatternError(f"expected '[' or '(', found {text or 'end of pattern'!r}")
        qualifier = self.word()
        if qualifier in ("WITHIN", "REPEATS", "START"):
            raise PatternError(f"the {qualifier} qualifier is not supported")
        return node

    def comparisons(self, depth: int) -> _Node:
        if depth > MAX_DEPTH:
            raise PatternError(f"nested deeper than {MAX_DEPTH} levels")
        items = [self.comparison(depth)]
        ops = set()
        while self.word() in ("OR", "AND"):
            ops.add(self.take()[1].upper())
            items.append(self.comparison(depth))
        return _group(ops, items)

    def comparison(self, depth: int) -> _Node:
        kind, text = self.peek()
        if text == "(":
            self.take()
            node = self.comparisons(depth + 1)
            self.expect(")")
            return node
        if kind == "word" and text.upper() == "NOT":
            raise PatternError("NOT is not supported")
        if kind != "path":
            raise PatternError(f"expected an object path, found {text or 'end of pattern'!r}")
        self.take()
        path = text
        if self.word() == "NOT":
            raise PatternError("NOT is not supported")
        _, op = self.take()
        op = op.upper()
        if op == "IN":
            return _Group("OR", tuple(_comparison(path, v) for v in self.literal_list()))
        if op == "ISSUBSET" and _PATHS.get(path) in ("ipv4", "ipv6"):
            return _comparison(path, self.literal())
        if op not in ("=", "=="):
            raise PatternError(f"operator {op or 'missing'!r} is not supported (only = and IN)")
        return _comparison(path, self.literal())

    def literal(self) -> str:
        kind, text = self.take()
        if kind == "number":
            return text
        if kind != "string" or text[0] != "'":
            raise PatternError(f"expected a quoted value, found {text or 'end of pattern'!r}")
        return re.sub(r"\\(.)", r"\1", text[1:-1])

    def literal_list(self) -> list[str]:
        self.expect("(")
        values = [self.literal()]
        while self.peek()[1] == ",":
            self.take()
            values.append(self.literal())
        self.expect(")")
        return values


def _group(ops: set[str], items: list[_Node]) -> _Node:
    if len(items) == 1:
        return items[0]
    if len(ops) > 1:
        raise PatternError("AND and OR mixed without parentheses is not supported")
    return _Group(ops.pop(), tuple(items))


def _comparison(path: str, value: str) -> Comparison:
    kind = _PATHS.get(path)
    if kind is None and path.startswith("file:hashes."):
        algorithm = path.removeprefix("file:hashes.").strip("'").lower()
        kind = _HASH_NAMES.get(algorithm)
        if kind is None:
            raise PatternError(f"hash algorithm {algorithm!r} is not supported")
    if kind is None:
        raise PatternError(f"object path {path!r} is not supported")
    return Comparison(path, kind, value)


def _flatten(node: _Node) -> list[Comparison]:
    if isinstance(node, Comparison):
        return [node]
    leaves = [leaf for item in node.items for leaf in _flatten(item)]
    if node.op == "AND" and not all(leaf.path.startswith("file:hashes.") for leaf in leaves):
        raise PatternError(
            "AND between comparisons is not supported (tocsin matches single values; "
            "only hashes of one file may be joined by AND)"
        )
    return leaves


def parse(pattern: str) -> list[Comparison]:
    """The values a pattern names, each a complete indicator on its own; raises PatternError."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"pattern longer than {MAX_PATTERN} characters")
    parser = _Parser(_tokens(pattern))
    if not parser.tokens:
        raise PatternError("empty pattern")
    node = parser.observations()
    if parser.pos != len(parser.tokens):
        raise PatternError(f"unexpected {parser.peek()[1]!r} after the pattern")
    return _flatten(node)
