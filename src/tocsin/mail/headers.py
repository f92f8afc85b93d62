"""Header values an attacker wrote, decoded without trusting them.

Every function here takes the raw string the parser kept (8-bit bytes as surrogate escapes)
and never raises: an unknown charset, a broken encoded word or a malformed address gives the
best readable value and, where it matters, a warning.
"""

from __future__ import annotations

import codecs
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header
from email.utils import parsedate_to_datetime
from functools import lru_cache

MAX_HEADER_VALUE = 16_384  # longest value decoded; the rest is cut (a 5 MB Subject is an attack)

_ANGLE = re.compile(r"<\s*([^<>\s]*@[^<>\s]*)\s*>")
_BARE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}")
_IP_IN_RECEIVED = re.compile(
    r"[\[(](?:IPv6:)?([0-9a-fA-F:.]{7,45})[\])]|\b((?:\d{1,3}\.){3}\d{1,3})\b"
)
_SENDER_IP = re.compile(r"sender IP is ([0-9a-fA-F:.]{3,45})", re.IGNORECASE)
_CLIENT_IP = re.compile(r"client-ip=([0-9a-fA-F:.]{3,45})", re.IGNORECASE)
_RESULT = re.compile(r"\b(spf|dkim|dmarc|compauth|arc|auth|iprev)\s*=\s*([A-Za-z]+)", re.IGNORECASE)
_PROPERTY = re.compile(
    r"\b(smtp\.mailfrom|smtp\.helo|header\.from|header\.d|header\.i|envelope-from)\s*=\s*"
    r"\"?([^\s;\"()]+)",
    re.IGNORECASE,
)
_REASON = re.compile(r"\breason=(\d{3})", re.IGNORECASE)
_WS = re.compile(r"\s+")
_BY = re.compile(r"\sby\s")


