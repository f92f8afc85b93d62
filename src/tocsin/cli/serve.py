"""`tocsin serve` (being written)."""

from __future__ import annotations

import typer


def serve() -> None:
    """Run the API (being written)."""
    raise typer.Exit(2)
