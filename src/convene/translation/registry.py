"""The registry: which languages can be offered, and the way to translate from one to another.

It knows each engine's installed pairs (read at :meth:`TranslationRegistry.start` and at each
:meth:`~TranslationRegistry.refresh`), and routes a request to the first engine that has the pair,
or, when none has it, through pivot languages (``en`` <-> ``fr`` through ``es`` with Apertium;
``de`` -> ``es`` through ``en`` with an OPUS-MT ``de-en`` model and Apertium's ``en-es``). It
keeps an LRU cache of translated segments, bounds every engine call by a timeout, and hands an
engine the segments that queued up while its previous batch ran as one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from convene.metrics import TRANSLATION_CALLS
from convene.translation.base import Engine, Pair
from convene.translation.cache import TranslationCache
from convene.translation.errors import PairNotAvailable, TranslationError, TranslationTimeout
from convene.translation.languages import normalise

__all__ = ["EngineStatus", "Hop", "TranslationRegistry"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Hop:
    engine: str
    pair: Pair


@dataclass(slots=True)
class EngineStatus:
    """An engine's pairs as last read, and why the last read failed (None when it worked)."""

    name: str
    pairs: frozenset[Pair] = frozenset()
    error: str | None = None
    checked_at: float = 0.0


@dataclass(slots=True)
class _Batcher:
    """Segments for one engine and pair: sent at once when idle; those that arrive while a
    batch is in the engine go together in the next one (batching follows load, adds no wait)."""

    engine: Engine
    pair: Pair
    max_batch: int
    timeout: float
    pending: list[tuple[str, asyncio.Future[str]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def translate(self, texts: Sequence[str]) -> list[str]:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in texts]
        self.pending.extend(zip(texts, futures, strict=True))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain(), name=f"translate {self.pair}")
        results = await asyncio.gather(*futures, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [str(result) for result in results]

    async def _drain(self) -> None:
        while self.pending:
            batch = [(t, f) for t, f in self.pending[: self.max_batch] if not f.done()]
            del self.pending[: self.max_batch]
            if not batch:
                continue
            try:
                async with asyncio.timeout(self.timeout):
                    out = await self.engine.translate([t for t, _ in batch], self.pair)
                if len(out) != len(batch):
                    raise TranslationError(
                        f"{self.engine.name} gave {len(out)} translations for {len(batch)}"
                    )
            except TimeoutError:
                error: BaseException = TranslationTimeout(self.engine.name, self.timeout)
                _fail(batch, error)
            except TranslationError as exc:
                _fail(batch, exc)
            except Exception as exc:
                # An engine's bug must not leave its callers waiting: they get an error.
                log.exception("translation engine %s failed", self.engine.name)
                _fail(batch, TranslationError(f"{self.engine.name}: {exc!r}"))
            else:
                for (_, future), text in zip(batch, out, strict=True):
                    if not future.done():
                        future.set_result(text)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        _fail(self.pending, TranslationError("translation is shutting down"))
        self.pending.clear()


def _fail(batch: Iterable[tuple[str, asyncio.Future[str]]], error: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)


class TranslationRegistry:
    """The installed engines, in order of preference (the first with a pair serves it)."""

    def __init__(
        self,
        engines: Sequence[Engine],
        *,
        pivots: Sequence[str] = ("en", "es"),
        max_hops: int = 2,
        timeout: float = 5.0,
        start_timeout: float = 30.0,
        cache_size: int = 4096,
        max_batch: int = 32,
    ) -> None:
        self.engines = list(engines)
        self.pivots = [normalise(p) for p in pivots]
        self.max_hops = max_hops
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.max_batch = max_batch
        self.cache = TranslationCache(cache_size)
        self.status = {engine.name: EngineStatus(engine.name) for engine in self.engines}
        self._edges: dict[Pair, Engine] = {}
        self._batchers: dict[tuple[str, Pair], _Batcher] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start each engine (a child apertium-apy, a models folder scan); one that fails is
        logged and left without pairs until a later :meth:`refresh` finds it working."""
        for engine in self.engines:
            try:
                async with asyncio.timeout(self.start_timeout):
                    await engine.start()
            except (TranslationError, TimeoutError) as exc:
                log.warning(
                    "translation engine %s did not start: %s", engine.name, exc or "timeout"
                )
        await self.refresh(within=self.start_timeout)

    async def close(self) -> None:
        for batcher in self._batchers.values():
            await batcher.close()
        self._batchers.clear()
        for engine in self.engines:
            await engine.close()

    async def refresh(self, *, within: float | None = None) -> None:
        """Read every engine's pairs again. An engine that cannot tell keeps the pairs it had
        (a restarting server is not an uninstalled one) and its status records the error."""
        for engine in self.engines:
            status = self.status[engine.name]
            try:
                async with asyncio.timeout(within or self.timeout):
                    status.pairs = await engine.pairs()
                status.error = None
            except (TranslationError, TimeoutError) as exc:
                status.error = str(exc) or f"no answer within {within or self.timeout:g} s"
                log.warning("translation engine %s: %s", engine.name, status.error)
            status.checked_at = time.time()
        edges: dict[Pair, Engine] = {}
        for engine in self.engines:
            for pair in self.status[engine.name].pairs:
                edges.setdefault(pair, engine)
        self._edges = edges

    # -- what can be offered -----------------------------------------------------------------

    def pairs(self) -> frozenset[Pair]:
        """The pairs some engine translates directly."""
        return frozenset(self._edges)

    def languages(self) -> frozenset[str]:
        return frozenset(itertools.chain.from_iterable(self._edges))

    def route(self, source: str, target: str) -> list[Hop]:
        """The engines and pairs a translation from ``source`` to ``target`` goes through: one
        hop when an engine has the pair, else the fewest hops through pivot languages (tried in
        their order). Raises ``PairNotAvailable``."""
        source, target = normalise(source), normalise(target)
        hops = self._find(source, target)
        if hops is None:
            offered = sorted(self.targets(source))
            detail = f"from {source}: {', '.join(offered)}" if offered else f"nothing from {source}"
            raise PairNotAvailable(source, target, detail)
        return hops

    def _find(self, source: str, target: str) -> list[Hop] | None:
        for count in range(1, self.max_hops + 1):
            middles = [p for p in self.pivots if p not in (source, target)]
            for middle in itertools.permutations(middles, count - 1):
                stops = [source, *middle, target]
                pairs = [Pair(a, b) for a, b in itertools.pairwise(stops)]
                if all(pair in self._edges for pair in pairs):
                    return [Hop(self._edges[pair].name, pair) for pair in pairs]
        return None

    def targets(self, source: str) -> frozenset[str]:
        """Every language ``source`` can be translated into, directly or through pivots: what
        a meeting can offer its listeners for a speaker of ``source`` (empty: say so)."""
        source = normalise(source)
        return frozenset(
            target
            for target in self.languages() - {source}
            if self._find(source, target) is not None
        )

    # -- translating -------------------------------------------------------------------------

    async def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        """One translation per segment, in order. Raises ``PairNotAvailable`` (nothing
        installed for it), ``EngineUnavailable`` or ``TranslationTimeout`` (try again later)."""
        source, target = normalise(source), normalise(target)
        if source == target:
            return list(texts)
        hops = self.route(source, target)
        whole = Pair(source, target)
        out: list[str | None] = [self.cache.get(whole, text) for text in texts]
        missing = list(dict.fromkeys(t for t, o in zip(texts, out, strict=True) if o is None))
        if missing:
            current = missing
            for hop in hops:
                current = await self._hop(hop, current)
            done = dict(zip(missing, current, strict=True))
            for text, translation in done.items():
                self.cache.put(whole, text, translation)
            out = [o if o is not None else done[t] for t, o in zip(texts, out, strict=True)]
        return [o or "" for o in out]

    async def prepare(self, source: str, target: str) -> list[Hop]:
        """Get every engine on the way from ``source`` to ``target`` ready (a model loaded, a
        pipeline started), within the start timeout: call it when a listener picks a language,
        so that the first segment is not the slow one. Raises like :meth:`translate`."""
        source, target = normalise(source), normalise(target)
        if source == target:
            return []
        hops = self.route(source, target)
        for hop in hops:
            engine = self._edges[hop.pair]
            try:
                async with asyncio.timeout(self.start_timeout):
                    await engine.prepare(hop.pair)
            except TimeoutError:
                raise TranslationTimeout(engine.name, self.start_timeout) from None
        return hops

    async def translate_one(self, text: str, source: str, target: str) -> str:
        return (await self.translate([text], source, target))[0]

    async def _hop(self, hop: Hop, texts: list[str]) -> list[str]:
        engine = self._edges.get(hop.pair)
        if engine is None or engine.name != hop.engine:
            raise PairNotAvailable(hop.pair.source, hop.pair.target, "removed meanwhile")
        key = (engine.name, hop.pair)
        batcher = self._batchers.get(key)
        if batcher is None:
            batcher = _Batcher(engine, hop.pair, self.max_batch, self.timeout)
            self._batchers[key] = batcher
        calls = TRANSLATION_CALLS.labels
        try:
            # The engine call has its own timeout; this one also bounds the wait behind
            # the batch before it.
            async with asyncio.timeout(2 * self.timeout):
                translated = await batcher.translate(texts)
        except TimeoutError:
            calls(engine=engine.name, outcome="timeout").inc()
            raise TranslationTimeout(engine.name, 2 * self.timeout) from None
        except TranslationTimeout:
            calls(engine=engine.name, outcome="timeout").inc()
            raise
        except PairNotAvailable:
            calls(engine=engine.name, outcome="failed").inc()
            # The engine no longer has it (a server restarted with fewer pairs).
            await self.refresh()
            raise
        except Exception:
            calls(engine=engine.name, outcome="failed").inc()
            raise
        calls(engine=engine.name, outcome="ok").inc()
        return translated
