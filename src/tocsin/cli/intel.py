"""`tocsin intel import FILE…`, `tocsin intel lookup VALUE` and `tocsin intel tor-refresh FILE…`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from tocsin.enrich.tor import TorRefreshError, refresh, store_path
from tocsin.ingest import expand_inputs
from tocsin.intel import (
    BadValue,
    FileReport,
    Lookup,
    Options,
    StoreError,
    import_files,
    indicators_path,
    lookup,
)
from tocsin.intel.values import parse_time
from tocsin.paths import default_data_dir
from tocsin.text import for_terminal

EXIT_OK, EXIT_USAGE = 0, 2
_SHOWN_PROBLEMS = 20

app = typer.Typer(
    help="Threat intelligence: import indicators, look values up.", no_args_is_help=True
)

DataDir = Annotated[
    Path | None,
    typer.Option(help="Data directory. Default: $TOCSIN_DATA_DIR or ~/.local/share/tocsin."),
]


@app.command("import")
def import_command(
    files: Annotated[
        list[Path], typer.Argument(help="STIX bundles, MISP events, CSV lists, trails, folders.")
    ],
    source: Annotated[
        str | None, typer.Option(help="Source name (default: from the file: identity, org, name).")
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="Actor for indicators whose file names none (any alias).")
    ] = None,
    confidence: Annotated[
        int | None,
        typer.Option(min=0, max=100, help="Confidence where the file states none (default 50)."),
    ] = None,
    valid_days: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Indicators without an end date expire this many days after "
            "their start (or after the import).",
        ),
    ] = None,
    prune: Annotated[
        bool,
        typer.Option(
            help="Remove this source's indicators that are no longer in its file "
            "(only when the file read without problems)."
        ),
    ] = False,
    data_dir: DataDir = None,
    strict: Annotated[bool, typer.Option(help="Exit 2 if any file had a problem.")] = False,
) -> None:
    """Import indicator files into the data directory's intel store.

    The format is recognised from the content. Exit status: 0 done; 2 unreadable input,
    or (with --strict) any problem.
    """
    console = Console(highlight=False)
    errors = Console(stderr=True, highlight=False)
    paths, missing = expand_inputs(files)
    for name in missing:
        errors.print(f"[red]error:[/] no such file or folder: {for_terminal(name)}")
    target = data_dir or default_data_dir()
    options = Options(
        source=source, actor=actor, confidence=confidence, valid_days=valid_days, prune=prune
    )
    try:
        result = import_files(paths, target, options)
    except StoreError as exc:
        errors.print(f"[red]error:[/] {for_terminal(exc, 500)}")
        raise typer.Exit(EXIT_USAGE) from None
    for report in result.reports:
        _print_report(console, report)
    console.print(
        f"Intel store: {result.total:,} indicators in {for_terminal(indicators_path(target))}"
    )
    if missing or result.unreadable:
        raise typer.Exit(EXIT_USAGE)
    if strict and result.problems:
        errors.print(f"[red]--strict: {result.problems:,} problem(s)[/]")
        raise typer.Exit(EXIT_USAGE)


def _print_report(console: Console, r: FileReport) -> None:
    name = for_terminal(r.path, 160)
    if r.unreadable:
        console.print(f"[bold]{name}[/]: [red]unreadable[/] — {for_terminal(r.unreadable)}")
        return
    source = f" (source {for_terminal(r.source, 80)})" if r.source else ""
    console.print(f"[bold]{name}[/]: {r.format}{source}")
    if r.format != "microsoft_actor_names":
        line = (
            f"  {r.indicators:,} indicators from {r.records:,} records: {r.new:,} new, "
            f"{r.updated:,} updated, {r.unchanged:,} unchanged"
        )
        if r.duplicates:
            line += f"; {r.duplicates:,} repeats of a value already read"
        if r.pruned:
            line += f"; {r.pruned:,} no longer listed, removed"
        console.print(line)
    for reason, count in r.skipped.most_common():
        console.print(f"  skipped {count:,}: {for_terminal(reason)}")
    for note in r.notes:
        console.print(f"  note: {for_terminal(note, 400)}")
    if r.problem_count:
        console.print(f"  [yellow]{r.problem_count:,} problem(s)[/]:")
        for problem in r.problems[:_SHOWN_PROBLEMS]:
            console.print(
                f"    {for_terminal(problem.location, 120)}: {for_terminal(problem.reason, 300)}"
            )
        if r.problem_count > _SHOWN_PROBLEMS:
            console.print(f"    … and {r.problem_count - _SHOWN_PROBLEMS:,} more")


@app.command("tor-refresh")
def tor_refresh_command(
    files: Annotated[
        list[Path],
        typer.Argument(help="Tor bulk exit lists, exit-addresses files, onionoo JSON documents."),
    ],
    day: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Day a bulk exit list was fetched (YYYY-MM-DD, UTC; default: the file's "
            "modification day). Other kinds carry their own dates.",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Add Tor exit addresses, with their days, to the data directory.

    Sign-ins are tagged `tor` from these and the bundled exit history together. Exit status:
    0 done; 2 a file unreadable or not an exit list.
    """
    console = Console(highlight=False)
    errors = Console(stderr=True, highlight=False)
    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        errors.print(f"[red]error:[/] --date: not a day (YYYY-MM-DD): {for_terminal(day, 40)}")
        raise typer.Exit(EXIT_USAGE) from None
    target = data_dir or default_data_dir()
    failed = False
    for path in files:
        name = for_terminal(path, 160)
        try:
            result = refresh(target, path, day=when)
        except TorRefreshError as exc:
            errors.print(f"[red]error:[/] {name}: {for_terminal(exc, 400)}")
            failed = True
            continue
        span = f"{result.first_day}" + (
            f" → {result.last_day}" if result.last_day != result.first_day else ""
        )
        console.print(
            f"[bold]{name}[/]: {result.kind}, {result.addresses:,} exit addresses on {span} "
            f"({result.new:,} not seen in earlier refreshes)"
        )
        for note in result.notes:
            console.print(f"  note: {for_terminal(note, 300)}")
        if result.problems:
            console.print(f"  [yellow]{len(result.problems):,} problem(s)[/]:")
            for problem in result.problems[:_SHOWN_PROBLEMS]:
                console.print(f"    {for_terminal(problem, 300)}")
            if len(result.problems) > _SHOWN_PROBLEMS:
                console.print(f"    … and {len(result.problems) - _SHOWN_PROBLEMS:,} more")
        console.print(
            f"Refreshed Tor exits: {result.stored:,} addresses in "
            f"{for_terminal(store_path(target))} (used with the bundled exit history)"
        )
    if failed:
        raise typer.Exit(EXIT_USAGE)


