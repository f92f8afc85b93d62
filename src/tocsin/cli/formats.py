"""`tocsin formats`: the log formats tocsin reads and how to export them."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from tocsin.sources import FORMATS


def formats() -> None:
    """List the log formats tocsin recognises (by content) and where to get each export."""
    table = Table(title="Formats (recognised by content; force one with scan --format NAME)")
    for column in ("name", "source", "what", "containers", "how to export"):
        table.add_column(column, overflow="fold")
    for fmt in FORMATS:
        table.add_row(fmt.name, fmt.source, fmt.title, ", ".join(fmt.containers), fmt.example)
    Console().print(table)
