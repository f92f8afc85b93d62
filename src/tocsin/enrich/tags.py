"""Tag source addresses as Tor, commercial VPN or hosting, offline, when events enter the lake.

Tags are added to whatever the log itself said (Okta's ``isProxy`` already gives ``proxy``):

* ``tor`` — the address was a Tor exit on the event's day (bundled exit history);
* ``vpn`` — a commercial VPN egress address, or an ASN that only carries VPN traffic;
* ``hosting`` — the address's ASN (from the log) is datacentre or cloud hosting.

Everything is a join in DuckDB against small reference tables, so enrichment costs one hash
join per table at commit time, not a lookup per event in Python.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from tocsin.enrich.data import hosting_asns, tor_exits, vpn_servers


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Create the reference tables (``_tor_exits``, ``_vpn_servers``, ``_hosting_asns``)."""
    exits = tor_exits()
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
    con.execute("CREATE OR REPLACE TEMP TABLE _tor_exits AS SELECT * FROM _tor_exits_arrow")
    con.execute("CREATE OR REPLACE TEMP TABLE _vpn_servers AS SELECT * FROM _vpn_arrow")
    con.execute("CREATE OR REPLACE TEMP TABLE _hosting_asns AS SELECT * FROM _asn_arrow")
    for name in ("_tor_exits_arrow", "_vpn_arrow", "_asn_arrow"):
        con.unregister(name)


def enriched_select(relation: str) -> str:
    """SELECT every column of ``relation`` with ``ip_tags`` and ``src_org`` enriched."""
    return f"""
SELECT e.* REPLACE (
    list_sort(list_distinct(list_concat(
        coalesce(e.ip_tags, []::VARCHAR[]),
        CASE WHEN t.ip IS NOT NULL THEN ['tor'] ELSE []::VARCHAR[] END,
        CASE WHEN v.ip IS NOT NULL OR h.kind = 'vpn' THEN ['vpn'] ELSE []::VARCHAR[] END,
        CASE WHEN h.kind IN ('hosting', 'cloud') THEN ['hosting'] ELSE []::VARCHAR[] END
    ))) AS ip_tags,
    coalesce(e.src_org, h.organisation, v.provider) AS src_org
)
FROM {relation} e
LEFT JOIN _tor_exits t
       ON t.ip = e.src_ip AND e.day BETWEEN t.first_seen AND t.last_seen
LEFT JOIN _vpn_servers v ON v.ip = e.src_ip
LEFT JOIN _hosting_asns h ON h.asn = e.src_asn
"""
