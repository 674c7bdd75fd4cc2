"""The registry's own rules, on a small in-process engine: routes and pivots, what it offers,
the cache, batching of concurrent segments, timeouts. (Real engines: test_apertium, test_ct2.)"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from convene.translation import (
    Hop,
    Pair,
    PairNotAvailable,
    TranslationError,
    TranslationRegistry,
    TranslationTimeout,
)


class WordEngine:
    """Translates by tagging each text with the pair, so a chain of hops shows in the output."""

    def __init__(self, name: str, pairs: Sequence[tuple[str, str]], delay: float = 0.0) -> None:
        self.name = name
        self._pairs = frozenset(Pair(*p) for p in pairs)
        self.delay = delay
        self.calls: list[tuple[Pair, list[str]]] = []
        self.prepared: list[Pair] = []
        self.fail_pairs: Exception | None = None
        self.fail_translate: Exception | None = None

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def pairs(self) -> frozenset[Pair]:
        if self.fail_pairs is not None:
            raise self.fail_pairs
        return self._pairs

    async def prepare(self, pair: Pair) -> None:
        self.prepared.append(pair)

    async def translate(self, texts: Sequence[str], pair: Pair) -> list[str]:
        if pair not in self._pairs:
            raise PairNotAvailable(pair.source, pair.target)
        self.calls.append((pair, list(texts)))
        await asyncio.sleep(self.delay)
        if self.fail_translate is not None:
            raise self.fail_translate
        return [f"{text}>{pair.target}" for text in texts]


async def started(*engines: WordEngine, **kwargs: object) -> TranslationRegistry:
    registry = TranslationRegistry(engines, **kwargs)  # type: ignore[arg-type]
    await registry.start()
    return registry


async def test_direct_pairs_come_first_then_the_fewest_hops_in_pivot_order() -> None:
    opus = WordEngine("opus", [("de", "en"), ("en", "de"), ("ru", "en"), ("ru", "es")])
    apertium = WordEngine("apertium", [("en", "es"), ("es", "en"), ("es", "fr"), ("fr", "es")])
    registry = await started(opus, apertium, pivots=["en", "es"])
    assert registry.route("ru", "es") == [Hop("opus", Pair("ru", "es"))]
    assert registry.route("de", "es") == [
        Hop("opus", Pair("de", "en")),
        Hop("apertium", Pair("en", "es")),
    ]
    assert registry.route("en", "fr") == [
        Hop("apertium", Pair("en", "es")),
        Hop("apertium", Pair("es", "fr")),
    ]
    # de -> fr takes three hops (de-en, en-es, es-fr): past max_hops=2.
    with pytest.raises(PairNotAvailable):
        registry.route("de", "fr")
    assert registry.targets("de") == {"en", "es"}
    assert registry.targets("fr") == {"es", "en"}
    assert await registry.translate(["Hallo"], "de", "es") == ["Hallo>en>es"]
    # Asking for a language gets each engine on its way ready.
    assert await registry.prepare("de", "es") == registry.route("de", "es")
    assert (opus.prepared, apertium.prepared) == ([Pair("de", "en")], [Pair("en", "es")])

    three = await started(opus, apertium, pivots=["en", "es"], max_hops=3)
    assert await three.translate(["Hallo"], "de", "fr") == ["Hallo>en>es>fr"]
    assert three.targets("de") == {"en", "es", "fr"}


async def test_the_first_engine_with_a_pair_serves_it() -> None:
    first = WordEngine("first", [("en", "es")])
    second = WordEngine("second", [("en", "es"), ("es", "en")])
    registry = await started(first, second)
    await registry.translate(["a"], "en", "es")
    await registry.translate(["b"], "es", "en")
    assert [call[0] for call in first.calls] == [Pair("en", "es")]
    assert [call[0] for call in second.calls] == [Pair("es", "en")]


async def test_same_language_is_no_translation_and_unknown_languages_say_so() -> None:
    registry = await started(WordEngine("e", [("en", "es")]))
    assert await registry.translate(["Hello"], "en", "EN") == ["Hello"]
    with pytest.raises(PairNotAvailable, match="nothing from zh"):
        await registry.translate(["你好"], "zh", "en")
    assert registry.targets("zh") == frozenset()


async def test_the_cache_answers_repeated_segments() -> None:
    engine = WordEngine("e", [("en", "es")])
    registry = await started(engine, cache_size=2)
    assert await registry.translate(["a", "b", "a"], "en", "es") == ["a>es", "b>es", "a>es"]
    assert engine.calls == [(Pair("en", "es"), ["a", "b"])]  # each text once
    assert await registry.translate(["b", "a"], "en", "es") == ["b>es", "a>es"]
    assert len(engine.calls) == 1
    await registry.translate(["c"], "en", "es")  # evicts the least recently used: b
    await registry.translate(["b"], "en", "es")
    assert engine.calls[-1] == (Pair("en", "es"), ["b"])
    assert len(registry.cache) == 2


async def test_segments_that_queue_during_a_batch_go_in_the_next_one() -> None:
    engine = WordEngine("e", [("en", "es")], delay=0.2)
    registry = await started(engine, cache_size=0, max_batch=3)
    first = asyncio.create_task(registry.translate(["s0"], "en", "es"))
    await asyncio.sleep(0.05)  # s0 is in the engine now
    later = [asyncio.create_task(registry.translate([f"s{i}"], "en", "es")) for i in range(1, 8)]
    results = await asyncio.gather(first, *later)
    assert results == [[f"s{i}>es"] for i in range(8)]
    # s0 went alone (nothing else waited); the seven that came meanwhile, three a batch at most.
    assert [texts for _, texts in engine.calls] == [
        ["s0"], ["s1", "s2", "s3"], ["s4", "s5", "s6"], ["s7"]
    ]  # fmt: skip


async def test_a_slow_engine_times_out() -> None:
    engine = WordEngine("slow", [("en", "es")], delay=5)
    registry = await started(engine, timeout=0.2)
    with pytest.raises(TranslationTimeout) as caught:
        await registry.translate(["a"], "en", "es")
    assert caught.value.engine == "slow"
    engine.delay = 0
    assert await registry.translate(["b"], "en", "es") == ["b>es"]
    await registry.close()


async def test_an_engine_that_cannot_tell_its_pairs_keeps_the_last_ones() -> None:
    engine = WordEngine("e", [("en", "es")])
    registry = await started(engine)
    engine.fail_pairs = TranslationError("down")
    await registry.refresh()
    assert registry.targets("en") == {"es"}
    assert registry.status["e"].error == "down"
    never = WordEngine("never", [("en", "fr")])
    never.fail_pairs = TranslationError("not started")
    fresh = await started(never)
    assert fresh.targets("en") == frozenset()
    assert fresh.status["never"].error == "not started"


async def test_an_engine_bug_is_an_error_for_its_callers_not_a_hang() -> None:
    engine = WordEngine("buggy", [("en", "es")])
    registry = await started(engine, timeout=30)
    engine.fail_translate = ZeroDivisionError("oops")
    with pytest.raises(TranslationError, match="ZeroDivisionError"):
        await asyncio.wait_for(registry.translate(["a"], "en", "es"), 5)
    engine.fail_translate = None
    assert await registry.translate(["b"], "en", "es") == ["b>es"]
