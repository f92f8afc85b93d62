"""Where the links go, compared with what the reader is shown.

Weights, and why:

* ``data:`` / ``javascript:`` links 0.6 — no legitimate mail needs them; they open a page or
  run code without a visible domain;
* a password field in the message body 0.6 — mail clients are not web pages; a form in a
  message exists to collect what is typed into it; a form without one 0.1 (newsletters
  carry search boxes and polls);
* a lookalike domain among the links 0.5 (see ``lookalike``);
* link text that shows a URL (``https://…``, ``www.…``) or a well-known domain while the link
  goes to another domain 0.5 — the oldest trick, deceptive by construction, "suspicious" on
  its own; click tracking by a known ESP or by the authenticated sender's own domain rewrites
  links legitimately and is not counted, link-protection wrappers are unwrapped first;
* a link to a bare IP address 0.35 — legitimate services have names;
* a redirect to another site carried in the URL (``?url=https://…``) through a site that is
  not the sender's own 0.15 — chains hide the final destination from filters, but every
  mailing platform's click tracker looks the same (it fires on 6 of the 400 ham newsletters
  here for 9 phishing messages), so it counts little; link-protection wrappers (Safe Links,
  URL Defense…) are unwrapped first and never count; an automatic redirect
  (``<meta refresh>``) 0.3 — no newsletter needs one;
* free hosting / form services 0.3 — a phishing page there costs nothing and borrows a big
  name's reputation; plenty of legitimate use too, so never decisive alone;
* URL shorteners 0.2 — hide the destination; common in legitimate mail as well;
* every call to action ("Claim now", "Verify", "Click here", a picture to click) leads to a
  domain that has
  nothing to do with the sender — not its From domain, not its bounce (Return-Path) domain,
  not the domain that signed it (DKIM), not a known mailing platform's tracker, not a
  well-known brand's site — and the message links nowhere on the sender's own domains 0.25.
  Honest senders send readers to their own site, directly or through their mailing
  platform's click tracking (which the bounce and DKIM domains name); a lure sent from a
  compromised or throwaway sender points at the attacker's page. Unsubscribe and privacy
  links do not count. Personal mail sharing a link rarely has a button to click; the weight
  stays low for the newsletters that link to partners.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from tocsin.mail.detectors.auth import aligned
from tocsin.mail.known import (
    BRANDS,
    ESP_TRACKERS,
    FREE_HOSTING,
    PERSONAL_TRACKERS,
    PROVIDER_DOMAINS,
    URL_SHORTENERS,
    registrable_in,
)
from tocsin.mail.model import Context, LinkInfo, Reason, View
from tocsin.mail.urls import (
    display_host,
    domain_of_address,
    embedded_urls,
    normalise_host,
    parse_url,
    public_suffix,
)
from tocsin.mail.urls import registrable as reg_of

NAME = "links"
_CALL_TO_ACTION = re.compile(
    r"\b(?:click|tap|claim|verify|log\s?in|sign\s?in|get|start|redeem|activate|confirm|update"
    r"|view|access|open|download|unlock|secure|check|learn\s+more|shop|order|apply|see|continue"
    r"|read\s+more|watch|join|reply|respond|review|accept|here|now|jetzt|hier|klicken|aqui"
    r"|clique|acessar|ver|aquí|ici|cliquez|bekijk|klik)\b",
    re.IGNORECASE,
)
_HOUSEKEEPING = re.compile(r"unsub|abmeld|désabonn|descadastr|privacy|preference|opt.?out|remove",
                           re.IGNORECASE)  # fmt: skip
_SHOWN_DOMAIN = re.compile(
    r"^\s*(?:https?://)?(?:www\.)?((?:[a-z0-9\u00a1-\uffff-]+\.)+[a-z\u00a1-\uffff]{2,24})(?:[/:?#\s]|$)",
    re.IGNORECASE,
)


@lru_cache(maxsize=65536)
def _tracker(host: str) -> bool:
    return bool(registrable_in(host, ESP_TRACKERS) or registrable_in(host, PERSONAL_TRACKERS))


def own_domain(view: View) -> str | None:
    """The sender's registrable domain when nothing says it is forged."""
    sender = reg_of(view.parsed.sender.domain)
    if not sender or aligned(view) is False or view.parsed.auth.dmarc == "fail":
        return None
    return sender


def all_links(view: View) -> list[LinkInfo]:
    """The message's links plus the destinations carried inside redirect URLs."""
    out = list(view.links)
    own = own_domain(view)
    for link in view.links[:200]:
        if _tracker(link.url.host) or link.url.registrable == own:
            continue  # click tracking by an ESP or the sender: the service, not a disguise
        for inner in embedded_urls(link.url)[:3]:
            url = parse_url(inner)
            if url is not None and url.host and url.registrable != link.url.registrable:
                out.append(LinkInfo(url, "", "redirect"))
    return out


