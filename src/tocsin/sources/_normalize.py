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
    """The full projection for ``fmt`` over the relation expression ``records_from``.

    Built in layers so every helper macro gets a plain column: nesting macros (clip of str of
    a cast of a mapped expression) would repeat the inner expression in every branch, and the
    planner then spends most of its time on copies of the same sub-expression.
    """
    have = set(mapped_columns(con, fmt))

    def col(name: str) -> str:
        return f'"{name}"' if name in have else "NULL"

    contract = [
        c for c in EVENT_COLUMNS
        if c not in ("event_id", "source", "format", "day") and c not in EVENTS_ADDED_BY_READER
    ]  # fmt: skip
    text = [c for c in contract if c == "user" or (duckdb_type(c) == "VARCHAR" and c in _CLIPPED)]
    # 1. every contract column at its type; the format's control columns beside them
    typed = [f'TRY_CAST({col(c)} AS {duckdb_type(c)}) AS "{c}"' for c in contract]
    typed.append(("CAST(_skip AS VARCHAR)" if "_skip" in have else "NULL::VARCHAR") + " AS _skip")
    typed.append(
        ("CAST(_reject AS VARCHAR)" if "_reject" in have else "NULL::VARCHAR") + " AS _fmt_reject"
    )
    typed.append(
        ("CAST(_id_key AS VARCHAR)" if "_id_key" in have else "NULL::VARCHAR") + " AS _id_key"
    )
    # 2. text that means nothing ("", "null") becomes NULL
    nulled = ", ".join(f'tocsin_str("{c}") AS "{c}"' for c in text)
    # 3. the contract's cleaning, the id and the checks
    final = [f'tocsin_clip("{c}") AS "{c}"' for c in text if c != "user"]
    final += [
        'lower(trim(tocsin_clip("user"))) AS "user"',
        "coalesce(event_type, 'auth') AS event_type",
        "coalesce(reason, 'other') AS reason",
        "coalesce(ip_tags, []::VARCHAR[]) AS ip_tags",
        "tocsin_ip(trim(src_ip)) AS src_ip",
        # JSON: never cut in the middle (it must stay parseable); an oversized one is
        # replaced by a note of its size.
        f"CASE WHEN strlen(details) > {MAX_DETAILS} THEN json_object('truncated', true, "
        "'bytes', strlen(details))::VARCHAR ELSE details END AS details",
    ]
    source = fmt.source.replace("'", "''")
    id_key = (
        "coalesce(_id_key, concat_ws('|', strftime(time, '%Y-%m-%dT%H:%M:%S.%f'), \"user\", "
        "src_ip, action, reason_code, correlation_id, details))"
    )
    reject = (
        "CASE WHEN _skip IS NOT NULL THEN NULL WHEN _fmt_reject IS NOT NULL THEN _fmt_reject "
        "WHEN time IS NULL THEN 'no valid timestamp in the record' "
        "WHEN outcome IS NULL THEN 'no outcome could be derived from the record' END"
    )
    columns = []
    for name in EVENT_COLUMNS:
        if name in EVENTS_ADDED_BY_READER or name == "day":
            continue
        if name == "event_id":
            columns.append(f"md5(concat_ws('|', '{source}', {id_key})) AS event_id")
        elif name == "source":
            columns.append(f"'{source}' AS source")
        elif name == "format":
            columns.append(f"'{fmt.name}' AS format")
        else:
            columns.append(f'"{name}"')
    return (
        # NOT MATERIALIZED: DuckDB would otherwise compute every mapped column of a CTE
        # referenced twice, even ones a query never reads.
        f"WITH records AS NOT MATERIALIZED (SELECT * FROM {records_from}),\n"
        f"mapped AS NOT MATERIALIZED ({fmt.sql}),\n"
        f"typed AS NOT MATERIALIZED (SELECT {', '.join(typed)} FROM mapped),\n"
        f"nulled AS NOT MATERIALIZED (SELECT * REPLACE ({nulled}) FROM typed),\n"
        f"cleaned AS NOT MATERIALIZED (SELECT * REPLACE ({', '.join(final)}) FROM nulled)\n"
        f"SELECT _skip, {reject} AS _reject, {', '.join(columns)}, CAST(time AS DATE) AS day "
        "FROM cleaned"
    )
