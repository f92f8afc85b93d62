"""Who the message claims to be from: protected people, organisations, brands, reply paths.

Weights, and why:

* a configured VIP's name from an address that is not theirs 0.6 — the pattern of CEO fraud
  and of PHOSPHORUS writing to campaign staff as their candidate; rarely innocent, but a
  person does write from a new personal address now and then, so not alone "phish";
* your own organisation's domain in From: while authentication fails 0.6 — spoofing;
* a brand's name in the display name, sent from a domain that brand does not use 0.5 —
  "Microsoft account team" <no-reply@access-accsecurity.com>, the commonest impersonation
  there is, "suspicious" on its own (partners writing as "Microsoft Events" from their own
  domain exist, hence not "phish") — and 0.6 from a free-mail address (a company never
  writes from one). Brands whose name is an everyday word count only when the display name
  is the brand and role words (``EXACT_BRANDS``: "Ledger Support", "Hilan from Ledger");
* an address shown in the display name that is not the sender's 0.45;
* the organisation's name from outside 0.35;
* replies going to a free-mail address the sender does not use 0.3 (advance-fee and BEC
  replies); to another domain 0.1 (mailing lists do this);
* Return-Path on another domain 0 — shown, not counted: every bulk sender and mailing list
  bounces through its provider (it fires on more of the ham than of the phishing here);
* a sender domain that is not a valid domain name 0.4 (``@%correios.com.br``, ``@govbr``,
  a top-level domain that does not exist: no reply can ever reach it);
* a sender on free hosting or a trial tenant anyone can create (``*.firebaseapp.com``,
  ``*.onmicrosoft.com``) 0.3, or signed only by a tenant unrelated to it (see
  ``_throwaway_signer``) 0.3;
  under one of the most abused domain endings 0.15;
* an unsubscribe offer in the text without a List-Unsubscribe header 0.2 (``_unlisted_bulk``);
* a malformed From header (angle brackets or unbalanced quotes inside the name, ``Name ,_<…>``)
  0.25 — written to make clients show something other than the address;
* a subject speaking for a brand about the reader's account (password, subscription,
  wallet, payment…) from a domain the brand does not use 0.35;
* the sender claiming to be the recipient, unauthenticated 0.3 (sextortion's favourite);
* a "Re:" subject on a message that answers nothing (no In-Reply-To / References) 0.15 —
  some web mail and list gateways drop those headers (it fires on 17 of the 400 ham here);
* the recipient's own address in the subject or sender name 0.25 — mass personalisation;
* no Message-ID from the sender (missing, or written by the very host that took the message
  over from the sender's server — not merely any host of the receiver's provider, since mail
  between two Microsoft 365 tenants has outlook.com Message-IDs on both ends) 0.2 — every mail
  program writes one; bulk spam tools often do not;
* a random mixed-case token in the subject or an attachment's name
  (``Liberacao.6TENY4zGFOsMo88eQ17``, ``WlCPrudkkpyk711sF2471.pdf``) 0.2 — makes each copy
  unique to defeat duplicate and hash filters; order numbers and camera file names are
  digits or capitals (``IMG_4567``, ``INV-2024-0012``).
"""

from __future__ import annotations

import re
from functools import cache

from tocsin.mail.detectors.auth import aligned, unsubscribe_offer
from tocsin.mail.detectors.evasion import readable
from tocsin.mail.known import (
    ABUSED_SUFFIXES,
    BRANDS,
    EXACT_BRANDS,
    FREE_HOSTING,
    FREEMAIL,
    ROLE_WORDS,
    registrable_in,
)
from tocsin.mail.lookalike import unconfuse
from tocsin.mail.model import Context, Reason, View, name_key
from tocsin.mail.urls import (
    domain_of_address,
    known_suffix,
    normalise_host,
    public_suffix,
    registrable,
)

NAME = "sender"
_WORDS = re.compile(r"[^\W_]+")
_ADDRESS = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", re.UNICODE)


@cache
def _brand_index() -> tuple[re.Pattern[str], dict[str, str], dict[str, frozenset[str]]]:
    """One pattern for every brand name (a search per brand would cost 70 passes)."""
    names: dict[str, str] = {}
    domains: dict[str, frozenset[str]] = {}
    for brand, (brand_names, brand_domains) in BRANDS.items():
        domains[brand] = frozenset(registrable(d) for d in brand_domains)
        for name in brand_names:
            names.setdefault(name, brand)
    words = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{words})(?![\w])"), names, domains


def fold(text: str) -> str:
    """Lower-case text with look-alike letters folded (``Мicrosoft`` reads ``microsoft``)."""
    return text.casefold() if text.isascii() else unconfuse(text)


