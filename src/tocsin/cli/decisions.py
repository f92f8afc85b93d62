"""`tocsin decisions`: list, add, delete, export decisions; audit trail; account actions;
bouncer API keys. Reads the state database of a data directory (as `tocsin scan` wrote it)."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from tocsin.cli.settings import load_settings
from tocsin.config import Config
from tocsin.paths import default_data_dir
from tocsin.respond import accounts
from tocsin.respond.bouncers import ROLES, BouncerError, Bouncers
from tocsin.respond.decision import Proposal, iso
from tocsin.respond.durations import parse_duration
from tocsin.respond.export import FORMATS, ExportError, entries, render
from tocsin.respond.store import DecisionStore
from tocsin.store.state import StateStore, default_url
from tocsin.text import for_terminal

app = typer.Typer(
    help="Response decisions: list, add, delete, export; audit; bouncer keys.",
    no_args_is_help=True,
)
bouncer_app = typer.Typer(help="API keys of bouncers and other enforcement points.")
app.add_typer(bouncer_app, name="bouncer")

DataDir = Annotated[Path | None, typer.Option(help="Data directory (as given to scan).")]
StateUrl = Annotated[
    str | None, typer.Option(help="State database URL (default: state.db in the data dir).")
]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", help="tocsin.toml (default: $TOCSIN_CONFIG, else ./tocsin.toml)."),
]
_err = Console(stderr=True, highlight=False)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def _store(
    data_dir: Path | None, state_url: str | None, config_file: Path | None
) -> Iterator[tuple[DecisionStore, Config | None]]:
    config = load_settings(_err, config_file)
    directory = data_dir or default_data_dir()
    if state_url is None:
        directory.mkdir(parents=True, exist_ok=True)
    state = StateStore(state_url or default_url(directory))
    try:
        state.migrate()
        store = DecisionStore(state, config)
        store.sweep_expired(_actor())
        yield store, config
    finally:
        state.dispose()


def _fail(message: str) -> typer.Exit:
    _err.print(f"[red]error:[/] {for_terminal(message, 1000)}")
    return typer.Exit(2)


@app.command("list")
def list_decisions(
    data_dir: DataDir = None,
    state_url: StateUrl = None,
    config_file: ConfigFile = None,
    show_all: Annotated[bool, typer.Option("--all", help="Also expired and deleted.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, one per decision.")] = False,
) -> None:
    """List decisions (active ones unless --all)."""
    with _store(data_dir, state_url, config_file) as (store, _):
        now = store.clock()
        found = store.query(active_only=not show_all)
    if as_json:
        for d in found:
            sys.stdout.buffer.write(orjson.dumps(d.to_dict(now)) + b"\n")
        return
    table = Table(title=f"{len(found)} decision(s)", title_justify="left")
    for column in ("id", "scope", "value", "action", "status", "until", "origin", "by"):
        table.add_column(column, overflow="fold")
    for d in found:
        status = d.status(now) + (" (simulated)" if d.simulated else "")
        table.add_row(
            str(d.id), d.scope, for_terminal(d.value, 120), d.action, status,
            iso(d.ends_at) or "", for_terminal(f"{d.origin} {d.origin_ref or ''}", 80),
            for_terminal(d.created_by, 60),
        )  # fmt: skip
    Console(highlight=False, width=None if sys.stdout.isatty() else 160).print(table)


@app.command("add")
def add(
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
    ip: Annotated[str | None, typer.Option(help="One address.")] = None,
    range_: Annotated[str | None, typer.Option("--range", help="A CIDR network.")] = None,
    asn: Annotated[str | None, typer.Option(help="An AS number.")] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166 two-letter code.")] = None,
    user_agent: Annotated[str | None, typer.Option(help="An exact user agent.")] = None,
    user: Annotated[str | None, typer.Option(help="An account's sign-in name.")] = None,
    action: Annotated[str, typer.Option(help="ban, captcha, mfa_stepup, …")] = "ban",
    duration: Annotated[str, typer.Option(help="How long: 30m, 4h, 7d, 1h30m.")] = "4h",
    enforce: Annotated[
        bool | None,
        typer.Option("--enforce/--simulate", help="Default: as response.mode says."),
    ] = None,
    data_dir: DataDir = None,
    state_url: StateUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Add a decision by hand. It is checked like any other: allowlist first, no huge ranges."""
    given = {
        "ip": ip, "range": range_, "asn": asn, "country": country,
        "user_agent": user_agent, "user": user,
    }  # fmt: skip
    chosen = [(k, v) for k, v in given.items() if v is not None]
    if len(chosen) != 1:
        raise _fail("give exactly one of --ip, --range, --asn, --country, --user-agent, --user")
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    with _store(data_dir, state_url, config_file) as (store, config):
        mode = config.response.mode if config else "simulate"
        simulated = (mode != "enforce") if enforce is None else not enforce
        scope, value = chosen[0]
        outcome = store.apply(
            [
                Proposal(
                    scope=scope, value=value, action=action, seconds=seconds, origin="manual",
                    scenario="tocsin/manual", reason=reason, simulated=simulated,
                    created_by=_actor(),
                )
            ]
        )  # fmt: skip
    for refusal in outcome.refused:
        _err.print(f"[red]refused:[/] {for_terminal(refusal.reason, 500)}")
    if outcome.split:
        _err.print("[yellow]split around allowlisted addresses[/]")
    for d in outcome.created:
        label = "simulated" if d.simulated else "enforced"
        print(f"decision {d.id}: {d.action} {d.scope} {for_terminal(d.value)} until "
              f"{iso(d.until)} ({label})")  # fmt: skip
    if not outcome.created:
        raise typer.Exit(2)


