"""A campaign as threat intelligence others can use: a STIX 2.1 bundle, a CSV of indicators,
or a plain list of addresses.

The STIX bundle holds (all STIX 2.1, marked with a TLP marking, created by a ``tocsin``
identity):

* ``identity`` — tocsin (the producer) and one per organisation hit (tenant);
* ``campaign`` — the campaign, first and last seen, with the rules and accounts counted;
* ``intrusion-set`` (when attributed) — the actor under ATT&CK's name, with its aliases and
  ATT&CK reference (``mitre-attack`` external id and link, which MISP and OpenCTI use to merge
  it with their ATT&CK copy), and a ``relationship`` ``attributed-to`` with tocsin's
  confidence (0-100) and reasons;
* ``attack-pattern`` — each ATT&CK technique (name, tactics, id and link from the bundled
  data) and a ``uses`` relationship from the campaign;
* ``indicator`` — one per attacking address (``[ipv4-addr:value = '…']`` or ``ipv6-addr``),
  valid from its first attempt until :data:`VALIDITY` after its last (addresses change
  hands; Tor exits serve everyone), labelled ``tor``/``vpn``/``hosting`` from enrichment,
  with an ``indicates`` relationship to the campaign;
* ``sighting`` — of the campaign at each organisation, and of each indicator where it was
  seen, with first/last seen and counts.

Ids are UUIDv5 of the campaign id and the object's content, so exporting the same campaign
twice gives the same ids and MISP/OpenCTI update instead of duplicating.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import duckdb
import orjson

from tocsin import __version__
from tocsin.attribution import attack, playbooks

VALIDITY: Final = timedelta(days=30)
_NAMESPACE: Final = uuid.UUID("5f0f6f5e-7d3b-4c1e-9a55-70c5b1a1d3e1")
TLP: Final = {  # the STIX 2.1 TLP 1.0 marking definitions (fixed ids from the specification)
    "white": ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "TLP:WHITE"),
    "green": ("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN"),
    "amber": ("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "TLP:AMBER"),
    "red": ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP:RED"),
}
_TAGS: Final = ("tor", "vpn", "hosting", "proxy")


@dataclass(slots=True)
class AddressFacts:
    """One attacking address, as the lake saw it during the campaign."""

    ip: str
    first_seen: str
    last_seen: str
    attempts: int = 0
    organisations: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    asn: int | None = None
    org: str | None = None
    country: str | None = None


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def address_facts(
    con: duckdb.DuckDBPyConnection | None, campaign: dict[str, Any]
) -> list[AddressFacts]:
    """Per attacking address: attempts, organisations, tags, AS and country, from ``con``'s
    ``events`` view (just the campaign's dates without one)."""
    ips = list(campaign["src_ips"])
    facts = {ip: AddressFacts(ip, campaign["first_seen"], campaign["last_seen"]) for ip in ips}
    if con is not None and ips:
        rows = con.execute(
            """
            SELECT src_ip, min(time), max(time), count(*),
                   list_sort(list_distinct(list(tenant) FILTER (WHERE tenant IS NOT NULL))),
                   list_sort(list_distinct(flatten(list(ip_tags)))),
                   max(src_asn), max(src_org), max(src_country)
            FROM events
            WHERE src_ip IN (SELECT unnest($ips)) AND event_type IN ('auth', 'mfa')
              AND time BETWEEN CAST($lo AS TIMESTAMPTZ) AND CAST($hi AS TIMESTAMPTZ)
            GROUP BY src_ip
            """,
            {"ips": ips, "lo": campaign["first_seen"], "hi": campaign["last_seen"]},
        ).fetchall()
        for ip, lo, hi, n, tenants, tags, asn, org, country in rows:
            fact = facts[str(ip)]
            fact.first_seen, fact.last_seen, fact.attempts = _iso(lo), _iso(hi), int(n)
            fact.organisations = [str(t) for t in tenants or []]
            fact.tags = [str(t) for t in tags or [] if t]
            fact.asn, fact.org, fact.country = asn, org, country
    return [facts[ip] for ip in sorted(facts, key=_ip_order)]


def _ip_order(ip: str) -> tuple[int, int]:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0)
    return (address.version, int(address))