def brands_in(text: str, *, display: bool = False) -> list[tuple[str, frozenset[str]]]:
    """Brands named in ``text`` (whole words, look-alike letters folded), in order.

    With ``display``, ``text`` is a display name, and brands whose name is an everyday word
    count too when the name is all it says (``EXACT_BRANDS``).
    """
    pattern, names, domains = _brand_index()
    folded = fold(text)
    out: list[tuple[str, frozenset[str]]] = []
    for match in pattern.finditer(folded):
        brand = names[match.group(0)]
        if all(b != brand for b, _ in out):
            out.append((brand, domains[brand]))
    if display and not out:
        words = _WORDS.findall(folded)
        if "from" in words[1:]:  # "Hilan from Ledger": a person speaking for the brand
            words = words[words.index("from") + 1 :]
        for word in set(words) & EXACT_BRANDS.keys():
            if set(words) - {word} <= ROLE_WORDS:
                brand, legit = EXACT_BRANDS[word]
                out.append((brand, frozenset(registrable(d) for d in legit)))
                break
    return out


def detect(view: View, ctx: Context) -> list[Reason]:
    parsed = view.parsed
    sender = parsed.sender
    from_reg = registrable(sender.domain)
    reasons: list[Reason] = []
    display = sender.display
    key = name_key(display) if display else ""
    if key:
        for vip in ctx.vips:
            if sender.address in vip.addresses:
                continue
            vip_words = vip.key.split()
            if key == vip.key or (len(vip_words) >= 2 and set(vip_words) <= set(key.split())):
                where = "a free-mail address" if from_reg in FREEMAIL else sender.domain
                reasons.append(
                    Reason(
                        NAME,
                        "vip_impersonation",
                        0.6,
                        f"the display name is {vip.name}, a protected person, but the address "
                        f"{sender.address or '(none)'} ({where}) is not one of theirs",
                    )
                )
                break
        org = ctx.org_names.get(key)
        if org and from_reg not in ctx.protected_domains:
            reasons.append(
                Reason(
                    NAME,
                    "organisation_impersonation",
                    0.35,
                    f"the display name is your organisation {org}, sent from {sender.domain}",
                )
            )
    if from_reg and from_reg in ctx.protected_domains:
        auth = parsed.auth
        forged = auth.dmarc == "fail" or auth.spf == "fail" or aligned(view) is False
        if forged:
            reasons.append(
                Reason(
                    NAME,
                    "own_domain_spoofed",
                    0.6,
                    f"From: uses your own domain {sender.domain} but fails authentication",
                )
            )
    if display:
        for brand, domains in brands_in(display, display=True):
            if domains and from_reg not in domains:
                # A company never writes from a free mailbox: stronger than an odd domain.
                weight = 0.6 if from_reg in FREEMAIL else 0.5
                reasons.append(
                    Reason(
                        NAME,
                        "brand_display_name",
                        weight,
                        f"the display name says {brand} but the address is at "
                        f"{sender.domain or '?'}, which {brand} does not send from",
                    )
                )
                break
            if not domains and from_reg not in ctx.protected_domains:
                reasons.append(
                    Reason(
                        NAME,
                        "role_display_name",
                        0.3,
                        f"the display name poses as a mail administrator ({display[:60]}) "
                        f"from outside: {sender.domain or '?'}",
                    )
                )
                break
        shown = _ADDRESS.search(readable(display))
        if shown and registrable(shown.group(1).lower()) != from_reg:
            reasons.append(
                Reason(
                    NAME,
                    "display_name_address",
                    0.45,
                    f"the display name shows the address {shown.group(0)[:80]}, but the message "
                    f"is from {sender.address or '?'}",
                )
            )
    reply = parsed.reply_to
    if reply and reply.address and reply.address != sender.address:
        reply_reg = registrable(reply.domain)
        if reply_reg and reply_reg != from_reg:
            if reply.domain in FREEMAIL:  # a mailbox there, not a service's subdomain
                reasons.append(
                    Reason(
                        NAME,
                        "reply_to_freemail",
                        0.3,
                        f"replies go to the free-mail address {reply.address}, not to the sender "
                        f"{sender.address or '?'}",
                    )
                )
            else:
                reasons.append(
                    Reason(
                        NAME,
                        "reply_to_mismatch",
                        0.1,
                        f"replies go to {reply.domain}, not the sender's domain {sender.domain}",
                    )
                )
    reasons += _form(view, ctx)
    bounce = registrable(domain_of_address(parsed.return_path))
    if bounce and from_reg and bounce != from_reg:
        reasons.append(
            Reason(NAME, "return_path_mismatch", 0.0, f"bounces go to {bounce}, not {from_reg}")
        )
    return reasons


