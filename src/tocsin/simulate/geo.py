"""Where simulated sign-ins come from: cities, and the networks that serve people there.

Every address is drawn at random from a prefix announced by the network it is attributed to
(residential ISPs, mobile carriers, business ISPs), so ``autonomousSystemNumber`` and the
location in a record agree with the address the way a real log's would. The prefixes are
public routing facts summarised by hand and may be approximate; the individual addresses are
random and belong to nobody in particular. The same address always carries the same ASN and
location within one simulation.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from typing import Final, NamedTuple


class City(NamedTuple):
    name: str
    state: str
    country: str
    lat: float
    lon: float
    tz: str


def _cities(rows: str) -> dict[str, City]:
    out: dict[str, City] = {}
    for row in rows.strip().splitlines():
        name, state, country, lat, lon, tz = (part.strip() for part in row.split("|"))
        out[name] = City(name, state, country, float(lat), float(lon), tz)
    return out


# name | state/region | country | latitude | longitude | IANA time zone
CITIES: Final = _cities("""
Philadelphia|Pennsylvania|US|39.9526|-75.1652|America/New_York
Washington|District of Columbia|US|38.9072|-77.0369|America/New_York
Arlington|Virginia|US|38.8816|-77.0910|America/New_York
New York|New York|US|40.7128|-74.0060|America/New_York
Baltimore|Maryland|US|39.2904|-76.6122|America/New_York
Pittsburgh|Pennsylvania|US|40.4406|-79.9959|America/New_York
Atlanta|Georgia|US|33.7490|-84.3880|America/New_York
Raleigh|North Carolina|US|35.7796|-78.6382|America/New_York
Detroit|Michigan|US|42.3314|-83.0458|America/Detroit
Chicago|Illinois|US|41.8781|-87.6298|America/Chicago
Milwaukee|Wisconsin|US|43.0389|-87.9065|America/Chicago
Minneapolis|Minnesota|US|44.9778|-93.2650|America/Chicago
Dallas|Texas|US|32.7767|-96.7970|America/Chicago
Denver|Colorado|US|39.7392|-104.9903|America/Denver
Phoenix|Arizona|US|33.4484|-112.0740|America/Phoenix
Las Vegas|Nevada|US|36.1699|-115.1398|America/Los_Angeles
Los Angeles|California|US|34.0522|-118.2437|America/Los_Angeles
Fremont|California|US|37.5485|-121.9886|America/Los_Angeles
Seattle|Washington|US|47.6062|-122.3321|America/Los_Angeles
Buffalo|New York|US|42.8864|-78.8784|America/New_York
Clifton|New Jersey|US|40.8584|-74.1638|America/New_York
Piscataway|New Jersey|US|40.4993|-74.3990|America/New_York
Ashburn|Virginia|US|39.0438|-77.4874|America/New_York
Tampa|Florida|US|27.9506|-82.4572|America/New_York
London|England|GB|51.5074|-0.1278|Europe/London
Manchester|England|GB|53.4808|-2.2426|Europe/London
Birmingham|England|GB|52.4862|-1.8904|Europe/London
Leeds|England|GB|53.8008|-1.5491|Europe/London
Bristol|England|GB|51.4545|-2.5879|Europe/London
Glasgow|Scotland|GB|55.8642|-4.2518|Europe/London
Edinburgh|Scotland|GB|55.9533|-3.1883|Europe/London
Cardiff|Wales|GB|51.4816|-3.1791|Europe/London
Berlin|Berlin|DE|52.5200|13.4050|Europe/Berlin
Hamburg|Hamburg|DE|53.5511|9.9937|Europe/Berlin
Munich|Bavaria|DE|48.1351|11.5820|Europe/Berlin
Cologne|North Rhine-Westphalia|DE|50.9375|6.9603|Europe/Berlin
Frankfurt am Main|Hesse|DE|50.1109|8.6821|Europe/Berlin
Leipzig|Saxony|DE|51.3397|12.3731|Europe/Berlin
Nuremberg|Bavaria|DE|49.4521|11.0767|Europe/Berlin
Falkenstein|Saxony|DE|50.4779|12.3713|Europe/Berlin
Paris|Ile-de-France|FR|48.8566|2.3522|Europe/Paris
Roubaix|Hauts-de-France|FR|50.6942|3.1746|Europe/Paris
Brussels|Brussels-Capital|BE|50.8503|4.3517|Europe/Brussels
Amsterdam|North Holland|NL|52.3676|4.9041|Europe/Amsterdam
Toronto|Ontario|CA|43.6532|-79.3832|America/Toronto
Montreal|Quebec|CA|45.5017|-73.5673|America/Toronto
Beauharnois|Quebec|CA|45.3151|-73.8779|America/Toronto
Zurich|Zurich|CH|47.3769|8.5417|Europe/Zurich
Vienna|Vienna|AT|48.2082|16.3738|Europe/Vienna
Stockholm|Stockholm County|SE|59.3293|18.0686|Europe/Stockholm
Bucharest|Bucharest|RO|44.4268|26.1025|Europe/Bucharest
Chisinau|Chisinau|MD|47.0105|28.8638|Europe/Chisinau
Luxembourg|Luxembourg|LU|49.6116|6.1319|Europe/Luxembourg
Reykjavik|Capital Region|IS|64.1466|-21.9426|Atlantic/Reykjavik
Helsinki|Uusimaa|FI|60.1699|24.9384|Europe/Helsinki
Prague|Prague|CZ|50.0755|14.4378|Europe/Prague
Warsaw|Masovia|PL|52.2297|21.0122|Europe/Warsaw
Madrid|Madrid|ES|40.4168|-3.7038|Europe/Madrid
Milan|Lombardy|IT|45.4642|9.1900|Europe/Rome
Oslo|Oslo|NO|59.9139|10.7522|Europe/Oslo
Copenhagen|Capital Region|DK|55.6761|12.5683|Europe/Copenhagen
Sao Paulo|Sao Paulo|BR|-23.5505|-46.6333|America/Sao_Paulo
Mumbai|Maharashtra|IN|19.0760|72.8777|Asia/Kolkata
Ho Chi Minh City|Ho Chi Minh City|VN|10.8231|106.6297|Asia/Ho_Chi_Minh
Jakarta|Jakarta|ID|-6.2088|106.8456|Asia/Jakarta
Mexico City|Mexico City|MX|19.4326|-99.1332|America/Mexico_City
Istanbul|Istanbul|TR|41.0082|28.9784|Europe/Istanbul
Kyiv|Kyiv City|UA|50.4501|30.5234|Europe/Kyiv
Bangkok|Bangkok|TH|13.7563|100.5018|Asia/Bangkok
Buenos Aires|Buenos Aires|AR|-34.6037|-58.3816|America/Argentina/Buenos_Aires
Cairo|Cairo|EG|30.0444|31.2357|Africa/Cairo
Tokyo|Tokyo|JP|35.6762|139.6503|Asia/Tokyo
Singapore|Singapore|SG|1.3521|103.8198|Asia/Singapore
""")

# Cities people live in, per country (for staff who work remotely, away from the office city).
HOME_CITIES: Final = {
    "US": ("Philadelphia", "Washington", "Arlington", "New York", "Baltimore", "Pittsburgh",
           "Atlanta", "Raleigh", "Detroit", "Chicago", "Milwaukee", "Minneapolis", "Denver",
           "Phoenix", "Los Angeles", "Seattle"),
    "GB": ("London", "Manchester", "Birmingham", "Leeds", "Bristol", "Glasgow", "Edinburgh",
           "Cardiff"),
    "DE": ("Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt am Main", "Leipzig"),
}  # fmt: skip
# The biggest city per country: where a network's addresses geolocate without better data.
CAPITALS: Final = {c.country: c for c in reversed(list(CITIES.values()))} | {
    "US": CITIES["New York"], "GB": CITIES["London"], "DE": CITIES["Frankfurt am Main"],
    "FR": CITIES["Paris"], "CA": CITIES["Toronto"],
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Network:
    """An autonomous system and a few of the prefixes it announces."""

    name: str
    asn: int
    prefixes: tuple[str, ...]
    weight: int = 1

    def address(self, rng: random.Random, taken: set[str]) -> str:
        """A host address in one of the prefixes, never one already ``taken`` (then taken)."""
        while True:
            net = ipaddress.IPv4Network(rng.choice(self.prefixes))
            base = int(net.network_address)
            value = base + rng.randrange(1, net.num_addresses - 1)
            if value & 0xFF in (0, 255):
                continue
            ip = str(ipaddress.IPv4Address(value))
            if ip not in taken:
                taken.add(ip)
                return ip


def _nets(*rows: tuple[str, int, str, int]) -> tuple[Network, ...]:
    return tuple(Network(name, asn, tuple(p.split()), weight) for name, asn, p, weight in rows)


RESIDENTIAL: Final[dict[str, tuple[Network, ...]]] = {
    "US": _nets(
        ("Comcast Cable", 7922, "73.0.0.0/8 98.192.0.0/10 68.32.0.0/11 71.192.0.0/12", 30),
        ("Verizon Fios", 701, "96.224.0.0/11 173.48.0.0/12", 20),
        ("Charter Communications", 20115, "24.176.0.0/12 71.80.0.0/13 97.80.0.0/12", 20),
        ("AT&T Internet", 7018, "99.0.0.0/11 76.192.0.0/10 108.192.0.0/11", 15),
        ("Cox Communications", 22773, "70.160.0.0/11 98.160.0.0/11", 8),
    ),
    "GB": _nets(
        ("British Telecommunications", 2856, "81.128.0.0/11 86.128.0.0/10", 30),
        ("Virgin Media", 5089, "82.0.0.0/11 86.0.0.0/12", 25),
        ("Sky Broadband", 5607, "90.192.0.0/11 2.96.0.0/12", 20),
        ("TalkTalk", 13285, "89.240.0.0/13", 15),
    ),
    "DE": _nets(
        ("Deutsche Telekom", 3320, "79.192.0.0/10 91.0.0.0/10 93.192.0.0/10", 40),
        ("Vodafone Germany", 3209, "88.64.0.0/12 178.0.0.0/12", 30),
        ("Telefonica Germany", 6805, "89.12.0.0/14", 15),
    ),
    "FR": _nets(("Orange", 3215, "90.0.0.0/10", 2), ("Free SAS", 12322, "82.64.0.0/14", 1)),
    "BE": _nets(("Proximus", 5432, "81.240.0.0/12", 2), ("Telenet", 6848, "81.82.0.0/15", 1)),
    "NL": _nets(("KPN", 1136, "77.160.0.0/12", 1), ("Ziggo", 33915, "84.24.0.0/13", 1)),
    "CA": _nets(("Rogers", 812, "99.224.0.0/11", 1), ("Bell Canada", 577, "70.48.0.0/13", 1)),
    "BR": _nets(("Telefonica Brasil (Vivo)", 26599, "179.96.0.0/13", 1)),
    "IN": _nets(("Reliance Jio", 55836, "49.32.0.0/12", 1), ("Bharti Airtel", 24560,
                "122.160.0.0/12", 1)),
    "VN": _nets(("Viettel", 7552, "171.224.0.0/11", 1), ("VNPT", 45899, "113.160.0.0/11", 1)),
    "ID": _nets(("Telkom Indonesia", 7713, "36.64.0.0/11", 1)),
    "MX": _nets(("Telmex", 8151, "187.128.0.0/10", 1)),
    "TR": _nets(("Turk Telekom", 9121, "78.160.0.0/11", 1)),
    "UA": _nets(("Kyivstar", 15895, "176.36.0.0/14", 1)),
    "TH": _nets(("True Internet", 7470, "171.96.0.0/13", 1)),
    "PL": _nets(("Orange Polska", 5617, "83.0.0.0/11", 1)),
    "AR": _nets(("Telecom Argentina", 7303, "181.0.0.0/12", 1)),
    "EG": _nets(("TE Data", 8452, "41.32.0.0/12", 1)),
}  # fmt: skip

# Mobile carriers: their subscribers share carrier-grade NAT addresses.
MOBILE: Final[dict[str, tuple[Network, ...]]] = {
    "US": _nets(
        ("T-Mobile USA", 21928, "172.32.0.0/11", 35),
        ("Verizon Wireless", 22394, "174.192.0.0/10", 40),
        ("AT&T Mobility", 20057, "166.128.0.0/9", 25),
    ),
    "GB": _nets(
        ("EE", 12576, "31.94.0.0/16", 35),
        ("Vodafone UK", 25135, "85.255.224.0/20", 25),
        ("O2 UK", 35228, "82.132.192.0/18", 25),
        ("Three UK", 206067, "92.40.0.0/16", 15),
    ),
    "DE": _nets(
        ("Telekom Deutschland Mobile", 3320, "80.187.0.0/16", 40),
        ("Vodafone Germany Mobile", 3209, "46.114.0.0/15", 35),
        ("Telefonica Germany Mobile", 6805, "176.0.0.0/13", 25),
    ),
}  # fmt: skip

# Business ISPs: office NAT and hotel Wi-Fi addresses.
BUSINESS: Final[dict[str, tuple[Network, ...]]] = {
    "US": _nets(
        ("Comcast Business", 7922, "50.192.0.0/10", 3),
        ("Verizon Business", 701, "71.160.0.0/11", 2),
        ("Lumen", 209, "63.224.0.0/11", 2),
        ("Cogent Communications", 174, "38.0.0.0/8", 1),
    ),
    "GB": _nets(("BT Business", 2856, "217.32.0.0/12", 2), ("Virgin Media Business", 5089,
                "62.252.0.0/14", 1)),
    "DE": _nets(("Deutsche Telekom Business", 3320, "217.224.0.0/11", 2), ("Vodafone Business",
                3209, "188.96.0.0/12", 1)),
    "FR": _nets(("Orange Business", 3215, "193.248.0.0/14", 1)),
    "BE": _nets(("Proximus Business", 5432, "91.176.0.0/13", 1)),
    "CA": _nets(("Bell Canada Business", 577, "142.112.0.0/12", 1)),
}  # fmt: skip


def pick(rng: random.Random, networks: tuple[Network, ...]) -> Network:
    return rng.choices(networks, weights=[n.weight for n in networks])[0]
