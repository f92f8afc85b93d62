"""`tocsin detect`: run every rule again over the lake, without reading new logs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tocsin.cli.scan import print_alerts
from tocsin.paths import default_data_dir
from tocsin.scan import RulesBroken, ScanConfig, run_scan
from tocsin.text import for_terminal


def detect(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Event lake and state. Default: $TOCSIN_DATA_DIR or ~/.local/share/tocsin."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write alerts.jsonl and scan.json here.")
    ] = None,
    state_url: Annotated[str | None, typer.Option(help="State database URL.")] = None,
    memory_limit: Annotated[str, typer.Option(help="DuckDB memory limit.")] = "1GB",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary.")] = False,
) -> None:
    """Evaluate every rule on the events already in the lake (after changing a rule, say)."""
    console = Console(highlight=False)
    config = ScanConfig(
        paths=[],
        data_dir=data_dir or default_data_dir(),
        out_dir=out,
        memory_limit=memory_limit,
        state_url=state_url,
    )
    try:
        result = run_scan(config)
    except RulesBroken as exc:
        for error in exc.errors:
            Console(stderr=True).print(f"[red]rule error:[/] {for_terminal(error, 500)}")
        raise typer.Exit(2) from None
    print_alerts(console, result, quiet)
    for run in result.evaluation.runs:
        if run.error:
            console.print(f"[red]rule {run.rule} failed:[/] {for_terminal(run.error, 400)}")
    console.print(f"Done in {result.seconds:.1f} s.")
