"""Apertium through a real apertium-apy: the pairs Debian ships, pivots, batches, a dead or
frozen server and its return, and Convene's own child apy."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from convene.config import Settings, TranslationSettings
from convene.translation import (
    EngineUnavailable,
    Hop,
    Pair,
    PairNotAvailable,
    TranslationRegistry,
    TranslationTimeout,
)
from convene.translation.apertium import ApertiumEngine, ApertiumServer
from convene.translation.setup import build_registry
from tests.translation.conftest import Apy


async def registry_at(url: str, *, timeout: float = 5.0) -> TranslationRegistry:
    registry = TranslationRegistry([ApertiumEngine(url=url, timeout=timeout)], timeout=timeout)
    await registry.start()
    return registry


async def test_english_to_spanish_and_back(apy: Apy) -> None:
    registry = await registry_at(apy.url)
    try:
        spanish = await registry.translate(
            ["The house is big.", "Good morning, everyone.", "Thank you very much."], "en", "es"
        )
        assert spanish[0] == "La casa es grande."
        assert "Buenos días" in spanish[1]
        assert "gracias" in spanish[2].lower()
        english = await registry.translate(["La casa es grande.", "El perro come."], "es", "en")
        assert english[0] == "The house is big."
        assert "dog" in english[1]
        assert registry.route("en", "es") == [Hop("apertium", Pair("en", "es"))]
    finally:
        await registry.close()


async def test_french_to_spanish(apy: Apy) -> None:
    registry = await registry_at(apy.url)
    try:
        (spanish,) = await registry.translate(["La maison est grande."], "fr", "es")
        assert spanish == "La casa es grande."
    finally:
        await registry.close()


async def test_english_to_french_and_back_through_spanish(apy: Apy) -> None:
    registry = await registry_at(apy.url)
    try:
        assert registry.route("en", "fr") == [
            Hop("apertium", Pair("en", "es")),
            Hop("apertium", Pair("es", "fr")),
        ]
        (french,) = await registry.translate(["The house is big."], "en", "fr")
        assert french == "La maison est grande."
        (english,) = await registry.translate(["La maison est grande."], "fr", "en")
        assert english == "The house is big."
        # A region subtag changes nothing: translation works on the language.
        assert await registry.translate(["The house is big."], "en-GB", "fr_FR") == [french]
    finally:
        await registry.close()


async def test_a_batch_comes_back_in_order(apy: Apy) -> None:
    engine = ApertiumEngine(url=apy.url, max_batch_chars=200)  # several requests, too
    try:
        await engine.start()
        numbers = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
        spanish = [
            "uno",
            "dos",
            "tres",
            "cuatro",
            "cinco",
            "seis",
            "siete",
            "ocho",
            "nueve",
            "diez",
        ]
        texts = [f"The dog number {n} eats.\nIt sleeps." for n in numbers] + ["", "  "]
        out = await engine.translate(texts, Pair("en", "es"))
        assert len(out) == len(texts)
        for number, line in zip(spanish, out, strict=False):
            assert number in line.split(), line
            assert "\n" not in line
        assert out[-2:] == ["", ""]
    finally:
        await engine.close()


async def test_unknown_pairs_are_not_available(apy: Apy) -> None:
    registry = await registry_at(apy.url)
    try:
        assert registry.targets("en") == {"es", "fr"}
        assert registry.targets("es") == {"en", "fr"}
        assert registry.targets("fr") == {"en", "es"}
        assert registry.targets("zh") == frozenset()
        assert registry.languages() == {"en", "es", "fr"}
        assert registry.pairs() == {
            Pair("en", "es"), Pair("es", "en"), Pair("fr", "es"), Pair("es", "fr")
        }  # fmt: skip
        with pytest.raises(PairNotAvailable) as caught:
            await registry.translate(["Hello"], "en", "zh")
        assert caught.value.code == "translation_unavailable"
        assert "from en: es, fr" in str(caught.value)
        with pytest.raises(PairNotAvailable, match="nothing from ru"):
            await registry.translate(["Привет"], "ru", "en")
        # Asked of the engine itself: apy's own answer, as the same error.
        engine = ApertiumEngine(url=apy.url)
        with pytest.raises(PairNotAvailable):
            await engine.translate(["Hello"], Pair("en", "de"))
        await engine.close()
    finally:
        await registry.close()


async def test_a_dead_apy_gives_a_clear_error_and_its_return_is_noticed(own_apy: Apy) -> None:
    registry = await registry_at(own_apy.url, timeout=3.0)
    try:
        assert await registry.translate(["The house is big."], "en", "es") == ["La casa es grande."]
        own_apy.kill()
        started = time.monotonic()
        with pytest.raises(EngineUnavailable) as caught:
            await registry.translate(["The dog eats."], "en", "es")
        # Refused at once: no waiting for the timeout.
        assert not isinstance(caught.value, TranslationTimeout)
        assert time.monotonic() - started < 3.0
        assert caught.value.code == "translation_engine_unavailable"
        assert own_apy.url in str(caught.value)
        # The pairs are kept (a server down is not a pair uninstalled); the status says why.
        await registry.refresh()
        assert registry.targets("en") == {"es", "fr"}
        assert registry.status["apertium"].error is not None

        own_apy.start()
        # A listener's pick warms the fresh apy's pipelines up (beyond the per-call timeout).
        await registry.prepare("en", "fr")
        assert await registry.translate(["The dog eats."], "en", "es") == ["El perro come."]
        await registry.refresh()
        assert registry.status["apertium"].error is None
    finally:
        await registry.close()


async def test_a_frozen_apy_times_out_and_recovers(own_apy: Apy) -> None:
    registry = await registry_at(own_apy.url, timeout=2.0)
    try:
        own_apy.signal(signal.SIGSTOP)  # accepts connections, answers nothing
        started = time.monotonic()
        with pytest.raises(TranslationTimeout) as caught:
            # A hang would end here, however busy the machine (speed is not this test's part).
            await asyncio.wait_for(registry.translate(["The house is big."], "en", "es"), 60)
        assert time.monotonic() - started >= 1.9  # not before the 2 s timeout
        assert caught.value.code == "translation_timeout"
        own_apy.signal(signal.SIGCONT)
        assert await registry.translate(["The house is big."], "en", "es") == ["La casa es grande."]
    finally:
        await registry.close()


async def test_the_child_apy_is_started_on_loopback_and_restarted_after_a_kill() -> None:
    server = ApertiumServer()
    # The segment after the kill waits for the new apy and its pipeline: a busy machine's
    # seconds, more than the default per-call timeout.
    registry = TranslationRegistry([ApertiumEngine(server=server, timeout=30)], timeout=30)
    try:
        await registry.start()
        assert server.running
        assert registry.targets("en") == {"es", "fr"}
        listening = await asyncio.to_thread(_listening_addresses, server.port)
        assert listening == {"127.0.0.1"}

        first = server.pid
        assert first is not None
        os.killpg(first, signal.SIGKILL)
        for _ in range(100):  # until asyncio has reaped it
            if not server.running:
                break
            await asyncio.sleep(0.05)
        assert not server.running
        assert await registry.translate(["The dog eats."], "en", "es") == ["El perro come."]
        assert server.running
        assert server.pid != first
    finally:
        await registry.close()
    assert not server.running


async def test_settings_build_the_engines(tmp_path: object) -> None:
    settings = Settings(data_dir=tmp_path, translation=TranslationSettings())
    registry = build_registry(settings)
    try:
        await registry.start()
        assert [engine.name for engine in registry.engines] == ["ctranslate2", "apertium"]
        assert registry.targets("en") == {"es", "fr"}
        assert registry.status["ctranslate2"].pairs == frozenset()
    finally:
        await registry.close()
    off = build_registry(Settings(data_dir=tmp_path, translation={"apertium": "off"}))
    assert [engine.name for engine in off.engines] == ["ctranslate2"]
    with pytest.raises(ValueError, match="apertium_url"):
        build_registry(Settings(data_dir=tmp_path, translation={"apertium": "external"}))
    missing = build_registry(
        Settings(data_dir=tmp_path, translation={"apertium_binary": "no-such-apertium-apy"})
    )
    assert [engine.name for engine in missing.engines] == ["ctranslate2"]


def _listening_addresses(port: int) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            for line in list(fh)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:
                    if len(address) == 8:
                        octets = bytes.fromhex(address)[::-1]
                        found.add(".".join(str(b) for b in octets))
                    else:
                        found.add(address)
    return found
