"""/metrics counts translation requests per engine and outcome, with a real apertium-apy that
answers, is killed, and is frozen."""

from __future__ import annotations

import asyncio
import signal

import pytest

from convene.metrics import REGISTRY
from convene.translation import EngineUnavailable, TranslationRegistry, TranslationTimeout
from convene.translation.apertium import ApertiumEngine
from tests.translation.conftest import Apy


def calls(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "convene_translation_calls_total", {"engine": "apertium", "outcome": outcome}
    )
    return value or 0.0


async def test_requests_failures_and_timeouts_are_counted(own_apy: Apy) -> None:
    registry = TranslationRegistry([ApertiumEngine(url=own_apy.url, timeout=2.0)], timeout=2.0)
    await registry.start()
    try:
        before = {o: calls(o) for o in ("ok", "failed", "timeout")}
        assert await registry.translate(["The house is big."], "en", "es") == ["La casa es grande."]
        # Through the pivot: two requests, one per hop.
        await registry.translate(["The dog eats."], "en", "fr")
        # The cache answers a repeated segment: no request.
        await registry.translate(["The house is big."], "en", "es")
        assert calls("ok") - before["ok"] == 3

        own_apy.signal(signal.SIGSTOP)  # accepts connections, answers nothing
        with pytest.raises(TranslationTimeout):
            await asyncio.wait_for(registry.translate(["A new one."], "en", "es"), 60)
        assert calls("timeout") - before["timeout"] == 1

        own_apy.kill()
        with pytest.raises(EngineUnavailable):
            await registry.translate(["Another one."], "en", "es")
        assert calls("failed") - before["failed"] == 1
        assert calls("ok") - before["ok"] == 3
    finally:
        await registry.close()