@app.command("lookup")
def lookup_command(
    value: Annotated[str, typer.Argument(help="An IP, domain, URL, e-mail, ASN (AS123) or hash.")],
    at: Annotated[
        str | None, typer.Option(help="Judge validity at this date/time (UTC; default now).")
    ] = None,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show everything known about an IP, domain, URL, e-mail or ASN."""
    errors = Console(stderr=True, highlight=False)
    try:
        moment = parse_time(at) if at else datetime.now(UTC)
        found = lookup(data_dir or default_data_dir(), value, moment)
    except (BadValue, StoreError) as exc:
        errors.print(f"[red]error:[/] {for_terminal(exc, 300)}")
        raise typer.Exit(EXIT_USAGE) from None
    if as_json:
        typer.echo(orjson.dumps(_as_json(found), option=orjson.OPT_INDENT_2).decode())
        return
    _print_lookup(Console(highlight=False), found)


def _state(found: Lookup, index: int) -> str:
    indicator = found.matches[index].indicator
    if not indicator.matches:
        return "reference only"
    return indicator.state(found.at)


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


def _print_lookup(console: Console, found: Lookup) -> None:
    shown = f"AS{found.value}" if found.kind == "asn" else found.value
    console.print(
        f"[bold]{for_terminal(shown, 200)}[/] ({found.kind}), "
        f"validity judged at {found.at.strftime('%Y-%m-%d %H:%M')} UTC"
    )
    if found.kind in ("ipv4", "ipv6"):
        if found.tor:
            spans = ", ".join(f"{t.first_seen} → {t.last_seen}" for t in found.tor)
            console.print(f"  Tor exit: yes, {spans} (bundled exit history)")
        else:
            console.print("  Tor exit: not in the bundled exit history")
        vpn = ", ".join(f"{v.provider} ({v.country})" for v in found.vpn)
        console.print(f"  Commercial VPN: {for_terminal(vpn) if vpn else 'not a known server'}")
    if found.kind == "asn":
        if found.hosting:
            org, kind = found.hosting
            console.print(f"  AS{found.value}: {for_terminal(org)} — {kind}")
        else:
            console.print(f"  AS{found.value}: not a known hosting, cloud or VPN network")
    if not found.matches:
        console.print("  Indicators: none")
        return
    active = len(found.active())
    console.print(f"  Indicators: {len(found.matches)} ({active} active)")
    table = Table(show_lines=True)
    for column in ("state", "indicator", "matched", "actor", "conf.", "valid", "source", "about"):
        table.add_column(column, overflow="fold")
    for index, match in enumerate(found.matches):
        i = match.indicator
        state = _state(found, index)
        style = {"active": "bold red", "expired": "dim", "not yet valid": "yellow"}.get(state, "")
        about = " ".join(p for p in (i.description, i.reference) if p)
        table.add_row(
            f"[{style}]{state}[/]" if style else state,
            f"{i.type} {for_terminal(i.value, 120)}",
            for_terminal(match.how, 80),
            for_terminal(i.actor or "—", 80),
            str(i.confidence),
            f"{_day(i.valid_from)} → {_day(i.valid_until)}",
            f"{for_terminal(i.source, 60)} ({i.source_kind})",
            for_terminal(about or "—", 300),
        )
    console.print(table)


def _as_json(found: Lookup) -> dict[str, Any]:
    return {
        "query": found.query,
        "type": found.kind,
        "value": found.value,
        "at": found.at.isoformat(),
        "tor": [
            {"first_seen": str(t.first_seen), "last_seen": str(t.last_seen)} for t in found.tor
        ],
        "vpn": [{"provider": v.provider, "country": v.country} for v in found.vpn],
        "hosting": (
            {"organisation": found.hosting[0], "kind": found.hosting[1]} if found.hosting else None
        ),
        "indicators": [
            {
                "state": _state(found, index),
                "matched": m.how,
                "type": m.indicator.type,
                "value": m.indicator.value,
                "actor": m.indicator.actor,
                "actor_key": m.indicator.actor_key,
                "confidence": m.indicator.confidence,
                "valid_from": m.indicator.valid_from.isoformat()
                if m.indicator.valid_from
                else None,
                "valid_until": (
                    m.indicator.valid_until.isoformat() if m.indicator.valid_until else None
                ),
                "labels": list(m.indicator.labels),
                "source": m.indicator.source,
                "source_kind": m.indicator.source_kind,
                "description": m.indicator.description,
                "reference": m.indicator.reference,
                "origin": m.indicator.origin,
            }
            for index, m in enumerate(found.matches)
        ],
    }
