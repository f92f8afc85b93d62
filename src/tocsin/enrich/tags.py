"""Tag source addresses as Tor, commercial VPN or hosting, offline, when events enter the lake.

Tags are added to whatever the log itself said (Okta's ``isProxy`` already gives ``proxy``):

* ``tor`` — the address was a Tor exit on the event's day (bundled exit history, and the
  exit lists imported with ``tocsin intel tor-refresh``, see :mod:`tocsin.enrich.tor`);
* ``vpn`` — a commercial VPN egress address, or an ASN that only carries VPN traffic;
* ``hosting`` — the address's ASN (from the log) is datacentre or cloud hosting;
* ``ioc:<actor key>`` (``ioc`` when the indicator names no actor) — the address is an
  indicator in the data directory's intel store (``tocsin intel import``), exactly or inside
  an indicator network, and the indicator was valid at the event's time.

Country, city and AS of addresses the log does not place are filled before these tags, by
:mod:`tocsin.enrich.geo` (so an AS number found there is classified here too).

Everything is a join in DuckDB against small reference tables, so enrichment costs one hash
join per table at commit time, not a lookup per event in Python.

How the indicator joins stay cheap: exact addresses (IPv4, and IPv6 in the spellings logs
use) are a string equality on ``src_ip``. IPv4 networks are cut, in SQL, into non-overlapping
integer ranges, each carrying every indicator that covers it, and split at /16 boundaries:
an event finds its range by equality on its address's first two octets, and only those
candidates have their address converted to an integer for the range check — and when the
store holds no networks, no event is looked at at all. Each match carries its indicators'
actor and validity, and the event's time filters them.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import duckdb
import pyarrow as pa

from tocsin.enrich.data import hosting_asns, vpn_servers
from tocsin.enrich.tor import exit_spans
from tocsin.intel.store import indicators_path

_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Dotted-quad IPv4 → integer (NULL for anything else).
_IP4_INT = rf"""CREATE OR REPLACE TEMP MACRO tocsin_ip4_int(x) AS
   CASE WHEN regexp_full_match(x, '{_OCTET}(\.{_OCTET}){{3}}') THEN
        (split_part(x, '.', 1)::BIGINT << 24) + (split_part(x, '.', 2)::BIGINT << 16)
        + (split_part(x, '.', 3)::BIGINT << 8) + split_part(x, '.', 4)::BIGINT END"""
_P16 = r"regexp_extract(src_ip, '^(\d{1,3}\.\d{1,3})\.\d{1,3}\.\d{1,3}$', 1)"
_HIT = "STRUCT(actor_key VARCHAR, valid_from TIMESTAMPTZ, valid_until TIMESTAMPTZ)"


def install(con: duckdb.DuckDBPyConnection, data_dir: Path | None = None) -> None:
    """Create the reference tables: ``_tor_spans``, ``_vpn_servers``, ``_hosting_asns``, and
    ``_intel_exact`` and ``_intel_net`` from ``data_dir``'s intel store (empty without one).
    Tor exits are the bundled history plus ``data_dir``'s refreshed lists."""
    exits = exit_spans(data_dir)
    con.register(
        "_tor_exits_arrow",
        pa.table(
            {
                "ip": [t.ip for t in exits],
                "first_seen": [t.first_seen for t in exits],
                "last_seen": [t.last_seen for t in exits],
            }
        ),
    )
    servers = vpn_servers()
    con.register(
        "_vpn_arrow",
        pa.table({"ip": [v.ip for v in servers], "provider": [v.provider for v in servers]}),
    )
    asns = hosting_asns()
    con.register(
        "_asn_arrow",
        pa.table(
            {
                "asn": pa.array(list(asns), pa.int64()),
                "organisation": [org for org, _ in asns.values()],
                "kind": [kind for _, kind in asns.values()],
            }
        ),
    )
    # One row per address with its exit spans: events join it on the address alone (a plain
    # hash join on a small table). Joining on "address and day between first and last seen"
    # made DuckDB plan a range join that buffered the whole incoming batch and ran out of
    # memory at 5,000,000 events.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _tor_spans AS SELECT ip, "
        "list(struct_pack(first_seen := first_seen, last_seen := last_seen)) AS spans "
        "FROM _tor_exits_arrow GROUP BY ip"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _vpn_servers AS SELECT * FROM _vpn_arrow")
    con.execute("CREATE OR REPLACE TEMP TABLE _hosting_asns AS SELECT * FROM _asn_arrow")
    for name in ("_tor_exits_arrow", "_vpn_arrow", "_asn_arrow"):
        con.unregister(name)
    _install_intel(con, indicators_path(data_dir) if data_dir is not None else None)


