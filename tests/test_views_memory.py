"""Detection retries instead of losing a table or a rule's alerts at the memory limit."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import duckdb

from tocsin.detect import views
from tocsin.detect.engine import run_rule_sql
from tocsin.detect.rules import REQUIRED_COLUMNS


class _TightConnection:
    """A real DuckDB connection whose first ``fail`` foreign_fails builds run out of memory."""

    def __init__(self, fail: int) -> None:
        self.con = duckdb.connect()
        self.con.execute("SET memory_limit = '1GB'")
        self.fail = fail
        self.settings_seen: list[tuple[Any, ...]] = []

    def _attempt(self) -> None:
        """Note the settings this attempt runs with; fail while failures are left."""
        self.settings_seen.append(
            self.con.execute(
                "SELECT current_setting('threads'), current_setting('memory_limit')"
            ).fetchone()
            or ()
        )
        if self.fail:
            self.fail -= 1
            raise duckdb.OutOfMemoryException("Out of Memory Error: (test)")

    def execute(self, sql: str, *args: Any) -> duckdb.DuckDBPyConnection:
        if sql.startswith("CREATE OR REPLACE TEMP TABLE foreign_fails"):
            self._attempt()
            return self.con.execute("CREATE OR REPLACE TEMP TABLE foreign_fails AS SELECT 1")
        return self.con.execute(sql, *args)


def test_retries_with_one_thread_then_twice_the_limit_and_restores_settings() -> None:
    tight = _TightConnection(fail=2)
    before = tight.con.execute(
        "SELECT current_setting('threads'), current_setting('memory_limit')"
    ).fetchone()
    views._create_foreign_fails(tight)  # type: ignore[arg-type]
    threads = [s[0] for s in tight.settings_seen]
    limits = [s[1] for s in tight.settings_seen]
    assert threads[1:] == [1, 1] and limits[0] == limits[1] and limits[2] != limits[0]
    assert tight.con.execute("SELECT count(*) FROM foreign_fails").fetchone() == (1,)
    after = tight.con.execute(
        "SELECT current_setting('threads'), current_setting('memory_limit')"
    ).fetchone()
    assert after is not None and before is not None and after[0] == before[0]


def test_a_first_success_changes_nothing() -> None:
    tight = _TightConnection(fail=0)
    views._create_foreign_fails(tight)  # type: ignore[arg-type]
    assert len(tight.settings_seen) == 1


class _TightRule(_TightConnection):
    """The rule's own query is the one that runs out of memory, ``fail`` times."""

    SQL = "SELECT " + ", ".join(f"'{c}' AS {c}" for c in REQUIRED_COLUMNS)

    def execute(self, sql: str, *args: Any) -> duckdb.DuckDBPyConnection:
        if sql == self.SQL:
            self._attempt()
        return self.con.execute(sql, *args)


def test_a_rule_that_meets_the_limit_still_returns_its_rows() -> None:
    """How much memory a query peaks at depends on how its threads interleave: a rule near
    the limit may fail once in several runs, and its alerts must not be lost with it."""
    tight = _TightRule(fail=1)
    before = tight.con.execute("SELECT current_setting('threads')").fetchone()
    rule = SimpleNamespace(id="tight", sql=_TightRule.SQL)
    rows = run_rule_sql(tight, rule, {})  # type: ignore[arg-type]
    assert len(rows) == 1 and set(rows[0]) == set(REQUIRED_COLUMNS)
    assert [s[0] for s in tight.settings_seen][1:] == [1]  # retried with one thread
    assert tight.con.execute("SELECT current_setting('threads')").fetchone() == before
