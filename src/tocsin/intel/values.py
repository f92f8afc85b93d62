"""Indicator values: recognise, refang and normalise them; parse the dates feeds use.

Every value is normalised once, on import, so matching is a plain comparison:

* IPs canonical through :mod:`ipaddress` (IPv4-mapped IPv6 unwrapped, IPv6 compressed);
  networks as ``network/prefix`` with the host bits cleared; a /32 (/128) is an address;
* domains lower-case, IDNA (punycode), without a trailing dot or a leading ``*.``;
* URLs with scheme and host lower-case, default port and fragment dropped, path kept;
* e-mail addresses lower-case; hashes lower-case hex; ASNs as digits.

Defanged forms (``evil[.]example``, ``hxxp://``, ``1.2.3[.]4``, ``name[at]evil.example``) are
refanged first. Values are never resolved or fetched.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

TYPES: Final = ("ipv4", "ipv6", "cidr", "domain", "url", "email", "asn", "sha256", "sha1", "md5")
MAX_VALUE: Final = 2048
# IPv4 networks broader than this are refused: a /7 in a feed is a mistake, and would tag a
# large share of the Internet.
MIN_PREFIX_V4: Final = 8
MIN_PREFIX_V6: Final = 16

_HEX = {32: "md5", 40: "sha1", 64: "sha256"}
_HEX_RE = re.compile(r"[0-9a-f]+")
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,15}://", re.IGNORECASE)
_ASN = re.compile(r"^(?:as)?\s*(\d{1,10})$", re.IGNORECASE)
_LOCAL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_SPACE = re.compile(r"[\s\u00a0\u200b-\u200d\u2060\ufeff]+")
_REFANG = [
    (re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)", re.IGNORECASE), "."),
    (re.compile(r"\[:\]"), ":"),
    (re.compile(r"\[://\]"), "://"),
    (re.compile(r"\[@\]|\[at\]|\(at\)", re.IGNORECASE), "@"),
    (re.compile(r"^hxxp", re.IGNORECASE), "http"),
    (re.compile(r"^fxp", re.IGNORECASE), "ftp"),
]
# Networks whose addresses describe someone's own network, not an attacker's: an indicator
# inside them would match internal sign-ins. (Documentation ranges are allowed: examples.)
_NOT_ATTACKER_V4 = [
    ipaddress.ip_network(n)
    for n in ("0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
              "192.168.0.0/16", "224.0.0.0/3", "100.64.0.0/10")
]  # fmt: skip
_NOT_ATTACKER_V6 = [
    ipaddress.ip_network(n) for n in ("::/127", "fc00::/7", "fe80::/10", "ff00::/8")
]
# Shared hosting and big providers: an indicator naming one of these exactly must not make
# every customer sub-domain an indicator, so these match only exactly, never by parent domain.
_SHARED = """web.app firebaseapp.com firebaseio.com appspot.com blogspot.com github.io gitlab.io
    herokuapp.com azurewebsites.net cloudapp.net windows.net core.windows.net
    blob.core.windows.net web.core.windows.net azureedge.net trafficmanager.net
    onmicrosoft.com sharepoint.com office.com microsoft.com live.com outlook.com google.com
    googleusercontent.com googleapis.com cloudfront.net amazonaws.com s3.amazonaws.com
    workers.dev pages.dev netlify.app vercel.app glitch.me repl.co ngrok.io ngrok-free.app
    duckdns.org ddns.net no-ip.org no-ip.com hopto.org servehttp.com sytes.net myftp.org
    zapto.org dynu.net freedns.org afraid.org 000webhostapp.com wixsite.com weebly.com
    wordpress.com godaddysites.com dropbox.com box.com onedrive.com 1drv.ms
    mailchimp.com constantcontact.com sendgrid.net r2.dev
    """
SHARED_SUFFIXES: Final = frozenset(_SHARED.split())


class BadValue(ValueError):
    """A value that is not a valid indicator of the type it was given as."""


class NotAttackerSpace(BadValue):
    """An address or network that cannot be an attacker's (private, reserved, too broad)."""


def clean(raw: str) -> str:
    """Trim (including no-break and zero-width spaces) and refang."""
    text = _SPACE.sub(" ", raw).strip().strip("\"'<>").strip()
    for pattern, replacement in _REFANG:
        text = pattern.sub(replacement, text)
    return text


def _ip(text: str) -> tuple[str, str]:
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    number = int(address)
    for blocked_lo, blocked_hi in _BLOCKED[address.version]:
        if blocked_lo <= number <= blocked_hi:
            raise NotAttackerSpace(f"{address} is private, local or reserved address space")
    return ("ipv4" if address.version == 4 else "ipv6"), str(address)


