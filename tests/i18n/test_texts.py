"""A translation with a broken placeholder never stops an email: the English sentence is used
(the catalogue tests keep such translations out; this is for a catalogue edited on a server)."""

from __future__ import annotations

import logging

import pytest
from babel.support import NullTranslations

from convene.i18n.texts import Texts


class _Broken(NullTranslations):
    def gettext(self, message: str) -> str:
        return "Invitación: {titulo}"

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return "{title} empieza en {"


def test_a_broken_translation_falls_back_to_english(caplog: pytest.LogCaptureFixture) -> None:
    texts = Texts("es")
    texts._translations = _Broken()
    with caplog.at_level(logging.ERROR, logger="convene.i18n.texts"):
        assert texts.gettext("Invitation: {title}", title="Sync") == "Invitation: Sync"
        assert (
            texts.ngettext(
                "{title} starts in {n} minute", "{title} starts in {n} minutes", 5, title="Sync"
            )
            == "Sync starts in 5 minutes"
        )
    assert len([r for r in caplog.records if "broken es translation" in r.getMessage()]) == 2
