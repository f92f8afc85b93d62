"""`tocsin intel` (being written)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Threat intelligence: import indicators, look values up.", no_args_is_help=True
)


@app.command("lookup")
def lookup(value: str) -> None:
    """Show everything known about an IP, domain, URL, e-mail or ASN (being written)."""
    raise typer.Exit(2)