_BLOCKED = {
    version: [(int(n.network_address), int(n.broadcast_address)) for n in networks]
    for version, networks in ((4, _NOT_ATTACKER_V4), (6, _NOT_ATTACKER_V6))
}


def _check_public(network: ipaddress.IPv4Network | ipaddress.IPv6Network, shown: str) -> None:
    lo, hi = int(network.network_address), int(network.broadcast_address)
    for blocked_lo, blocked_hi in _BLOCKED[network.version]:
        if lo <= blocked_hi and blocked_lo <= hi:
            raise NotAttackerSpace(f"{shown} is private, local or reserved address space")


def _network(text: str) -> tuple[str, str]:
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise BadValue(f"not an IP network: {exc}") from None
    if network.prefixlen == network.max_prefixlen:
        return _ip(str(network.network_address))
    minimum = MIN_PREFIX_V4 if network.version == 4 else MIN_PREFIX_V6
    if network.prefixlen < minimum:
        raise NotAttackerSpace(f"network {network} is too broad (shorter than /{minimum})")
    _check_public(network, str(network))
    return "cidr", str(network)


def normalise_ip(text: str) -> tuple[str, str]:
    """``(type, value)`` for an address or network; raises BadValue."""
    text = clean(text)
    if "/" in text:
        return _network(text)
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    try:
        return _ip(text)
    except BadValue:
        raise
    except ValueError:
        raise BadValue(f"not an IP address: {text[:80]!r}") from None


def normalise_domain(text: str) -> str:
    """Lower-case IDNA form without trailing dot or wildcard; raises BadValue."""
    text = clean(text).lower().rstrip(".")
    text = text.removeprefix("*.")
    if not text or len(text) > 253:
        raise BadValue("not a domain name (empty or longer than 253 characters)")
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            raise BadValue(f"not a valid internationalised domain name: {text[:80]!r}") from None
    labels = text.split(".")
    if len(labels) < 2:
        raise BadValue(f"not a domain name (one label only): {text[:80]!r}")
    if not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise BadValue(f"not a domain name: {text[:80]!r}")
    return text


def normalise_email(text: str) -> str:
    text = clean(text).lower().removeprefix("mailto:")
    local, at, domain = text.rpartition("@")
    if not at or not _LOCAL.match(local):
        raise BadValue(f"not an e-mail address: {text[:80]!r}")
    return f"{local}@{normalise_domain(domain)}"


def normalise_url(text: str) -> str:
    """``scheme://host[:port]/path?query`` with scheme and host lower-case."""
    text = clean(text)
    if not _SCHEME.match(text):
        text = "http://" + text  # maltrail writes URL trails without a scheme
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise BadValue(f"not a URL: {text[:80]!r}") from None
    host = parts.hostname or ""
    if not host:
        raise BadValue(f"URL without a host: {text[:80]!r}")
    scheme = parts.scheme.lower()
    try:
        kind, host = normalise_ip(host)
        if kind == "ipv6":
            host = f"[{host}]"
        elif kind == "cidr":
            raise BadValue("a network is not a URL host")
    except BadValue:
        host = normalise_domain(host)
    default = {"http": 80, "https": 443, "ftp": 21}.get(scheme)
    netloc = host if port is None or port == default else f"{host}:{port}"
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{netloc}{path}{query}"


def url_host(url: str) -> str:
    """The host of a normalised URL (an IPv6 host without brackets)."""
    return urlsplit(url).hostname or ""


def url_key(url: str) -> str:
    """A normalised URL without its scheme: ``http://x/a`` and ``https://x/a`` are one URL."""
    return url.split("://", 1)[-1]


def normalise_hash(text: str, kind: str | None = None) -> tuple[str, str]:
    text = clean(text).lower()
    found = _HEX.get(len(text)) if _HEX_RE.fullmatch(text) else None
    if found is None or (kind is not None and found != kind):
        want = kind or "MD5, SHA-1 or SHA-256"
        raise BadValue(f"not a {want} hash: {text[:80]!r}")
    return found, text


def normalise_asn(text: str) -> str:
    match = _ASN.match(clean(text))
    if not match or int(match.group(1)) >= 2**32:
        raise BadValue(f"not an autonomous system number: {text[:80]!r}")
    return str(int(match.group(1)))


