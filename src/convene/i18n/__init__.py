"""Server texts in the six official languages of the UN: gettext catalogues read with Babel.

What people read from the server (emails, the words Convene writes into calendar files, REST
error messages) goes through a :class:`Texts` for the reader's language::

    t = texts_for("fr")
    t.gettext("Invitation: {title}", title=schedule.title)
    t.ngettext("{title} starts in {n} minute", "{title} starts in {n} minutes", 5, title=...)
    t.when(start, end, "Europe/Paris")

Messages are English source strings with ``{name}`` placeholders (filled after translation);
the catalogues are ``locales/<language>/LC_MESSAGES/convene.po`` inside this package. They are
read and compiled in memory the first time a language is used, so a checkout, an editable
install and a wheel all run with no compile step. Plurals follow each language's rule (the
``Plural-Forms`` of its catalogue: six forms in Arabic, three in Russian, one in Chinese).
Which language a reader gets is :mod:`convene.i18n.choice`.
"""

from convene.i18n.choice import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    from_accept_language,
    pick,
    request_language,
    use_request_language,
)
from convene.i18n.texts import N_, Texts, texts_for

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "Texts",
    "from_accept_language",
    "pick",
    "request_language",
    "texts_for",
    "use_request_language",
]
