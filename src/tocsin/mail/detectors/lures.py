"""What the message says: the lures of credential phishing and fraud, and text made unreadable
to filters. Content alone cannot tell a phishing e-mail from a message *about* phishing (a
security team's warning, a mailing list discussing spam), so this detector is capped below the
"suspicious" threshold (see ``score.DETECTOR_CAPS``): it decides only together with a technical
signal (a deceptive link, a forged sender, a lookalike domain, a beacon). Text *written to
defeat filters* (look-alike letters, invisible characters, hidden text) is a technical signal
and lives in :mod:`~tocsin.mail.detectors.evasion`.

The text searched is the subject, the sender's display name, the attachments' file names
(what the reader sees in the list of attachments: ``Bitcoin.0.7495.BTC.pdf``) and the first
``MAX_TEXT`` characters of the body: a lure is what the reader sees first, and a phrase deep
in a long newsletter is more likely discussion than pretext.

Weights, and why (each category counts once):

* account/credential lure 0.35 — "verify your account", "password expires", "unusual
  sign-in", "mailbox full": the pretexts of credential phishing (T1598.003);
* advance-fee / money lure 0.35 — inheritance, beneficiary, donation, "funds release";
* prize / reward lure 0.3, crypto lure 0.25 — "you have won", gift cards, wallets, airdrops;
* gambling, dating/adult lures 0.3, miracle-cure lures 0.25 — the bulk of fraudulent mail
  that is not credential theft;
* refund lure 0.3 — "your tax refund is ready", "claim your refund": refunds are paid, not
  claimed through a link, and tax authorities say they never announce them by e-mail;
* invoice / payment lure 0.2, urgency 0.15 — common in legitimate mail too.

Phrases are in English and in the other languages phishing in the sample data uses (German,
Portuguese, Spanish, French, Dutch, Italian); they are the lures' well-known wording, not
phrases lifted from particular messages.
"""

from __future__ import annotations

import re

from tocsin.mail.model import Reason, View

NAME = "lures"
MAX_TEXT = 8_000

