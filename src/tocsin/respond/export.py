"""Block lists for the enforcement points that cannot call tocsin: firewalls, proxies, IdPs.

Only active ``ban`` decisions on addresses and ranges become entries. Entries are merged into
the fewest CIDR blocks that cover exactly the same addresses (IPv4 and IPv6), with the
allowlist taken out again (it may have grown since the decisions were made). Simulated
decisions are merged apart from enforced ones and every line that comes from them says so in
a comment (JSON targets say it in the object's name), so a simulate-mode export shows what
enforce mode *would* block. Each target's size limits are respected: the output is split into
several objects where the target allows that, and refused with an ExportError otherwise.
"""

from __future__ import annotations

import bisect
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from tocsin.respond.decision import Decision, iso
from tocsin.respond.targets import Allowlist, IPNetwork, collapse

FORMATS: Final = ("plain", "nftables", "ipset", "nginx", "entra", "okta")
# Microsoft Entra ID, IP named locations: at most 195 of them, 2,000 ranges each, and only
# CIDR masks greater than /8 ("Conditional Access: Network assignment", Microsoft Learn).
ENTRA_RANGES_PER_LOCATION: Final = 2000
ENTRA_LOCATIONS: Final = 195
ENTRA_NARROWEST_MASK: Final = 9
# Okta IP zones: a blocked zone holds up to 1,000 gateways, all IP zones 25,000 together, an
# org up to 100 zones ("About network zones", Okta help).
OKTA_GATEWAYS_PER_BLOCKLIST_ZONE: Final = 1000
OKTA_GATEWAYS_PER_ORG: Final = 25_000
OKTA_ZONES: Final = 100
IPSET_MAXELEM: Final = 65_536


class ExportError(ValueError):
    pass


@dataclass(slots=True)
class Entry:
    network: IPNetwork
    simulated: bool
    decisions: list[int] = field(default_factory=list)

    @property
    def text(self) -> str:
        net = self.network
        return str(net.network_address) if net.num_addresses == 1 else str(net)

    def label(self) -> str:
        ids = self.decisions[:8]
        more = f" (+{len(self.decisions) - 8} more)" if len(self.decisions) > 8 else ""
        which = "decision" if len(self.decisions) == 1 else "decisions"
        tag = "simulated" if self.simulated else "tocsin"
        return f"{tag}: {which} {','.join(str(i) for i in ids)}{more}"


def entries(decisions: Sequence[Decision], allowlist: Allowlist, now: datetime) -> list[Entry]:
    """Aggregated entries: enforced first, then simulated ones not already covered."""
    out: list[Entry] = []
    enforced_nets: list[IPNetwork] = []
    for simulated in (False, True):
        chosen = [
            d for d in decisions
            if d.active(now) and d.action == "ban" and d.scope in ("ip", "range")
            and d.simulated is simulated
        ]  # fmt: skip
        nets: list[IPNetwork] = []
        owners: list[tuple[IPNetwork, int]] = []
        for d in chosen:
            net = ipaddress.ip_network(d.value)
            for piece in allowlist.split(net):
                if simulated and any(
                    piece.version == e.version and piece.subnet_of(e)  # type: ignore[arg-type]
                    for e in enforced_nets
                ):
                    continue
                nets.append(piece)
                owners.append((piece, d.id))
        merged = [Entry(n, simulated) for n in collapse(nets)]
        _attach(merged, owners)
        out.extend(merged)
        if not simulated:
            enforced_nets = [e.network for e in merged]
    return out


def _attach(merged: list[Entry], owners: list[tuple[IPNetwork, int]]) -> None:
    """Name, on each merged entry, the decisions whose addresses it holds."""
    keys = [(e.network.version, int(e.network.network_address)) for e in merged]
    for net, decision_id in owners:
        i = bisect.bisect_right(keys, (net.version, int(net.network_address))) - 1
        if i >= 0 and merged[i].network.version == net.version:
            entry = merged[i]
            if net.subnet_of(entry.network) and decision_id not in entry.decisions:  # type: ignore[arg-type]
                entry.decisions.append(decision_id)


def render(
    fmt: str,
    items: Sequence[Entry],
    *,
    now: datetime,
    mode: str,
    name: str = "tocsin",
    max_entries: int | None = None,
) -> str:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if max_entries is not None and len(items) > max_entries:
        raise ExportError(
            f"{len(items)} entries after aggregation, more than --max-entries {max_entries}"
        )
    header = _header(items, now, mode)
    if fmt == "plain":
        lines = [f"{e.text}  # {e.label()}" if e.simulated else e.text for e in items]
        return "\n".join([*header, *lines]) + "\n"
    if fmt == "nginx":
        return "\n".join([*header, *(f"deny {e.text};  # {e.label()}" for e in items)]) + "\n"
    if fmt == "nftables":
        return _nftables(items, header, name)
    if fmt == "ipset":
        return _ipset(items, header, name)
    if fmt == "entra":
        return _entra(items, name)
    return _okta(items, name)


def _header(items: Sequence[Entry], now: datetime, mode: str) -> list[str]:
    simulated = sum(1 for e in items if e.simulated)
    lines = [
        f"# tocsin block list, {len(items)} entries, generated {iso(now)}",
        "# the organisations' own addresses (egress, mobile ranges, monitoring, allowlist) "
        "are never included",
    ]
    if simulated:
        lines.append(
            f"# response mode {mode}: {simulated} entries marked 'simulated' are what enforce "
            "mode would block; nothing marked so has been enforced"
        )
    return lines


