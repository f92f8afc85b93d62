"""DuckDB connections configured the way every stage expects them.

All timestamps are UTC (``TimeZone`` is pinned, so a laptop in Berlin and CI in UTC partition
events into the same days) and the SQL helpers the source mappings use are installed as
macros, so mappings stay short and identical on every path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from tocsin.events import MAX_TEXT

# Timestamp layouts seen in exports, tried in order after ISO 8601 (which TRY_CAST handles,
# with or without offset and with up to nine fractional digits). A layout without a zone is UTC.
_TIMESTAMP_LAYOUTS = [
    "%m/%d/%Y, %I:%M:%S.%g %p",  # Log Analytics CSV export: 10/14/2021, 1:01:26.863 PM
    "%m/%d/%Y, %I:%M:%S %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
]

log = logging.getLogger("tocsin.duck")
T = TypeVar("T")

_KEEP = MAX_TEXT - 24

# Address syntax, strict enough that 999.1.1.1 or ":::" is not taken for an address.
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_V4 = rf"{_OCTET}(\.{_OCTET}){{3}}"
_H = r"[0-9A-Fa-f]{1,4}"
# Full, compressed (one "::") and IPv4-suffixed forms; RE2 has no lookahead, so the "only one
# '::'" rule is spelled out as alternatives.
_V6 = (
    rf"(({_H}:){{7}}{_H}"
    rf"|({_H}:){{1,7}}:"
    rf"|({_H}:){{1,6}}:{_H}"
    rf"|({_H}:){{1,5}}(:{_H}){{1,2}}"
    rf"|({_H}:){{1,4}}(:{_H}){{1,3}}"
    rf"|({_H}:){{1,3}}(:{_H}){{1,4}}"
    rf"|({_H}:){{1,2}}(:{_H}){{1,5}}"
    rf"|{_H}:(:{_H}){{1,6}}"
    rf"|:(:{_H}){{1,7}}"
    rf"|::"
    rf"|({_H}:){{6}}{_V4}"
    rf"|({_H}:){{0,5}}:({_H}:){{0,5}}{_V4}"
    rf"|::({_H}:){{0,5}}{_V4})"
)

MACROS = [
    # Text that means "nothing": empty, or the literal null some connectors write as a string.
    # (x must be VARCHAR; kept to plain comparisons because it runs on every text column.)
    """CREATE OR REPLACE MACRO tocsin_str(x) AS
       CASE WHEN x IN ('', 'null', 'NULL', 'None', 'undefined') THEN NULL
            WHEN starts_with(x, ' ') OR ends_with(x, ' ') THEN
                 CASE WHEN trim(x) IN ('', 'null', 'NULL', 'None', 'undefined') THEN NULL
                      ELSE trim(x) END
            ELSE x END""",
    # Attacker-controlled free text is cut, visibly, so it cannot bloat the lake or a report.
    # strlen (bytes) is a cheap first test; the cut itself counts characters.
    f"""CREATE OR REPLACE MACRO tocsin_clip(x) AS
       CASE WHEN strlen(x) > {MAX_TEXT} AND length(x) > {MAX_TEXT}
            THEN left(x, {_KEEP}) || ' …[' || (length(x) - {_KEEP}) || ' chars cut]'
            ELSE x END""",
    f"""CREATE OR REPLACE MACRO tocsin_ts(x) AS
       COALESCE(TRY_CAST(x AS TIMESTAMPTZ),
                try_strptime(x::VARCHAR, {_TIMESTAMP_LAYOUTS!r})::TIMESTAMPTZ)""",
    # An address as the vendor wrote it -> a bare IP (ports and brackets removed, IPv4-mapped
    # IPv6 unwrapped), or NULL when it is not an IP at all (a hostname goes to src_host).
    rf"""CREATE OR REPLACE MACRO tocsin_ip(x) AS
       CASE
         WHEN x IS NULL THEN NULL
         WHEN regexp_full_match(x, '{_V4}') THEN x
         WHEN regexp_full_match(x, '{_V4}:\d{{1,5}}') THEN split_part(x, ':', 1)
         WHEN regexp_full_match(x, '(?i)::ffff:{_V4}') THEN substr(x, 8)
         WHEN regexp_full_match(x, '\[{_V6}(%[\w.-]+)?\](:\d{{1,5}})?')
              THEN lower(regexp_extract(x, '\[([0-9A-Fa-f:.]+)', 1))
         WHEN regexp_full_match(x, '{_V6}(%[\w.-]+)?') THEN lower(split_part(x, '%', 1))
         ELSE NULL END""",
    # A hostname-looking source that is not an IP (sshd's rhost, for one).
    r"""CREATE OR REPLACE MACRO tocsin_host(x) AS
       CASE WHEN tocsin_ip(x) IS NULL
             AND regexp_full_match(trim(x::VARCHAR), '[A-Za-z0-9.\-]{1,253}')
            THEN lower(trim(x::VARCHAR)) END""",
    # Index of the fixed bucket of `minutes` that holds `t` (buckets start at the epoch).
    # Rules use consecutive buckets to bound sliding windows: a window of that width ending in
    # bucket b lies inside buckets b - 1 and b.
    """CREATE OR REPLACE MACRO tocsin_bucket(t, minutes) AS
       epoch_us(t) // (CAST(minutes AS BIGINT) * 60000000)""",
    """CREATE OR REPLACE MACRO tocsin_bool(x) AS
       CASE lower(trim(x::VARCHAR)) WHEN 'true' THEN true WHEN '1' THEN true WHEN 'yes' THEN true
            WHEN 'false' THEN false WHEN '0' THEN false WHEN 'no' THEN false END""",
]