def _install_intel(con: duckdb.DuckDBPyConnection, store: Path | None) -> None:
    """``_intel_exact`` (address → hits), ``_intel_net`` (/16 prefix, range → hits)."""
    con.execute(_IP4_INT)
    if store is not None and store.exists():
        try:
            _intel_tables(con, store)
            return
        except duckdb.Error as exc:
            # Events must still reach the lake; say loudly that they were not matched.
            warnings.warn(
                f"intel store {store} is unreadable ({str(exc).splitlines()[0][:200]}); "
                "sign-ins are not matched against indicators in this run — re-import the feeds",
                RuntimeWarning,
                stacklevel=3,
            )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _intel_exact (ip VARCHAR, hits {_HIT}[])")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _intel_net "
        f"(prefix VARCHAR, lo BIGINT, hi BIGINT, hits {_HIT}[])"
    )


def _intel_tables(con: duckdb.DuckDBPyConnection, store: Path) -> None:
    source = "read_parquet('" + str(store).replace("'", "''") + "')"
    usable = "NOT list_contains(coalesce(labels, []::VARCHAR[]), 'sinkhole')"
    hit = (
        "struct_pack(actor_key := actor_key, valid_from := valid_from, valid_until := valid_until)"
    )
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE _intel_exact AS
SELECT ip, list(hit ORDER BY hit.actor_key) AS hits
FROM (SELECT unnest(ip_forms) AS ip, {hit} AS hit FROM {source} WHERE type IN ('ipv4', 'ipv6')
      AND {usable})
GROUP BY ip
""")
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE _intel_net AS
WITH ind AS (
    SELECT ip_lo AS lo, ip_hi AS hi, {hit} AS hit
    FROM {source} WHERE type = 'cidr' AND ip_lo IS NOT NULL AND {usable}
),
bounds AS (SELECT DISTINCT b FROM (SELECT lo AS b FROM ind UNION ALL SELECT hi + 1 FROM ind)),
ranges AS (SELECT b AS lo, lead(b) OVER (ORDER BY b) - 1 AS hi FROM bounds),
covered AS (
    SELECT r.lo, r.hi, list(i.hit ORDER BY i.hit.actor_key) AS hits
    FROM ranges r JOIN ind i ON r.lo BETWEEN i.lo AND i.hi
    WHERE r.hi IS NOT NULL
    GROUP BY r.lo, r.hi
),
pieces AS (SELECT unnest(range(lo >> 16, (hi >> 16) + 1)) AS bucket, lo, hi, hits FROM covered)
SELECT (bucket >> 8)::VARCHAR || '.' || (bucket & 255)::VARCHAR AS prefix,
       greatest(lo, bucket << 16) AS lo, least(hi, (bucket << 16) + 65535) AS hi, hits
FROM pieces
""")


def enriched_select(relation: str) -> str:
    """SELECT every column of ``relation`` with ``ip_tags`` and ``src_org`` enriched."""
    return f"""
SELECT e.* EXCLUDE (_p16) REPLACE (
    list_sort(list_distinct(list_concat(
        coalesce(e.ip_tags, []::VARCHAR[]),
        CASE WHEN len(list_filter(t.spans, lambda s:
                      e.day BETWEEN s.first_seen AND s.last_seen)) > 0
             THEN ['tor'] ELSE []::VARCHAR[] END,
        CASE WHEN v.ip IS NOT NULL OR h.kind = 'vpn' THEN ['vpn'] ELSE []::VARCHAR[] END,
        CASE WHEN h.kind IN ('hosting', 'cloud') THEN ['hosting'] ELSE []::VARCHAR[] END,
        CASE WHEN x.hits IS NOT NULL OR n.hits IS NOT NULL THEN list_transform(
            list_filter(list_concat(x.hits, n.hits), lambda i:
                (i.valid_from IS NULL OR i.valid_from <= e.time)
                AND (i.valid_until IS NULL OR e.time < i.valid_until)),
            lambda i: CASE WHEN i.actor_key IS NULL THEN 'ioc' ELSE 'ioc:' || i.actor_key END)
        ELSE []::VARCHAR[] END
    ))) AS ip_tags,
    coalesce(e.src_org, h.organisation, v.provider) AS src_org
)
FROM (SELECT *, CASE WHEN (SELECT count(*) > 0 FROM _intel_net) THEN {_P16} END AS _p16
      FROM {relation}) e
LEFT JOIN _tor_spans t ON t.ip = e.src_ip
LEFT JOIN _vpn_servers v ON v.ip = e.src_ip
LEFT JOIN _hosting_asns h ON h.asn = e.src_asn
LEFT JOIN _intel_exact x ON x.ip = e.src_ip
LEFT JOIN _intel_net n
       ON n.prefix = e._p16 AND tocsin_ip4_int(e.src_ip) BETWEEN n.lo AND n.hi
"""
