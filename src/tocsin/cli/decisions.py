"""`tocsin decisions` (being written)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Response decisions: list, add, delete, export.", no_args_is_help=True)


@app.command("list")
def list_decisions() -> None:
    """List decisions (being written)."""
    raise typer.Exit(2)
