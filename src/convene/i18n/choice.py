"""Which of the six languages a reader gets.

The rule (docs/scheduling.md, "Languages of emails"): the language the recipient chose in their
settings; else, for mail about someone else's schedule, the organiser's; else English. REST
errors: the signed-in user's choice, else the best of ``Accept-Language``, else English.

An HTTP request's ``Accept-Language`` choice is kept in a context variable for the texts
written while it is handled (a confirmation email sent at sign-up, before any choice exists).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "from_accept_language",
    "pick",
    "request_language",
    "use_request_language",
]

# Also convene.storage.user_settings.LANGUAGES (what a user may choose).
LANGUAGES: tuple[str, ...] = ("ar", "en", "es", "fr", "ru", "zh")
DEFAULT_LANGUAGE = "en"
# Enough for any real browser; a longer header is not worth reading.
_MAX_HEADER = 512
_MAX_RANGES = 20

_request_language: ContextVar[str | None] = ContextVar("convene_request_language", default=None)


def pick(*choices: str | None) -> str:
    """The first of ``choices`` that is one of :data:`LANGUAGES` (a code such as ``fr`` or
    ``fr-CA``), else English."""
    for choice in choices:
        if choice:
            code = choice.strip().lower().replace("_", "-").split("-")[0]
            if code in LANGUAGES:
                return code
    return DEFAULT_LANGUAGE


def from_accept_language(header: str | None) -> str | None:
    """The language of :data:`LANGUAGES` the client prefers most (RFC 9110 §12.5.4: ranges
    weighted by ``q``, ``*`` ignored), or None when it names none of them."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header[:_MAX_HEADER].split(",")[:_MAX_RANGES]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        code = tag.strip().lower().split("-")[0]
        if code in LANGUAGES and 0.0 < quality <= 1.0:
            ranked.append((-quality, position, code))
    return min(ranked)[2] if ranked else None


def request_language() -> str | None:
    """The ``Accept-Language`` choice of the HTTP request being handled (None: no request, or
    it names none of the six)."""
    return _request_language.get()


@contextmanager
def use_request_language(language: str | None) -> Iterator[None]:
    """Make ``language`` the request's language for the code run inside."""
    token = _request_language.set(language)
    try:
        yield
    finally:
        _request_language.reset(token)
