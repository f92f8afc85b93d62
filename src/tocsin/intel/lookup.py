"""Everything tocsin knows about one value: indicators, Tor, VPN and hosting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tocsin.enrich.data import TorExit, VpnServer, hosting_asns, tor_exits, vpn_servers
from tocsin.intel.match import IntelIndex, Match
from tocsin.intel.values import BadValue, normalise, recognise


@dataclass(slots=True)
class Lookup:
    query: str
    kind: str  # ipv4, ipv6, cidr, domain, url, email, asn, sha256, sha1, md5
    value: str  # normalised
    at: datetime
    matches: list[Match] = field(default_factory=list)  # every indicator, valid or not
    tor: list[TorExit] = field(default_factory=list)
    vpn: list[VpnServer] = field(default_factory=list)
    hosting: tuple[str, str] | None = None  # (organisation, kind) of an ASN

    def active(self) -> list[Match]:
        return [m for m in self.matches if m.indicator.valid_at(self.at) and m.indicator.matches]


def _kind(query: str) -> tuple[str, str]:
    text = query.strip()
    if text.upper().startswith("AS") and text[2:].strip().isdigit():
        return normalise("asn", text)
    if text.isdigit():
        return normalise("asn", text)
    return recognise(text)


def lookup(data_dir: Path, query: str, at: datetime | None = None) -> Lookup:
    """Look ``query`` up; raises BadValue when it is no IP, domain, URL, e-mail, ASN or hash."""
    kind, value = _kind(query)
    result = Lookup(query, kind, value, at or datetime.now(UTC))
    index = IntelIndex.load(data_dir)
    finders = {
        "ipv4": index.ip_hits,
        "ipv6": index.ip_hits,
        "domain": index.domain_hits,
        "url": index.url_hits,
        "email": index.email_hits,
        "asn": index.asn_hits,
        "md5": index.hash_hits,
        "sha1": index.hash_hits,
        "sha256": index.hash_hits,
    }
    if kind == "cidr":
        raise BadValue("look up an address, not a network")
    hits = finders[kind](value)
    result.matches = [Match(query, indicator, how) for indicator, how in hits]
    result.matches.sort(
        key=lambda m: (not m.indicator.valid_at(result.at), -m.indicator.confidence)
    )
    if kind in ("ipv4", "ipv6"):
        result.tor = [t for t in tor_exits() if t.ip == value]
        result.vpn = [v for v in vpn_servers() if v.ip == value]
    if kind == "asn":
        result.hosting = hosting_asns().get(int(value))
    return result
