"""Infrastructure that is not a person's: Tor exits, hosting, commercial VPN egress.

Tor exit addresses come from tocsin's bundled exit history
(:func:`tocsin.enrich.data.tor_exits_active`), commercial VPN egress addresses from
:func:`tocsin.enrich.data.vpn_servers`, and hosting addresses are drawn from prefixes of the
autonomous systems listed in :func:`tocsin.enrich.data.hosting_asns` — so tocsin's own
enrichment tags the simulated attackers the way it would tag real ones.
"""

from __future__ import annotations

import random
import zlib
from datetime import date
from functools import cache
from typing import Final

from tocsin.enrich.data import VpnServer, tor_exits, tor_exits_active, vpn_servers
from tocsin.simulate.geo import CAPITALS, CITIES, Network
from tocsin.simulate.render import Agent, Spot

# Hosting networks (ASNs from hosting_asns.csv) with prefixes they announce and a datacentre.
HOSTING: Final = (
    (Network("DigitalOcean", 14061, ("159.203.0.0/16", "167.99.0.0/16", "134.209.0.0/16")),
     "Clifton"),
    (Network("OVH", 16276, ("51.89.0.0/16", "54.36.0.0/16", "145.239.0.0/16")), "Roubaix"),
    (Network("Hetzner Online", 24940, ("95.216.0.0/15", "135.181.0.0/16", "88.198.0.0/16")),
     "Falkenstein"),
    (Network("The Constant Company (Vultr)", 20473, ("45.32.0.0/16", "45.76.0.0/16",
                                                     "149.28.0.0/16")), "Piscataway"),
    (Network("Akamai Connected Cloud (Linode)", 63949, ("172.104.0.0/15", "139.162.0.0/16")),
     "Fremont"),
    (Network("M247", 9009, ("37.120.128.0/17", "146.70.0.0/16")), "Bucharest"),
    (Network("LeaseWeb Netherlands", 60781, ("37.48.64.0/18", "212.32.224.0/19")), "Amsterdam"),
    (Network("Contabo", 51167, ("5.189.128.0/17", "207.180.192.0/18")), "Nuremberg"),
    (Network("ColoCrossing", 36352, ("192.3.0.0/16", "23.94.0.0/15", "198.23.128.0/17")),
     "Buffalo"),
    (Network("Scaleway", 12876, ("51.15.0.0/16", "163.172.0.0/16")), "Paris"),
)  # fmt: skip

# Well-known Tor exit operators' address blocks (first octets) → ASN and datacentre city.
_TOR_BLOCKS: Final = {
    "185.220.100": (205100, "Frankfurt am Main"), "185.220.101": (60729, "Frankfurt am Main"),
    "185.220.102": (60729, "Frankfurt am Main"), "185.220.103": (60729, "Frankfurt am Main"),
    "199.249": (62744, "Dallas"), "23.129": (396507, "Seattle"), "162.247": (4224, "New York"),
    "104.244": (53667, "Luxembourg"), "107.189": (53667, "Luxembourg"),
    "209.141": (53667, "Las Vegas"), "198.98": (53667, "Las Vegas"),
    "205.185": (53667, "New York"), "199.195": (53667, "Las Vegas"),
    "51.81": (16276, "Roubaix"), "51.195": (16276, "Roubaix"), "51.83": (16276, "Roubaix"),
    "51.75": (16276, "Roubaix"), "51.77": (16276, "Roubaix"), "51.68": (16276, "Roubaix"),
    "145.239": (16276, "Roubaix"), "51.79": (16276, "Beauharnois"),
    "142.44": (16276, "Beauharnois"), "144.217": (16276, "Beauharnois"),
    "139.99": (16276, "Beauharnois"), "158.69": (16276, "Beauharnois"),
    "51.15": (12876, "Paris"), "163.172": (12876, "Paris"), "51.158": (12876, "Paris"),
    "178.17": (43289, "Chisinau"), "178.175": (43289, "Chisinau"),
    "109.70": (208323, "Vienna"), "185.100": (200651, "Bucharest"),
    "192.42": (1101, "Amsterdam"), "176.10": (51852, "Zurich"), "179.43": (51852, "Zurich"),
    "81.17": (51852, "Zurich"), "176.123": (200019, "Chisinau"), "5.2": (60404, "Amsterdam"),
    "82.221": (50613, "Reykjavik"), "171.25": (198093, "Stockholm"),
    "77.247": (43350, "Amsterdam"),
}  # fmt: skip


def _stable(text: str) -> int:
    return zlib.crc32(text.encode())


# First octets IANA allocated to APNIC, LACNIC and (with AFRINIC) RIPE NCC; the rest is
# mostly ARIN's. Good enough to put an unknown Tor exit on the right continent.
_APNIC: Final = frozenset((1, 14, 27, 36, 39, 42, 43, 49, 58, 59, 60, 61, 101, 103, 106, 110,
                           111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124,
                           125, 126, 133, 150, 153, 163, 171, 175, 180, 182, 183, 202, 203, 210,
                           211, 218, 219, 220, 221, 222, 223))  # fmt: skip
_LACNIC: Final = frozenset((177, 179, 181, 186, 187, 189, 190, 191, 200, 201))
_RIPE: Final = frozenset((2, 5, 31, 37, 41, 46, 62, *range(77, 96), 102, 105, 109, 141,
                          145, 151, 154, 176, 178, 185, 188, 193, 194, 195, 196, 197, 212, 213,
                          217))  # fmt: skip