_CATEGORIES: list[tuple[str, float, str, str | None, str]] = [
    (
        "credential",
        0.35,
        "account or password lure",
        "T1598.003",
        r"""
        verify\s+(?:your\s+)?(?:account|identity|e-?mail|mailbox|information|details|wallet)
      | confirm\s+(?:your\s+)?(?:account|identity|password|e-?mail|ownership|details)
      | (?:password|passcode)\s+(?:will\s+)?(?:expire|expiry|expiration|reset\s+required)
      | keep\s+(?:using\s+)?(?:your\s+)?(?:the\s+)?(?:same|current)\s+password
      | (?:wallet|access)\s+(?:will\s+be\s+|has\s+been\s+|is\s+)?(?:temporarily\s+)?
          (?:restricted|suspended|locked|disabled|blocked)
      | kyc\s+(?:verification|update|required|notification|check)
      | unusual\s+(?:sign[\s-]?in|log[\s-]?in|activity)
      | suspicious\s+(?:sign[\s-]?in|log[\s-]?in|activity|attempt)
      | (?:someone|somebody)\s+(?:tried|attempted)\s+to\s+(?:log|sign)
      | (?:mailbox|storage|quota)\s+(?:is\s+)?(?:full|almost\s+full|exceeded|limit)
      | account\s+(?:has\s+been\s+|will\s+be\s+|is\s+)?(?:suspended|locked|disabled|deactivated
          |terminated|closed|restricted|on\s+hold|blocked|flagged)
      | (?:re-?)?(?:activate|validate|unlock|restore)\s+your\s+(?:account|mailbox|access)
      | (?:sign|log)\s*(?:in|on)\s+to\s+(?:view|access|review|download|read|confirm|restore)
      | shared\s+(?:a\s+)?(?:document|file|folder)s?\s+with\s+you
      | (?:pending|undelivered|held|incoming)\s+(?:e-?mails|messages)
      | update\s+your\s+(?:payment|billing|account|card)\s+(?:information|details|method)
      | voice\s?mail\s+(?:message|received)
      | konto\s+(?:wurde\s+)?(?:gesperrt|eingeschränkt|verifizieren|bestätigen)
      | passwort\s+(?:läuft|abgelaufen|zurücksetzen)
      | (?:sua|seu)\s+(?:conta|senha|acesso)\s+(?:foi|será|está|expira|bloquead)
      | atualiz(?:e|ar|ação)\s+(?:seus?\s+)?(?:dados|cadastro)
      | (?:verifique|verificar|confirme|confirmar)\s+(?:sua|su|seu)\s+
          (?:conta|cuenta|identidade|identidad)
      | su\s+cuenta\s+(?:ha\s+sido|será|está)\s+(?:suspendida|bloqueada)
      | votre\s+compte\s+(?:a\s+été|sera|est)\s+(?:suspendu|bloqué|désactivé)
      | (?:vérifiez|confirmez)\s+votre\s+(?:compte|identité)
      | uw\s+account\s+(?:is|wordt)\s+(?:geblokkeerd|opgeschort)
      | il\s+tuo\s+account\s+(?:è|sarà)\s+(?:sospeso|bloccato)
    """,
    ),
    (
        "advance_fee",
        0.35,
        "advance-fee / money transfer lure",
        None,
        r"""
        next\s+of\s+kin | business\s+(?:proposal|venture|partnership)
      | beneficiary | inheritance | (?:late|deceased)\s+(?:client|husband|father)
      | (?:donation|compensation|grant)\s+(?:of|fund|payment|for\s+you)
      | (?:release|transfer|claim)\s+(?:of\s+)?(?:the\s+|your\s+)?funds?
      | (?:sum|amount)\s+of\s+(?:us\s*)?\$?\s?\d
      | \d[\d,.]*\s*(?:million|m)\s+(?:us\s+)?(?:dollars|usd|euros?|gbp)
      | (?:us\s*)?\$\s?\d{1,3}(?:[,.]\d{3}){2,} | atm\s+(?:visa\s+)?card | diplomat | barrister
      | herança | beneficiário | doação | herencia | beneficiario | donación
    """,
    ),
    (
        "prize",
        0.3,
        "prize / reward lure",
        None,
        r"""
        you(?:'ve|\s+have)?\s+(?:been\s+)?(?:won|selected|chosen) | congratulations | winner
      | (?:claim|collect|redeem)\s+(?:your\s+)?(?:reward|prize|gift|bonus|voucher)
      | gift\s?card | (?:free|exclusive)\s+(?:gift|reward|iphone|prize)
      | reward\s+(?:points|is\s+waiting|has\s+arrived) | lottery | sweepstake
      | gewinnspiel | gewonnen | gutschein | glückwunsch | gratulieren
      | parabéns | você\s+ganhou | prêmio | felicidades | ha\s+ganado | premio
      | félicitations | vous\s+avez\s+gagné | gefeliciteerd | gewonnen | complimenti | hai\s+vinto
    """,
    ),
    (
        "crypto",
        0.25,
        "cryptocurrency lure",
        None,
        r"""
        seed\s+phrase | recovery\s+phrase
      | (?:crypto|bitcoin|btc|usdt|eth)\s+(?:wallet|transfer|withdraw)
      | wallet\s+(?:verification|validation|sync|connect) | airdrop
      | withdraw(?:al)?\s+(?:your\s+)?(?:funds|assets|balance)
      | \d+(?:[.,]\d+)?[\s._-]*(?:btc|bitcoin|usdt|eth)\b
    """,
    ),
    (
        "legal",
        0.3,
        "legal threat lure",
        None,
        r"""
        court\s+(?:summons|order|notice|hearing) | subpoena | arrest\s+warrant
      | legal\s+(?:action|proceedings)\s+(?:against|will) | lawsuit\s+(?:against|filed)
      | (?:intimação|notificação|citação)\s+(?:judicial|extrajudicial)
      | mandado\s+de\s+(?:prisão|citação) | processo\s+judicial
      | gerichtliche?\s+(?:vorladung|mahnung) | haftbefehl
      | citación\s+judicial | demanda\s+judicial | convocation\s+judiciaire
    """,
    ),
    (
        "refund",
        0.3,
        "refund lure",
        "T1598.003",
        r"""
        (?:tax\s+)?refund\s+(?:is\s+)?(?:ready|pending|approved|notification|available)
      | (?:claim|receive|get)\s+(?:your\s+)?(?:tax\s+)?refund
      | eligible\s+(?:for\s+)?(?:a\s+)?refund
      | reembolso\s+(?:disponível|pendente|aprovado) | rückerstattung\s+(?:verfügbar|bereit)
      | remboursement\s+(?:disponible|en\s+attente)
    """,
    ),
    (
        "payment",
        0.2,
        "invoice / payment lure",
        None,
        r"""
        (?:overdue|unpaid|outstanding|pending)\s+(?:invoice|payment|balance)
      | payment\s+(?:failed|declined|overdue|confirmation\s+required)
      | wire\s+transfer | remittance\s+advice | (?:update|change)\s+(?:of\s+)?bank\s+details
      | rechnung\s+(?:offen|überfällig) | fatura\s+(?:vencida|pendente) | boleto
    """,
    ),
    (
        "gambling",
        0.3,
        "gambling lure",
        None,
        r"""
        free\s+spins | freispiele | gratis\s+spins | giros\s+grátis | tours\s+gratuits
      | (?:welcome|willkommens|welkoms)[\s-]?bonus | no\s+deposit | ohne\s+einzahlung
      | online\s+casino | casino\s+bonus | jackpot
    """,
    ),
    (
        "adult",
        0.3,
        "dating / adult lure",
        None,
        r"""
        looking\s+for\s+(?:a\s+)?(?:lover|partner|man|sex)
      | (?:hot|lonely|single)\s+(?:women|girls|singles|ladies)
      | sex\s+dating | hookup | nude | (?:meine|my)\s+(?:neuesten\s+)?(?:bilder|photos|pics)
      | treffen\s+sie | ukrainian\s+(?:women|beauty|brides)
    """,
    ),
    (
        "health",
        0.25,
        "miracle-cure lure",
        None,
        r"""
        keto | weight\s+loss | lose\s+\d+\s*(?:lbs|pounds|kg) | abnehmen | gewichtsverlust
      | erectile | gummies | hearing\s+aids? | blood\s+sugar | nagelpilz | krampfadern
      | glp-?1 | ozempic
    """,
    ),
    (
        "urgency",
        0.15,
        "urgency",
        None,
        r"""
        urgent(?:ly)? | immediately | within\s+(?:24|48|72)\s+(?:hours|hrs|h)\b
      | final\s+(?:notice|warning|reminder|attempt) | act\s+now | last\s+chance
      | expires?\s+(?:today|soon|in\s+\d) | (?:24|48)\s?(?:hours|h)\s+(?:to|left)
      | dringend | sofort | letzte\s+(?:chance|mahnung) | urgente | imediatamente | dernier\s+avis
    """,
    ),
]
# Words one of whose stems every phrase of the category contains: the (slower) phrase search
# runs only on text that has one of them.
_ANCHORS: dict[str, tuple[str, ...]] = {
    "credential": (
        "verif",
        "confirm",
        "wallet",
        "access",
        "kyc",
        "passw",
        "unusual",
        "suspicious",
        "tried",
        "attempted",
        "mailbox",
        "storage",
        "quota",
        "account",
        "activate",
        "validate",
        "unlock",
        "restore",
        "sign",
        "log",
        "shared",
        "mail",
        "message",
        "update",
        "voice",
        "konto",
        "passwort",
        "conta",
        "senha",
        "acesso",
        "atualiz",
        "cuenta",
        "compte",
        "vérifiez",
        "confirmez",
    ),
    "advance_fee": (
        "kin",
        "business",
        "beneficiar",
        "inherit",
        "late",
        "deceased",
        "donation",
        "compensation",
        "grant",
        "fund",
        "sum",
        "amount",
        "million",
        "$",
        "atm",
        "diplomat",
        "barrister",
        "herança",
        "doação",
        "herencia",
        "donación",
        " m ",
    ),
    "prize": (
        "won",
        "selected",
        "chosen",
        "congrat",
        "winner",
        "reward",
        "prize",
        "gift",
        "bonus",
        "voucher",
        "free",
        "exclusive",
        "lotter",
        "sweepstake",
        "gewinn",
        "gewonnen",
        "gutschein",
        "glückwunsch",
        "gratulieren",
        "parabéns",
        "ganhou",
        "prêmio",
        "felicidades",
        "ganado",
        "premio",
        "félicitations",
        "gagné",
        "gefeliciteerd",
        "complimenti",
        "vinto",
    ),
    "crypto": (
        "phrase",
        "crypto",
        "bitcoin",
        "btc",
        "usdt",
        "eth",
        "wallet",
        "airdrop",
        "withdraw",
    ),
    "legal": (
        "court",
        "subpoena",
        "warrant",
        "legal",
        "lawsuit",
        "judicia",
        "mandado",
        "processo",
        "gerichtlich",
        "haftbefehl",
        "citación",
        "demanda",
    ),
    "refund": ("refund", "reembolso", "rückerstattung", "remboursement"),
    "payment": (
        "invoice",
        "payment",
        "balance",
        "wire",
        "remittance",
        "bank",
        "refund",
        "rechnung",
        "fatura",
        "boleto",
    ),
    "gambling": (
        "spin",
        "freispiele",
        "giros",
        "tours",
        "bonus",
        "deposit",
        "einzahlung",
        "casino",
        "jackpot",
    ),
    "adult": (
        "looking",
        "women",
        "girls",
        "singles",
        "ladies",
        "dating",
        "hookup",
        "nude",
        "bilder",
        "photos",
        "pics",
        "treffen",
        "ukrainian",
    ),
    "health": (
        "keto",
        "weight",
        "lose",
        "abnehmen",
        "gewicht",
        "erectile",
        "gummies",
        "hearing",
        "sugar",
        "nagelpilz",
        "krampfadern",
        "glp",
        "ozempic",
    ),
    "urgency": (
        "urgent",
        "immediately",
        "within",
        "final",
        "act now",
        "last chance",
        "expire",
        "hours",
        "dringend",
        "sofort",
        "letzte",
        "imediatamente",
        "dernier",
    ),
}
_COMPILED = [
    (
        name,
        weight,
        label,
        technique,
        _ANCHORS[name],
        re.compile(r"(?<!\w)(?:" + pattern + ")", re.VERBOSE),
    )
    for name, weight, label, technique, pattern in _CATEGORIES
]


