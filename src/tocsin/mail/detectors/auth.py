"""SPF, DKIM and DMARC as the receiving server recorded them (no lookups at scan time).

Only result *values* count. A message without Authentication-Results or Received-SPF (an
old export, a server that does not record them) gives no reason either way: the absence of
a header is not evidence, and the corpus this was tuned on proves how misleading it is (its
ham predates these headers, its phishing always has them).

Weights, and why:

* ``dmarc=fail`` 0.5 — the domain in From: published a policy and the message meets neither
  its SPF nor its DKIM alignment: the owner of that domain says this is not theirs.
* ``compauth=fail`` 0.35 — Microsoft's composite verdict that the From domain is forged,
  when DMARC itself did not fail (it infers it for domains without a DMARC record).
* ``spf=fail`` 0.3, ``softfail`` 0.15 — the envelope sender's domain says this server may not
  send for it (softfail: "probably not"). Forwarding breaks SPF, hence not more.
* ``dkim=fail`` with no passing signature 0.15 — a signature that does not verify; mailing
  lists and footers break signatures too.
* From domain unauthenticated 0.25 — results were recorded, DMARC did not decide, and neither
  a passing SPF envelope domain nor a passing DKIM signature belongs to the From domain:
  nothing vouches for the name the reader sees;
* wholly unauthenticated 0.4 — as above, and nothing passed at all, for any domain: since
  2024 Gmail and Yahoo refuse such mail from bulk senders; honest senders now authenticate.
* a sender at a big mailbox provider (gmail.com, outlook.com…) with DKIM results recorded but
  none a valid signature of that provider 0.3 — they sign everything their users send;
* bulk mail (a List-Unsubscribe header or an unsubscribe offer in the text) whose From domain
  passes SPF but that no valid DKIM signature of that domain covers 0.2 — Gmail's and
  Yahoo's sender requirements (February 2024) ask every bulk sender to sign with DKIM for the
  From domain, and mailing platforms set that up for their customers; only counted when
  results were recorded and the two reasons above did not already say it.
"""

from __future__ import annotations

from tocsin.mail.model import Reason, View
from tocsin.mail.urls import registrable

NAME = "auth"


def aligned(view: View) -> bool | None:
    """True when SPF or DKIM passes for the From domain; None when nothing was recorded."""
    auth = view.parsed.auth
    from_reg = registrable(view.parsed.sender.domain)
    if auth.dmarc in ("pass", "bestguesspass"):
        return True
    if not from_reg or (auth.spf is None and not auth.dkim):
        return None
    if auth.spf == "pass" and auth.mailfrom and registrable(auth.mailfrom) == from_reg:
        return True
    return any(registrable(d) == from_reg for d in auth.dkim_domains)


def detect(view: View) -> list[Reason]:
    auth = view.parsed.auth
    if not auth.present:
        return []
    reasons = _results(view)
    reasons += _forged_provider(view)
    return reasons


def _results(view: View) -> list[Reason]:
    auth = view.parsed.auth
    sender = view.parsed.sender.domain or "(no domain)"
    reasons: list[Reason] = []
    if auth.dmarc == "fail":
        reasons.append(
            Reason(
                NAME,
                "dmarc_fail",
                0.5,
                f"DMARC failed for {sender}: the domain's owner does not vouch for this message",
            )
        )
    elif auth.compauth == "fail":
        reasons.append(
            Reason(
                NAME,
                "compauth_fail",
                0.35,
                f"the receiving server judged the From domain {sender} forged "
                f"(compauth=fail, reason {auth.compauth_reason or '?'})",
            )
        )
    if auth.spf == "fail":
        reasons.append(
            Reason(
                NAME,
                "spf_fail",
                0.3,
                f"SPF failed: {auth.mailfrom or 'the envelope domain'} does not allow the sending "
                f"server {auth.sender_ip or ''}".rstrip(),
            )
        )
    elif auth.spf == "softfail":
        reasons.append(
            Reason(
                NAME,
                "spf_softfail",
                0.15,
                f"SPF soft-failed for {auth.mailfrom or 'the envelope domain'}",
            )
        )
    if "fail" in auth.dkim and "pass" not in auth.dkim:
        reasons.append(Reason(NAME, "dkim_fail", 0.15, "the DKIM signature does not verify"))
    nothing_passed = auth.spf != "pass" and "pass" not in auth.dkim
    if auth.dmarc not in ("fail", "pass", "bestguesspass") and aligned(view) is False:
        if nothing_passed:
            reasons.append(
                Reason(
                    NAME,
                    "unauthenticated",
                    0.4,
                    f"nothing authenticates this message: SPF {auth.spf or 'none'}, no valid DKIM "
                    f"signature, for a message claiming to be from {sender}",
                )
            )
            return reasons
        reasons.append(
            Reason(
                NAME,
                "from_unauthenticated",
                0.25,
                f"nothing authenticates the From domain {sender}: SPF covers "
                f"{auth.mailfrom or 'no domain'}, DKIM {', '.join(auth.dkim_domains) or 'none'}",
            )
        )
        return reasons
    if auth.dmarc != "fail":
        reasons += _bulk_unsigned(view)
    return reasons


