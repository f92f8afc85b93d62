"""Indicators from tocsin's intel store (``tocsin intel import``) found in a message.

Sender addresses (Received hops, the IP the receiving server saw), the From / Reply-To /
Return-Path addresses and domains, every link and image URL and host, attachment hashes —
matched at the message's time, so an expired indicator does not match old mail it did not
cover, and a current one does. The weight follows the indicator's confidence:
0.6 + 0.3 × confidence/100 (a confidence-50 indicator 0.75, confidence 100 0.9): a feed's
indicator is strong evidence but feeds do list shared infrastructure by mistake.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tocsin.intel import IntelIndex, Match
from tocsin.mail.model import Context, Reason, View
from tocsin.mail.urls import domain_of_address

NAME = "ioc"


def detect(view: View, ctx: Context) -> list[Reason]:
    index: IntelIndex | None = ctx.intel
    if index is None or index.size == 0:
        return []
    parsed = view.parsed
    at = parsed.time or datetime.now(UTC)
    found: list[tuple[str, Match]] = []
    for ip, matches in index.match_ips(parsed.hop_ips[:20], at).items():
        found.extend((f"sending server {ip}", m) for m in matches)
    addresses = [a for a in (parsed.sender.address, parsed.return_path) if a]
    if parsed.reply_to and parsed.reply_to.address:
        addresses.append(parsed.reply_to.address)
    for address, matches in index.match_emails(addresses, at).items():
        found.extend((f"sender address {address}", m) for m in matches)
    urls = [link.url.url for link in view.links[:300]]
    urls += [url.url for url, _ in view.images[:100]]
    for url, matches in index.match_urls(urls, at).items():
        found.extend((f"link {url[:100]}", m) for m in matches)
    domains = {domain_of_address(a) for a in addresses} - {""}
    for domain, matches in index.match_domains(sorted(domains), at).items():
        found.extend((f"sender domain {domain}", m) for m in matches)
    hashes = [a.sha256 for a in parsed.attachments[:100]]
    for digest, matches in index.match_hashes(hashes, at).items():
        found.extend((f"attachment {digest[:16]}…", m) for m in matches)
    reasons: list[Reason] = []
    seen: set[str] = set()
    for where, match in sorted(found, key=lambda f: -f[1].indicator.confidence):
        indicator = match.indicator
        if indicator.id in seen or len(reasons) >= 5:
            continue
        seen.add(indicator.id)
        actor = indicator.actor or None
        weight = round(0.6 + 0.3 * min(100, max(0, indicator.confidence)) / 100, 3)
        who = f", attributed to {actor}" if actor else ""
        reasons.append(
            Reason(
                NAME,
                f"ioc_{indicator.type}",
                weight,
                f"{where} is a known indicator ({indicator.type} {indicator.value[:100]}, "
                f"{match.how}, source {indicator.source}{who})",
                actor=actor,
            )
        )
    return reasons
