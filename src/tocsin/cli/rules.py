"""`tocsin rules list|test`: the detection rules and their own attack/benign fixtures."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from tocsin.detect.fixtures import run_fixtures
from tocsin.detect.rules import RuleSet, load_rules

app = typer.Typer(
    help="Detection rules: list them, test them on their fixtures.", no_args_is_help=True
)


def _load(console: Console) -> RuleSet:
    rules = load_rules()
    for error in rules.errors:
        console.print(f"[red]rule error:[/] {error}")
    return rules


@app.command("list")
def list_rules(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List every rule with its severity, ATT&CK techniques and parameters."""
    console = Console(highlight=False)
    rules = _load(Console(stderr=True))
    if as_json:
        data = [
            {**r.meta.model_dump(mode="json"), "area": r.area, "folder": str(r.folder)}
            for r in rules.rules
        ]
        typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
    else:
        table = Table(title=f"{len(rules.rules)} rules")
        for column in ("id", "area", "severity", "techniques", "title", "parameters"):
            table.add_column(column, overflow="fold")
        for r in rules.rules:
            params = ", ".join(f"{k}={p.default}" for k, p in r.meta.parameters.items())
            table.add_row(
                r.id, r.area, r.meta.severity, " ".join(r.meta.techniques), r.meta.title, params
            )
        console.print(table)
    if rules.errors:
        raise typer.Exit(2)


@app.command("test")
def test_rules(
    rule_ids: Annotated[
        list[str] | None, typer.Argument(help="Rules to test (default: all).")
    ] = None,
    update: Annotated[
        bool,
        typer.Option(
            help="Rewrite tests/expected.json from the current output (review the diff!)."
        ),
    ] = False,
) -> None:
    """Run each rule on its attack and benign fixtures and compare with expected.json."""
    console = Console(highlight=False)
    rules = _load(console)
    selected = [rules.get(r) for r in rule_ids] if rule_ids else rules.rules
    failed = 0
    for rule in selected:
        result = run_fixtures(rule, update=update)
        if result.passed:
            note = " (expected.json updated)" if result.updated else ""
            console.print(f"[green]PASS[/] {rule.id}: {len(result.alerts)} alert(s){note}")
        else:
            failed += 1
            console.print(f"[red]FAIL[/] {rule.id}")
            for problem in result.problems:
                console.print(f"    {problem}", markup=False)
    console.print(f"{len(selected) - failed} passed, {failed} failed")
    if failed or rules.errors:
        raise typer.Exit(1)