_ASIA: Final = ((20473, "The Constant Company (Vultr)", "Tokyo"),
                (63949, "Akamai Connected Cloud (Linode)", "Singapore"),
                (14061, "DigitalOcean", "Singapore"))  # fmt: skip
_LATAM: Final = ((20473, "The Constant Company (Vultr)", "Sao Paulo"),)


def tor_spot(ip: str) -> Spot:
    """A Tor exit with the ASN and city of its operator's block, else a regional hosting guess."""
    octets = ip.split(".")
    block = _TOR_BLOCKS.get(".".join(octets[:3])) or _TOR_BLOCKS.get(".".join(octets[:2]))
    if block is not None:
        return Spot(ip, block[0], CITIES[block[1]], "Tor exit")
    first, pick = int(octets[0]), _stable(".".join(octets[:2]))
    if first in _APNIC or first in _LACNIC:
        options = _ASIA if first in _APNIC else _LATAM
        asn, name, city = options[pick % len(options)]
        return Spot(ip, asn, CITIES[city], name)
    region = [h for h in HOSTING if (CITIES[h[1]].country not in ("US", "CA")) == (first in _RIPE)]
    network, city_name = region[pick % len(region)]
    return Spot(ip, network.asn, CITIES[city_name], network.name)


def tor_exits_throughout(start: date, end: date) -> list[str]:
    """IPv4 addresses that were Tor exits on the first and on the last day (sorted)."""
    first = set(tor_exits_active(start, start))
    return sorted(ip for ip in tor_exits_active(end, end) if ip in first and "." in ip)


@cache
def excluded_addresses() -> frozenset[str]:
    """Addresses a person's home or office must never get: every Tor exit and VPN server."""
    return frozenset(t.ip for t in tor_exits()) | frozenset(v.ip for v in vpn_servers())


def hosting_spot(rng: random.Random, taken: set[str]) -> Spot:
    network, city = rng.choice(HOSTING)
    return Spot(network.address(rng, taken), network.asn, CITIES[city], network.name)


# Commercial VPN providers host their egress with these networks.
_VPN_ASNS: Final = {
    "NordVPN": ((9009, "M247"), (60068, "Datacamp (CDN77)"), (136787, "TEFINCOM (NordVPN)")),
    "Private Internet Access": ((9009, "M247"), (212238, "Datacamp (CDN77)")),
    "TorGuard": ((9009, "M247"), (62240, "Clouvider")),
}
_US_VPN_CITIES: Final = ("New York", "Chicago", "Los Angeles", "Dallas", "Atlanta", "Seattle")


def vpn_spot(server: VpnServer) -> Spot:
    """A commercial VPN egress address, located in its server's country."""
    asn, name = _VPN_ASNS.get(server.provider, _VPN_ASNS["NordVPN"])[
        _stable(server.ip) % len(_VPN_ASNS.get(server.provider, _VPN_ASNS["NordVPN"]))
    ]
    if server.country == "US":
        city = CITIES[_US_VPN_CITIES[_stable(server.ip) % len(_US_VPN_CITIES)]]
    else:
        city = CAPITALS[server.country]
    return Spot(server.ip, asn, city, f"{server.provider} via {name}")


def vpn_servers_in(countries: tuple[str, ...]) -> list[VpnServer]:
    """NordVPN and Private Internet Access servers in these countries, in file order."""
    keep = ("NordVPN", "Private Internet Access")
    return [v for v in vpn_servers() if v.country in countries and v.provider in keep]


# STRONTIUM's tooling: uncommon and outdated clients (a small set, reused).
def _agent(ua: str, browser: str, client: str = "Browser") -> Agent:
    return Agent(ua, browser, client)


SPRAY_AGENTS: Final = (
    _agent("Mozilla/5.0 (Windows NT 10.0; rv:68.0) Gecko/20100101 Firefox/68.0", "Firefox 68.0"),
    _agent("Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/60.0.3112.113 Safari/537.36", "Chrome 60.0.3112"),
    _agent("Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1; Trident/7.0; SLCC2; .NET CLR "
           "2.0.50727; .NET CLR 3.5.30729)", "IE 7.0"),
    _agent("Microsoft Office/14.0 (Windows NT 6.1; Microsoft Outlook 14.0.7162; Pro)",
           "Rich Client 3.19.8.16603", "Mobile Apps and Desktop clients"),
)  # fmt: skip
SPRAY_OS: Final = ("Windows 10", "Windows 7", "Windows 7", "Windows 7")

# Credential-stuffing kits rotate ordinary browser strings, and some speak legacy protocols.
STUFFING_AGENTS: Final = (
    _agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/83.0.4103.116 Safari/537.36", "Chrome 83.0.4103"),
    _agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/84.0.4147.105 Safari/537.36", "Chrome 84.0.4147"),
    _agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:78.0) Gecko/20100101 Firefox/78.0",
           "Firefox 78.0"),
    _agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/605.1.15 (KHTML, like "
           "Gecko) Version/13.1 Safari/605.1.15", "Safari 13.1"),
    _agent("BAV2ROPC", "", "Other clients"),
    _agent("", "", "IMAP4"),
)  # fmt: skip

# Residential-proxy exits: home connections in many countries and networks.
PROXY_COUNTRIES: Final = ("US", "BR", "IN", "VN", "ID", "MX", "TR", "UA", "TH", "PL", "AR",
                          "EG", "FR", "DE", "GB", "CA")  # fmt: skip