# Mailbox providers that DKIM-sign every message their users send (and publish DMARC).
_SIGNING_PROVIDERS = frozenset(
    """gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com ymail.com
    aol.com icloud.com me.com mac.com proton.me protonmail.com gmx.com gmx.de gmx.net web.de
    mail.ru yandex.ru zoho.com fastmail.com""".split()  # noqa: SIM905
)


def _forged_provider(view: View) -> list[Reason]:
    """From a big mailbox provider, yet without that provider's signature: 0.3.

    Gmail, Outlook.com, Yahoo, iCloud and the rest sign every message their users send. When
    the receiving server recorded DKIM results and none is a valid signature of the provider,
    the message did not come from there (a forwarder that rewrites the body would break it
    too, hence not more). Not counted when DMARC already failed (the same fact), nor when SPF
    passed for the provider or DMARC passed: then the message did leave the provider's
    servers, and only the signature broke on the way.
    """
    parsed = view.parsed
    auth = parsed.auth
    domain = parsed.sender.domain
    if domain not in _SIGNING_PROVIDERS or not auth.dkim or auth.dmarc == "fail":
        return []
    if auth.dmarc in ("pass", "bestguesspass") or (
        auth.spf == "pass" and registrable(auth.mailfrom or "") == registrable(domain)
    ):
        return []  # it did leave the provider's servers; something on the way broke the signature
    if any(registrable(d) == registrable(domain) for d in auth.dkim_domains):
        return []
    return [
        Reason(
            NAME,
            "provider_unsigned",
            0.3,
            f"the message claims to come from {domain}, which signs every message it sends, "
            "but carries no valid signature of it",
        )
    ]


def _bulk_unsigned(view: View) -> list[Reason]:
    parsed = view.parsed
    from_reg = registrable(parsed.sender.domain)
    if not from_reg or not looks_bulk(view):
        return []
    if any(registrable(d) == from_reg for d in parsed.auth.dkim_domains):
        return []
    signers = ", ".join(parsed.auth.dkim_domains[:2]) or "none"
    return [
        Reason(
            NAME,
            "bulk_unsigned",
            0.2,
            f"mass mail from {parsed.sender.domain} not signed (DKIM) by that domain (signed by: "
            f"{signers[:80]}), as bulk senders must be since 2024",
        )
    ]


# Unsubscribe wording in the languages of the lures (lower case; whitespace is collapsed).
_UNSUBSCRIBE = (
    "unsubscribe",
    "opt-out",
    "opt out",
    "abmelden",
    "abbestellen",
    "descadastr",
    "cancelar inscri",
    "cancelar a inscri",
    "cancelar sua inscri",
    "darse de baja",
    "désabonner",
    "désinscri",
    "afmelden",
    "uitschrijven",
)


def unsubscribe_offer(view: View) -> str | None:
    """The unsubscribe wording a newsletter shows (text or link), or None."""
    if "unsubscribe" in view.memo:
        return view.memo["unsubscribe"]
    text = view.text
    haystack = (text if len(text) <= 10_000 else text[:5000] + " " + text[-5000:]).lower()
    links = " ".join(f"{link.text} {link.url.path}" for link in view.links[:200]).lower()
    found = next((w for w in _UNSUBSCRIBE if w in haystack or w in links), None)
    view.memo["unsubscribe"] = found
    return found


def looks_bulk(view: View) -> bool:
    """A newsletter or mailing: list headers, or an unsubscribe offer."""
    return view.parsed.bulk or unsubscribe_offer(view) is not None
