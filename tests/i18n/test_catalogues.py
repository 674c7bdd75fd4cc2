"""The server's catalogues: every message the code has is in each of the six, translated (none
empty or fuzzy outside English), with the same placeholders, and each language's plural rule."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from functools import cache

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from convene.api.errors import CODE_MESSAGES, localized_message
from convene.i18n import LANGUAGES, from_accept_language, pick, texts_for
from convene.i18n.texts import catalogue_path
from convene.protocol.errors import ErrorCode
from convene.storage.user_settings import LANGUAGES as USER_LANGUAGES
from tests.unit.test_dependencies import PACKAGE

MessageId = str | tuple[str, ...]


@cache
def _source_messages() -> frozenset[MessageId]:
    """What Babel extracts from the package (``gettext``, ``ngettext``, ``N_``...)."""
    found: set[MessageId] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(PACKAGE), method_map=[("**.py", "python")], keywords=DEFAULT_KEYWORDS
    ):
        found.add(message)
    return frozenset(found)


def _catalogue(language: str) -> Catalog:
    with catalogue_path(language).open("rb") as po:
        return read_po(po, locale=language)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_languages_are_the_ones_users_choose() -> None:
    assert tuple(LANGUAGES) == tuple(USER_LANGUAGES)


def test_the_code_marks_messages() -> None:
    # A guard for the test itself: the extraction finds the messages where they are used.
    messages = _source_messages()
    assert "Invitation: {title}" in messages
    assert ("{title} starts in {n} minute", "{title} starts in {n} minutes") in messages
    assert CODE_MESSAGES[ErrorCode.MEETING_ENDED] in messages


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalogue_has_every_message_of_the_code(language: str) -> None:
    catalogue = _catalogue(language)
    have = {m.id for m in catalogue if m.id}
    missing = _source_messages() - have
    assert not missing, f"{language} lacks {sorted(map(str, missing))}"
    stale = have - _source_messages()
    assert not stale, f"{language} has messages the code no longer uses: {sorted(map(str, stale))}"


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_each_message_is_translated_with_its_placeholders(language: str) -> None:
    catalogue = _catalogue(language)
    assert catalogue.num_plurals == {"ar": 6, "ru": 3, "zh": 1}.get(language, 2)
    for message in catalogue:
        if not message.id:
            continue
        assert not message.fuzzy, f"{language}: fuzzy {message.id!r}"
        if isinstance(message.id, tuple):
            wanted = _fields(message.id[1]) - {"n"}
            forms = message.string
            assert isinstance(forms, tuple)
            assert len(forms) == catalogue.num_plurals, f"{language}: {message.id!r}"
            for form in forms:
                assert form.strip(), f"{language}: untranslated {message.id!r}"
                # A form may spell the number out ("one minute", "two minutes" in Arabic).
                assert wanted <= _fields(form) <= wanted | {"n"}, f"{language}: {form!r}"
        else:
            assert isinstance(message.string, str)
            assert message.string.strip(), f"{language}: untranslated {message.id!r}"
            assert _fields(message.string) == _fields(message.id), f"{language}: {message.id!r}"


def test_plurals_follow_each_language() -> None:
    one, other = "{title} starts in {n} minute", "{title} starts in {n} minutes"

    def starts(language: str, n: int) -> str:
        return texts_for(language).ngettext(one, other, n, title="Sync")

    assert starts("en", 1) == "Sync starts in 1 minute"
    assert starts("fr", 1) == "Sync commence dans 1 minute"
    assert starts("fr", 5) == "Sync commence dans 5 minutes"
    assert [starts("ru", n) for n in (1, 3, 5, 21)] == [
        "Sync начнётся через 1 минуту",
        "Sync начнётся через 3 минуты",
        "Sync начнётся через 5 минут",
        "Sync начнётся через 21 минуту",
    ]
    assert [starts("ar", n) for n in (1, 2, 5, 11)] == [
        "يبدأ Sync بعد دقيقة واحدة",
        "يبدأ Sync بعد دقيقتين",
        "يبدأ Sync بعد 5 دقائق",
        "يبدأ Sync بعد 11 دقيقة",
    ]
    assert starts("zh", 5) == "Sync 将在 5 分钟后开始"


def test_dates_are_written_the_way_each_language_writes_them() -> None:
    start, end = datetime(2026, 3, 9, 8, tzinfo=UTC), datetime(2026, 3, 9, 8, 30, tzinfo=UTC)
    when = {lang: texts_for(lang).when(start, end, "Europe/Paris") for lang in LANGUAGES}
    assert when["en"] == "Monday 9 March 2026, 09:00 to 09:30 (Europe/Paris)"
    assert when["fr"] == "lundi 9 mars 2026, de 09:00 à 09:30 (Europe/Paris)"
    assert when["es"].startswith("lunes, 9 de marzo de 2026")
    assert when["ru"].startswith("понедельник, 9 марта 2026")
    assert when["zh"].startswith("2026年3月9日星期一")
    assert re.match(r"الاثنين، 9 مارس 2026", when["ar"])


def test_choosing_a_language() -> None:
    assert pick(None, "fr-CA") == "fr"
    assert pick("de", None) == "en"
    assert from_accept_language("de-DE,de;q=0.9,ru;q=0.8,fr;q=0.5") == "ru"
    assert from_accept_language("fr;q=0.2, zh-Hans-CN;q=0.7") == "zh"
    assert from_accept_language("de, *;q=0.5") is None
    assert from_accept_language("ar;q=0, es") == "es"
    assert from_accept_language("fr;q=bogus") is None


def test_every_error_code_has_a_sentence_in_every_language() -> None:
    assert set(CODE_MESSAGES) == set(ErrorCode)
    for language in LANGUAGES:
        for code in ErrorCode:
            text = localized_message(code, "Something particular", language)
            assert text.strip()
            if language != "en":
                assert text == texts_for(language).gettext(CODE_MESSAGES[code])
                assert text != CODE_MESSAGES[code] or code is ErrorCode.NOT_FOUND