def detect(view: View, ctx: Context) -> list[Reason]:
    reasons: list[Reason] = []
    if view.schemes:
        reasons.append(
            Reason(
                NAME,
                "script_link",
                0.6,
                f"{len(view.schemes)} link(s) that run script or carry a page inline: "
                f"{view.schemes[0][:60]}",
                "T1566.002",
            )
        )
    for form in view.forms:
        if form.has_password:
            reasons.append(
                Reason(
                    NAME,
                    "password_form",
                    0.6,
                    "the message body asks for a password in a form",
                    "T1598.003",
                )
            )
            break
        if form.action.lower().startswith(("http:", "https:", "//")):
            reasons.append(
                Reason(
                    NAME,
                    "form",
                    0.1,
                    f"the message body holds a form posting to {_host_of(form.action)}",
                    "T1598.003",
                )
            )
            break
    links = all_links(view)
    own = own_domain(view)
    seen: set[str] = set()
    flags: dict[str, Reason] = {}
    for link in links:
        url = link.url
        host = url.host
        if ctx.lookalikes is not None and "lookalike" not in flags and host not in seen:
            found = ctx.lookalikes.check(host)
            if found is not None:
                flags["lookalike"] = Reason(
                    NAME, "lookalike_link", 0.5, f"a link goes to {found.describe()}", "T1583.001"
                )
        seen.add(host)
        trusted = _tracker(host) or url.registrable == own
        if "mismatch" not in flags and link.text and not trusted:
            shown = _SHOWN_DOMAIN.match(link.text)
            if shown:
                shown_host = normalise_host(shown.group(1))
                shown_reg = reg_of(shown_host)
                url_like = link.text.lstrip()[:4].lower() in ("http", "www.") or (
                    shown_reg in _well_known()
                )
                if url_like and public_suffix(shown_host) and shown_reg != url.registrable:
                    flags["mismatch"] = Reason(
                        NAME,
                        "text_mismatch",
                        0.5,
                        f"a link shows {display_host(shown_host)[:80]} but goes to "
                        f"{display_host(host)[:80]}",
                        "T1566.002",
                    )
        if url.is_ip and "ip" not in flags:
            flags["ip"] = Reason(
                NAME,
                "ip_link",
                0.35,
                f"a link goes to a bare IP address ({host[:45]})",
                "T1566.002",
            )
        if link.where == "redirect" and "redirect" not in flags:
            flags["redirect"] = Reason(
                NAME,
                "redirect",
                0.15,
                f"a link redirects through another site to {display_host(host)[:80]}",
                "T1566.002",
            )
        if link.where == "refresh" and "refresh" not in flags:
            flags["refresh"] = Reason(
                NAME,
                "auto_redirect",
                0.3,
                f"the message redirects automatically to {display_host(host)[:80]}",
                "T1566.002",
            )
        hosting = registrable_in(host, FREE_HOSTING)
        if hosting and "hosting" not in flags:
            flags["hosting"] = Reason(
                NAME,
                "free_hosting",
                0.3,
                f"a link goes to a page on {hosting}, a free hosting or form service "
                f"({display_host(host)[:80]})",
                "T1566.002",
            )
        short = registrable_in(host, URL_SHORTENERS)
        if short and "short" not in flags:
            flags["short"] = Reason(
                NAME,
                "shortener",
                0.2,
                f"a link is shortened with {short}, hiding where it goes",
                "T1566.002",
            )
    unrelated = _unrelated_calls(view)
    if unrelated is not None:
        flags["unrelated"] = Reason(
            NAME,
            "unrelated_destination",
            0.25,
            f"its calls to action (“{unrelated.text[:40] or 'a picture'}”) lead to "
            f"{display_host(unrelated.url.host)[:80]}, which has nothing to do with the sender "
            f"{view.parsed.sender.domain or '?'}",
            "T1566.002",
        )
    if "ip" not in flags:
        for url, _ in view.images[:200]:
            if url.is_ip:
                flags["ip"] = Reason(
                    NAME,
                    "ip_link",
                    0.35,
                    f"the message loads content from a bare IP address ({url.host[:45]})",
                )
                break
    reasons.extend(flags.values())
    return reasons


def _unrelated_calls(view: View) -> LinkInfo | None:
    """The first call to action when all of them go somewhere unrelated to the sender."""
    parsed = view.parsed
    own = {reg_of(parsed.sender.domain), reg_of(domain_of_address(parsed.return_path))}
    own.update(reg_of(d) for d in parsed.auth.dkim_domains)
    own.discard("")
    if not own:
        return None
    first: LinkInfo | None = None
    for link in view.links:
        url = link.url
        if url.registrable in own:
            return None  # the sender links to its own site
        if link.where != "html":
            continue
        if not link.image and not (link.text and _CALL_TO_ACTION.search(link.text)):
            continue
        if _HOUSEKEEPING.search(link.text) or _HOUSEKEEPING.search(url.path):
            continue
        if _tracker(url.host) or url.registrable in _well_known():
            return None
        first = first or link
    return first


@cache
def _well_known() -> frozenset[str]:
    domains = {reg_of(d) for _, ds in BRANDS.values() for d in ds}
    return frozenset(domains | {reg_of(d) for d in PROVIDER_DOMAINS})


def _host_of(url: str) -> str:
    parsed = parse_url(url)
    return display_host(parsed.host) if parsed and parsed.host else url[:60]
