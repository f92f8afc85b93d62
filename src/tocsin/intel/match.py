"""Match values against the store, in batches, at a given time.

What matches what:

* an IP: an indicator for that address, or a network (``cidr``) that contains it;
* a domain: an indicator for that domain or for any parent domain (``login.evil.example``
  matches ``evil.example``) — except parents that are shared hosting or big providers
  (``web.app``, ``duckdns.org``…, see ``values.SHARED_SUFFIXES``), which match only exactly;
* a URL: the URL (scheme ignored: ``http`` and ``https`` are one URL), and its host as an IP
  or domain;
* an e-mail address: the address, and its domain as a domain;
* an ASN, a hash: exactly.

Only indicators valid at the time asked (``valid_from`` ≤ t < ``valid_until``) and meant for
matching (not sinkholes) count, unless ``everything=True`` (what ``tocsin intel lookup`` shows).
The index is built once per store version and cached, so mail detectors can call the
``match_*`` functions for every batch.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from threading import Lock

from tocsin.intel.model import Indicator
from tocsin.intel.store import IntelStore
from tocsin.intel.values import (
    SHARED_SUFFIXES,
    BadValue,
    normalise_asn,
    normalise_domain,
    normalise_email,
    normalise_hash,
    normalise_ip,
    normalise_url,
    url_host,
    url_key,
)


@dataclass(frozen=True, slots=True)
class Match:
    value: str  # the value asked about, as given
    indicator: Indicator
    how: str  # "exact", "inside 203.0.113.0/24", "parent domain evil.example", "URL host"…


class IntelIndex:
    """In-memory lookup structures over a set of indicators."""

    def __init__(self, indicators: Iterable[Indicator]) -> None:
        self._exact: dict[tuple[str, str], list[Indicator]] = {}
        # prefix length → network address (int) → indicators, per IP version
        self._nets: dict[int, dict[int, dict[int, list[Indicator]]]] = {4: {}, 6: {}}
        self.size = 0
        for indicator in indicators:
            self.size += 1
            if indicator.type == "cidr":
                net = ipaddress.ip_network(indicator.value)
                by_len = self._nets[net.version].setdefault(net.prefixlen, {})
                by_len.setdefault(int(net.network_address), []).append(indicator)
            else:
                family = "ip" if indicator.type in ("ipv4", "ipv6") else indicator.type
                value = url_key(indicator.value) if family == "url" else indicator.value
                self._exact.setdefault((family, value), []).append(indicator)

    @classmethod
    def load(cls, data_dir: Path) -> IntelIndex:
        """The index of ``data_dir``'s store (cached until the store file changes)."""
        path = IntelStore(data_dir).path
        try:
            stat = path.stat()
            version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except FileNotFoundError:
            version = (0, 0, 0)
        key = str(path.resolve())
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
            if cached is not None and cached[0] == version:
                return cached[1]
        index = cls(IntelStore(data_dir).load().values())
        with _CACHE_LOCK:
            _CACHE[key] = (version, index)
        return index

    # single values -------------------------------------------------------------------------

    def _exact_hits(self, family: str, value: str, how: str) -> list[tuple[Indicator, str]]:
        return [(i, how) for i in self._exact.get((family, value), [])]

    def ip_hits(self, ip: str) -> list[tuple[Indicator, str]]:
        kind, value = normalise_ip(ip)
        if kind == "cidr":
            raise BadValue("a network, not an address")
        hits = self._exact_hits("ip", value, "exact")
        address = ipaddress.ip_address(value)
        bits = address.max_prefixlen
        number = int(address)
        for prefix, networks in self._nets[address.version].items():
            network = number >> (bits - prefix) << (bits - prefix)
            for indicator in networks.get(network, []):
                hits.append((indicator, f"inside {indicator.value}"))
        return hits

    def domain_hits(self, domain: str) -> list[tuple[Indicator, str]]:
        name = normalise_domain(domain)
        hits = self._exact_hits("domain", name, "exact")
        labels = name.split(".")
        for start in range(1, len(labels)):
            parent = ".".join(labels[start:])
            if parent in SHARED_SUFFIXES or "." not in parent:
                continue
            hits += self._exact_hits("domain", parent, f"parent domain {parent}")
        return hits

    def host_hits(self, host: str) -> list[tuple[Indicator, str]]:
        try:
            return [(i, f"host: {how}") for i, how in self.ip_hits(host)]
        except BadValue:
            return [(i, f"host: {how}") for i, how in self.domain_hits(host)]

    def url_hits(self, url: str) -> list[tuple[Indicator, str]]:
        value = normalise_url(url)
        hits = self._exact_hits("url", url_key(value), "exact")
        return hits + [(i, f"URL {how}") for i, how in self.host_hits(url_host(value))]

    def email_hits(self, address: str) -> list[tuple[Indicator, str]]:
        value = normalise_email(address)
        hits = self._exact_hits("email", value, "exact")
        domain = value.rsplit("@", 1)[1]
        return hits + [(i, f"address domain: {how}") for i, how in self.domain_hits(domain)]

    def asn_hits(self, asn: str | int) -> list[tuple[Indicator, str]]:
        return self._exact_hits("asn", normalise_asn(str(asn)), "exact")

    def hash_hits(self, digest: str) -> list[tuple[Indicator, str]]:
        kind, value = normalise_hash(digest)
        return self._exact_hits(kind, value, "exact")

    # batches -------------------------------------------------------------------------------

    def _batch(
        self,
        values: Iterable[str],
        finder: Callable[[str], list[tuple[Indicator, str]]],
        at: datetime | None,
        everything: bool,
    ) -> dict[str, list[Match]]:
        moment = at or datetime.now(UTC)
        out: dict[str, list[Match]] = {}
        for value in values:
            if value in out or not isinstance(value, str):
                continue
            try:
                hits = finder(value)
            except BadValue:
                continue
            found = [
                Match(value, indicator, how)
                for indicator, how in hits
                if everything or (indicator.matches and indicator.valid_at(moment))
            ]
            if found:
                out[value] = found
        return out

    def match_ips(
        self, ips: Iterable[str], at: datetime | None = None, *, everything: bool = False
    ) -> dict[str, list[Match]]:
        """Addresses → the indicators (exact or containing network) valid at ``at``."""
        return self._batch(ips, self.ip_hits, at, everything)

    def match_domains(
        self, domains: Iterable[str], at: datetime | None = None, *, everything: bool = False
    ) -> dict[str, list[Match]]:
        """Domains (or hosts, which may be IPs) → indicators, parent domains included."""
        return self._batch(domains, self.host_hits, at, everything)

    def match_urls(
        self, urls: Iterable[str], at: datetime | None = None, *, everything: bool = False
    ) -> dict[str, list[Match]]:
        """URLs → indicators for the URL or its host."""
        return self._batch(urls, self.url_hits, at, everything)

    def match_emails(
        self, addresses: Iterable[str], at: datetime | None = None, *, everything: bool = False
    ) -> dict[str, list[Match]]:
        """E-mail addresses → indicators for the address or its domain."""
        return self._batch(addresses, self.email_hits, at, everything)

    def match_hashes(
        self, digests: Iterable[str], at: datetime | None = None, *, everything: bool = False
    ) -> dict[str, list[Match]]:
        """MD5, SHA-1 or SHA-256 digests (attachments) → indicators."""
        return self._batch(digests, self.hash_hits, at, everything)


_CACHE: dict[str, tuple[tuple[int, int, int], IntelIndex]] = {}
_CACHE_LOCK = Lock()


def match_ips(
    data_dir: Path, ips: Iterable[str], at: datetime | None = None
) -> dict[str, list[Match]]:
    """Addresses → indicators valid at ``at`` (default now) in ``data_dir``'s store."""
    return IntelIndex.load(data_dir).match_ips(ips, at)


def match_domains(
    data_dir: Path, domains: Iterable[str], at: datetime | None = None
) -> dict[str, list[Match]]:
    """Domains → indicators valid at ``at``, parent domains included."""
    return IntelIndex.load(data_dir).match_domains(domains, at)


def match_urls(
    data_dir: Path, urls: Iterable[str], at: datetime | None = None
) -> dict[str, list[Match]]:
    """URLs → indicators valid at ``at`` for the URL or its host."""
    return IntelIndex.load(data_dir).match_urls(urls, at)
