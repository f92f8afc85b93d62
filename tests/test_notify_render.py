"""Every kind × language rendered and compared with golden files that were read by a person;
right-to-left layout; no remote content; privacy of person messages; catalogues complete.

Update the golden files after a deliberate change with ``TOCSIN_UPDATE_SNAPSHOTS=1`` — then
read the diff.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import get_args

import pytest

from tests.test_notify_support import ATTACK_IPS, PEOPLE, campaign_config, spray_alert
from tocsin.config import LANGUAGES as CONFIG_LANGUAGES
from tocsin.config import Language
from tocsin.events import Actor
from tocsin.notify import catalogues
from tocsin.notify.i18n import (
    Localiser,
    UnknownLanguage,
    available_languages,
    fallback_chain,
    require_language,
    resolve_language,
)
from tocsin.notify.planner import KINDS, Notice, plan_notifications
from tocsin.notify.render import RLM, render

SNAPSHOTS = Path(__file__).parent / "snapshots" / "notify"
LANGUAGES = ["en", "fr", "id", "ja", "zh_Hans", "ar"]
UPDATE = os.environ.get("TOCSIN_UPDATE_SNAPSHOTS") == "1"


def _notices() -> list[Notice]:
    return plan_notifications(campaign_config(), [spray_alert()]).notices


def _context(kind: str) -> Notice:
    """The notice a kind's snapshots use: Chloé targeted, Ahmad compromised, the digest."""
    wanted = {"targeted": "chloe@harper.example", "compromised": "ahmad@harper.example"}
    for notice in _notices():
        mine = kind == "digest" or notice.person == wanted[kind]
        if notice.kind == kind and mine and notice.channel == "email":
            return notice
    raise AssertionError(kind)


def test_the_six_languages_have_catalogues() -> None:
    assert set(LANGUAGES) <= set(available_languages())


def test_the_configuration_accepts_exactly_the_languages_with_a_catalogue() -> None:
    """A new catalogue (scripts/i18n.py init) also needs its code in tocsin.config: an
    unknown language must fail `tocsin config check` with its line, never at send time."""
    assert set(get_args(Language)) == set(CONFIG_LANGUAGES) == set(available_languages())


def test_catalogues_are_complete_and_the_pot_is_not_stale() -> None:
    """Fails when a template string changed without scripts/i18n.py extract + update, or a
    translation is missing, fuzzy, or has placeholders that do not match the source."""
    assert catalogues.problems(available_languages()) == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_snapshot(kind: str, language: str) -> None:
    notice = _context(kind)
    rendered = render(kind, language, notice.context)
    text = f"Subject: {rendered.subject}\n\n{rendered.text}"
    for suffix, body in ((".txt", text), (".html", rendered.html)):
        path = SNAPSHOTS / f"{kind}.{language}{suffix}"
        if UPDATE or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
            if not UPDATE:
                pytest.fail(f"wrote a new snapshot {path.name}: read it, then run again")
        assert body == path.read_text(encoding="utf-8"), f"{path.name} changed"


@pytest.mark.parametrize("language", LANGUAGES)
def test_direction_comes_from_cldr(language: str) -> None:
    rendered = render("compromised", language, _context("compromised").context)
    direction = "rtl" if language == "ar" else "ltr"
    tag = language.replace("_", "-")
    assert rendered.direction == direction
    assert f'<html lang="{tag}" dir="{direction}">' in rendered.html
    assert f'<body dir="{direction}"' in rendered.html
    if direction == "rtl":
        assert "text-align:right" in rendered.html
        assert "padding-right:24px" in rendered.html  # list numbers on the right
        assert all(line.startswith(RLM) for line in rendered.text.splitlines() if line)
    else:
        assert RLM not in rendered.text
    # Not a hand-kept list: any right-to-left locale Babel knows is right-to-left.
    assert Localiser("he").direction == "rtl"
    assert Localiser("fa").direction == "rtl"


def test_names_and_addresses_keep_their_own_direction() -> None:
    """In HTML each name and address is a <bdi>: Latin in Arabic, Arabic in English."""
    html = render("compromised", "ar", _context("compromised").context).html
    assert "مرحبًا <bdi>Ahmad Karimi</bdi>،" in html
    assert "<bdi>ahmad@harper.example</bdi> (3–9 سبتمبر 2020)" in html
    context = {**_context("targeted").context, "name": "أحمد كريمي"}
    rendered = render("targeted", "en", context)
    assert "Hello <bdi>أحمد كريمي</bdi>," in rendered.html
    assert "<title>Security notice: attempts" in rendered.html  # the subject stays plain
    assert "bdi" not in rendered.text and "bdi" not in rendered.subject


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_html_is_self_contained(kind: str, language: str) -> None:
    html = render(kind, language, _context(kind).context).html
    lowered = html.lower()
    for banned in ("<img", "src=", "url(", "http://", "https://", "<link", "<script", "<style",
                   "href=", "<form", "<input"):  # fmt: skip
        assert banned not in lowered, banned
    assert lowered.startswith("<!doctype html>")
    assert '<meta charset="utf-8">' in lowered
    assert 'style="' in html  # inline CSS


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_no_english_left_in_translated_messages(language: str) -> None:
    template = catalogues.read_catalogue(catalogues.POT)
    sentences = [m.id for m in template if isinstance(m.id, str) and len(m.id) > 25
                 and "%(" not in m.id]  # fmt: skip
    for kind in KINDS:
        rendered = render(kind, language, _context(kind).context)
        for sentence in sentences:
            assert sentence not in rendered.text, (kind, sentence)