_VALID_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_REPLY_PREFIX = re.compile(
    r"^\s*(?:re|aw|res|sv|odp|r|rif|antw)\s*(?:\[\d+\])?\s*(?::|$)", re.IGNORECASE
)


def _form(view: View, ctx: Context) -> list[Reason]:
    """The shape of the From header and subject: things honest mail software never writes."""
    parsed = view.parsed
    sender = parsed.sender
    reasons: list[Reason] = []
    domain = normalise_host(sender.domain)
    if sender.address and sender.address in parsed.recipients and aligned(view) is False:
        reasons.append(
            Reason(
                NAME,
                "self_addressed",
                0.3,
                f"the message claims to come from its own recipient ({sender.address[:60]}) and "
                "nothing authenticates that",
            )
        )
    elif sender.address and (
        not domain or not _VALID_DOMAIN.match(domain) or not known_suffix(domain)
    ):
        reasons.append(
            Reason(
                NAME,
                "invalid_sender_domain",
                0.4,
                f"the sender's domain is not a valid domain name: {domain[:80] or '(none)'}",
            )
        )
    elif domain:
        hosting = registrable_in(domain, FREE_HOSTING) or (
            "onmicrosoft.com" if domain.endswith(".onmicrosoft.com") else None
        )
        if hosting and registrable(domain) not in ctx.protected_domains:
            reasons.append(
                Reason(
                    NAME,
                    "throwaway_sender",
                    0.3,
                    f"sent from {domain}, a free hosting or trial-tenant domain anyone can create",
                )
            )
        elif not hosting:
            reasons += _throwaway_signer(view, domain)
        suffix = public_suffix(domain)
        if suffix in ABUSED_SUFFIXES:
            reasons.append(
                Reason(
                    NAME,
                    "abused_tld",
                    0.15,
                    f"the sender's domain is under .{suffix}, among the most abused domain endings",
                )
            )
    display = sender.display
    if display and (
        "<" in display
        or ">" in display
        or display.count("(") != display.count(")")
        or display.endswith(",")
        or ",_" in parsed.from_raw
        or display.count('"') % 2
    ):
        reasons.append(
            Reason(
                NAME,
                "malformed_from",
                0.25,
                f"the From header is malformed to confuse mail clients: {parsed.from_raw[:80]}",
            )
        )
    if _REPLY_PREFIX.match(parsed.subject) and not parsed.threaded:
        reasons.append(
            Reason(
                NAME,
                "fake_reply",
                0.15,
                "the subject says this is a reply, but the message belongs to no conversation "
                "(no In-Reply-To or References)",
            )
        )
    reasons += _ids(view)
    reasons += _unlisted_bulk(view)
    if not any(r.code == "brand_display_name" for r in reasons):
        reasons += _brand_pretext(view)
    shown = f"{parsed.subject} {display}".lower()
    mine = [r for r in parsed.recipients if len(r) > 5 and r in shown and r != sender.address]
    if mine:
        reasons.append(
            Reason(
                NAME,
                "recipient_address_shown",
                0.25,
                f"the subject or sender name repeats the recipient's address ({mine[0][:60]}), "
                "a mass-mailing personalisation",
            )
        )
    return reasons


_ACCOUNT_TALK = re.compile(
    r"\b(?:account|password|wallet|subscription|membership|payment|billing|verify|verification"
    r"|suspend\w*|expir\w*|locked|security|konto|abonnement|conta|senha|cuenta|compte)\b"
)


def _brand_pretext(view: View) -> list[Reason]:
    """A subject speaking for a brand about the reader's account, from elsewhere."""
    parsed = view.parsed
    subject = parsed.subject
    from_reg = registrable(parsed.sender.domain)
    for brand, domains in brands_in(subject):
        if domains and from_reg not in domains and _ACCOUNT_TALK.search(fold(subject)):
            return [
                Reason(
                    NAME,
                    "brand_pretext",
                    0.35,
                    f"the subject speaks for {brand} about the reader's account, but the message "
                    f"is from {parsed.sender.domain or '?'}",
                )
            ]
    return []


_RANDOM_TOKEN = re.compile(
    r"(?<![\w#])(?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{10,}(?!\w)"
)