@app.command("delete")
def delete(
    ids: Annotated[list[int] | None, typer.Argument(help="Decision ids.")] = None,
    value: Annotated[str | None, typer.Option(help="Every active decision on this value.")] = None,
    origin_ref: Annotated[
        str | None, typer.Option(help="Every active decision from this alert or campaign.")
    ] = None,
    delete_all: Annotated[bool, typer.Option("--all", help="Every active decision.")] = False,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")] = "deleted by hand",
    data_dir: DataDir = None,
    state_url: StateUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Stop decisions now. Bouncers remove them at their next pull."""
    if not ids and value is None and origin_ref is None and not delete_all:
        raise _fail("give decision ids, --value, --origin-ref or --all")
    with _store(data_dir, state_url, config_file) as (store, _):
        done = store.delete(
            ids or None, actor=_actor(), reason=reason, value=value, origin_ref=origin_ref
        )
    print(f"{len(done)} decision(s) deleted" + (": " + ", ".join(str(d.id) for d in done)
          if done else ""))  # fmt: skip
    if not done:
        raise typer.Exit(1)


@app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help=f"{', '.join(FORMATS)} or checklist.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Default: stdout.")] = None,
    simulated: Annotated[
        bool | None,
        typer.Option(
            "--simulated/--no-simulated",
            help="Include simulated decisions, labelled (default: yes in simulate mode).",
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="Name of the table, set, location or zone.")] = "tocsin",
    max_entries: Annotated[int | None, typer.Option(help="Refuse more entries than this.")] = None,
    data_dir: DataDir = None,
    state_url: StateUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Block lists (CIDR-aggregated) for firewalls, proxies and IdPs; account-action checklist."""
    if fmt not in (*FORMATS, "checklist"):
        raise _fail(f"unknown --format {fmt!r}; one of {', '.join(FORMATS)}, checklist")
    if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 28:
        raise _fail("--name: letters, digits, '-' and '_', at most 28 characters")
    with _store(data_dir, state_url, config_file) as (store, config):
        mode = config.response.mode if config else "simulate"
        include = (mode == "simulate") if simulated is None else simulated
        now = store.clock()
        found = [d for d in store.query(active_only=True) if include or not d.simulated]
        try:
            if fmt == "checklist":
                text = accounts.checklist(accounts.plan(found), mode)
            else:
                text = render(fmt, entries(found, store.allowlist, now), now=now, mode=mode,
                              name=name, max_entries=max_entries)  # fmt: skip
        except ExportError as exc:
            raise _fail(str(exc)) from None
        store.note("exported", _actor(), {"format": fmt, "decisions": len(found),
                                            "simulated_included": include})  # fmt: skip
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@app.command("accounts")
def account_actions(
    execute: Annotated[
        bool, typer.Option(help="Send the calls where credentials are configured.")
    ] = False,
    data_dir: DataDir = None,
    state_url: StateUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """Carry out account decisions through Microsoft Graph / Okta — a dry run unless --execute,
    the decision is enforced, and TOCSIN_GRAPH_TOKEN or TOCSIN_OKTA_ORG_URL+TOCSIN_OKTA_TOKEN
    are set."""
    creds = accounts.Credentials.from_env(os.environ)
    with _store(data_dir, state_url, config_file) as (store, _):
        steps = accounts.plan(store.query(active_only=True), creds.okta_url)
        done = {(a["decision_id"], a["detail"].get("provider")) for a in store.audit(limit=100_000)
                if a["event"] == "executed"}  # fmt: skip
        results = accounts.Executor(creds, done=done).run(steps, execute=execute)
        for r in results:
            store.note(
                "executed" if r.executed else "dry_run", _actor(),
                {"provider": r.provider, "request": r.request, "status": r.status,
                 "error": r.error, "reason": r.reason},
                decision_id=r.decision_id,
            )  # fmt: skip
    for r in results:
        state = "sent" if r.executed else f"dry run ({r.reason or r.error})"
        print(f"decision {r.decision_id} {r.provider}: {for_terminal(r.request, 500)} — {state}")
    if any(r.error for r in results):
        raise typer.Exit(1)


@app.command("audit")
def audit(
    decision_id: Annotated[int | None, typer.Argument(help="One decision (default: all).")] = None,
    data_dir: DataDir = None,
    state_url: StateUrl = None,
    config_file: ConfigFile = None,
) -> None:
    """The audit trail: every change, refusal, export and account action (JSON Lines)."""
    with _store(data_dir, state_url, config_file) as (store, _):
        for row in store.audit(decision_id, limit=1_000_000):
            sys.stdout.buffer.write(orjson.dumps(row) + b"\n")


@bouncer_app.command("add")
def bouncer_add(
    name: Annotated[str, typer.Argument(help="A name for the enforcement point.")],
    role: Annotated[str, typer.Option(help=f"{' or '.join(ROLES)}.")] = "bouncer",
    key_env: Annotated[
        str | None,
        typer.Option(help="Take the key from this environment variable instead of making one."),
    ] = None,
    data_dir: DataDir = None,
    state_url: StateUrl = None,
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    key = os.environ.get(key_env) if key_env else None
    if key_env and not key:
        raise _fail(f"${key_env} is empty")
    with _store(data_dir, state_url, None) as (store, _):
        try:
            made = Bouncers(store.state).add(name, _actor(), key=key, role=role)
        except BouncerError as exc:
            raise _fail(str(exc)) from None
    if key is None:
        print(made)
    _err.print(f"bouncer {for_terminal(name)} added ({role}); keep the key: it is not shown again")


@bouncer_app.command("list")
def bouncer_list(data_dir: DataDir = None, state_url: StateUrl = None) -> None:
    """Bouncers and when they last pulled decisions."""
    with _store(data_dir, state_url, None) as (store, _):
        found = Bouncers(store.state).list()
    for b in found:
        print(f"{b.name}\t{b.role}\tcreated {iso(b.created_at)}\tlast pull "
              f"{iso(b.last_pull) or 'never'}\t{for_terminal(b.user_agent or '')}")  # fmt: skip


@bouncer_app.command("delete")
def bouncer_delete(
    name: Annotated[str, typer.Argument()], data_dir: DataDir = None, state_url: StateUrl = None
) -> None:
    """Remove a bouncer; its key stops working at once."""
    with _store(data_dir, state_url, None) as (store, _):
        if not Bouncers(store.state).delete(name, _actor()):
            raise _fail(f"no bouncer named {name!r}")
    print(f"bouncer {name} deleted")