def connect(
    database: str | Path = ":memory:",
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_directory: Path | None = None,
    read_only: bool = False,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC with tocsin's SQL helpers installed."""
    con = duckdb.connect(str(database), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    # Never reach for the network (extension auto-install would try to).
    con.execute("SET autoinstall_known_extensions = false")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if temp_directory is not None:
        temp_directory.mkdir(parents=True, exist_ok=True)
        quoted = str(temp_directory).replace("'", "''")
        con.execute(f"SET temp_directory = '{quoted}'")
    for macro in MACROS:
        con.execute(macro)
    return con


def one_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The single row a query returns, with the result fully consumed.

    DuckDB keeps a partly fetched result open and refuses other work on the connection until
    it is drained, so ``fetchone()`` is never used on a shared connection.
    """
    rows = con.execute(sql).fetchall()
    if len(rows) != 1:
        raise ValueError(f"expected one row, got {len(rows)}")
    return tuple(rows[0])


def within_memory(con: duckdb.DuckDBPyConnection, work: Callable[[], T], what: str) -> T:
    """Run ``work``; should it meet the memory limit, run it again with one thread, then
    with twice the limit.

    A query's peak depends on how its threads interleave, so one near the limit can fail
    once in several runs. One thread halves the working buffers (slower, but within budget);
    twice the limit is over budget for this one statement. Either way the result is not
    lost, and the retry is logged.
    """
    try:
        return work()
    except duckdb.OutOfMemoryException:
        pass
    threads, limit = one_row(
        con, "SELECT current_setting('threads'), current_setting('memory_limit')::VARCHAR"
    )
    log.warning("%s met the memory limit (%s); retrying with one thread", what, limit)
    con.execute("SET threads = 1")
    try:
        try:
            return work()
        except duckdb.OutOfMemoryException:
            doubled = _doubled(limit)
            log.warning("%s needs more than %s; retrying at %s", what, limit, doubled)
            con.execute(f"SET memory_limit = '{doubled}'")
            return work()
    finally:
        con.execute(f"SET threads = {int(threads)}")
        con.execute(f"SET memory_limit = '{limit}'")


def _doubled(limit: str) -> str:
    """'953.6 MiB' → '1907MiB' (DuckDB prints limits with a unit)."""
    number, _, unit = limit.strip().partition(" ")
    try:
        return f"{float(number) * 2:.0f}{unit or 'B'}"
    except ValueError:
        return "2GB"