def _ids(view: View) -> list[Reason]:
    """Identifiers honest mail software writes, and ones it does not."""
    parsed = view.parsed
    reasons: list[Reason] = []
    message_id = parsed.message_id.strip("<> ")
    id_host = message_id.rsplit("@", 1)[-1].lower().rstrip(".") if "@" in message_id else ""
    if not message_id:
        reasons.append(
            Reason(
                NAME,
                "no_message_id",
                0.2,
                "the message has no Message-ID: mail software always writes one, bulk spam tools "
                "often do not",
            )
        )
    elif parsed.handoff and _same_machine(id_host, parsed.handoff):
        # Only the host that received the message from the sender's server counts: a
        # message sent from one Microsoft 365 tenant to another carries an outlook.com
        # Message-ID written by the *sender's* server, which is not evidence of anything.
        reasons.append(
            Reason(
                NAME,
                "no_message_id",
                0.2,
                f"the Message-ID was added by the receiving server ({id_host[:60]}): the "
                "sender's software wrote none, as bulk spam tools do",
            )
        )
    token = _RANDOM_TOKEN.search(parsed.subject)
    where = "the subject"
    if token is None:
        for attachment in parsed.attachments[:20]:
            token = _RANDOM_TOKEN.search(attachment.name.replace("_", " ").replace(".", " "))
            if token:
                where = f"the attachment name {attachment.name[:60]}"
                break
    if token:
        reasons.append(
            Reason(
                NAME,
                "random_token",
                0.2,
                f"{where} carries a random mixed-case token ({token.group(0)[:30]}), written "
                "to make each copy look unique to filters",
            )
        )
    return reasons


def _same_machine(a: str, b: str) -> bool:
    """Two names of one server: same host label, same registrable domain
    (``MW2NAM12FT067.eop-nam12.prod.protection.outlook.com`` and
    ``MW2NAM12FT067.mail.protection.outlook.com``)."""
    return a.split(".", 1)[0] == b.split(".", 1)[0] and registrable(a) == registrable(b)


_TENANT = ".onmicrosoft.com"


def _throwaway_signer(view: View, domain: str) -> list[Reason]:
    """Signed only by a Microsoft 365 tenant whose name has nothing to do with the sender.

    A tenant's ``*.onmicrosoft.com`` name signs its mail until the owner sets up DKIM for
    their own domain, so a small organisation's mail is often signed ``contoso.onmicrosoft.com``
    for ``contoso.com`` — the same name. A signature by ``ste20995472.onmicrosoft.com`` for
    ``deck.socialja.com`` is a trial tenant, created in minutes, sending for a domain it
    does not own: the pattern of snowshoe spam and phishing through Microsoft 365. 0.3, as
    for sending from such a domain directly.
    """
    signers = view.parsed.auth.dkim_domains
    if not signers or not all(d.endswith(_TENANT) for d in signers):
        return []
    label = _label_of(registrable(domain))
    for signer in signers:
        tenant = signer[: -len(_TENANT)].rsplit(".", 1)[-1]
        if _share_name(tenant, label):
            return []
    return [
        Reason(
            NAME,
            "throwaway_signer",
            0.3,
            f"the only DKIM signature is by the Microsoft 365 tenant {signers[0][:60]}, "
            f"unrelated to the sender's domain {domain[:60]}: a trial tenant sending for it",
        )
    ]


def _label_of(reg: str) -> str:
    return reg.split(".", 1)[0]


def _share_name(a: str, b: str) -> bool:
    """Do two names share a run of four letters (``contoso365`` and ``contoso``)?"""
    a = "".join(c for c in a.lower() if c.isalpha())
    b = "".join(c for c in b.lower() if c.isalpha())
    if len(a) < 4 or len(b) < 4:
        return a == b and bool(a)
    return any(a[i : i + 4] in b for i in range(len(a) - 3))


def _unlisted_bulk(view: View) -> list[Reason]:
    """Marketing that offers to unsubscribe in its text but has no List-Unsubscribe header.

    Since February 2024 Gmail and Yahoo require bulk senders to carry a List-Unsubscribe
    header (RFC 2369, one-click per RFC 8058), and every mailing platform adds it; a message
    that *shows* an unsubscribe link but lacks the header was put together by hand or by a
    spam tool to look like a newsletter. 0.2: small senders below the bulk thresholds may
    lack it. (On the sample data this feature's bias runs *against* tocsin: the 2002 ham
    newsletters predate the requirement and lack the header too.)
    """
    parsed = view.parsed
    if parsed.list_unsubscribe or parsed.bulk:
        return []
    found = unsubscribe_offer(view)
    if not found:
        return []
    return [
        Reason(
            NAME,
            "unlisted_bulk",
            0.2,
            f"the message offers to “{found}” like a newsletter but has no "
            "List-Unsubscribe header, which every bulk mailing platform adds",
        )
    ]
