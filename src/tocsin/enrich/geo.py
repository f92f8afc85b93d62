"""Country, city and autonomous system of source addresses the log gave no place for, offline.

Where the vendor says where a sign-in came from (Entra's ``location`` and
``autonomousSystemNumber``, Okta's ``securityContext``), that is kept: the vendor saw the
connection. Only addresses lacking a country or an AS are looked up, once per distinct
address per commit, in:

1. the databases the user gives (``tocsin scan --geoip-db FILE``, or ``$TOCSIN_GEOIP_DB``):
   MaxMind GeoLite2/GeoIP2 or DB-IP ``.mmdb`` files (City, Country or ASN, read with
   ``maxminddb``), or a geoip2fast ``.dat.gz`` file (e.g. its city edition); the first database
   that knows a field wins;
2. the data bundled with the ``geoip2fast`` package: country and AS organisation name
   (MaxMind GeoLite2, IPv4; the IPv6 edition is loaded only when an IPv6 address needs it).
   It has no AS numbers and no cities.

The answers become a small Arrow table (``_geo``) joined in DuckDB by :func:`placed_select`,
which the lake applies before the tags of :mod:`tocsin.enrich.tags`. Nothing here touches the
network.

AS organisation names also classify the network (``hosting``, ``cloud``, ``vpn``) when the
AS number is unknown, with the bundled name patterns in ``data/hosting_orgs.csv``.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from threading import Lock
from typing import Any, Final, Protocol

import duckdb
import maxminddb
import pyarrow as pa

from tocsin.enrich.data import DATA

_GEO_FIELDS: list[pa.Field[Any]] = [
    pa.field("ip", pa.string()),
    pa.field("country", pa.string()),
    pa.field("city", pa.string()),
    pa.field("lat", pa.float64()),
    pa.field("lon", pa.float64()),
    pa.field("asn", pa.int64()),
    pa.field("org", pa.string()),
    pa.field("kind", pa.string()),
]
GEO_SCHEMA: Final = pa.schema(_GEO_FIELDS)
_MAX_TEXT = 200
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class GeoError(Exception):
    """A geolocation database the user named cannot be used."""


@dataclass(frozen=True, slots=True)
class Place:
    """What a database knows about one address (every field may be missing)."""

    country: str | None = None  # ISO 3166-1 alpha-2
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    asn: int | None = None
    org: str | None = None

    def merged(self, other: Place) -> Place:
        """This place, with the fields it lacks taken from ``other``.

        A city (and coordinates) only comes from a database that agrees on the country.
        """
        same_country = self.country is None or other.country in (None, self.country)
        return Place(
            country=self.country or other.country,
            city=self.city or (other.city if same_country else None),
            lat=self.lat if self.lat is not None else (other.lat if same_country else None),
            lon=self.lon if self.lon is not None else (other.lon if same_country else None),
            asn=self.asn if self.asn is not None else other.asn,
            org=self.org or (other.org if self.asn is None or other.asn in (None, self.asn)
                             else None),
        )  # fmt: skip

    @property
    def complete(self) -> bool:
        return self.country is not None and self.asn is not None and self.city is not None


class GeoSource(Protocol):
    name: str

    def lookup(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Place: ...


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()
    return cleaned[:_MAX_TEXT] or None


def _country(value: object) -> str | None:
    text = _text(value)
    return text.upper() if text and _COUNTRY.match(text.upper()) else None


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


class MmdbSource:
    """A MaxMind or DB-IP ``.mmdb`` database (City, Country, ASN or a combined edition)."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        try:
            self._reader = maxminddb.open_database(str(path))
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise GeoError(f"{path}: not a readable MaxMind/DB-IP database ({exc})") from None

    def lookup(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Place:
        try:
            record = self._reader.get(address)
        except (ValueError, maxminddb.InvalidDatabaseError):
            return Place()
        if not isinstance(record, dict):
            return Place()
        country = record.get("country") or record.get("registered_country") or {}
        city = record.get("city") or {}
        location = record.get("location") or {}
        names = city.get("names") if isinstance(city, dict) else None
        asn = record.get("autonomous_system_number")
        return Place(
            country=_country(country.get("iso_code")) if isinstance(country, dict) else None,
            city=_text(names.get("en")) if isinstance(names, dict) else None,
            lat=_number(location.get("latitude")) if isinstance(location, dict) else None,
            lon=_number(location.get("longitude")) if isinstance(location, dict) else None,
            asn=asn if isinstance(asn, int) and 0 < asn < 2**32 else None,
            org=_text(record.get("autonomous_system_organization")),
        )

    def close(self) -> None:
        self._reader.close()


# geoip2fast keeps its whole database in memory: load each file once per process.
_GEOIP2FAST: dict[str, Any] = {}
_GEOIP2FAST_LOCK = Lock()


def _geoip2fast(data_file: str) -> Any:
    with _GEOIP2FAST_LOCK:
        if data_file not in _GEOIP2FAST:
            from geoip2fast import GeoIP2Fast  # type: ignore[import-untyped]

            try:
                _GEOIP2FAST[data_file] = GeoIP2Fast(geoip2fast_data_file=data_file, verbose=False)
            except Exception as exc:  # geoip2fast raises bare Exceptions for bad files
                raise GeoError(f"{data_file}: not a usable geoip2fast data file ({exc})") from None
        return _GEOIP2FAST[data_file]


class Geoip2FastSource:
    """geoip2fast data: the package's bundled country + AS name files, or a file given."""

    BUNDLED_V4: Final = "geoip2fast-asn.dat.gz"
    BUNDLED_V6: Final = "geoip2fast-asn-ipv6.dat.gz"  # IPv4 and IPv6, larger: loaded on demand

    def __init__(self, data_file: Path | None = None) -> None:
        self._file = str(data_file) if data_file is not None else None
        self.name = data_file.name if data_file is not None else "geoip2fast (bundled)"
        if self._file is not None:
            _geoip2fast(self._file)  # fail now, not in the middle of a commit

    def lookup(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Place:
        if self._file is not None:
            engine = _geoip2fast(self._file)
        else:
            engine = _geoip2fast(self.BUNDLED_V4 if address.version == 4 else self.BUNDLED_V6)
        try:
            found = engine.lookup(str(address))
        except Exception:  # geoip2fast reports some bad input by raising Exception
            return Place()
        if getattr(found, "is_private", False):
            return Place()
        city = getattr(found, "city", None)
        city_name = getattr(city, "name", None) if city is not None else None
        return Place(
            country=_country(getattr(found, "country_code", None)),
            city=_text(city_name),
            org=_text(getattr(found, "asn_name", None)),
        )


@dataclass(frozen=True, slots=True)
class _OrgPattern:
    pattern: re.Pattern[str]
    kind: str
    organisation: str


@cache
def org_patterns() -> tuple[_OrgPattern, ...]:
    """Bundled AS-organisation name patterns → hosting, cloud or vpn."""
    text = (DATA / "hosting_orgs.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return tuple(
        _OrgPattern(re.compile(r["pattern"], re.IGNORECASE), r["kind"], r["organisation"])
        for r in rows
    )


def classify_org(org: str | None) -> str | None:
    """``hosting``, ``cloud`` or ``vpn`` for a known provider's AS name, else None."""
    if not org:
        return None
    for entry in org_patterns():
        if entry.pattern.search(org):
            return entry.kind
    return None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # Private, CGNAT, benchmarking, documentation…: no database knows them, and they are
    # the organisation's own network or a test, never a place.
    return address if address.is_global else None


class GeoResolver:
    """Looks addresses up in the user's databases first, then in geoip2fast's bundled data."""

    def __init__(self, databases: Sequence[Path] = (), *, bundled: bool = True) -> None:
        self.sources: list[GeoSource] = []
        for path in databases:
            if not path.is_file():
                raise GeoError(f"{path}: no such geolocation database")
            if path.name.endswith(".dat.gz"):
                self.sources.append(Geoip2FastSource(path))
            else:
                self.sources.append(MmdbSource(path))
        if bundled:
            self.sources.append(Geoip2FastSource())

    def lookup(self, ip: str) -> Place | None:
        """The merged answer for one address; None when it is not a public address."""
        address = _address(ip)
        if address is None:
            return None
        place = Place()
        for source in self.sources:
            place = place.merged(source.lookup(address))
            if place.complete:
                break
        return place

    def table(self, ips: Iterable[str]) -> pa.Table:
        """One row per public address any database knows something about."""
        columns: dict[str, list[Any]] = {name: [] for name in GEO_SCHEMA.names}
        for ip in ips:
            if not isinstance(ip, str):
                continue
            place = self.lookup(ip)
            if place is None or place == Place():
                continue
            for name, value in (("ip", ip), ("country", place.country), ("city", place.city),
                                ("lat", place.lat), ("lon", place.lon), ("asn", place.asn),
                                ("org", place.org), ("kind", classify_org(place.org))):  # fmt: skip
                columns[name].append(value)
        return pa.table(columns, schema=GEO_SCHEMA)


@cache
def default_resolver() -> GeoResolver:
    """The bundled-data resolver (shared: geoip2fast loads its data once per process)."""
    return GeoResolver()


_DUCK_TYPES: Final = {pa.string(): "VARCHAR", pa.float64(): "DOUBLE", pa.int64(): "BIGINT"}


def create_empty(con: duckdb.DuckDBPyConnection) -> None:
    """An empty ``_geo`` table, for enrichment without lookups."""
    columns = ", ".join(f"{f.name} {_DUCK_TYPES[f.type]}" for f in GEO_SCHEMA)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _geo ({columns})")


def install(
    con: duckdb.DuckDBPyConnection, relation: str, resolver: GeoResolver | None = None
) -> int:
    """Create ``_geo``: the place of every distinct address in ``relation`` lacking one.

    An address is looked up when some of its events have no country, or neither an AS number
    nor an AS name. Returns how many addresses were looked up.
    """
    rows = con.execute(
        f"SELECT DISTINCT src_ip FROM {relation} WHERE src_ip IS NOT NULL "
        "AND (src_country IS NULL OR (src_asn IS NULL AND src_org IS NULL))"
    ).fetchall()
    create_empty(con)
    if not rows:
        return 0
    table = (resolver or default_resolver()).table(str(r[0]) for r in rows)
    if table.num_rows:
        con.register("_geo_arrow", table)
        try:
            con.execute("INSERT INTO _geo SELECT * FROM _geo_arrow")
        finally:
            con.unregister("_geo_arrow")
    return len(rows)


# A looked-up city or coordinate fits an event only if its log named no country, or the same.
_SAME_COUNTRY = "(e.src_country IS NULL OR e.src_country = g.country)"


def placed_select(relation: str) -> str:
    """SELECT every column of ``relation`` with place and AS filled from ``_geo``.

    The log's own country, city, coordinates, AS number and AS name win. A looked-up city or
    coordinate is used only when the log named no country or the same one, a looked-up AS
    name only when the log gave no AS number or the same one. When the log gave no AS number
    and the AS name is a known hosting, cloud or VPN provider's, the event is tagged so.
    """
    return f"""
SELECT e.* REPLACE (
    CASE WHEN e.src_asn IS NULL AND g.kind IS NOT NULL
         THEN list_distinct(list_append(coalesce(e.ip_tags, []::VARCHAR[]),
                                        CASE WHEN g.kind = 'vpn' THEN 'vpn' ELSE 'hosting' END))
         ELSE e.ip_tags END AS ip_tags,
    coalesce(e.src_asn, g.asn) AS src_asn,
    coalesce(e.src_org,
             CASE WHEN e.src_asn IS NULL OR g.asn IS NULL OR g.asn = e.src_asn THEN g.org END)
        AS src_org,
    coalesce(e.src_country, g.country) AS src_country,
    coalesce(e.src_city, CASE WHEN {_SAME_COUNTRY} THEN g.city END) AS src_city,
    coalesce(e.src_lat, CASE WHEN {_SAME_COUNTRY} AND e.src_lon IS NULL THEN g.lat END) AS src_lat,
    coalesce(e.src_lon, CASE WHEN {_SAME_COUNTRY} AND e.src_lat IS NULL THEN g.lon END) AS src_lon
)
FROM {relation} e LEFT JOIN _geo g ON g.ip = e.src_ip
"""
