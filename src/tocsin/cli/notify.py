"""`tocsin notify` (being written)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Notifications: preview, send.", no_args_is_help=True)


@app.command("preview")
def preview() -> None:
    """Render a notification (being written)."""
    raise typer.Exit(2)