def as_text(raw: object) -> str:
    """The parser's header value as real text (8-bit bytes read as UTF-8, else Latin-1)."""
    if raw is None:
        return ""
    text = str(raw)
    if len(text) > MAX_HEADER_VALUE:
        text = text[:MAX_HEADER_VALUE]
    try:
        data = text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def decode_words(raw: object) -> str:
    """RFC 2047 encoded words decoded; unknown charsets read as UTF-8 with replacement."""
    text = as_text(raw)
    if "=?" not in text:
        return _WS.sub(" ", text).strip()
    try:
        parts = decode_header(text)
    except (ValueError, IndexError, AssertionError, UnicodeError):
        return _WS.sub(" ", text).strip()
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        out.append(decode_bytes(chunk, charset))
    return _WS.sub(" ", "".join(out)).strip()


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset; unknown or wrong charsets fall back to UTF-8, replaced."""
    name = (charset or "utf-8").strip().strip('"').lower()
    if name in ("unknown-8bit", "x-unknown", "default", "us-ascii", "ascii", ""):
        name = "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        name = "utf-8"
    try:
        return data.decode(name)
    except UnicodeDecodeError:
        if name == "utf-8":
            return data.decode("windows-1252", "replace")
        return data.decode(name, "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Address:
    display: str
    address: str  # lower-case, '' when the header held no address

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1] if "@" in self.address else ""


def parse_address(raw: object) -> Address:
    """The one address of From / Sender / Reply-To / Return-Path, and its display name.

    Tolerates what phishing sends: ``Name ,_<a@b>``, quotes inside names, several angle
    brackets (the last one is what a mail client replies to), a bare address.
    """
    text = decode_words(raw)
    matches = list(_ANGLE.finditer(text))
    if matches:
        last = matches[-1]
        address = last.group(1)
        display = text[: last.start()]
    else:
        bare = _BARE.search(text)
        address = bare.group(0) if bare else ""
        display = text.replace(address, "") if bare else text
    display = display.strip().strip(",_ ").strip().strip("\"'").strip()
    return Address(display=_WS.sub(" ", display), address=address.strip().lower().strip("."))


def parse_addresses(values: list[object], limit: int = 500) -> list[str]:
    """Every address in To / Cc / Delivered-To style headers, lower-case, de-duplicated."""
    out: list[str] = []
    for value in values:
        text = decode_words(value)
        for match in _BARE.finditer(text):
            address = match.group(0).lower().strip(".")
            if address not in out:
                out.append(address)
            if len(out) >= limit:
                return out
    return out


def parse_date(raw: object) -> datetime | None:
    text = as_text(raw).strip()
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def received_date(raw: object) -> datetime | None:
    """The timestamp after the last ';' of a Received header."""
    text = as_text(raw)
    if ";" not in text:
        return None
    return parse_date(text.rsplit(";", 1)[1])


# IPv4 blocks that are not global (RFC 6890 special-purpose registry), as (first, last).
_SPECIAL_V4 = tuple(
    (int(net.network_address), int(net.broadcast_address))
    for net in map(
        ipaddress.IPv4Network,
        """0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 172.16.0.0/12
        192.0.0.0/24 192.0.2.0/24 192.88.99.0/24 192.168.0.0/16 198.18.0.0/15
        198.51.100.0/24 203.0.113.0/24 224.0.0.0/3""".split(),  # noqa: SIM905
    )
)


@lru_cache(maxsize=65536)
def public_ip(text: str) -> str | None:
    """The address, canonical, when it is a public one (not private, local or reserved)."""
    text = text.strip()
    octets = text.split(".")
    if len(octets) == 4 and all(o.isdigit() and len(o) <= 3 for o in octets):
        # Dotted IPv4, by far the commonest: checked without building an ipaddress object.
        numbers = [int(o) for o in octets]
        if max(numbers) > 255 or any(len(o) > 1 and o[0] == "0" for o in octets):
            return None
        value = numbers[0] << 24 | numbers[1] << 16 | numbers[2] << 8 | numbers[3]
        if any(first <= value <= last for first, last in _SPECIAL_V4):
            return None
        return ".".join(map(str, numbers))
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global:
        return None
    return str(address)


def received_ips(values: list[object], limit: int = 20) -> list[str]:
    """Public addresses in the ``from`` clause of each Received header, newest hop first."""
    out: list[str] = []
    for value in values:
        text = as_text(value)
        clause = _BY.split(text, maxsplit=1)[0]
        for match in _IP_IN_RECEIVED.finditer(clause):
            ip = public_ip(match.group(1) or match.group(2))
            if ip and ip not in out:
                out.append(ip)
        if len(out) >= limit:
            break
    return out


@dataclass(slots=True)
class AuthResults:
    """What the receiving server recorded about SPF, DKIM and DMARC (no lookups of our own)."""

    spf: str | None = None
    dkim: list[str] = field(default_factory=list)  # one result per signature
    dmarc: str | None = None
    compauth: str | None = None
    compauth_reason: str | None = None
    mailfrom: str | None = None  # smtp.mailfrom domain
    header_from: str | None = None
    dkim_domains: list[str] = field(default_factory=list)  # header.d of passing signatures
    sender_ip: str | None = None
    authserv_id: str | None = None
    source: str | None = None  # "Authentication-Results", "Received-SPF" or None

    @property
    def present(self) -> bool:
        return self.source is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "spf": self.spf,
            "dkim": self.dkim,
            "dmarc": self.dmarc,
            "compauth": self.compauth,
            "smtp_mailfrom": self.mailfrom,
            "header_from": self.header_from,
            "dkim_domains": self.dkim_domains,
            "sender_ip": self.sender_ip,
            "authserv_id": self.authserv_id,
        }


def _authserv_id(text: str) -> str | None:
    words = text.split(";", 1)[0].split()
    if not words or "=" in words[0]:
        return None  # Exchange Online writes no authserv-id: the header starts with "spf="
    return words[0].lower()


def parse_auth(ar_values: list[object], spf_values: list[object]) -> AuthResults:
    """Results from the topmost Authentication-Results block (the receiving server's).

    Headers lower in the message may have been written by the sender and claim anything, so
    only those with the same authserv-id as the topmost header count.
    """
    result = AuthResults()
    texts = [_WS.sub(" ", as_text(v)) for v in ar_values]
    if texts:
        result.authserv_id = _authserv_id(texts[0])
        result.source = "Authentication-Results"
    for text in texts:
        if _authserv_id(text) != result.authserv_id:
            continue
        _read_block(text, result)
    if result.spf is None and spf_values:
        text = as_text(spf_values[0]).strip()
        word = text.split(None, 1)[0].lower() if text else ""
        if word in ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"):
            result.spf = word
            result.source = result.source or "Received-SPF"
        found = _CLIENT_IP.search(text)
        if found and result.sender_ip is None:
            result.sender_ip = public_ip(found.group(1))
    return result


def _read_block(text: str, result: AuthResults) -> None:
    # A block holds several "method=result ... ;" statements; properties follow their method.
    for statement in text.split(";"):
        found = _RESULT.search(statement)
        props = {k.lower(): v.strip(".").lower() for k, v in _PROPERTY.findall(statement)}
        ip = _SENDER_IP.search(statement)
        if ip and result.sender_ip is None:
            result.sender_ip = public_ip(ip.group(1))
        if found is None:
            if "header.from" in props and result.header_from is None:
                result.header_from = props["header.from"]
            continue
        method, value = found.group(1).lower(), found.group(2).lower()
        if method == "spf" and result.spf is None:
            result.spf = value
            result.mailfrom = _domain(props.get("smtp.mailfrom") or props.get("envelope-from"))
        elif method == "dkim":
            result.dkim.append(value)
            if value == "pass" and props.get("header.d"):
                result.dkim_domains.append(props["header.d"])
            elif value == "pass" and props.get("header.i"):
                result.dkim_domains.append(_domain(props["header.i"]) or "")
        elif method == "dmarc" and result.dmarc is None:
            result.dmarc = value
        elif method == "compauth" and result.compauth is None:
            result.compauth = value
            reason = _REASON.search(statement)
            result.compauth_reason = reason.group(1) if reason else None
        if "header.from" in props and result.header_from is None:
            result.header_from = props["header.from"]


def _domain(value: str | None) -> str | None:
    if not value:
        return None
    return value.rsplit("@", 1)[-1].strip("<>").lower() or None
