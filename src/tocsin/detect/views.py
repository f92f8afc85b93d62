"""Shared views every rule may read, built on the ``events`` view.

They describe each organisation's *normal*: where its people sign in from successfully. Rules
compare attempts against them ("has this account, or anyone here, ever signed in from this
address, network, country or device before?") instead of against fixed global thresholds.

* ``signins`` — authentication and MFA events (the attempts rules count).
* ``user_ip_ok`` — per tenant key ``tk``, user and address: successful sign-ins, first/last.
* ``tenant_ip_ok`` — per tenant and address: how many distinct users succeeded from it.
* ``user_asn_ok``, ``user_country_ok``, ``user_device_ok`` — the same per network (ASN),
  country and device (device id, else user agent).
* ``tenant_asn_ok``, ``tenant_agent_ok`` — per tenant: distinct users succeeding per ASN and
  per user agent.

``tk`` is ``coalesce(tenant, '')`` so rules can join on it without NULL surprises.
"""

from __future__ import annotations

import duckdb

_OK = "event_type IN ('auth', 'mfa') AND outcome = 'success' AND \"user\" IS NOT NULL"

VIEWS = {
    "signins": "SELECT *, coalesce(tenant, '') AS tk FROM events "
    "WHERE event_type IN ('auth', 'mfa')",
    "user_ip_ok": f"""
        SELECT coalesce(tenant, '') AS tk, "user", src_ip,
               min(time) AS first_ok, max(time) AS last_ok, count(*) AS successes
        FROM events WHERE {_OK} AND src_ip IS NOT NULL GROUP BY ALL""",
    "tenant_ip_ok": """
        SELECT tk, src_ip, count(DISTINCT "user") AS users, min(first_ok) AS first_ok,
               max(last_ok) AS last_ok
        FROM user_ip_ok GROUP BY ALL""",
    "user_asn_ok": f"""
        SELECT coalesce(tenant, '') AS tk, "user", src_asn,
               min(time) AS first_ok, max(time) AS last_ok, count(*) AS successes
        FROM events WHERE {_OK} AND src_asn IS NOT NULL GROUP BY ALL""",
    "tenant_asn_ok": """
        SELECT tk, src_asn, count(DISTINCT "user") AS users, min(first_ok) AS first_ok
        FROM user_asn_ok GROUP BY ALL""",
    "user_country_ok": f"""
        SELECT coalesce(tenant, '') AS tk, "user", src_country,
               min(time) AS first_ok, max(time) AS last_ok, count(*) AS successes
        FROM events WHERE {_OK} AND src_country IS NOT NULL GROUP BY ALL""",
    "user_device_ok": f"""
        SELECT coalesce(tenant, '') AS tk, "user",
               coalesce(nullif(device_id, ''), user_agent) AS device,
               min(time) AS first_ok, max(time) AS last_ok, count(*) AS successes
        FROM events WHERE {_OK} AND coalesce(nullif(device_id, ''), user_agent) IS NOT NULL
        GROUP BY ALL""",
    "tenant_agent_ok": f"""
        SELECT coalesce(tenant, '') AS tk, user_agent, count(DISTINCT "user") AS users
        FROM events WHERE {_OK} AND user_agent IS NOT NULL GROUP BY ALL""",
}


def create_rule_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create the shared views (after ``events`` exists). Views: nothing runs until used."""
    for name, sql in VIEWS.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")