def test_person_messages_carry_only_their_own_details() -> None:
    notices = _notices()
    names = {user: name for name, user, _, _ in PEOPLE}
    person_notices = [n for n in notices if n.kind != "digest"]
    assert len(person_notices) == len(PEOPLE)
    for notice in person_notices:
        assert notice.person is not None
        own = notice.person.split("@")[0]
        rendered = render(notice.kind, notice.language, notice.context)
        for body in (rendered.subject, rendered.text, rendered.html):
            for user, name in names.items():
                if user != own:
                    assert name not in body and f"{user}@" not in body, (notice.person, name)
            assert "zoe@" not in body
            assert not re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", body)  # no IPv4 address
            for ip in ATTACK_IPS:
                assert ip not in body
            assert "STRONTIUM" not in body  # the actor's name is for the security contacts


def test_the_digest_has_the_whole_picture() -> None:
    rendered = render("digest", "en", _context("digest").context)
    for name, _, _, _ in PEOPLE:
        assert name in rendered.text
    for ip in ATTACK_IPS:
        assert ip in rendered.text
    assert "STRONTIUM (confidence 80%)" in rendered.text
    assert "zoe@harper.example" in rendered.text
    assert "Policy: block — the attacking addresses, for 1 week. Simulated only" in rendered.text
    assert rendered.subject == "Action needed at Harper for Senate: 2 accounts compromised " \
        "(campaign cmp-2020-09)"  # fmt: skip


def test_the_digest_claims_people_were_told_only_when_someone_was() -> None:
    context = _context("digest").context
    told = "The people concerned are being told directly"
    assert told in render("digest", "en", context).text
    nobody = [dataclasses.replace(p, reached=False) for p in context["people"]]
    rendered = render("digest", "en", {**context, "people": nobody})
    assert told not in rendered.text
    assert "Could not be told directly" in rendered.text


def test_dates_and_numbers_are_localised() -> None:
    digest = _context("digest").context
    assert "1\u202f862" in render("digest", "fr", digest).text  # narrow no-break space
    assert "1.862" in render("digest", "id", digest).text
    assert "1,862" in render("digest", "ja", digest).text
    assert "3–9 sept. 2020" in render("targeted", "fr", _context("targeted").context).text
    # CLDR 49 (Babel 2.19) writes this interval "2020年9月3日 – 9日" (thin spaces); earlier
    # data wrote "2020年9月3日至9日". Either way: Chinese dates, with the shared month left out.
    zh = render("targeted", "zh_Hans", _context("targeted").context).text
    assert re.search(r"2020年9月3日(至|\u2009–\u2009)9日", zh)
    assert "سبتمبر" in render("targeted", "ar", _context("targeted").context).text
    assert "Allemagne" in render("digest", "fr", digest).text  # country names too


def test_plural_forms_follow_the_language() -> None:
    one = spray_alert(compromised_users=["ahmad@harper.example"])
    config = campaign_config()
    [digest] = [n for n in plan_notifications(config, [one]).notices
                if n.kind == "digest" and n.channel == "email"]  # fmt: skip
    assert "1 account compromised" in render("digest", "en", digest.context).subject
    assert "1 compte compromis" in render("digest", "fr", digest.context).subject
    assert "حساب واحد مخترق" in render("digest", "ar", digest.context).subject
    two = _context("digest")
    assert "حسابان مخترقان" in render("digest", "ar", two.context).subject


def test_fallback_chain_and_unknown_languages() -> None:
    assert fallback_chain("zh_Hans_CN", "fr") == ["zh_Hans_CN", "zh_Hans", "zh", "fr", "en"]
    assert fallback_chain("fr-CA") == ["fr_CA", "fr", "en"]
    assert resolve_language("pt_BR", "id") == "id"
    assert resolve_language("de") == "en"
    assert resolve_language(None, "ja") == "ja"
    with pytest.raises(UnknownLanguage, match="available: ar, en, fr, id, ja, zh_Hans"):
        require_language("de")
    with pytest.raises(UnknownLanguage):
        render("targeted", "xx", _context("targeted").context)


def test_text_from_configuration_and_logs_is_escaped_and_neutralised() -> None:
    config = campaign_config().model_copy(deep=True)
    org = config.organisations[0].model_copy(update={"name": "Harper <b>&</b> Co"})
    config = config.model_copy(update={"organisations": [org]})
    evil = "x\u202egnp.exe\u202c@harper.example"
    actor = Actor("STRONTIUM", 0.8, ["user agent <script>x</script>\u202eevil"])
    alert = spray_alert(users=[*spray_alert().users, evil], actor=actor)
    [digest] = [n for n in plan_notifications(config, [alert]).notices
                if n.kind == "digest" and n.channel == "email"]  # fmt: skip
    rendered = render("digest", "en", digest.context)
    assert "Harper &lt;b&gt;&amp;&lt;/b&gt; Co" in rendered.html
    assert "<b>" not in rendered.html
    assert "\u202e" not in rendered.text and "\u202e" not in rendered.html
    assert "&lt;script&gt;" in rendered.html and "<script>" not in rendered.html
    assert "Harper <b>&</b> Co" in rendered.text  # plain text stays plain
