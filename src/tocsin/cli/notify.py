"""`tocsin notify`: preview, queue, send, status, retry.

tocsin notify preview --person chloe@harper2020.example --kind compromised --lang ar
tocsin notify preview --kind digest --html digest.html
tocsin notify queue [--alerts out/alerts.jsonl] [--dry-run]
tocsin notify send [--dry-run] [--follow]
tocsin notify status | tocsin notify retry [ID…]
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from tocsin.cli.settings import load_settings
from tocsin.config import Config, Organisation, Person
from tocsin.events import Actor, Alert
from tocsin.notify.i18n import UnknownLanguage, available_languages, resolve_language
from tocsin.notify.outbox import Message, Outbox
from tocsin.notify.planner import KINDS, Notice, plan_notifications
from tocsin.notify.queue import alert_from_dict, enqueue, stored_alerts
from tocsin.notify.render import RLM, render
from tocsin.notify.sender import ConfiguredChannels, Sender
from tocsin.paths import default_data_dir
from tocsin.store.state import StateStore, default_url
from tocsin.text import for_terminal, printable

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

app = typer.Typer(help="Notifications: preview, queue, send, status, retry.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="tocsin.toml (default: $TOCSIN_CONFIG, else ./tocsin.toml if present)."
    ),
]
DataDirOption = Annotated[
    Path | None, typer.Option(help="Data directory (default: $TOCSIN_DATA_DIR or ~/.local/share).")
]
StateOption = Annotated[
    str | None, typer.Option(help="State database URL (default: SQLite in the data dir).")
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would happen; change and send nothing.")
]


@app.command("preview")
def preview(
    person: Annotated[
        str | None, typer.Option("--person", "-p", help="A person's name or account.")
    ] = None,
    kind: Annotated[str, typer.Option("--kind", "-k", help="targeted, compromised or digest.")] = (
        "targeted"
    ),
    lang: Annotated[
        str | None, typer.Option("--lang", "-l", help="Language (default: the recipient's).")
    ] = None,
    org: Annotated[str | None, typer.Option(help="Organisation id (for a digest).")] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the HTML version to this file.")
    ] = None,
    alert_id: Annotated[
        str | None, typer.Option("--alert", help="Use a stored alert (else an example attack).")
    ] = None,
    config_file: ConfigOption = None,
    data_dir: DataDirOption = None,
    state_url: StateOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Render a notification to the terminal (and --html FILE) without sending anything."""
    console = Console(stderr=True, highlight=False)
    if kind not in KINDS:
        _usage(console, f"--kind must be one of {', '.join(KINDS)}")
    if lang is not None and lang not in available_languages():
        _usage(console, f"unknown --lang {lang!r}; available: {', '.join(available_languages())}")
    config = load_settings(console, config_file, required=False) or _example_config()
    who = _find_person(console, config, person) if person else None
    if who is None and kind != "digest":
        who = config.people[0] if config.people else None
        if who is None:
            _usage(console, "no person in the configuration: pass --person or use --kind digest")
    organisation = _pick_org(console, config, org, who)
    if alert_id is not None:
        alert = _stored_alert(console, alert_id, data_dir, state_url)
    else:
        alert = _example_alert(config, organisation, who)
    if who is not None and kind in ("targeted", "compromised"):
        account = who.accounts[0]
        users = sorted({*alert.users, account})
        hit = (
            sorted({*alert.compromised_users, account})
            if kind == "compromised"
            else [u for u in alert.compromised_users if u not in who.accounts]
        )
        alert = replace(alert, users=users, compromised_users=hit)
    notice = _notice_for(console, config, alert, kind, who, organisation)
    try:
        language = lang or resolve_language(notice.language)
    except UnknownLanguage as exc:
        _usage(console, str(exc))
    rendered = render(notice.kind, language, notice.context)
    out = Console(highlight=False, soft_wrap=True)
    out.print(f"[bold]Subject:[/] {_shown(rendered.subject)}")
    out.print(
        f"[dim]To: {for_terminal(notice.destination)} · {notice.kind} · {language} "
        f"({rendered.direction})[/]\n"
    )
    for line in rendered.text.splitlines():
        out.print(_shown(line))
    if html is not None:
        if dry_run:
            console.print(f"--dry-run: would write {for_terminal(html)}")
        else:
            html.write_text(rendered.html, encoding="utf-8")
            console.print(f"HTML written to {for_terminal(html)}")


