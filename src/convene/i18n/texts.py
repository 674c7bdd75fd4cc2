"""One language's texts: translated messages and dates (the catalogue read once, then kept)."""

from __future__ import annotations

import io
import logging
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time, get_day_names
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from convene.i18n.choice import DEFAULT_LANGUAGE, LANGUAGES

__all__ = ["DOMAIN", "N_", "Texts", "catalogue_path", "texts_for"]

log = logging.getLogger(__name__)

DOMAIN = "convene"

# iCalendar weekday codes -> Babel's day numbers (Monday 0).
_WEEKDAY_NUMBER = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}


def N_(message: str) -> str:
    """Mark a message for the catalogues without translating it here (it is translated later,
    where the reader's language is known)."""
    return message


def catalogue_path(language: str) -> resources.abc.Traversable:
    """Where the ``.po`` catalogue of ``language`` lives inside the package."""
    return resources.files(__package__) / "locales" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _load(language: str) -> NullTranslations:
    """The catalogue compiled in memory (fuzzy entries left out, as ``msgfmt`` does)."""
    path = catalogue_path(language)
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class Texts:
    """Messages and dates in one language. Make them with :func:`texts_for` (cached)."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self.locale = Locale.parse(self.language)
        self._translations: NullTranslations
        try:
            self._translations = _load(self.language)
        except (OSError, ValueError):
            # A damaged install must still send mail: in English rather than not at all.
            log.exception("the %s catalogue could not be read; using English", self.language)
            self._translations = NullTranslations()

    def gettext(self, message: str, /, **params: Any) -> str:
        """``message`` translated, its ``{name}`` placeholders filled from ``params``."""
        text = self._translations.gettext(message)
        return self._fill(text, message, params) if params else text

    def ngettext(self, singular: str, plural: str, n: int, /, **params: Any) -> str:
        """The form of the message for the number ``n`` (the ``{n}`` placeholder is ``n``)."""
        text = self._translations.ngettext(singular, plural, n)
        return self._fill(text, singular if n == 1 else plural, {"n": n, **params})

    def _fill(self, text: str, source: str, params: dict[str, Any]) -> str:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            # A translation with a broken placeholder (the catalogue tests catch these): the
            # English sentence rather than no email at all.
            log.error("broken %s translation of %r", self.language, source)
            return source.format(**params)

    # -- dates ---------------------------------------------------------------------------------

    def day(self, moment: datetime | date, *, year: bool = True) -> str:
        """``Monday 2 March 2026`` (English), ``lundi 2 mars 2026``, ``2026年3月2日星期一``."""
        if self.language == "en":
            # The English of Convene's mail since it began: day first, no comma (UN usage).
            return format_date(moment, "EEEE d MMMM y" if year else "EEEE d MMMM", locale="en")
        if year:
            return format_date(moment, "full", locale=self.locale)
        return format_skeleton("MMMMEEEEd", moment, locale=self.locale)

    def date(self, moment: date) -> str:
        """A date without the weekday: ``2 March 2026``, ``2 mars 2026``."""
        if self.language == "en":
            return format_date(moment, "d MMMM y", locale="en")
        return format_date(moment, "long", locale=self.locale)

    def time(self, moment: datetime) -> str:
        """A time of day as the language writes it (24-hour ``09:00`` in English)."""
        if self.language == "en":
            return format_time(moment, "HH:mm", locale="en")
        return format_time(moment, "short", locale=self.locale)

    def when(self, start: datetime, end: datetime, zone_name: str) -> str:
        """``Monday 2 March 2026, 09:00 to 09:30 (Europe/Paris)``: a meeting's time in the
        reader's zone and language."""
        tz = _zone(zone_name)
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        if local_end.date() == local_start.date():
            return self.gettext(
                "{day}, {start} to {end} ({zone})",
                day=self.day(local_start),
                start=self.time(local_start),
                end=self.time(local_end),
                zone=zone_name,
            )
        return self.gettext(
            "{day}, {start} to {end_day}, {end} ({zone})",
            day=self.day(local_start),
            start=self.time(local_start),
            end_day=self.day(local_end, year=False),
            end=self.time(local_end),
            zone=zone_name,
        )

    def weekday(self, code: str) -> str:
        """The name of an iCalendar weekday (``MO``) in this language."""
        number = _WEEKDAY_NUMBER.get(code)
        if number is None:
            return code
        return str(get_day_names("wide", context="format", locale=self.locale)[number])

    def join(self, items: list[str]) -> str:
        """``Monday, Wednesday and Friday`` in this language."""
        return format_list(items, style="standard", locale=self.locale) if items else ""


@lru_cache(maxsize=len(LANGUAGES) + 1)
def texts_for(language: str | None) -> Texts:
    """The texts of ``language`` (English for None or a language Convene has no texts for)."""
    return Texts(language if language in LANGUAGES else DEFAULT_LANGUAGE)
