"""The mail detectors. Each reads a message's :class:`~tocsin.mail.model.View` (and the scan's
context) and returns :class:`~tocsin.mail.model.Reason` objects: detector, evidence, weight.
"""

from __future__ import annotations

from tocsin.mail.detectors import (
    attachments,
    auth,
    beacons,
    evasion,
    ioc,
    links,
    lures,
    sender,
    structure,
)
from tocsin.mail.known import FREEMAIL
from tocsin.mail.model import Beacon, Context, Reason, View
from tocsin.mail.urls import registrable

DETECTORS = (
    "auth",
    "sender",
    "links",
    "beacons",
    "lures",
    "evasion",
    "attachments",
    "ioc",
    "structure",
    "lookalike",
)
# Lures that an institution never sends from a personal mailbox: money offered (advance-fee,
# crypto), an account to verify, a court summons. Prizes and invoices are left out: friends
# write "congratulations" and freelancers send invoices from free mail.
_INSTITUTION_LURES = frozenset(("advance_fee", "crypto", "credential", "legal"))


def run_all(view: View, ctx: Context) -> tuple[list[Reason], list[Beacon]]:
    """Every detector's reasons for one message, and its beacons."""
    reasons: list[Reason] = []
    reasons += structure.detect(view)
    reasons += auth.detect(view)
    reasons += sender.detect(view, ctx)
    reasons += attachments.detect(view)  # first: HTML and PDF attachments add their links
    reasons += links.detect(view, ctx)
    found = beacons.find_beacons(view, ctx)
    reasons += beacons.detect(view, found)
    found_lures = lures.detect(view)
    reasons += found_lures
    reasons += evasion.detect(view)
    reasons += lure_from_freemail(view, found_lures)
    reasons += ioc.detect(view, ctx)
    reasons += lookalike_senders(view, ctx)
    return reasons, found


def lookalike_senders(view: View, ctx: Context) -> list[Reason]:
    """From / Reply-To / Return-Path domains that imitate a trusted domain."""
    if ctx.lookalikes is None:
        return []
    parsed = view.parsed
    candidates = [("From", parsed.sender.domain)]
    if parsed.reply_to:
        candidates.append(("Reply-To", parsed.reply_to.domain))
    candidates.append(("Return-Path", parsed.return_path.rsplit("@", 1)[-1]))
    for header, domain in candidates:
        if not domain:
            continue
        found = ctx.lookalikes.check(domain.lower())
        if found is not None:
            weight = 0.6 if header == "From" else 0.5
            return [
                Reason(
                    "lookalike",
                    f"lookalike_{header.lower().replace('-', '_')}",
                    weight,
                    f"the {header} domain {found.describe()}",
                    "T1583.001",
                )
            ]
    return []


def lure_from_freemail(view: View, found_lures: list[Reason]) -> list[Reason]:
    """An institution's pitch from a personal free-mail account: 0.3 (``sender``).

    The lure alone is capped below "suspicious"; who sends it changes what it means. An
    inheritance or a bitcoin balance offered, an account to verify, a court summons — from a
    gmail.com address — is the advance-fee and impersonation pattern itself: banks, exchanges,
    providers and courts write from their own domains, and friends rarely use those phrases.
    """
    if registrable(view.parsed.sender.domain) not in FREEMAIL:
        return []
    money = [r for r in found_lures if r.code in _INSTITUTION_LURES]
    if not money:
        return []
    return [
        Reason(
            "sender",
            "lure_from_freemail",
            0.3,
            f"{money[0].evidence[:80]}, sent from a personal free-mail account "
            f"({view.parsed.sender.domain})",
        )
    ]
