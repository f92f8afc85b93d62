"""Vendor log formats: recognised by content, mapped to the normalized event by SQL."""

from __future__ import annotations

import duckdb

from tocsin.sources import entra, google_workspace, m365, okta, sshd
from tocsin.sources.base import Head, SourceFormat

FORMATS: tuple[SourceFormat, ...] = (
    *entra.FORMATS,
    *m365.FORMATS,
    *okta.FORMATS,
    *google_workspace.FORMATS,
    *sshd.FORMATS,
)
_BY_NAME = {f.name: f for f in FORMATS}


def format_names() -> list[str]:
    return [f.name for f in FORMATS]


def lookup(name: str) -> SourceFormat:
    """The format called ``name`` (KeyError lists the known names)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown format {name!r}; known: {', '.join(format_names())}") from None


def detect(head: Head) -> SourceFormat | None:
    """The most specific format that recognises this head, if any."""
    best: tuple[int, SourceFormat] | None = None
    for fmt in FORMATS:
        if head.container not in fmt.containers:
            continue
        score = fmt.sniff(head)
        if score > 0 and (best is None or score > best[0]):
            best = (score, fmt)
    return best[1] if best else None


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Install every format's DuckDB macros on a connection (idempotent)."""
    seen: set[str] = set()
    for fmt in FORMATS:
        for macro in fmt.macros:
            if macro not in seen:
                con.execute(macro)
                seen.add(macro)


__all__ = ["FORMATS", "Head", "SourceFormat", "detect", "format_names", "install_macros", "lookup"]