def _families(items: Sequence[Entry]) -> tuple[list[Entry], list[Entry]]:
    return [e for e in items if e.network.version == 4], [
        e for e in items if e.network.version == 6
    ]


def _nftables(items: Sequence[Entry], header: list[str], name: str) -> str:
    v4, v6 = _families(items)
    out = [
        *header,
        "# load with: nft -f FILE; then drop from the sets, e.g.",
        f"#   nft add chain inet {name} input '{{ type filter hook input priority -10; }}'",
        f"#   nft add rule inet {name} input ip saddr @blocklist4 drop",
        f"#   nft add rule inet {name} input ip6 saddr @blocklist6 drop",
        f"table inet {name} {{",
        "\tset blocklist4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}",
        "\tset blocklist6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t}",
        "}",
        f"flush set inet {name} blocklist4",
        f"flush set inet {name} blocklist6",
    ]
    for set_name, family in (("blocklist4", v4), ("blocklist6", v6)):
        if not family:
            continue
        out.append(f"add element inet {name} {set_name} {{")
        for i, e in enumerate(family):
            comma = "," if i < len(family) - 1 else ""
            out.append(f"\t{e.text}{comma}  # {e.label()}")
        out.append("}")
    return "\n".join(out) + "\n"


def _ipset(items: Sequence[Entry], header: list[str], name: str) -> str:
    v4, v6 = _families(items)
    if max(len(v4), len(v6)) > IPSET_MAXELEM:
        raise ExportError(f"more than {IPSET_MAXELEM} entries in one family (ipset maxelem)")
    out = [*header, "# load with: ipset restore -exist < FILE"]
    for set_name, family, inet in ((f"{name}4", v4, "inet"), (f"{name}6", v6, "inet6")):
        out.append(
            f"create {set_name} hash:net family {inet} hashsize 1024 "
            f"maxelem {IPSET_MAXELEM} comment -exist"
        )
        out.append(f"flush {set_name}")
        out.extend(f'add {set_name} {e.text} comment "{e.label()}" -exist' for e in family)
    return "\n".join(out) + "\n"


def _chunks(items: Sequence[Entry], size: int) -> list[list[Entry]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _groups(items: Sequence[Entry]) -> list[tuple[bool, list[Entry]]]:
    enforced = [e for e in items if not e.simulated]
    simulated = [e for e in items if e.simulated]
    return [(s, g) for s, g in ((False, enforced), (True, simulated)) if g]


def _cidr(e: Entry) -> str:
    return str(e.network)  # always with the prefix length: /32 and /128 for one address


def _narrowed(items: Sequence[Entry], prefix: int) -> list[Entry]:
    """Entries wider than ``/prefix`` cut into ``/prefix`` blocks (the same addresses)."""
    out: list[Entry] = []
    for e in items:
        if e.network.prefixlen >= prefix:
            out.append(e)
        else:
            out.extend(
                Entry(n, e.simulated, e.decisions) for n in e.network.subnets(new_prefix=prefix)
            )
    return out


def _entra(items: Sequence[Entry], name: str) -> str:
    bodies: list[dict[str, Any]] = []
    items = _narrowed(items, ENTRA_NARROWEST_MASK)
    for simulated, group in _groups(items):
        parts = _chunks(group, ENTRA_RANGES_PER_LOCATION)
        for n, part in enumerate(parts, 1):
            label = " [SIMULATED - not enforced]" if simulated else ""
            suffix = f" {n}/{len(parts)}" if len(parts) > 1 else ""
            bodies.append(
                {
                    "@odata.type": "#microsoft.graph.ipNamedLocation",
                    "displayName": f"{name} block list{suffix}{label}",
                    "isTrusted": False,
                    "ipRanges": [
                        {
                            "@odata.type": f"#microsoft.graph.iPv{e.network.version}CidrRange",
                            "cidrAddress": _cidr(e),
                        }
                        for e in part
                    ],
                }
            )
    if len(bodies) > ENTRA_LOCATIONS:
        raise ExportError(f"needs {len(bodies)} named locations; Entra allows {ENTRA_LOCATIONS}")
    return json.dumps(bodies, indent=2) + "\n"


def _okta(items: Sequence[Entry], name: str) -> str:
    if len(items) > OKTA_GATEWAYS_PER_ORG:
        raise ExportError(f"{len(items)} entries; Okta allows {OKTA_GATEWAYS_PER_ORG} per org")
    zones: list[dict[str, Any]] = []
    for simulated, group in _groups(items):
        parts = _chunks(group, OKTA_GATEWAYS_PER_BLOCKLIST_ZONE)
        for n, part in enumerate(parts, 1):
            label = " [SIMULATED - not enforced]" if simulated else ""
            suffix = f" {n}/{len(parts)}" if len(parts) > 1 else ""
            zones.append(
                {
                    "type": "IP",
                    "name": f"{name} block list{suffix}{label}",
                    "status": "INACTIVE" if simulated else "ACTIVE",
                    "usage": "BLOCKLIST",
                    "gateways": [{"type": "CIDR", "value": _cidr(e)} for e in part],
                    "proxies": None,
                }
            )
    if len(zones) > OKTA_ZONES:
        raise ExportError(f"needs {len(zones)} network zones; Okta allows {OKTA_ZONES} per org")
    return json.dumps(zones, indent=2) + "\n"
