"""`tocsin simulate`: write labelled, simulated Entra ID sign-in logs and their truth.json."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from tocsin.simulate import (
    DEFAULT_DAYS,
    DEFAULT_START,
    PROFILES,
    SIZES,
    Result,
    SimulationError,
    prepare_out,
)
from tocsin.simulate import (
    simulate as run_simulation,
)
from tocsin.simulate.run import default_jobs
from tocsin.text import for_terminal

EXIT_OK, EXIT_USAGE = 0, 2


def simulate(
    profile: Annotated[
        str | None,
        typer.Option(help=f"What happens: {', '.join(PROFILES)} (see --list)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 1,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Folder for <domain>/signins-<day>.ndjson and truth.json."
        ),
    ] = None,
    size: Annotated[
        str | None,
        typer.Option(help=f"Organisation sizes: {', '.join(SIZES)} (default: the profile's)."),
    ] = None,
    start: Annotated[
        str, typer.Option(help="First day simulated (UTC), YYYY-MM-DD.")
    ] = DEFAULT_START.isoformat(),
    days: Annotated[int, typer.Option(help="Number of days simulated.")] = DEFAULT_DAYS,
    jobs: Annotated[
        int | None,
        typer.Option(help="Organisations generated in parallel (default: CPU count, max 8)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace a previous simulation in --out.")] = False,
    list_profiles: Annotated[
        bool, typer.Option("--list", help="List the profiles and sizes, then exit.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary line.")] = False,
) -> None:
    """Write simulated Microsoft Entra ID sign-in logs (Azure Monitor diagnostic-settings
    JSON Lines, one file per organisation per day) with truth.json describing every
    campaign and trap in them. Deterministic: the same arguments write the same bytes.

    Exit status: 0 done; 2 usage error.
    """
    console = Console(stderr=True, highlight=False)
    out_console = Console(highlight=False)
    if list_profiles:
        out_console.print(_profiles_table())
        return
    if profile is None or out is None:
        _usage(console, "--profile and --out are required (see --list for the profiles)")
    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        _usage(console, f"--start must be a date (YYYY-MM-DD), not {for_terminal(start)!r}")
    try:
        if profile not in PROFILES:
            raise SimulationError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
        prepare_out(out, force)
        result = run_simulation(
            profile,
            seed,
            out,
            size=size,
            start=first_day,
            days=days,
            jobs=jobs or default_jobs(),
            on_org=None if quiet else lambda d: console.print(f"  wrote {for_terminal(d)}"),
        )
    except SimulationError as exc:
        _usage(console, str(exc))
    _summary(out_console, result, out, quiet)


def _usage(console: Console, message: str) -> NoReturn:
    console.print(f"[red]error:[/] {for_terminal(message, 400)}")
    raise typer.Exit(EXIT_USAGE)


def _profiles_table() -> Table:
    table = Table(title="Profiles (tocsin simulate --profile NAME)", title_justify="left")
    table.add_column("profile")
    table.add_column("default size")
    table.add_column("what happens", overflow="fold")
    for p in PROFILES.values():
        table.add_row(p.name, p.default_size, p.summary)
    sizes = "; ".join(
        f"{name}: " + " + ".join(f"{n:,}" for _, n in orgs) for name, orgs in SIZES.items()
    )
    table.caption = f"Sizes (accounts per organisation) — {sizes}"
    return table


def _summary(console: Console, result: Result, out: Path, quiet: bool) -> None:
    truth = result.truth
    rate = result.events / result.seconds if result.seconds else 0.0
    if not quiet:
        table = Table(
            title=f"{truth.profile} (seed {truth.seed}, size {truth.size})", title_justify="left"
        )
        for column in ("what", "kind", "events", "accounts", "addresses", "compromised"):
            table.add_column(column, justify="right" if column != "what" else "left")
        table.add_row(
            "ordinary work", "benign", f"{truth.benign.events:,}", f"{truth.benign.users:,}", "", ""
        )
        for c in truth.campaigns:
            table.add_row(
                c.id,
                f"{c.kind} ({c.actor or 'generic'})",
                f"{c.events:,}",
                f"{len(c.target_users):,}",
                f"{len(c.attacker_ips):,}",
                f"{len(c.compromised_users):,}",
            )
        for t in truth.traps:
            table.add_row(
                "trap", t.kind, f"{t.events:,}", f"{len(t.users):,}", f"{len(t.ips):,}", ""
            )
        console.print(table)
    console.print(
        f"Wrote {result.events:,} sign-ins for {len(truth.orgs)} organisations in "
        f"{len(result.files):,} files under {for_terminal(str(out))} in {result.seconds:.1f} s "
        f"({rate:,.0f} events/s); truth: {for_terminal(str(out / 'truth.json'))}"
    )
