"""What captions offer: speech from the models folder (and packaged models), translation from a
real apertium-apy's pairs (en<->es, fr<->es, and en<->fr through es)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from convene.captions.languages import captions_available, offered_languages, speech_checker
from convene.config import CaptionsSettings, Settings, SpeechSettings
from convene.speech.models import CATALOGUE, MANIFEST
from convene.translation import TranslationRegistry
from convene.translation.apertium import ApertiumEngine
from tests.translation.conftest import Apy


@pytest.fixture
async def registry(apy: Apy) -> AsyncIterator[TranslationRegistry]:
    registry = TranslationRegistry([ApertiumEngine(url=apy.url, timeout=30)], timeout=30)
    await registry.start()
    yield registry
    await registry.close()


def settings(tmp_path: Path, **captions: object) -> Settings:
    # Models that no package ships: only what is in the models folder counts.
    return Settings(
        data_dir=tmp_path,
        speech=SpeechSettings(default_models={"en": "base.en", "*": "small"}),
        captions=CaptionsSettings.model_validate(captions),
    )


def install(models: Path, name: str) -> None:
    """Put a model's files in the folder (their contents do not matter to the check)."""
    folder = models / CATALOGUE[name].name
    folder.mkdir(parents=True)
    for f in CATALOGUE[name].files:
        (folder / f.name).write_bytes(b"")
    (folder / MANIFEST).write_text(json.dumps({"name": name}))


async def test_each_language_in_order_with_its_speech_and_translations(
    tmp_path: Path, registry: TranslationRegistry
) -> None:
    config = settings(tmp_path)
    install(tmp_path / "models", "base.en")
    offered = offered_languages(
        config, speech_installed=speech_checker(config), translator=registry
    )
    assert [(c.code, c.speech, c.translation_from) for c in offered] == [
        ("ar", False, []),
        ("zh", False, []),
        ("en", True, ["fr", "es"]),
        ("fr", False, ["en", "es"]),
        ("ru", False, []),
        ("es", False, ["en", "fr"]),
    ]
    assert captions_available(config, speech_checker(config))


async def test_without_a_translator_nothing_is_translated(tmp_path: Path) -> None:
    config = settings(tmp_path, languages=["es", "en", "es"])
    offered = offered_languages(config, speech_installed=lambda _: True, translator=None)
    assert [(c.code, c.speech, c.translation_from) for c in offered] == [
        ("es", True, []),
        ("en", True, []),
    ]


def test_available_needs_captions_enabled_and_one_model(tmp_path: Path) -> None:
    config = settings(tmp_path)
    check = speech_checker(config, ttl=0)
    assert not captions_available(config, check)
    install(tmp_path / "models", "small")
    assert captions_available(config, check)
    assert check("ru")
    assert check("zh")
    assert not check("en")  # its own model, base.en, is not there
    off = settings(tmp_path, enabled=False)
    assert not captions_available(off, speech_checker(off))


def test_an_answer_is_kept_a_few_seconds(tmp_path: Path) -> None:
    config = settings(tmp_path)
    now = [100.0]
    check = speech_checker(config, ttl=5.0, clock=lambda: now[0])
    assert not check("en")
    install(tmp_path / "models", "base.en")
    now[0] += 4.0
    assert not check("en")  # remembered
    now[0] += 1.5
    assert check("en")


def test_packaged_models_count_as_installed(tmp_path: Path) -> None:
    # The default models ship in packages; the worker installs them from there, offline.
    config = Settings(data_dir=tmp_path)
    check = speech_checker(config)
    assert check("en")
    assert check("fr")
    assert captions_available(config, check)
    # A model that does not recognise the language is no model for it.
    odd = Settings(data_dir=tmp_path, speech=SpeechSettings(default_models={"fr": "tiny.en"}))
    assert not speech_checker(odd)("fr")
    assert not speech_checker(odd)("en")  # no "*" and none of its own
