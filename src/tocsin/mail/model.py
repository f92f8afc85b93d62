"""What detectors read (a message's view and the scan's context) and what they say (reasons)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tocsin.mail.html import Form, HtmlContent, Image, parse_html
from tocsin.mail.parse import ParsedMessage
from tocsin.mail.urls import MAX_URLS, Url, parse_url, text_urls, unwrap

if TYPE_CHECKING:
    from tocsin.intel import IntelIndex
    from tocsin.mail.lookalike import LookalikeIndex

MAX_VIEW_TEXT = 200_000


@dataclass(frozen=True, slots=True)
class Reason:
    """One piece of evidence: which detector, what it saw, how much it counts (0–1)."""

    detector: str
    code: str
    weight: float
    evidence: str
    technique: str | None = None
    actor: str | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "detector": self.detector,
            "code": self.code,
            "weight": self.weight,
            "evidence": self.evidence,
        }
        if self.technique:
            out["technique"] = self.technique
        if self.actor:
            out["actor"] = self.actor
        return out


@dataclass(slots=True)
class Beacon:
    """A remote resource whose fetch tells the sender the message was opened."""

    url: str
    host: str
    service: str | None  # the tracking service, when known
    kind: str  # "esp" (bulk marketing), "personal" (sales read receipts), "unknown", "targeted"
    tracks: str  # what fetching it tells the sender
    signals: list[str] = field(default_factory=list)  # tiny, hidden, token, recipient…

    def to_dict(self) -> dict[str, object]:
        return {
            "url": self.url,
            "host": self.host,
            "service": self.service,
            "kind": self.kind,
            "tracks": self.tracks,
            "signals": self.signals,
        }


@dataclass(slots=True)
class LinkInfo:
    url: Url
    text: str  # what the reader sees ("" for plain-text links)
    where: str  # "html", "text", "form", "refresh", "attachment"
    image: bool = False  # a picture to click (banner, button drawn as an image)


@dataclass(slots=True)
class View:
    """Everything detectors read about one message, extracted once."""

    parsed: ParsedMessage
    links: list[LinkInfo] = field(default_factory=list)
    images: list[tuple[Url, Image]] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    html: list[HtmlContent] = field(default_factory=list)
    text: str = ""  # visible text of every body part
    urls_seen: int = 0
    schemes: list[str] = field(default_factory=list)  # data:, javascript: hrefs as written
    memo: dict[str, str | None] = field(default_factory=dict)  # facts several detectors ask

    @property
    def subject(self) -> str:
        return self.parsed.subject


def build_view(parsed: ParsedMessage) -> View:
    view = View(parsed)
    texts: list[str] = []
    for html in parsed.htmls:
        content = parse_html(html)
        view.html.append(content)
        texts.append(content.text)
        for link in content.links:
            _add_link(view, link.href, link.text, "html", link.image)
        for target in content.refresh:
            _add_link(view, target, "", "refresh")
        for form in content.forms:
            view.forms.append(form)
            if form.action:
                _add_link(view, form.action, "", "form")
        for image in content.images:
            url = parse_url(image.src) if len(view.images) < MAX_URLS else None
            if url is not None and url.scheme in ("http", "https", ""):
                view.images.append((url, image))
    for text in parsed.texts:
        texts.append(text)
        if not parsed.htmls or len(view.links) < 5:
            for raw in text_urls(text):
                _add_link(view, raw, "", "text")
    view.text = " ".join(texts)[:MAX_VIEW_TEXT]
    return view


def _add_link(view: View, raw: str, text: str, where: str, image: bool = False) -> None:
    view.urls_seen += 1
    lowered = raw.strip()[:12].lower()
    if lowered.startswith(("data:", "javascript:", "vbscript:")):
        view.schemes.append(raw.strip()[:80])
        return
    if len(view.links) >= MAX_URLS:
        return
    url = parse_url(unwrap(raw))
    if url is not None and url.host:
        view.links.append(LinkInfo(url, text, where, image))


@dataclass(slots=True)
class Vip:
    name: str  # as configured
    key: str  # normalised for comparison
    addresses: frozenset[str]


@dataclass(slots=True)
class Context:
    """What the scan knows beyond the message: protected domains and people, intel, history."""

    protected_domains: frozenset[str] = frozenset()  # registrable domains of organisations
    org_names: dict[str, str] = field(default_factory=dict)  # normalised name → organisation
    vips: list[Vip] = field(default_factory=list)
    personal_addresses: frozenset[str] = frozenset()
    own_addresses: frozenset[str] = frozenset()  # every configured account and address
    intel: IntelIndex | None = None
    lookalikes: LookalikeIndex | None = None


def name_key(text: str) -> str:
    """A name compared the way people read it: case, accents, punctuation and order ignored."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c if c.isalnum() else " " for c in folded if not unicodedata.combining(c))
    return " ".join(sorted(letters.split()))
