"""Finding and loading tocsin.toml for every command, the same way.

``--config FILE`` wins; else ``$TOCSIN_CONFIG``; else ``./tocsin.toml`` when it exists. A
named file that is missing or invalid stops the command with exit status 2 and every problem
with its key and line — a half-read policy must never run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from tocsin.config import Config, ConfigError, load_config
from tocsin.text import for_terminal

EXIT_USAGE = 2


def load_settings(console: Console, path: Path | None, *, required: bool = False) -> Config | None:
    """The configuration, or None when none is named or present (unless ``required``)."""
    if path is None:
        env = os.environ.get("TOCSIN_CONFIG")
        path = Path(env) if env else Path("tocsin.toml")
        if not path.exists() and not env:
            if required:
                _stop(console, "no configuration: pass --config or create ./tocsin.toml")
            return None
    try:
        return load_config(path)
    except FileNotFoundError:
        _stop(console, f"no such configuration file: {for_terminal(path)}")
    except ConfigError as exc:
        for problem in exc.problems:
            console.print(f"[red]{for_terminal(path)}:[/] {for_terminal(problem, 500)}")
        raise typer.Exit(EXIT_USAGE) from None


def _stop(console: Console, message: str) -> NoReturn:
    console.print(f"[red]error:[/] {message}")
    raise typer.Exit(EXIT_USAGE)
