"""Languages: gettext catalogues (Babel), the fallback chain, localised dates and numbers.

The catalogues are the ``.po`` files under ``locale/<lang>/LC_MESSAGES/tocsin.po`` (the
template is ``locale/tocsin.pot``; ``scripts/i18n.py`` extracts, updates and checks them).
No compiled ``.mo`` file is kept in the repository: each ``.po`` is compiled in memory with
Babel the first time a language is used in a process, and cached for the process — so a fresh
clone, a read-only install and an edited ``.po`` all just work.

English is the source language: its catalogue may leave strings untranslated (the source text
is then used as is).
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_interval
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "tocsin"
SOURCE_LANGUAGE = "en"


class UnknownLanguage(ValueError):
    """A language tocsin has no catalogue for (and no fallback could be found)."""


def available_languages() -> list[str]:
    """Languages with a catalogue, sorted."""
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def fallback_chain(preferred: str | None, *more: str | None) -> list[str]:
    """The languages to try, best first: each wish and its parents, then English.

    ``zh_Hans_CN`` → ``zh_Hans`` → ``zh``; ``fr-CA`` → ``fr``. Duplicates are dropped.
    """
    chain: list[str] = []
    for wish in (preferred, *more, SOURCE_LANGUAGE):
        if not wish:
            continue
        parts = wish.replace("-", "_").split("_")
        for n in range(len(parts), 0, -1):
            candidate = "_".join(parts[:n])
            if candidate not in chain:
                chain.append(candidate)
    return chain


def resolve_language(preferred: str | None, *more: str | None) -> str:
    """The first language of the fallback chain that has a catalogue."""
    have = set(available_languages())
    for candidate in fallback_chain(preferred, *more):
        if candidate in have:
            return candidate
    raise UnknownLanguage(f"no catalogue for {preferred!r}; available: {sorted(have)}")


def require_language(language: str) -> str:
    """``language`` itself if it has a catalogue, else UnknownLanguage naming what exists."""
    if language not in available_languages():
        raise UnknownLanguage(
            f"unknown language {language!r}; available: {', '.join(available_languages())}"
        )
    return language


@lru_cache(maxsize=32)
def translations(language: str) -> gettext.GNUTranslations:
    """The compiled catalogue of ``language`` (compiled from its .po on first use)."""
    path = catalogue_path(require_language(language))
    with path.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@dataclass(frozen=True, slots=True)
class Localiser:
    """Formats dates and numbers the way a language writes them."""

    language: str

    @property
    def locale(self) -> Locale:
        return _locale(self.language)

    @property
    def direction(self) -> str:
        """``rtl`` or ``ltr``, from CLDR (Babel), not from a hand-kept list."""
        return "rtl" if self.locale.text_direction == "rtl" else "ltr"

    @property
    def tag(self) -> str:
        """A BCP 47 tag for ``lang=`` attributes: ``zh-Hans``."""
        return self.language.replace("_", "-")

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, value: float) -> str:
        return format_percent(value, locale=self.locale)

    def period(self, start: datetime, end: datetime) -> str:
        """A day or a span of days: "3–9 sept. 2020", "2020年9月3日～9日"."""
        return format_interval(start, end, "yMMMMd", tzinfo=start.tzinfo, locale=self.locale)

    def moment(self, value: datetime) -> str:
        """A date and time with its zone (UTC)."""
        return format_datetime(value, "long", tzinfo=value.tzinfo, locale=self.locale)

    def language_name(self, language: str) -> str:
        return str(_locale(language).get_display_name(self.locale) or language)


@lru_cache(maxsize=32)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError) as exc:
        raise UnknownLanguage(f"unknown language {language!r}") from exc