def normalise(kind: str | None, raw: object) -> tuple[str, str]:
    """``(type, value)`` for ``raw`` read as ``kind`` (None: recognise it); raises BadValue.

    ``kind`` is one of :data:`TYPES`, or ``ip`` (an address or network of either family),
    or ``hash``.
    """
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise BadValue(f"value must be text, not {type(raw).__name__}")
    text = str(raw)
    if len(text) > MAX_VALUE:
        raise BadValue(f"value longer than {MAX_VALUE} characters")
    if not clean(text):
        raise BadValue("empty value")
    if kind is None:
        return recognise(text)
    if kind in ("ipv4", "ipv6", "cidr", "ip"):
        found, value = normalise_ip(text)
        if kind in ("ipv4", "ipv6") and found not in (kind, "cidr"):
            raise BadValue(f"{value} is not an {kind.upper()} address")
        return found, value
    if kind == "domain":
        return "domain", normalise_domain(text)
    if kind == "url":
        return "url", normalise_url(text)
    if kind == "email":
        return "email", normalise_email(text)
    if kind == "asn":
        return "asn", normalise_asn(text)
    if kind in ("md5", "sha1", "sha256", "hash"):
        return normalise_hash(text, None if kind == "hash" else kind)
    raise BadValue(f"unknown indicator type {kind!r}")


def recognise(raw: str) -> tuple[str, str]:
    """Guess the type of a bare value (a trail line, a CSV cell without a type column)."""
    text = clean(raw)
    if not text or " " in text:
        raise BadValue(f"not an indicator: {text[:80]!r}")
    lowered = text.lower()
    if _HEX_RE.fullmatch(lowered) and len(lowered) in _HEX:
        return normalise_hash(lowered)
    if _SCHEME.match(text):
        return "url", normalise_url(text)
    try:
        return normalise_ip(text)
    except NotAttackerSpace:
        raise
    except BadValue:
        pass
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and "/" not in text and host.count(":") == 0:
        # ip:port or host:port as maltrail writes it: the address is the indicator.
        try:
            return normalise_ip(host)
        except NotAttackerSpace:
            raise
        except BadValue:
            return "domain", normalise_domain(host)
    if "@" in text and "/" not in text:
        return "email", normalise_email(text)
    if "/" in text:
        return "url", normalise_url(text)
    if _ASN.match(text) and lowered.startswith("as"):
        return "asn", normalise_asn(text)
    return "domain", normalise_domain(text)


def ipv4_range(kind: str, value: str) -> tuple[int, int] | None:
    """First and last address of an IPv4 address or network, as integers."""
    if kind == "ipv4":
        n = int(ipaddress.IPv4Address(value))
        return n, n
    if kind == "cidr" and ":" not in value:
        net = ipaddress.IPv4Network(value)
        return int(net.network_address), int(net.broadcast_address)
    return None


def ip_forms(kind: str, value: str) -> list[str]:
    """How logs spell an address: IPv4 dotted; IPv6 compressed, exploded, and uncompressed
    without leading zeros (``2001:db8::1``, ``2001:0db8:…:0001``, ``2001:db8:0:0:0:0:0:1``)."""
    if kind == "ipv4":
        return [value]
    if kind == "ipv6":
        address = ipaddress.IPv6Address(value)
        plain = ":".join(f"{int(group, 16):x}" for group in address.exploded.split(":"))
        return list(dict.fromkeys([address.compressed, address.exploded, plain]))
    return []


# Dates ---------------------------------------------------------------------------------------

_DATE_LAYOUTS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d",
)
_EPOCH_MIN, _EPOCH_MAX = datetime(1990, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def parse_time(raw: object) -> datetime | None:
    """A UTC datetime from ISO 8601, ``M/D/YYYY[ h:mm[:ss] [AM|PM]]`` or epoch seconds.

    Empty → None; anything else unparseable raises BadValue. Times without a zone are UTC.
    """
    if raw is None or isinstance(raw, bool):
        if raw is None:
            return None
        raise BadValue("a date must be text or a number")
    if isinstance(raw, int | float):
        return _from_epoch(float(raw))
    if not isinstance(raw, str):
        raise BadValue(f"a date must be text, not {type(raw).__name__}")
    text = " ".join(raw.replace(",", " ").split())
    if not text:
        return None
    if len(text) > 64:
        raise BadValue("date longer than 64 characters")
    if text.isdigit():
        return _from_epoch(float(text))
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        for layout in _DATE_LAYOUTS:
            try:
                moment = datetime.strptime(text, layout)  # no zone: UTC, set below
                break
            except ValueError:
                continue
    if moment is None:
        raise BadValue(f"not a date: {text!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _from_epoch(seconds: float) -> datetime:
    try:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    except OverflowError:
        raise BadValue("epoch time out of range") from None
    if not _EPOCH_MIN <= moment <= _EPOCH_MAX:
        raise BadValue(f"epoch time {seconds:.0f} out of range")
    return moment
