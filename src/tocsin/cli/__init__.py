"""The `tocsin` command line (typer). One module per verb group."""

from __future__ import annotations

import typer

from tocsin import __version__
from tocsin.cli import (
    config,
    decisions,
    detect,
    explain,
    formats,
    intel,
    notify,
    report,
    rules,
    scan,
    serve,
    simulate,
)

app = typer.Typer(
    name="tocsin",
    help=(
        "Detect, attribute, block and report nation-state attacks on the accounts of "
        "people at risk."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("scan")(scan.scan)
app.command("detect")(detect.detect)
app.add_typer(rules.app, name="rules")
app.add_typer(intel.app, name="intel")
app.add_typer(config.app, name="config")
app.add_typer(decisions.app, name="decisions")
app.add_typer(notify.app, name="notify")
app.command("report")(report.report)
app.command("serve")(serve.serve)
app.command("formats")(formats.formats)
app.command("simulate")(simulate.simulate)
app.command("explain")(explain.explain_alert)


@app.command("version")
def show_version() -> None:
    """Print tocsin's version."""
    typer.echo(__version__)


def main() -> None:
    app()
