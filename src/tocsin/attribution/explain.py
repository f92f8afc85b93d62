"""The campaign and attribution part of ``tocsin explain`` (and of ``tocsin report``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from tocsin.text import for_terminal

_SHOWN = 5


def _list(values: list[Any], limit: int = _SHOWN) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    more = f" … and {len(values) - limit:,} more" if len(values) > limit else ""
    return for_terminal(shown + more, 2000)


def show_attribution(console: Console, campaign: dict[str, Any]) -> None:
    """Who is behind the campaign, how sure tocsin is, and every reason — or why nobody."""
    console.print(
        f"\n[bold]Campaign[/] {campaign['id']}: {len(campaign['alert_ids'])} alert(s), "
        f"{len(campaign['tenants'])} organisation(s), {len(campaign['users'])} account(s), "
        f"{len(campaign['src_ips']):,} address(es), {campaign['first_seen']} → "
        f"{campaign['last_seen']}"
    )
    if campaign.get("links"):
        console.print("  joined because:")
        for link in campaign["links"][:_SHOWN]:
            console.print(f"    • {for_terminal(link, 300)}")
        if len(campaign["links"]) > _SHOWN:
            console.print(f"    … and {len(campaign['links']) - _SHOWN} more links")
    attribution = campaign.get("attribution") or {}
    actor = attribution.get("actor")
    if actor:
        console.print(
            f"\n[bold]Attribution[/]: {for_terminal(actor['name'])} — {actor['level']} "
            f"confidence ({actor['confidence']:g})"
        )
    else:
        console.print("\n[bold]Attribution[/]: unattributed")
    for reason in attribution.get("reasons", []):
        console.print(f"  • {for_terminal(reason, 500)}")
    others = [c for c in attribution.get("candidates", []) if not actor or c["key"] != actor["key"]]
    for candidate in others:
        console.print(
            f"  [dim]also compared: {for_terminal(candidate['actor'])} "
            f"{candidate['confidence']:g} ({len(candidate['reasons'])} reason(s))[/]"
        )
    if actor:
        missing: list[str] = next(
            (c["missing"] for c in attribution.get("candidates", []) if c["key"] == actor["key"]),
            [],
        )
        for item in missing:
            console.print(f"  [dim]not seen: {for_terminal(item, 300)}[/]")
