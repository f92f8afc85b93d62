"""`tocsin explain ALERT_ID`: why an alert fired, with the evidence to check it by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tocsin.attribution.explain import show_attribution
from tocsin.explain import AlertNotFound, explain
from tocsin.paths import default_data_dir
from tocsin.text import for_terminal


def explain_alert(
    alert_id: Annotated[str, typer.Argument(help="Alert id (or a unique prefix of it).")],
    data_dir: Annotated[
        Path | None, typer.Option(help="Event lake and state (as given to scan).")
    ] = None,
    state_url: Annotated[str | None, typer.Option(help="State database URL.")] = None,
    sample: Annotated[int, typer.Option(help="Evidence events to show.")] = 10,
) -> None:
    """Show why an alert fired: its grouping, its counts against the rule's thresholds and
    the organisation's baseline, a sample of the events, and the query returning all of them."""
    console = Console(highlight=False)
    try:
        result = explain(alert_id, data_dir or default_data_dir(), state_url, sample)
    except AlertNotFound as exc:
        Console(stderr=True).print(f"[red]error:[/] {for_terminal(exc, 500)}")
        raise typer.Exit(2) from None
    a = result.alert
    console.print(
        f"[bold]{for_terminal(a['title'])}[/]  [dim]{a['id']}[/]\n"
        f"rule {a['rule']} · severity {a['severity']} · confidence {a['confidence']} · "
        f"techniques {' '.join(a['techniques'])}\n"
        f"{a['first_seen']} → {a['last_seen']} · tenant {for_terminal(a['tenant'] or '—')}"
        + (f" · campaign {a['campaign']}" if a.get("campaign") else "")
    )
    console.print(f"\n[bold]What happened[/]\n{for_terminal(a['summary'], 2000)}")
    if result.rule is not None:
        console.print(
            f"\n[bold]Why this rule fires[/]\n{for_terminal(result.rule.meta.description, 3000)}"
        )
    console.print(f"\n[bold]Grouping key[/]  {for_terminal(a['evidence']['group_key'], 500)}")
    console.print(_numbers(a["metrics"], result.parameters))
    _people(console, a)
    if result.campaign is not None:
        show_attribution(console, result.campaign)
    if result.evidence_kind == "messages":
        # Mail evidence is the scanned messages, listed in the scan's messages.jsonl (with
        # each one's verdict, findings and file), not sign-in events in the lake.
        console.print(
            f"\n[bold]Evidence[/]: {result.evidence_total:,} message(s), listed with their "
            "verdicts and findings in the scan's messages.jsonl. To list them (run in "
            "the scan's --out folder):"
        )
    else:
        console.print(
            f"\n[bold]Evidence[/]: {result.evidence_total:,} events now match "
            f"(the alert counted {a['evidence_count']:,}); first {len(result.sample)}:"
        )
        console.print(_sample(result.sample))
        console.print("\n[bold]All of them[/] (DuckDB):")
    console.print(for_terminal(result.lake_query, 20_000), soft_wrap=True)
    console.print("\n[bold]What to do[/]")
    for action in a["recommended_actions"]:
        console.print(f"  • {for_terminal(action, 1000)}")


def _numbers(metrics: dict[str, Any], parameters: dict[str, Any]) -> Table:
    table = Table(title="Counts (this alert) and thresholds (the rule)", title_justify="left")
    table.add_column("measure")
    table.add_column("value", overflow="fold")
    for key, value in sorted(metrics.items()):
        if isinstance(value, list) and len(value) > 8:
            value = f"{len(value)} values"
        marker = "  ← the organisation's normal" if key.startswith("baseline") else ""
        table.add_row(key, for_terminal(value, 200) + marker)
    for key, value in sorted(parameters.items()):
        table.add_row(f"[dim]threshold: {key}[/]", f"[dim]{value}[/]")
    return table


def _people(console: Console, alert: dict[str, Any]) -> None:
    users = alert["users"]
    shown = ", ".join(users[:20]) + (f" … and {len(users) - 20} more" if len(users) > 20 else "")
    console.print(f"\n[bold]Accounts[/] ({len(users)}): {for_terminal(shown, 3000)}")
    if alert["compromised_users"]:
        console.print(
            f"[bold red]Compromised[/]: {for_terminal(', '.join(alert['compromised_users']), 2000)}"
        )
    ips = alert["src_ips"]
    shown_ips = ", ".join(ips[:20]) + (f" … and {len(ips) - 20} more" if len(ips) > 20 else "")
    console.print(f"[bold]Source addresses[/] ({len(ips)}): {for_terminal(shown_ips, 3000)}")


def _sample(rows: list[dict[str, Any]]) -> Table:
    table = Table(show_lines=False)
    for column in ("time", "user", "src_ip", "country", "tags", "result", "client", "origin"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            str(r["time"])[:19],
            for_terminal(r["user"] or "", 60),
            for_terminal(r["src_ip"] or "", 45),
            for_terminal(r["src_country"] or "", 20),
            for_terminal(",".join(r["ip_tags"] or []), 30),
            for_terminal(f"{r['outcome']}/{r['reason']} ({r['reason_code']})", 60),
            for_terminal(r["client_app"] or "", 30),
            for_terminal(f"{Path(r['origin_file']).name}:{r['origin_line'] or '?'}", 80),
        )
    return table