@app.command("queue")
def queue(
    alerts_file: Annotated[
        Path | None,
        typer.Option("--alerts", help="alerts.jsonl to plan from (default: the state database)."),
    ] = None,
    config_file: ConfigOption = None,
    data_dir: DataDirOption = None,
    state_url: StateOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Plan notifications for alerts and put new ones in the outbox (idempotent)."""
    console = Console(highlight=False)
    config = load_settings(console, config_file, required=True)
    assert config is not None
    store = _store(data_dir, state_url)
    try:
        store.migrate()
        if alerts_file is not None:
            alerts = _read_alerts(console, alerts_file)
        else:
            alerts = stored_alerts(store)
        plan = plan_notifications(config, alerts)
        outbox = Outbox(store, config.notify)
        if dry_run:
            known = outbox.known([n.key for n in plan.notices])
            for notice in plan.notices:
                state = "already queued" if notice.key in known else "would queue"
                console.print(
                    f"{state}: {notice.kind} ({notice.language}) → "
                    f"{for_terminal(notice.destination)}  campaign {notice.campaign}"
                )
        summary = enqueue(outbox, plan, dry_run=dry_run)
    finally:
        store.dispose()
    verb = "would queue" if dry_run else "queued"
    console.print(
        f"{len(alerts)} alert(s), {summary['campaigns']} campaign(s): {verb} "
        f"{summary['queued']}, already queued {summary['already_queued']}, "
        f"superseded {summary['superseded']}, failed {summary['failed']}."
    )
    if summary["people_unreachable"]:
        console.print(
            f"[yellow]{summary['people_unreachable']} person(s) have no address: "
            "the digest asks the security contacts to reach them.[/]"
        )
    for error in summary.get("errors", []):
        console.print(f"[red]error:[/] {for_terminal(error, 400)}")
    if summary["failed"]:
        raise typer.Exit(EXIT_FAILED)


@app.command("send")
def send(
    config_file: ConfigOption = None,
    data_dir: DataDirOption = None,
    state_url: StateOption = None,
    dry_run: DryRunOption = False,
    batch: Annotated[int, typer.Option(min=1, help="Messages claimed per batch.")] = 50,
    lease: Annotated[
        float, typer.Option(min=1, help="Seconds a claimed batch is ours before others retry it.")
    ] = 300,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep running, sending as messages come due.")
    ] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between polls.")] = 30,
) -> None:
    """Deliver due notifications from the outbox. Exit 1 if any attempt failed."""
    console = Console(highlight=False)
    config = load_settings(console, config_file, required=True)
    assert config is not None
    store = _store(data_dir, state_url)
    try:
        store.migrate()
        outbox = Outbox(store, config.notify)

        # Each result is printed below; the sender's warnings would say it all twice.
        logging.getLogger("tocsin.notify").setLevel(logging.ERROR)
        said = {"pending": "retry later", "dead": "dead letter"}

        def show(message: Message, state: str, detail: str) -> None:
            console.print(
                f"{said.get(state, state)}: #{message.id} {message.kind} → "
                f"{for_terminal(message.destination)}: {for_terminal(detail, 300)}"
            )

        sender = Sender(
            outbox,
            ConfiguredChannels(config),
            batch=batch,
            lease=timedelta(seconds=lease),
            on_result=show,
        )
        if dry_run:
            report = sender.run_once(dry_run=True)
            for m in report.would_send:
                console.print(
                    f"would send: #{m.id} {m.kind} ({m.language}) via {m.channel} → "
                    f"{for_terminal(m.destination)}: {for_terminal(m.subject, 120)}"
                )
            console.print(f"--dry-run: {len(report.would_send)} message(s) due; nothing sent.")
            return
        try:
            report = sender.run(interval=interval, until_empty=not follow)
        except KeyboardInterrupt:
            console.print("stopped")
            raise typer.Exit(EXIT_OK) from None
    finally:
        store.dispose()
    console.print(
        f"sent {report.sent}, retry later {report.retried}, dead letters {report.dead}, "
        f"deferred by rate limits {report.deferred}."
    )
    if report.retried or report.dead:
        raise typer.Exit(EXIT_FAILED)


@app.command("status")
def status(
    data_dir: DataDirOption = None,
    state_url: StateOption = None,
    limit: Annotated[int, typer.Option(help="Dead letters and pending messages shown.")] = 20,
) -> None:
    """How many notifications are pending, sent, dead; the dead letters and why."""
    console = Console(highlight=False)
    store = _store(data_dir, state_url)
    try:
        store.migrate()
        outbox = Outbox(store)
        counts = outbox.counts()
        console.print(
            "Outbox: " + (", ".join(f"{s} {n}" for s, n in sorted(counts.items())) or "empty")
        )
        for state in ("dead", "pending", "sending"):
            rows = outbox.rows(state, limit)
            if not rows:
                continue
            table = Table(title=f"{state} ({counts.get(state, 0)})", title_justify="left")
            for column in ("id", "kind", "lang", "to", "attempts", "next", "last error"):
                table.add_column(column, overflow="fold")
            for r in rows:
                table.add_row(
                    str(r.id),
                    r.kind,
                    r.language,
                    for_terminal(r.destination),
                    str(r.attempts),
                    r.next_attempt_at.isoformat(timespec="seconds"),
                    for_terminal(r.last_error or "", 200),
                )
            console.print(table)
    finally:
        store.dispose()


@app.command("retry")
def retry(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Dead letters to retry (default: all).")
    ] = None,
    data_dir: DataDirOption = None,
    state_url: StateOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Put dead letters back in the queue (after fixing what made them fail)."""
    console = Console(highlight=False)
    store = _store(data_dir, state_url)
    try:
        store.migrate()
        outbox = Outbox(store)
        if dry_run:
            dead = [r for r in outbox.rows("dead", 10_000) if not ids or r.id in ids]
            console.print(f"--dry-run: would requeue {len(dead)} dead letter(s).")
            return
        console.print(f"requeued {outbox.requeue_dead(ids or None)} dead letter(s).")
    finally:
        store.dispose()


# -- helpers --------------------------------------------------------------------------------


def _usage(console: Console, message: str) -> None:
    console.print(f"[red]error:[/] {for_terminal(message, 500)}")
    raise typer.Exit(EXIT_USAGE)


def _shown(text: str) -> str:
    """Rendered text for a terminal: marks kept out, control characters neutralised."""
    return for_terminal(text.replace(RLM, ""), 100_000)


def _store(data_dir: Path | None, state_url: str | None) -> StateStore:
    if state_url is None:
        directory = data_dir or default_data_dir()
        directory.mkdir(parents=True, exist_ok=True)
        state_url = default_url(directory)
    return StateStore(state_url)


def _read_alerts(console: Console, path: Path) -> list[Alert]:
    alerts = []
    try:
        with path.open("rb") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        alerts.append(alert_from_dict(orjson.loads(line)))
                    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                        _usage(console, f"{path}:{n}: not an alert: {exc}")
    except OSError as exc:
        _usage(console, f"cannot read {path}: {exc.strerror}")
    return alerts


def _stored_alert(
    console: Console, alert_id: str, data_dir: Path | None, state_url: str | None
) -> Alert:
    store = _store(data_dir, state_url)
    try:
        store.migrate()
        matches = store.find_alerts(alert_id)
        if len(matches) != 1:
            _usage(console, f"{len(matches)} alerts match {alert_id!r}")
        data = store.get_alert(matches[0])
    finally:
        store.dispose()
    assert data is not None
    return alert_from_dict(data)


def _find_person(console: Console, config: Config, wanted: str) -> Person:
    person = config.person_by_account(wanted)
    if person is None:
        named = [p for p in config.people if p.name.casefold() == wanted.casefold()]
        person = named[0] if len(named) == 1 else None
    if person is None:
        _usage(console, f"no person {wanted!r} in the configuration (a name or an account)")
    assert person is not None
    return person


def _pick_org(
    console: Console, config: Config, org_id: str | None, person: Person | None
) -> Organisation:
    if org_id is not None:
        try:
            return config.organisation(org_id)
        except KeyError:
            _usage(console, f"no organisation {org_id!r} in the configuration")
    if person is not None:
        return config.organisation(person.organisation)
    if not config.organisations:
        _usage(console, "no organisation in the configuration")
    return config.organisations[0]


def _notice_for(
    console: Console,
    config: Config,
    alert: Alert,
    kind: str,
    person: Person | None,
    organisation: Organisation,
) -> Notice:
    # A preview shows the message even for an alert below notify.min_severity.
    notify = config.notify.model_copy(update={"min_severity": "low"})
    config = config.model_copy(update={"notify": notify})
    plan = plan_notifications(config, [alert])
    for notice in plan.notices:
        if notice.kind != kind or notice.organisation != organisation.id:
            continue
        if person is None or notice.person == person.accounts[0] or kind == "digest":
            return notice
    # A person with no address still gets a preview: plan as if they had one.
    if person is not None and kind != "digest":
        reachable = person.model_copy(
            update={"accounts": [*person.accounts], "personal": ["preview@example.invalid"]}
        )
        people = [reachable if p is person else p for p in config.people]
        again = plan_notifications(config.model_copy(update={"people": people}), [alert])
        for notice in again.notices:
            if notice.kind == kind and notice.person == person.accounts[0]:
                return notice
    if kind == "digest":
        contacts = organisation.security_contacts or ["security@example.invalid"]
        org = organisation.model_copy(update={"security_contacts": contacts})
        orgs = [org if o.id == org.id else o for o in config.organisations]
        again = plan_notifications(config.model_copy(update={"organisations": orgs}), [alert])
        for notice in again.notices:
            if notice.kind == "digest" and notice.channel == "email":
                return notice
    _usage(console, f"cannot preview a {kind!r} notification for this person")
    raise AssertionError


def _example_config() -> Config:
    """Used when there is no tocsin.toml: an example campaign office."""
    return Config.model_validate(
        {
            "organisations": [
                {
                    "id": "example",
                    "name": "Example for Senate",
                    "tenants": ["example"],
                    "domains": ["campaign.example"],
                    "languages": ["en"],
                    "security_contacts": ["security@campaign.example"],
                }
            ],
            "people": [
                {
                    "name": "Alex Example",
                    "organisation": "example",
                    "accounts": ["alex@campaign.example"],
                    "personal": ["alex.example@mail.example"],
                }
            ],
        }
    )


def _example_alert(config: Config, organisation: Organisation, person: Person | None) -> Alert:
    """The 2020 model case: a low-and-slow password spray from Tor exits."""
    tenant = organisation.tenants[0] if organisation.tenants else organisation.id
    others = [p.accounts[0] for p in config.people if p.organisation == organisation.id]
    users = sorted({*others[:5], *([person.accounts[0]] if person else [])}) or [
        f"staff@{organisation.domains[0] if organisation.domains else 'example.org'}"
    ]
    return Alert(
        id="al-example",
        rule="distributed_spray",
        title="Low-and-slow password spray from many addresses",
        severity="high",
        confidence=0.9,
        first_seen="2020-09-03T02:00:00Z",
        last_seen="2020-09-09T17:05:00Z",
        tenant=tenant,
        users=users,
        compromised_users=[],
        src_ips=["185.220.101.4", "185.220.101.17", "199.249.230.87"],
        src_asns=[],
        countries=["DE", "US"],
        user_agents=[],
        techniques=["T1110.003"],
        evidence_count=1862,
        evidence={},
        summary="",
        recommended_actions=[],
        actor=Actor(
            "STRONTIUM",
            0.8,
            [
                "Tor exit nodes rotated about every hour",
                "about 4 attempts per account per hour for days",
            ],
        ),
        campaign="cmp-example",
    )


__all__ = ["app", "printable"]
