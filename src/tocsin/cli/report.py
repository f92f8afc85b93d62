"""`tocsin report` (being written)."""

from __future__ import annotations

import typer


def report() -> None:
    """Report a campaign (being written)."""
    raise typer.Exit(2)
