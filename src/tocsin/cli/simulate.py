"""`tocsin simulate` (being written)."""

from __future__ import annotations

import typer


def simulate() -> None:
    """Write labelled, simulated sign-in logs (being written)."""
    raise typer.Exit(2)
