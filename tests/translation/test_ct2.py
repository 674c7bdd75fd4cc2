"""The CTranslate2 engine on tiny models built here (tests/translation/tiny_models.py): random
weights, so the words are gibberish, but the real CTranslate2 translator, SentencePiece
tokenisers, batching, language tokens and model folder reading. A real OPUS-MT or M2M100 model
needs a download (docs/operations.md, "Translation")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convene.config import Settings
from convene.translation import Hop, Pair, PairNotAvailable, TranslationRegistry
from convene.translation.apertium import ApertiumEngine
from convene.translation.ct2 import CTranslate2Engine, read_model_info
from convene.translation.setup import models_dir
from tests.translation.conftest import Apy
from tests.translation.tiny_models import build_m2m100, build_opus_mt

SENTENCES = ["Das Haus ist groß.", "Danke, Sie haben das Wort.", "Guten Morgen allerseits."]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("translation-models")
    build_opus_mt(root / "opus-mt-de-en", "de", "en")
    build_m2m100(root / "m2m100-tiny", ["de", "en", "fr"])
    return root


def engine_for(models: Path) -> CTranslate2Engine:
    return CTranslate2Engine(models, device="cpu", compute_type="default", cpu_threads=1)


def test_model_folders_say_what_they_serve(models: Path, tmp_path: Path) -> None:
    opus = read_model_info(models / "opus-mt-de-en")
    assert (opus.kind, opus.pairs) == ("pair", {Pair("de", "en")})
    assert opus.source_tokenizer.name == "source.spm"
    m2m = read_model_info(models / "m2m100-tiny")
    assert m2m.kind == "m2m100"
    assert Pair("fr", "de") in m2m.pairs
    assert len(m2m.pairs) == 6

    with pytest.raises(ValueError, match=r"no model\.bin"):
        read_model_info(tmp_path)
    odd = tmp_path / "my-model"
    odd.mkdir()
    (odd / "model.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="the name says no language pair"):
        read_model_info(odd)
    (odd / "convene-translation.json").write_text(json.dumps({"source": "en", "target": "de"}))
    with pytest.raises(ValueError, match=r"source\.spm is missing"):
        read_model_info(odd)


async def test_a_pair_model_translates_a_batch(models: Path) -> None:
    engine = engine_for(models)
    try:
        assert await engine.pairs() >= {Pair("de", "en"), Pair("en", "fr")}
        await engine.prepare(Pair("de", "en"))
        assert list(engine._loaded) == [models / "opus-mt-de-en"]
        batch = await engine.translate([*SENTENCES, "", "  "], Pair("de", "en"))
        assert len(batch) == len(SENTENCES) + 2
        assert all(isinstance(text, str) and text for text in batch[:3])
        assert batch[3:] == ["", ""]
        assert "⁇" not in "".join(batch)  # control tokens are not written out
        # Greedy decoding: the same output alone as in a batch.
        alone = [(await engine.translate([text], Pair("de", "en")))[0] for text in SENTENCES]
        assert alone == batch[:3]
    finally:
        await engine.close()


async def test_a_model_converted_from_marian_files_closes_the_source_itself(
    models: Path, tmp_path: Path
) -> None:
    build_opus_mt(tmp_path / "opus-mt-de-en", "de", "en", from_marian=True)
    native, transformers = engine_for(tmp_path), engine_for(models)
    try:
        await native.pairs()
        await transformers.pairs()
        # One </s> either way: the same weights give the same words.
        assert await native.translate(SENTENCES, Pair("de", "en")) == await transformers.translate(
            SENTENCES, Pair("de", "en")
        )
    finally:
        await native.close()
        await transformers.close()


async def test_a_multilingual_model_is_steered_by_language_tokens(models: Path) -> None:
    engine = engine_for(models)
    try:
        await engine.pairs()
        # de -> en has its pair model; de -> fr only the multilingual one.
        assert engine._models[Pair("de", "en")].kind == "pair"
        assert engine._models[Pair("de", "fr")].kind == "m2m100"
        to_french = await engine.translate(SENTENCES, Pair("de", "fr"))
        to_english = await engine.translate(SENTENCES, Pair("en", "de"))
        assert len(to_french) == len(to_english) == 3
        assert to_french != to_english  # another target token, another output
        assert not any(text.startswith("__") for text in to_french + to_english)
    finally:
        await engine.close()


async def test_no_model_installed_says_so(tmp_path: Path) -> None:
    registry = TranslationRegistry([engine_for(tmp_path / "missing")])
    await registry.start()
    try:
        assert registry.targets("de") == frozenset()
        with pytest.raises(PairNotAvailable, match="nothing from de"):
            await registry.translate(["Hallo"], "de", "en")
        engine = engine_for(tmp_path / "missing")
        with pytest.raises(PairNotAvailable, match="no CTranslate2 model"):
            await engine.translate(["Hallo"], Pair("de", "en"))
    finally:
        await registry.close()


async def test_a_broken_model_is_skipped_and_reported(models: Path, tmp_path: Path) -> None:
    broken = tmp_path / "opus-mt-ru-en"
    broken.mkdir()
    (broken / "model.bin").write_bytes(b"")
    engine = engine_for(tmp_path)
    assert await engine.pairs() == frozenset()
    assert "source.spm is missing" in engine.problems["opus-mt-ru-en"]


async def test_any_pair_through_english_across_engines(models: Path, apy: Apy) -> None:
    """German speech read in Spanish: OPUS-MT de -> en, then Apertium en -> es."""
    only_pair = models.parent / "only-pair"
    if not only_pair.exists():
        only_pair.mkdir()
        (only_pair / "opus-mt-de-en").symlink_to(models / "opus-mt-de-en")
    registry = TranslationRegistry([engine_for(only_pair), ApertiumEngine(url=apy.url)])
    await registry.start()
    try:
        assert registry.route("de", "es") == [
            Hop("ctranslate2", Pair("de", "en")),
            Hop("apertium", Pair("en", "es")),
        ]
        assert registry.targets("de") == {"en", "es"}
        out = await registry.translate(SENTENCES, "de", "es")
        assert len(out) == 3
        assert all(out)
    finally:
        await registry.close()


def test_the_models_folder_follows_the_speech_models_folder(tmp_path: Path) -> None:
    assert models_dir(Settings(data_dir=tmp_path)) == tmp_path / "models" / "translation"
    speech = Settings(data_dir=tmp_path, speech={"models_dir": tmp_path / "m"})
    assert models_dir(speech) == tmp_path / "m" / "translation"
    own = Settings(data_dir=tmp_path, translation={"models_dir": tmp_path / "t"})
    assert models_dir(own) == tmp_path / "t"