def _stix_time(iso: str) -> str:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(_NAMESPACE, '|'.join(parts))}"


def _pattern(ip: str) -> str | None:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    kind = "ipv4-addr" if address.version == 4 else "ipv6-addr"
    return f"[{kind}:value = '{address}']"


def _attack_refs(external_id: str, url: str) -> list[dict[str, str]]:
    return [{"source_name": "mitre-attack", "external_id": external_id, "url": url}]


def stix_bundle(
    campaign: dict[str, Any],
    addresses: Sequence[AddressFacts],
    *,
    now: datetime,
    tlp: str = "amber",
    organisations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The campaign as a STIX 2.1 bundle (a dict ready for JSON)."""
    cid = campaign["id"]
    created = _stix_time(now.isoformat())
    marking_id, marking_name = TLP[tlp]
    producer = _id("identity", "tocsin")
    common = {"spec_version": "2.1", "created": created, "modified": created,
              "created_by_ref": producer, "object_marking_refs": [marking_id]}  # fmt: skip
    objects: list[dict[str, Any]] = [
        {"type": "marking-definition", "spec_version": "2.1", "id": marking_id,
         "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp",
         "name": marking_name, "definition": {"tlp": tlp}},
        {"type": "identity", "id": producer, **common, "name": "tocsin",
         "identity_class": "system",
         "description": f"tocsin {__version__}, detection of attacks on at-risk people's accounts"},
    ]  # fmt: skip
    names = organisations or {}
    org_ids = {}
    for tenant in campaign["tenants"]:
        org_ids[tenant] = _id("identity", cid, "organisation", tenant)
        objects.append(
            {
                "type": "identity",
                "id": org_ids[tenant],
                **common,
                "name": names.get(tenant, tenant),
                "identity_class": "organization",
            }
        )
    first, last = _stix_time(campaign["first_seen"]), _stix_time(campaign["last_seen"])
    campaign_id = _id("campaign", cid)
    attribution = campaign.get("attribution") or {}
    actor = attribution.get("actor")
    description = (
        f"{len(campaign['alert_ids'])} tocsin alert(s) ({', '.join(campaign['rules'])}) "
        f"against {len(campaign['users'])} account(s) at {len(campaign['tenants'])} "
        f"organisation(s) from {len(campaign['src_ips'])} address(es); "
        f"{len(campaign['compromised_users'])} account(s) believed compromised. "
        + (f"Attributed to {actor['name']} ({actor['level']} confidence): "
           + "; ".join(actor["reasons"]) if actor else "Unattributed.")
    )  # fmt: skip
    objects.append(
        {
            "type": "campaign",
            "id": campaign_id,
            **common,
            "name": f"tocsin {cid}",
            "description": description,
            "first_seen": first,
            "last_seen": last,
            "external_references": [{"source_name": "tocsin", "external_id": cid}],
        }
    )

    def relate(kind: str, source: str, target: str, **extra: Any) -> None:
        objects.append(
            {
                "type": "relationship",
                "id": _id("relationship", cid, kind, source, target),
                **common,
                "relationship_type": kind,
                "source_ref": source,
                "target_ref": target,
                **extra,
            }
        )

    if actor:
        group = attack.group(actor["attack_group"])
        playbook = playbooks.find(actor["key"])
        aliases = sorted({*group.aliases, *(playbook.aliases if playbook else ())} - {group.name})
        set_id = _id("intrusion-set", group.id)  # ATT&CK's object is named by its reference
        objects.append(
            {
                "type": "intrusion-set",
                "id": set_id,
                **common,
                "name": group.name,
                "aliases": aliases,
                "description": playbook.summary if playbook else actor["name"],
                "external_references": _attack_refs(group.id, group.url),
            }
        )
        relate("attributed-to", campaign_id, set_id,
               confidence=round(actor["confidence"] * 100),
               description="; ".join(actor["reasons"]))  # fmt: skip
    for tid in campaign["techniques"]:
        try:
            technique = attack.technique(tid)
        except KeyError:
            continue
        phases = [{"kill_chain_name": "mitre-attack", "phase_name": p} for p in technique.tactics]
        pattern_id = _id("attack-pattern", technique.id)
        objects.append(
            {
                "type": "attack-pattern",
                "id": pattern_id,
                **common,
                "name": technique.name,
                "kill_chain_phases": phases,
                "external_references": _attack_refs(technique.id, technique.url),
            }
        )
        relate("uses", campaign_id, pattern_id)
    for tenant, org_id in org_ids.items():
        objects.append(
            {
                "type": "sighting",
                "id": _id("sighting", cid, "campaign", tenant),
                **common,
                "sighting_of_ref": campaign_id,
                "where_sighted_refs": [org_id],
                "first_seen": first,
                "last_seen": last,
            }
        )
    for fact in addresses:
        pattern = _pattern(fact.ip)
        if pattern is None:
            continue
        valid_until = datetime.fromisoformat(fact.last_seen.replace("Z", "+00:00")) + VALIDITY
        labels = [t for t in _TAGS if t in fact.tags]
        indicator_id = _id("indicator", cid, fact.ip)
        indicator: dict[str, Any] = {
            "type": "indicator", "id": indicator_id, **common,
            "name": f"{fact.ip} (tocsin {cid})", "pattern": pattern, "pattern_type": "stix",
            "pattern_version": "2.1", "indicator_types": ["malicious-activity"],
            "valid_from": _stix_time(fact.first_seen),
            "valid_until": _stix_time(valid_until.isoformat()),
            "description": f"Source of {fact.attempts} sign-in attempt(s) in this campaign"
            + (f"; {', '.join(labels)} address: shared by many, block with care" if labels
               else ""),
        }  # fmt: skip
        if labels:
            indicator["labels"] = labels
        objects.append(indicator)
        relate("indicates", indicator_id, campaign_id)
        where = [org_ids[t] for t in fact.organisations if t in org_ids] or list(org_ids.values())
        sighting: dict[str, Any] = {
            "type": "sighting", "id": _id("sighting", cid, "indicator", fact.ip), **common,
            "sighting_of_ref": indicator_id, "first_seen": _stix_time(fact.first_seen),
            "last_seen": _stix_time(fact.last_seen),
        }  # fmt: skip
        if fact.attempts:
            sighting["count"] = fact.attempts
        if where:
            sighting["where_sighted_refs"] = where
        objects.append(sighting)
    return {"type": "bundle", "id": _id("bundle", cid, created), "objects": objects}


def stix_json(bundle: dict[str, Any]) -> bytes:
    return orjson.dumps(bundle, option=orjson.OPT_INDENT_2) + b"\n"


CSV_COLUMNS: Final = (
    "type", "value", "first_seen", "last_seen", "attempts", "tags", "asn", "as_org", "country",
    "campaign", "actor", "actor_confidence",
)  # fmt: skip


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def indicators_csv(campaign: dict[str, Any], addresses: Sequence[AddressFacts]) -> str:
    actor = (campaign.get("attribution") or {}).get("actor") or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for fact in addresses:
        kind = "ipv6" if ":" in fact.ip else "ipv4"
        row = (kind, fact.ip, fact.first_seen, fact.last_seen, fact.attempts,
               " ".join(fact.tags), fact.asn, fact.org, fact.country, campaign["id"],
               actor.get("name"), actor.get("confidence"))  # fmt: skip
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def indicators_plain(campaign: dict[str, Any], addresses: Sequence[AddressFacts]) -> str:
    """One address a line, with ``#`` comments saying what they are (for block lists)."""
    actor = (campaign.get("attribution") or {}).get("actor")
    lines = [
        f"# tocsin campaign {campaign['id']}: {campaign['first_seen']} -> {campaign['last_seen']}",
        f"# {len(addresses)} attacking address(es); "
        + (f"attributed to {actor['name']} ({actor['level']} confidence)" if actor
           else "unattributed"),
        "# Tor exits and VPN/hosting addresses are shared by many people: block with care.",
    ]  # fmt: skip
    lines += [fact.ip for fact in addresses]
    return "\n".join(lines) + "\n"
