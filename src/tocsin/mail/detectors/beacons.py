"""Web beacons: remote images whose fetch tells the sender the message was opened.

A remote image is a beacon when it is tiny (0–1 px) or hidden, when its URL looks like an
open tracker (``/open``, ``/track``, ``pixel``, ``beacon``), or when its URL carries a token
that identifies the recipient (their address, a hash or encoding of it, or a long unique id).

Each beacon is classified:

* ``esp`` — a bulk e-mail platform's open tracking (``known.ESP_TRACKERS``): every newsletter
  has it; shown, weight 0;
* ``personal`` — a one-to-one "read receipt" tracker (Mailtrack, Yesware…): 0.1;
* ``targeted`` — a per-recipient token, on a host that is no known tracking service and not
  the (authenticated) sender's own domain, the recipient is a personal address or the token
  is the recipient's own address, and the message is not authenticated bulk mail (with
  List-Unsubscribe and aligned SPF/DKIM): how ZIRCONIUM confirmed which campaign staff read
  its mail (T1598.003): 0.5, "suspicious" on its own — reconnaissance of a person;
* ``unknown`` — any other beacon: 0.25 with a token on a host that is not the authenticated
  sender's own ("foreign"), else 0.05 (the sender tracking its own newsletter, a spacer image
  from its own site).
  (the sender tracking its own newsletter, a spacer image from its own site).
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import unquote

from tocsin.mail.detectors.auth import aligned
from tocsin.mail.known import ESP_TRACKERS, FREEMAIL, PERSONAL_TRACKERS, registrable_in
from tocsin.mail.model import Beacon, Context, Reason, View
from tocsin.mail.urls import Url, registrable

NAME = "beacons"
_TRACK_WORDS = re.compile(
    r"(?:^|[/_.\-=])(?:open|opens|opened|track|tracking|tracker|trk|pixel|pixels|beacon|beacons"
    r"|wf/open|o\.gif|t\.gif)(?:$|[/_.\-=?])",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[A-Za-z0-9_\-=%.+]{20,}")
_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".bmp", ".ico")
_WEIGHTS = {
    "targeted": 0.5,
    "unknown_token": 0.25,
    "personal": 0.1,
    "unknown": 0.05,
    "esp": 0.0,
}


def _has_token(url: Url) -> bool:
    candidates = [v for v in re.split(r"[&;]", url.query) if v]
    segments = [s for s in url.path.split("/") if s]
    if segments and segments[-1].lower().endswith(_IMAGE_EXT):
        segments = segments[:-1]
    for value in candidates + segments:
        value = value.split("=", 1)[-1]
        for match in _TOKEN.finditer(value):
            token = match.group(0)
            if any(c.isdigit() for c in token) and any(c.isalpha() for c in token):
                return True
    return False


def recipient_forms(addresses: list[str]) -> dict[str, str]:
    """Ways a tracker writes an address into a URL → the address."""
    out: dict[str, str] = {}
    for address in addresses[:20]:
        data = address.encode()
        out[address] = address
        out[base64.urlsafe_b64encode(data).decode().rstrip("=")] = address
        out[base64.b64encode(data).decode().rstrip("=")] = address
        for algorithm in ("md5", "sha1", "sha256"):
            out[hashlib.new(algorithm, data).hexdigest()] = address
    return out


def _carries_recipient(url: Url, forms: dict[str, str]) -> str | None:
    haystack = unquote(url.url).lower()
    raw = url.url
    for form, address in forms.items():
        found = address in haystack if form == address else len(form) >= 8 and form in raw
        if found:
            return address
    return None


def find_beacons(view: View, ctx: Context) -> list[Beacon]:
    if not view.images:
        return []
    parsed = view.parsed
    forms = recipient_forms(parsed.recipients)
    sender_reg = registrable(parsed.sender.domain)
    sender_trusted = aligned(view) is not False and parsed.auth.dmarc != "fail"
    personal = any(
        r in ctx.personal_addresses or registrable(r.rsplit("@", 1)[-1]) in FREEMAIL
        for r in parsed.recipients
    )
    beacons: list[Beacon] = []
    for url, image in view.images[:300]:
        if not url.host:
            continue
        signals: list[str] = []
        tiny = (
            image.width is not None
            and image.width <= 1
            and image.height is not None
            and image.height <= 1
        )
        if tiny:
            signals.append("1x1 image" if image.width or image.height else "0x0 image")
        if image.hidden:
            signals.append("hidden")
        if _TRACK_WORDS.search(url.path):
            signals.append("tracking path")
        recipient = _carries_recipient(url, forms) if forms else None
        if recipient:
            signals.append("recipient address in URL")
        token = _has_token(url)
        if token:
            signals.append("unique token")
        esp = registrable_in(url.host, ESP_TRACKERS)
        own = registrable_in(url.host, PERSONAL_TRACKERS)
        is_beacon = tiny or image.hidden or "tracking path" in signals or bool(recipient)
        is_beacon = is_beacon or (token and bool(esp or own))
        if not is_beacon:
            continue
        if esp:
            kind, service = "esp", ESP_TRACKERS[esp]
        elif own:
            kind, service = "personal", PERSONAL_TRACKERS[own]
        else:
            service = None
            foreign = url.registrable != sender_reg or not sender_trusted
            if foreign:
                signals.append("foreign")
            unique = token or bool(recipient)
            # An authenticated bulk sender (List-Unsubscribe, aligned SPF/DKIM) is marketing.
            marketing = parsed.bulk and aligned(view) is True
            targeted = unique and foreign and (personal or bool(recipient)) and not marketing
            kind = "targeted" if targeted else "unknown"
        tracks = "when, from which IP address and on which device the message was opened"
        if recipient:
            tracks += f", tied to {recipient}"
        elif token:
            tracks += ", tied to this recipient by a unique token"
        beacons.append(Beacon(url.url[:500], url.host, service, kind, tracks, signals))
    return beacons


def detect(view: View, beacons: list[Beacon]) -> list[Reason]:
    if not beacons:
        return []

    def weight(b: Beacon) -> float:
        if b.kind == "unknown" and "unique token" in b.signals and "foreign" in b.signals:
            return _WEIGHTS["unknown_token"]
        return _WEIGHTS[b.kind]

    worst = max(beacons, key=weight)
    services = sorted({b.service for b in beacons if b.service})
    described = {
        "esp": f"bulk-mail open tracking by {worst.service}",
        "personal": f"a read-receipt tracker ({worst.service})",
        "targeted": f"a per-recipient web beacon on {worst.host}, not a known tracking service",
        "unknown": f"a web beacon on {worst.host}",
    }[worst.kind]
    more = f"; {len(beacons)} beacons in all" if len(beacons) > 1 else ""
    extra = f" (services: {', '.join(services)})" if services and worst.kind != "esp" else ""
    technique = "T1598.003" if worst.kind == "targeted" else None
    return [
        Reason(
            NAME,
            f"beacon_{worst.kind}",
            weight(worst),
            f"{described} ({', '.join(worst.signals)}){more}{extra}",
            technique,
        )
    ]
