"""`tocsin config check`: validate a tocsin.toml and say what it configures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tocsin.config import ConfigError, load_config
from tocsin.text import for_terminal

app = typer.Typer(help="The tocsin.toml configuration.", no_args_is_help=True)


@app.command("check")
def check(
    path: Annotated[Path, typer.Argument(help="The configuration file.")] = Path("tocsin.toml"),
) -> None:
    """Validate a configuration file; list every problem with its line."""
    console = Console(highlight=False)
    try:
        config = load_config(path)
    except FileNotFoundError:
        console.print(f"[red]error:[/] no such file: {for_terminal(path)}")
        raise typer.Exit(2) from None
    except ConfigError as exc:
        for problem in exc.problems:
            console.print(f"[red]{for_terminal(path)}:[/] {for_terminal(problem, 500)}")
        raise typer.Exit(2) from None
    console.print(
        f"{for_terminal(path)} is valid: {len(config.organisations)} organisation(s), "
        f"{len(config.people)} person(s), response mode {config.response.mode}, "
        f"{len(config.response.policy)} policy rule(s)."
    )
