"""Rendering a notice to a subject, a plain-text body and an HTML body, in its language.

Templates are Jinja2 under ``templates/``, one per kind (``targeted.j2``, ``compromised.j2``,
``digest.j2``), written once and rendered twice: with the text macros and layout, and with
the HTML ones (autoescaped, inline CSS only, no images, no links, ``dir`` and ``lang`` from
the language's CLDR data, names and addresses isolated in ``<bdi>`` by ``iso()``).
Sentences go through gettext (Jinja2's i18n extension, new-style: variables are escaped in
HTML and formatted by name).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_timedelta
from babel.lists import format_list
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from tocsin.config import duration_seconds
from tocsin.notify.i18n import Localiser, require_language, translations
from tocsin.notify.planner import KINDS

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = ("text", "html")
WIDTH = 76
RLM = "\u200f"
_SPACES = re.compile(r"[ \t\r\n]+")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


SEVERITY_LABELS = {
    "low": N_("low"),
    "medium": N_("medium"),
    "high": N_("high"),
    "critical": N_("critical"),
}
ACTION_LABELS = {
    "ban": N_("block"),
    "captcha": N_("ask for a CAPTCHA"),
    "mfa_stepup": N_("require a second sign-in factor"),
    "reset_password": N_("reset the password"),
    "revoke_sessions": N_("sign out every session"),
    "notify_only": N_("notify only"),
}
SCOPE_LABELS = {
    "ip": N_("the attacking addresses"),
    "range": N_("the attacking address ranges"),
    "asn": N_("the attacking networks"),
    "country": N_("the countries the attack came from"),
    "user_agent": N_("the attacking software"),
    "user": N_("the accounts concerned"),
}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str
    language: str
    direction: str


def render(kind: str, language: str, context: dict[str, Any]) -> Rendered:
    """Subject, text and HTML of one notice. UnknownLanguage if ``language`` has no catalogue."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
    require_language(language)
    loc = Localiser(language)
    variables = {**context, **_helpers(loc)}
    text_module = (
        _environment(language, "text")
        .get_template(f"{kind}.j2")
        .make_module({**variables, "fmt": "text", "iso": str})
    )
    html_module = (
        _environment(language, "html")
        .get_template(f"{kind}.j2")
        .make_module({**variables, "fmt": "html", "iso": _isolate})
    )
    subject = _SPACES.sub(" ", str(getattr(text_module, "subject", ""))).strip()
    return Rendered(
        subject=subject,
        text=_tidy(str(text_module), rtl=loc.direction == "rtl"),
        html=str(html_module).strip() + "\n",
        language=language,
        direction=loc.direction,
    )


def _helpers(loc: Localiser) -> dict[str, Any]:
    gettext = translations(loc.language).gettext

    def label(table: str, key: str) -> str:
        labels = {"severity": SEVERITY_LABELS, "action": ACTION_LABELS, "scope": SCOPE_LABELS}
        source = labels[table].get(key)
        return gettext(source) if source else key

    def duration(value: str) -> str:
        seconds = duration_seconds(value)
        return format_timedelta(timedelta(seconds=seconds), threshold=1, locale=loc.locale)

    def join(items: list[str]) -> str:
        return format_list([str(i) for i in items], locale=loc.locale) if items else ""

    def country_names(codes: list[str]) -> list[str]:
        return [str(loc.locale.territories.get(c.upper(), c)) for c in codes]

    side = "right" if loc.direction == "rtl" else "left"
    return {
        "loc": loc,
        "lang": loc.tag,
        "dir": loc.direction,
        "side": side,
        "other_side": "left" if side == "right" else "right",
        "fonts": _fonts(loc.language),
        "label": label,
        "duration": duration,
        "join": join,
        "country_names": country_names,
    }


def _isolate(value: object) -> Markup:
    """A name or an address inside a sentence, in ``<bdi>``: its direction is its own, so
    "Ahmad Karimi" in an Arabic sentence or "أحمد كريمي" in an English one keeps its
    letters and the punctuation around it in the right order."""
    return Markup("<bdi>{}</bdi>").format(value)


def _fonts(language: str) -> str:
    """A font stack with the script's usual faces first (so clients pick a fitting one)."""
    script = {"ar": '"Noto Naskh Arabic", "Geeza Pro", Tahoma, ',
              "ja": '"Hiragino Sans", "Yu Gothic", Meiryo, "Noto Sans JP", ',
              "zh": '"PingFang SC", "Microsoft YaHei", "Noto Sans SC", '}  # fmt: skip
    base = language.split("_")[0]
    return script.get(base, "") + '-apple-system, "Segoe UI", Roboto, Arial, sans-serif'


@lru_cache(maxsize=32)
def _environment(language: str, fmt: str) -> Environment:
    # Plain text is not HTML: escaping it would show "&amp;" to the reader. The HTML
    # environment escapes everything, translations included.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=fmt == "html",  # noqa: S701
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    catalogue = translations(language)
    if fmt == "html":
        # The catalogue holds plain text, not HTML: escape the sentence itself too (Jinja
        # escapes only the variables), so "ATT&CK" stays text and a translation cannot
        # inject markup.
        env.install_gettext_callables(  # type: ignore[attr-defined]
            gettext=lambda s: escape(catalogue.gettext(s)),
            ngettext=lambda s, p, n: escape(catalogue.ngettext(s, p, n)),
            newstyle=True,
        )
    else:
        env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    env.filters["para"] = _para
    return env


def _para(text: str, indent: str = "", first: str | None = None) -> str:
    """Wrap a paragraph for the text body. Text without spaces (Chinese, Japanese) is kept
    on one line: mail clients wrap it, and a hard break there would be read as a space."""
    text = _SPACES.sub(" ", str(text)).strip()  # not str.split(): keep no-break spaces
    first = indent if first is None else first
    if text.count(" ") * 12 < len(text):
        return first + text
    return textwrap.fill(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _tidy(text: str, *, rtl: bool) -> str:
    """No trailing spaces or double blank lines. Right-to-left text gets a RIGHT-TO-LEFT MARK
    at the start of each line: plain-text mail has no ``dir``, and a line that starts with a
    name or an address would otherwise be laid out left to right."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(RLM + line if rtl and line else line)
    return "\n".join(out) + "\n"
