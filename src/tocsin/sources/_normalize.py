"""Wrap a format's SQL mapping into the full, typed, sanitised event projection.

A format's SQL selects only the columns it knows, with their contract names. This module
adds the rest as NULL, casts every column to its contract type, lower-cases users, cuts
over-long attacker-controlled text, derives the stable event id and the partition day, and
turns records without a usable timestamp into rejects. Rows keep their input order: nothing
here filters, joins or sorts, because positions are how rows find their origin line again.
"""

from __future__ import annotations

import duckdb

from tocsin.events import EVENT_COLUMNS, EVENTS_ADDED_BY_READER, duckdb_type
from tocsin.sources._shape import column_types
from tocsin.sources.base import SourceFormat

# Columns the reader fills itself; a format must not select them.
_RESERVED = {"event_id", "source", "format", "day", *EVENTS_ADDED_BY_READER}
_CONTROL = ("_id_key", "_skip", "_reject")

MAX_DETAILS = 16_384
# Free text an attacker can choose: cut to MAX_TEXT.
_CLIPPED = {
    "action", "user_name", "user_id", "src_org", "src_city", "app", "resource", "client_app",
    "user_agent", "device_id", "os", "browser", "reason_detail", "vendor_risk",
    "correlation_id", "vendor_id", "src_host", "tenant", "app_id", "src_country", "user",
}  # fmt: skip


def mapped_columns(con: duckdb.DuckDBPyConnection, fmt: SourceFormat) -> list[str]:
    """Columns a format's SQL produces, bound against an empty table of the format's shape."""
    table = f"_shape_{fmt.name}"
    types = column_types(fmt.shape)
    nulls = ", ".join(f'NULL::{t} AS "{k.replace(chr(34), chr(34) * 2)}"' for k, t in types.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {nulls} LIMIT 0")
    names = list(
        con.sql(f"WITH records AS (SELECT * FROM {table}) SELECT * FROM ({fmt.sql})").columns
    )
    unknown = [c for c in names if c not in EVENT_COLUMNS and c not in _CONTROL]
    reserved = [c for c in names if c in _RESERVED]
    if unknown or reserved:
        raise ValueError(
            f"format {fmt.name}: SQL selects unknown columns {unknown} or reserved {reserved}"
        )
    return names


def normalize_sql(con: duckdb.DuckDBPyConnection, fmt: SourceFormat, records_from: str) -> str:
    """The full projection for ``fmt`` over the relation expression ``records_from``."""
    have = set(mapped_columns(con, fmt))
    out: list[str] = []

    def col(name: str) -> str:
        return f'"{name}"' if name in have else "NULL"

    skip = "CAST(_skip AS VARCHAR)" if "_skip" in have else "NULL::VARCHAR"
    fmt_reject = "CAST(_reject AS VARCHAR)" if "_reject" in have else "NULL::VARCHAR"
    out.append(f"{skip} AS _skip")
    out.append(
        f"CASE WHEN {skip} IS NOT NULL THEN NULL "
        f"WHEN {fmt_reject} IS NOT NULL THEN {fmt_reject} "
        f"WHEN {col('time')} IS NULL THEN 'no valid timestamp in the record' "
        f"WHEN {col('outcome')} IS NULL THEN 'no outcome could be derived from the record' "
        "END AS _reject"
    )
    id_key = (
        "CAST(_id_key AS VARCHAR)"
        if "_id_key" in have
        else "concat_ws('|', strftime(time, '%Y-%m-%dT%H:%M:%S.%f'), \"user\", src_ip, "
        "action, reason_code, correlation_id, details)"
    )
    source = fmt.source.replace("'", "''")
    out.append(f"md5(concat_ws('|', '{source}', {id_key})) AS event_id")
    for name in EVENT_COLUMNS:
        if name in ("event_id", "day") or name in EVENTS_ADDED_BY_READER:
            continue
        if name == "source":
            out.append(f"'{source}' AS source")
            continue
        if name == "format":
            out.append(f"'{fmt.name}' AS format")
            continue
        typ = duckdb_type(name)
        expr = col(name)
        if name == "user":
            expr = f"lower(trim(tocsin_clip(tocsin_str(CAST({expr} AS VARCHAR)))))"
        elif name == "event_type":
            expr = f"coalesce({expr}, 'auth')"
        elif name == "reason":
            expr = f"coalesce({expr}, 'other')"
        elif name == "ip_tags":
            expr = f"coalesce(CAST({expr} AS VARCHAR[]), []::VARCHAR[])"
        elif name == "src_ip":
            expr = f"tocsin_ip(trim(CAST({expr} AS VARCHAR)))"
        elif name == "details":
            # JSON: never cut in the middle (it must stay parseable); an oversized one is
            # replaced by a note of its size.
            text = f"CAST({expr} AS VARCHAR)"
            expr = (
                f"CASE WHEN strlen({text}) > {MAX_DETAILS} "
                f"THEN json_object('truncated', true, 'bytes', strlen({text}))::VARCHAR "
                f"ELSE {text} END"
            )
        elif typ == "VARCHAR" and name in _CLIPPED:
            expr = f"tocsin_clip(tocsin_str(CAST({expr} AS VARCHAR)))"
        out.append(f'TRY_CAST({expr} AS {typ}) AS "{name}"')
    out.append("CAST(time AS DATE) AS day")
    select = ",\n  ".join(out)
    return (
        # NOT MATERIALIZED: DuckDB would otherwise compute every mapped column of a CTE
        # referenced twice, even ones a query never reads.
        f"WITH records AS NOT MATERIALIZED (SELECT * FROM {records_from}),\n"
        f"mapped AS NOT MATERIALIZED ({fmt.sql})\n"
        f"SELECT\n  {select}\nFROM mapped"
    )
