"""Keeping the gettext catalogues true: extract, update, check (used by ``scripts/i18n.py``).

* ``extract()`` reads the notify package (Python, marked with ``_``/``N_``/``ngettext``) and
  its Jinja2 templates and returns the template catalogue (what ``locale/tocsin.pot`` holds).
* ``update()`` merges the template into every language's ``.po`` (new strings appear
  untranslated, removed ones become obsolete).
* ``problems()`` lists what stops a release: a stale ``.pot``, a ``.po`` missing a string or
  with an untranslated, fuzzy or badly formatted one (placeholders must match the source).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from tocsin import __version__
from tocsin.notify.i18n import DOMAIN, LOCALE_DIR, SOURCE_LANGUAGE, catalogue_path

PACKAGE = Path(__file__).resolve().parent
POT = LOCALE_DIR / f"{DOMAIN}.pot"
METHODS = [
    ("templates/**.j2", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
OPTIONS = {
    "templates/**.j2": {
        "extensions": "jinja2.ext.do,jinja2.ext.i18n",
        "trim_blocks": "true",
        "lstrip_blocks": "true",
    }
}
_HEADER = "Notifications tocsin sends to the people it protects and their security contacts."


def extract() -> Catalog:
    """The template catalogue, from the sources as they are now."""
    catalog = Catalog(
        project="tocsin",
        version=__version__,
        header_comment=f"# {_HEADER}\n# This file is generated: scripts/i18n.py extract",
        msgid_bugs_address="tocsin contributors",
        copyright_holder="tocsin contributors",
        creation_date=datetime(2020, 9, 10, tzinfo=UTC),
        charset="utf-8",
    )
    found = extract_from_dir(str(PACKAGE), METHODS, options_map=OPTIONS, strip_comment_tags=True)
    for filename, lineno, message, comments, context in found:
        catalog.add(
            message,
            None,
            [(f"tocsin/notify/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def pot_bytes(catalog: Catalog) -> bytes:
    buffer = BytesIO()
    write_po(buffer, catalog, width=100, sort_output=True, include_lineno=False, omit_header=False)
    return buffer.getvalue()


def write_pot() -> Path:
    POT.parent.mkdir(parents=True, exist_ok=True)
    POT.write_bytes(pot_bytes(extract()))
    return POT


def read_catalogue(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=language, domain=DOMAIN)


def init(language: str) -> Path:
    """A new, empty ``.po`` for ``language`` from the template."""
    template = read_catalogue(POT)
    catalog = Catalog(
        locale=language,
        domain=DOMAIN,
        project="tocsin",
        version=__version__,
        charset="utf-8",
        fuzzy=False,
    )
    catalog.update(template)
    path = catalogue_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, catalog)
    return path


def update(languages: Iterable[str]) -> list[Path]:
    """Merge the template into each language's catalogue."""
    template = read_catalogue(POT)
    paths = []
    for language in languages:
        path = catalogue_path(language)
        catalog = read_catalogue(path, language)
        catalog.update(template, no_fuzzy_matching=True)
        _write(path, catalog)
        paths.append(path)
    return paths


def _write(path: Path, catalog: Catalog) -> None:
    buffer = BytesIO()
    write_po(buffer, catalog, width=100, include_lineno=False, ignore_obsolete=True)
    path.write_bytes(buffer.getvalue())


def _keys(catalog: Catalog) -> set[tuple[str, str | None]]:
    return {(_id(m.id), m.context) for m in catalog if m.id}


def _id(value: str | tuple[str, ...] | object) -> str:
    return value[0] if isinstance(value, tuple) else str(value)


def problems(languages: Iterable[str]) -> list[str]:
    """Everything wrong with the catalogues, as sentences (empty when all is well)."""
    found: list[str] = []
    fresh = extract()
    if not POT.exists():
        return [f"{POT} is missing: run scripts/i18n.py extract"]
    pot = read_catalogue(POT)
    if _keys(fresh) != _keys(pot):
        added = sorted(k[0] for k in _keys(fresh) - _keys(pot))
        gone = sorted(k[0] for k in _keys(pot) - _keys(fresh))
        found.append(
            f"{POT.name} is stale (run scripts/i18n.py extract && scripts/i18n.py update): "
            f"new {added[:3]}, removed {gone[:3]}"
        )
    for language in languages:
        path = catalogue_path(language)
        if not path.exists():
            found.append(f"{language}: no catalogue at {path}")
            continue
        catalog = read_catalogue(path, language)
        missing = _keys(fresh) - _keys(catalog)
        if missing:
            found.append(
                f"{language}: {len(missing)} string(s) missing, e.g. {sorted(missing)[0][0]!r}"
            )
        for message in catalog:
            if not message.id:
                continue
            if message.fuzzy:
                found.append(f"{language}: fuzzy: {_id(message.id)!r}")
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if language != SOURCE_LANGUAGE and not all(strings):
                found.append(f"{language}: untranslated: {_id(message.id)!r}")
            for error in message.check(catalog):
                found.append(f"{language}: {_id(message.id)!r}: {error}")
        for message in catalog.obsolete.values():
            found.append(f"{language}: obsolete string kept: {_id(message.id)!r}")
    return found