_BEFORE, _AFTER, _MAX_HITS = 80, 200, 40


def _positions(text: str, anchor: str, cache: dict[str, list[int]]) -> list[int]:
    """Where ``anchor`` occurs (at most ``_MAX_HITS`` + 1 places), found once per message."""
    found = cache.get(anchor)
    if found is None:
        found = []
        at = text.find(anchor)
        while at >= 0 and len(found) <= _MAX_HITS:
            found.append(at)
            at = text.find(anchor, at + 1)
        cache[anchor] = found
    return found


def _search(
    pattern: re.Pattern[str],
    text: str,
    anchors: tuple[str, ...],
    cache: dict[str, list[int]] | None = None,
) -> re.Match[str] | None:
    """``pattern.search(text)``, run only around the anchors' occurrences.

    Every phrase of a category contains one of its anchors, and no phrase is longer than
    ``_BEFORE`` + ``_AFTER`` characters, so searching windows around the anchors finds what a
    search of the whole text finds — at a fraction of the cost on long messages, where most
    of the text holds no anchor at all.
    """
    cache = {} if cache is None else cache
    hits: list[int] = []
    present = [a for a in anchors if a in text]  # most anchors are absent: one C-level scan each
    for anchor in present:
        found = _positions(text, anchor, cache)
        if len(found) > _MAX_HITS:
            return pattern.search(text)  # a common word everywhere: one pass is cheaper
        hits.extend(found)
    if not hits:
        return None
    hits.sort()
    start, end = max(0, hits[0] - _BEFORE), hits[0] + _AFTER
    for hit in hits[1:]:
        if hit - _BEFORE <= end:
            end = hit + _AFTER
            continue
        match = pattern.search(text, start, min(end, len(text)))
        if match:
            return match
        start, end = hit - _BEFORE, hit + _AFTER
    return pattern.search(text, start, min(end, len(text)))


def detect(view: View) -> list[Reason]:
    parsed = view.parsed
    names = " ".join(a.name.replace("_", " ").replace(".", " ") for a in parsed.attachments[:20])
    head = f"{parsed.subject} \n {parsed.sender.display} \n {names}"
    text = f"{head} \n {view.text[:MAX_TEXT]}".casefold()
    reasons: list[Reason] = []
    cache: dict[str, list[int]] = {}  # anchors shared by categories are looked up once
    for name, weight, label, technique, anchors, pattern in _COMPILED:
        match = _search(pattern, text, anchors, cache)
        if match:
            quoted = " ".join(match.group(0).split())[:60]
            reasons.append(Reason(NAME, name, weight, f"{label}: “{quoted}”", technique))
    return reasons
