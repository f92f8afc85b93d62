"""`tocsin report --campaign ID`: a campaign as STIX 2.1, CSV or a plain address list."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tocsin.attribution.report import (
    TLP,
    address_facts,
    indicators_csv,
    indicators_plain,
    stix_bundle,
    stix_json,
)
from tocsin.attribution.store import get_campaign, list_campaigns
from tocsin.paths import default_data_dir
from tocsin.store.duck import connect
from tocsin.store.lake import Lake, create_views
from tocsin.store.state import StateStore, default_url
from tocsin.text import for_terminal

FORMATS = ("stix", "csv", "plain")
EXIT_USAGE = 2


def report(
    campaign: Annotated[
        str | None,
        typer.Option("--campaign", "-c", help="Campaign id (or a unique prefix) from scan."),
    ] = None,
    format_: Annotated[
        str, typer.Option("--format", "-f", help="stix (2.1 bundle), csv or plain.")
    ] = "stix",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of standard output.")
    ] = None,
    tlp: Annotated[
        str, typer.Option(help="TLP marking of the STIX objects: white, green, amber, red.")
    ] = "amber",
    data_dir: Annotated[
        Path | None, typer.Option(help="Event lake and state (as given to scan).")
    ] = None,
    state_url: Annotated[str | None, typer.Option(help="State database URL.")] = None,
) -> None:
    """Export a campaign: a STIX 2.1 bundle (identity, campaign, intrusion-set when
    attributed, ATT&CK techniques, an indicator and sightings per attacking address,
    relationships) for MISP or OpenCTI, a CSV of its addresses, or one address a line.
    Without --campaign, list the campaigns.

    Exit status: 0 done; 2 usage error or no such campaign.
    """
    errors = Console(stderr=True, highlight=False)
    if format_ not in FORMATS:
        errors.print(f"[red]error:[/] --format must be one of {', '.join(FORMATS)}")
        raise typer.Exit(EXIT_USAGE)
    if tlp not in TLP:
        errors.print(f"[red]error:[/] --tlp must be one of {', '.join(TLP)}")
        raise typer.Exit(EXIT_USAGE)
    directory = data_dir or default_data_dir()
    store = StateStore(state_url or default_url(directory))
    try:
        store.migrate()
        found = get_campaign(store, campaign) if campaign else None
        listing = list_campaigns(store) if campaign is None else []
    finally:
        store.dispose()
    if campaign is None:
        _list(listing)
        return
    if found is None:
        errors.print(f"[red]error:[/] no campaign {for_terminal(campaign, 80)!r} (or several)")
        raise typer.Exit(EXIT_USAGE)
    lake = Lake(directory)
    con = connect()
    try:
        create_views(con, lake)
        addresses = address_facts(con, found)
    finally:
        con.close()
    if format_ == "stix":
        data = stix_json(stix_bundle(found, addresses, now=datetime.now(UTC), tlp=tlp))
    elif format_ == "csv":
        data = indicators_csv(found, addresses).encode()
    else:
        data = indicators_plain(found, addresses).encode()
    if out is None:
        typer.echo(data.decode(), nl=False)
    else:
        out.write_bytes(data)
        errors.print(f"Wrote {for_terminal(out)} ({len(data):,} bytes)")


def _list(campaigns: list[dict[str, object]]) -> None:
    console = Console(highlight=False)
    if not campaigns:
        console.print("No campaigns yet: run tocsin scan first.")
        return
    for c in campaigns:
        attribution = c.get("attribution") or {}
        actor = attribution.get("actor") if isinstance(attribution, dict) else None
        who = f"{actor['name']} ({actor['level']})" if isinstance(actor, dict) else "unattributed"
        console.print(
            f"{c['id']}  {c['severity']:<8} {c['first_seen']} → {c['last_seen']}  "
            f"{len(c['alert_ids'])} alert(s), {len(c['tenants'])} org(s), "  # type: ignore[arg-type]
            f"{len(c['users'])} account(s)  {for_terminal(who)}"  # type: ignore[arg-type]
        )
