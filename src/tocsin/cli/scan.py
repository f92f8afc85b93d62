"""`tocsin scan PATH…`: ingest logs into the lake, run every rule, report what was found."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from tocsin.cli.settings import load_settings
from tocsin.enrich.geo import GeoError, GeoResolver
from tocsin.events import SEVERITIES, severity_rank
from tocsin.ingest import expand_inputs
from tocsin.paths import default_data_dir
from tocsin.scan import RulesBroken, ScanConfig, ScanResult, run_scan
from tocsin.sources import format_names
from tocsin.sources.base import ReadOptions
from tocsin.sources.reader import DEFAULT_MAX_RECORD, FileReport
from tocsin.text import for_terminal

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
PROGRESS_MIN_BYTES = 16 << 20  # show a progress bar only when there is something to wait for
_SEVERITY_STYLE = {
    "low": "cyan",
    "medium": "yellow",
    "high": "bold red",
    "critical": "bold white on red",
}


def scan(
    paths: Annotated[list[Path], typer.Argument(help="Log files or folders (read recursively).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write alerts.jsonl, rejects.jsonl, scan.json here."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Event lake and state. Default: $TOCSIN_DATA_DIR or ~/.local/share/tocsin."
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="Read every input as this format (see `tocsin formats`)."),
    ] = None,
    fail_on: Annotated[
        str | None, typer.Option(help="Exit 1 if an alert at or above this severity is raised.")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Exit 2 if any record was rejected.")] = False,
    year: Annotated[
        int | None,
        typer.Option(help="Year for timestamps that carry none (syslog). Default: file mtime."),
    ] = None,
    timezone: Annotated[str, typer.Option(help="Zone of timestamps that carry none.")] = "UTC",
    max_record_size: Annotated[
        int, typer.Option(help="Reject records larger than this many bytes.")
    ] = DEFAULT_MAX_RECORD,
    memory_limit: Annotated[
        str, typer.Option(help="DuckDB memory limit (spills to disk beyond it).")
    ] = "1GB",
    state_url: Annotated[
        str | None,
        typer.Option(help="State database URL (default: SQLite state.db in the data dir)."),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="tocsin.toml (default: $TOCSIN_CONFIG, else ./tocsin.toml if present).",
        ),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="DuckDB threads (default: all cores).")
    ] = None,
    geoip_db: Annotated[
        list[Path] | None,
        typer.Option(
            envvar="TOCSIN_GEOIP_DB",
            help="MaxMind/DB-IP .mmdb (City, Country, ASN) to locate addresses the logs do not "
            "(repeatable; default: geoip2fast's bundled country and AS data).",
        ),
    ] = None,
    enrich: Annotated[
        bool,
        typer.Option(
            help="Add place, AS and Tor/VPN/hosting/IOC tags at ingest. --no-enrich keeps events "
            "exactly as the logs gave them (troubleshooting; rules that need the tags go quiet).",
        ),
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary.")] = False,
    progress: Annotated[bool, typer.Option(help="Progress bar on large inputs.")] = True,
) -> None:
    """Ingest logs, run every rule on event time, and write the alerts.

    Exit status: 0 done; 1 an alert at or above --fail-on; 2 usage error, unreadable input,
    or (with --strict) any rejected record.
    """
    console = Console(stderr=True, highlight=False)
    out_console = Console(highlight=False)
    if fail_on is not None and fail_on not in SEVERITIES:
        _usage(console, f"--fail-on must be one of {', '.join(SEVERITIES)}")
    if fmt is not None and fmt not in format_names():
        _usage(console, f"unknown --format {fmt!r}; known: {', '.join(format_names())}")
    files, missing = expand_inputs(paths)
    if missing:
        for name in missing:
            console.print(f"[red]error:[/] no such file or folder: {for_terminal(name)}")
        raise typer.Exit(EXIT_USAGE)
    if not files:
        _usage(console, "no files to read under the given paths")
    settings = load_settings(console, config_file)
    try:
        geoip = GeoResolver(geoip_db) if geoip_db else None
    except GeoError as exc:
        _usage(console, for_terminal(exc, 500))
    config = ScanConfig(
        paths=paths,
        data_dir=data_dir or default_data_dir(),
        out_dir=out,
        forced_format=fmt,
        read_options=ReadOptions(year=year, timezone=timezone),
        max_record=max_record_size,
        memory_limit=memory_limit,
        threads=threads,
        state_url=state_url,
        config=settings,
        geoip=geoip,
        enrich=enrich,
    )
    total = sum(f.stat().st_size for f in files)
    show_bar = progress and console.is_terminal and total >= PROGRESS_MIN_BYTES
    try:
        result = _run(config, console, total, show_bar, quiet)
    except RulesBroken as exc:
        for error in exc.errors:
            console.print(f"[red]rule error:[/] {for_terminal(error, 500)}")
        raise typer.Exit(EXIT_USAGE) from None
    _print_summary(out_console, result, quiet)
    unreadable = [r for r in result.ingest.reports if r.note and r.note.startswith("unreadable")]
    if unreadable:
        raise typer.Exit(EXIT_USAGE)
    if strict and result.rejects.count:
        console.print(f"[red]--strict: {result.rejects.count} record(s) rejected[/]")
        raise typer.Exit(EXIT_USAGE)
    if fail_on is not None:
        worst = [
            a
            for a in result.evaluation.alerts
            if severity_rank(a.severity) >= severity_rank(fail_on)
        ]
        if worst:
            raise typer.Exit(EXIT_FINDINGS)


def _usage(console: Console, message: str) -> None:
    console.print(f"[red]error:[/] {message}")
    raise typer.Exit(EXIT_USAGE)


def _run(
    config: ScanConfig, console: Console, total: int, show_bar: bool, quiet: bool
) -> ScanResult:
    def on_file(report: FileReport) -> None:
        # Live per-file lines are for a person watching; logs get the final table only.
        if not quiet and not show_bar and console.is_terminal:
            console.print(_file_line(report))

    if not show_bar:
        return run_scan(config, on_file=on_file)
    bar = Progress(
        TextColumn("reading"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with bar:
        task = bar.add_task("read", total=total)
        return run_scan(config, on_file=on_file, on_progress=lambda n: bar.advance(task, n))


def _file_line(report: FileReport) -> str:
    name = for_terminal(report.path, 120)
    if report.note and not report.format:
        return f"  [dim]{name}[/]: [yellow]{for_terminal(report.note)}[/]"
    parts = [f"{report.events:,} events"]
    if report.skipped_total:
        parts.append(f"{report.skipped_total:,} skipped")
    if report.rejected:
        parts.append(f"[red]{report.rejected:,} rejected[/]")
    return f"  {name}: [bold]{report.format}[/] ({report.reader}) " + ", ".join(parts)


def _print_summary(console: Console, result: ScanResult, quiet: bool) -> None:
    reports = result.ingest.reports
    if not quiet:
        console.print(_files_table(reports, _common_parent(reports)))
        skipped = _skip_reasons(reports)
        if skipped:
            table = Table(
                title="Skipped records (not authentication records)", title_justify="left"
            )
            table.add_column("file", overflow="fold")
            table.add_column("reason", overflow="fold")
            table.add_column("records", justify="right")
            for (path, reason), count in skipped.most_common(40):
                table.add_row(for_terminal(Path(path).name, 80), for_terminal(reason), f"{count:,}")
            if len(skipped) > 40:
                table.caption = f"{len(skipped) - 40} more reasons in scan.json"
            console.print(table)
    if result.rejects.count:
        console.print(f"[red]{result.rejects.count:,} record(s) rejected[/] — first ones:")
        for entry in result.rejects.kept[:10]:
            where = entry.line if entry.line is not None else f"record {entry.record}"
            console.print(
                f"  {for_terminal(entry.file, 100)}:{where}: {for_terminal(entry.reason, 200)}"
            )
        if result.rejects_path:
            console.print(f"  all rejects: {for_terminal(result.rejects_path)}")
    commit = result.ingest.commit
    by_source = ", ".join(f"{s} {n:,}" for s, n in sorted(result.events_by_source().items()))
    console.print(
        f"Events read: {result.ingest.events_read:,} ({by_source or 'none'}); "
        f"added to the lake: {commit.added:,}, already there: {commit.duplicates:,}"
    )
    if result.mail is not None:
        verdicts = result.mail.summary.get("verdicts", {})
        messages_file = result.mail.summary.get("messages_path")
        console.print(
            f"Mail read: {result.mail.messages:,} message(s): {verdicts.get('phish', 0):,} phish, "
            f"{verdicts.get('suspicious', 0):,} suspicious, {verdicts.get('clean', 0):,} clean"
            + (f"; one line each in {for_terminal(messages_file)}" if messages_file else "")
        )
    print_alerts(console, result, quiet)
    for run in result.evaluation.runs:
        if run.error:
            console.print(f"[red]rule {run.rule} failed:[/] {for_terminal(run.error, 400)}")
    if result.alerts_path:
        console.print(f"Alerts written to {for_terminal(result.alerts_path)}")
    console.print(f"Done in {result.seconds:.1f} s.")


def _common_parent(reports: list[FileReport]) -> Path | None:
    parents = [Path(r.path).parent for r in reports]
    if not parents:
        return None
    common = parents[0]
    while any(common not in (p, *p.parents) for p in parents):
        common = common.parent
    return common


def _shown_path(path: str, base: Path | None) -> str:
    if base is None or base == Path():
        return path
    try:
        return str(Path(path).relative_to(base))
    except ValueError:
        return path


def _files_table(reports: list[FileReport], base: Path | None) -> Table:
    title = f"Files under {base}" if base not in (None, Path()) else "Files"
    table = Table(title=for_terminal(title), title_justify="left")
    for column in ("file", "format", "events", "skipped", "rejected", "note"):
        right = column in ("events", "skipped", "rejected")
        table.add_column(column, justify="right" if right else "left", overflow="fold")
    for r in reports:
        table.add_row(
            for_terminal(_shown_path(r.path, base), 100),
            r.format or "—",
            f"{r.events:,}",
            f"{r.skipped_total:,}",
            f"[red]{r.rejected:,}[/]" if r.rejected else "0",
            for_terminal(r.note or (f"{r.reader} reader" if r.reader else ""), 100),
        )
    return table


def _skip_reasons(reports: list[FileReport]) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for r in reports:
        for reason, n in r.skipped.items():
            counts[(r.path, reason)] += n
    return counts


def print_alerts(console: Console, result: ScanResult, quiet: bool) -> None:
    alerts = result.evaluation.alerts
    counts = result.alerts_by_severity()
    shown = ", ".join(
        f"[{_SEVERITY_STYLE[s]}]{counts[s]} {s}[/]" for s in reversed(SEVERITIES) if counts[s]
    )
    changes = ""
    if alerts and (result.alerts_new or result.alerts_updated):
        changes = f"; {result.alerts_new} new, {result.alerts_updated} updated since the last scan"
    console.print(f"Alerts: {len(alerts)}" + (f" ({shown})" if shown else "") + changes)
    _print_campaigns(console, result)
    if quiet or not alerts:
        return
    for alert in alerts[:25]:
        style = _SEVERITY_STYLE[alert.severity]
        console.print(
            f"\n[{style}]{alert.severity.upper()}[/] {alert.rule}  "
            f"{alert.first_seen} → {alert.last_seen}  [dim]{alert.id}[/]"
        )
        users = ", ".join(alert.users[:5]) + (
            f" and {len(alert.users) - 5} more" if len(alert.users) > 5 else ""
        )
        console.print(f"  accounts: {for_terminal(users, 300)}")
        if alert.compromised_users:
            console.print(
                "  [bold red]compromised:[/] "
                + for_terminal(", ".join(alert.compromised_users), 300)
            )
        console.print(f"  {for_terminal(alert.summary, 600)}", soft_wrap=False)
    if len(alerts) > 25:
        console.print(f"\n… {len(alerts) - 25} more alerts in alerts.jsonl")


def _print_campaigns(console: Console, result: ScanResult) -> None:
    """How many campaigns, and who the attributed ones point to (details: tocsin explain)."""
    campaigns = result.campaigns
    if not campaigns:
        return
    wide = sum(1 for c in campaigns if len(c.tenants) > 1)
    console.print(
        f"Campaigns: {len(campaigns)}" + (f" ({wide} across organisations)" if wide else "")
    )
    for campaign in campaigns:
        actor = campaign.attribution.get("actor")
        if actor:
            console.print(
                f"  {campaign.id}: {for_terminal(actor['name'])}, {actor['level']} confidence "
                f"({actor['confidence']:g}); {len(campaign.alert_ids)} alert(s), "
                f"{len(campaign.tenants)} organisation(s) — tocsin report --campaign {campaign.id}"
            )
