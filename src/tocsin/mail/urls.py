"""URLs and domains as data: split, normalise, find the registrable domain. Nothing is fetched.

The registrable domain ("the part someone bought") comes from the Public Suffix List bundled
with the ``publicsuffixlist`` package, private section included, so two customers of one
hosting service (``a.web.app``, ``b.web.app``) are two owners, as browsers see them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import parse_qsl, unquote, urlsplit

from publicsuffixlist import PublicSuffixList

MAX_URLS = 400  # per message; the rest are counted, not analysed
MAX_URL = 4096

# Plain-text links: with a scheme, or starting with www.
_TEXT_URL = re.compile(r"""(?i)\b(?:https?://|www\.)[^\s<>"'`{}|\\^\[\]]{2,4096}""")
_TRAILING = ".,;:!?)'\"»]>"
_IPV4ISH = re.compile(r"^(?:0x[0-9a-f]+|\d+)(?:\.(?:0x[0-9a-f]+|\d+)){0,3}$", re.IGNORECASE)


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


@dataclass(frozen=True, slots=True)
class Url:
    """One link, image or form target, as found in a message."""

    url: str  # as written (cut to MAX_URL)
    scheme: str  # lower-case, "" for scheme-less www. links
    host: str  # lower-case, IDNA (punycode) form; "" when there is none
    registrable: str  # registrable domain of host, or the IP, or ""
    path: str
    query: str
    is_ip: bool


def normalise_host(host: str) -> str:
    """Lower-case ASCII (punycode) host without trailing dot; '' when it cannot be one."""
    host = host.strip().strip(".").lower()
    if not host:
        return ""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        # Characters IDNA 2003 refuses (emoji, some symbols): keep them visible, do not guess.
        return host


@lru_cache(maxsize=65536)
def host_is_ip(host: str) -> bool:
    if ":" not in host and host[-1:].isalpha():
        return False
    if _IPV4ISH.match(host):
        return True  # dotted, decimal (3232235777) or hex forms all reach an address
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=65536)
def registrable(host: str) -> str:
    """``login.evil.co.uk`` → ``evil.co.uk``; an IP is its own; '' for nothing."""
    if not host:
        return ""
    if host_is_ip(host):
        return host
    found = _psl().privatesuffix(host)
    if found is None:
        return host
    return str(found)


def public_suffix(host: str) -> str:
    found = _psl().publicsuffix(host)
    return str(found) if found else ""


_DOCUMENTATION_TLDS = ("example", "test")  # RFC 2606 / RFC 6761: samples and tests use them


@lru_cache(maxsize=16384)
def known_suffix(host: str) -> bool:
    """True when ``host`` ends in a real top-level domain (one the Public Suffix List has)."""
    if host.rsplit(".", 1)[-1] in _DOCUMENTATION_TLDS:
        return True
    return _psl().publicsuffix(host, accept_unknown=False) is not None


@lru_cache(maxsize=16384)
def parse_url(raw: str) -> Url | None:
    """Split a link; None when it is not a URL with a host (mailto:, cid:, anchors…)."""
    text = raw.strip()[:MAX_URL]
    if not text:
        return None
    lowered = text[:16].lower()
    if lowered.startswith("www."):
        text = "http://" + text
        scheme_given = ""
    else:
        scheme_given = None
    try:
        parts = urlsplit(text)
        host_raw = parts.hostname or ""
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme_given is not None:
        scheme = scheme_given
    if not host_raw and scheme not in ("data", "javascript", "vbscript", "file"):
        return None
    host = normalise_host(unquote(host_raw))
    is_ip = host_is_ip(host) if host else False
    return Url(
        url=raw.strip()[:MAX_URL],
        scheme=scheme,
        host=host,
        registrable=registrable(host) if host else "",
        path=parts.path,
        query=parts.query,
        is_ip=is_ip,
    )


def text_urls(text: str, limit: int = MAX_URLS) -> list[str]:
    """Links written out in plain text."""
    found: list[str] = []
    for match in _TEXT_URL.finditer(text):
        found.append(match.group(0).rstrip(_TRAILING))
        if len(found) >= limit:
            break
    return found


def embedded_urls(url: Url) -> list[str]:
    """URLs carried inside another URL's query (redirectors: ``?url=https://…``)."""
    out: list[str] = []
    try:
        pairs = parse_qsl(url.query, keep_blank_values=False)
    except ValueError:
        return out
    for _, value in pairs[:50]:
        value = value.strip()
        lowered = value[:12].lower()
        if lowered.startswith(("http://", "https://", "//", "www.")):
            out.append("http:" + value if value.startswith("//") else value)
    return out


# Link-protection services that rewrite every link of a message delivered through them
# (Microsoft Defender Safe Links, Proofpoint URL Defense, Mimecast, Barracuda, Cisco, Symantec):
# the link that matters is the one inside. Mail from a mailbox that has them would otherwise
# show every link as "text says one domain, link goes to another".
_WRAPPERS = frozenset(
    """safelinks.protection.outlook.com urldefense.com urldefense.proofpoint.com
    protect.mimecast.com protect-eu.mimecast.com protect-us.mimecast.com protect-au.mimecast.com
    linkprotect.cudasvc.com secure-web.cisco.com clicktime.symantec.com""".split()  # noqa: SIM905
)
_URLDEFENSE_V3 = re.compile(r"^/v3/__(.+?)__;", re.DOTALL)


def unwrap(raw: str) -> str:
    """The original URL inside a link-protection wrapper; ``raw`` itself otherwise."""
    lowered = raw[:80].lower()
    if not any(w in lowered for w in _WRAPPERS):
        return raw
    url = parse_url(raw)
    if url is None or not any(url.host == w or url.host.endswith("." + w) for w in _WRAPPERS):
        return raw
    found = _URLDEFENSE_V3.match(url.path)
    if found:
        return found.group(1)
    inner = embedded_urls(url)
    return inner[0] if inner else raw


def domain_of_address(address: str) -> str:
    """The (normalised) domain of an e-mail address, '' when it has none."""
    if "@" not in address:
        return ""
    return normalise_host(address.rsplit("@", 1)[1].strip().strip(">"))


def display_host(host: str) -> str:
    """A punycode host as people would see it (``xn--pypal-4ve.com`` → ``pаypal.com``)."""
    if "xn--" not in host:
        return host
    try:
        return host.encode("ascii").decode("idna")
    except UnicodeError:
        return host
