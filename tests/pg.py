"""A real PostgreSQL for the tests, from Debian's ``postgresql`` package.

One server per test session: ``initdb`` into a temporary folder, ``pg_ctl start`` on a free
localhost port (trust authentication, fsync off), stopped at the end. Running as root, the
server runs as the ``postgres`` system user the package creates (PostgreSQL refuses root).
Each test gets its own fresh database from ``postgres_url``.

Missing package: the tests fail saying what to install (``make services`` does it).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PgServer:
    port: int
    bindir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    bindir = _bindir()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql (or make services)")
    base = Path(tempfile.mkdtemp(prefix="tocsin-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root needs the 'postgres' user (Debian's postgresql package)")
        os.chown(base, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = base / "data", base / "server.log"
    port = _free_port()
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
         "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    started = subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
         "-w", "-t", "60", "start"],
        capture_output=True, text=True,
    )  # fmt: skip
    if started.returncode != 0:
        detail = log.read_text() if log.exists() else started.stderr
        pytest.fail(f"PostgreSQL did not start: {detail[-2000:]}")
    try:
        yield PgServer(port, bindir)
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PgServer) -> Iterator[str]:
    """A new, empty database on the session's server."""
    import psycopg

    name = f"tocsin_{uuid.uuid4().hex[:12]}"
    dsn = f"host=127.0.0.1 port={postgres_server.port} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(dsn, autocommit=True) as con,
    ):
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using it runs twice: on SQLite (the default) and on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
