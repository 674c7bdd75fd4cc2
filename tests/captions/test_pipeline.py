"""The captions pipeline with real parts: results as the worker gives them, a real
TranslationRegistry over a real apertium-apy, a real TranscriptStore on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
import sqlite3
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from convene.captions.pipeline import CaptionPipeline
from convene.captions.results import CaptionResult
from convene.protocol.captions import CaptionEvent
from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.storage.db import Database
from convene.storage.meetings import MeetingRecord
from convene.storage.transcripts import SEGMENT_TEXT_MAX, TranscriptStore
from convene.storage.users import UserRecord
from convene.translation import TranslationRegistry
from convene.translation.apertium import ApertiumEngine
from tests.translation.conftest import Apy

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ADA = ParticipantId("p_ada")
BO = ParticipantId("p_bo")


@dataclass
class Rig:
    """A pipeline, what it delivered, and the tasks it spawned."""

    meeting: MeetingId
    translator: TranslationRegistry | None
    store: TranscriptStore | None
    options: dict[str, Any] = field(default_factory=dict)
    delivered: list[tuple[CaptionEvent, frozenset[str]]] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    spawned: list[str] = field(default_factory=list)
    pipeline: CaptionPipeline = field(init=False)

    def __post_init__(self) -> None:
        self.pipeline = CaptionPipeline(
            self.meeting,
            deliver=lambda event, readings: self.delivered.append((event, readings)),
            spawn=self.spawn,
            translator=self.translator,
            transcripts=self.store,
            origin=T0,
            **self.options,
        )

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self.spawned.append(name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def to(self, reading: str) -> list[CaptionEvent]:
        return [event for event, readings in self.delivered if reading in readings]

    async def translated(self) -> None:
        """Wait for the translations under way (not the transcript's writer)."""
        await self._tasks("captions translate")

    async def written(self) -> None:
        """Wait for the transcript's writer to have nothing left."""
        await self._tasks("captions transcript")

    async def _tasks(self, prefix: str) -> None:
        running = [t for t in self.tasks if t.get_name().startswith(prefix)]
        if running:
            await asyncio.wait_for(asyncio.gather(*running), 60)

    async def close(self) -> None:
        await self.pipeline.close()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(self.tasks)


def said(
    text: str,
    start: float,
    end: float,
    *,
    final: bool = False,
    ends: bool = False,
    who: ParticipantId = ADA,
    language: str | None = "en",
    at: float | None = None,
) -> CaptionResult:
    """A result as the worker gives it; ``at``: seconds after T0 it was received (default:
    the audio's end, one second after T0's start of speech)."""
    received = T0.timestamp() + (end + 1.0 if at is None else at)
    return CaptionResult(
        meeting=MeetingId("m"),
        participant=who,
        final=final,
        text=text,
        start=start,
        end=end,
        ends_segment=ends,
        language=language,
        received_at=received,
    )


@pytest.fixture
async def host(db: Database) -> UserRecord:
    return await db.users.create(email="h@example.org", display_name="Host", password_hash="h")


@pytest.fixture
async def meeting(db: Database, host: UserRecord) -> MeetingRecord:
    return await db.meetings.create(host_id=host.id, title="M", passcode=None)


@pytest.fixture
async def registry(apy: Apy) -> AsyncIterator[TranslationRegistry]:
    registry = TranslationRegistry([ApertiumEngine(url=apy.url, timeout=30)], timeout=30)
    await registry.start()
    yield registry
    await registry.close()


async def test_a_turn_grows_then_is_final_and_translated_for_spanish_readers(
    db: Database, meeting: MeetingRecord, host: UserRecord, registry: TranslationRegistry
) -> None:
    store = TranscriptStore(db)
    rig = Rig(meeting.id, registry, store)
    rig.pipeline.speaker(ADA, display_name="Ada", user_id=UserId(host.id))
    rig.pipeline.set_demand(["original", "es", "off"])
    try:
        rig.pipeline.feed(said("The house", 0.2, 0.9))
        rig.pipeline.feed(said("The house", 0.2, 0.9, final=True))
        rig.pipeline.feed(said("is", 1.0, 1.2))
        rig.pipeline.feed(said("is big.", 1.0, 1.6, final=True))
        rig.pipeline.feed(said("", 1.6, 1.6, final=True, ends=True))
        await rig.translated()
        original = rig.to("original")
        assert [(e.stable, e.unstable, e.final) for e in original] == [
            ("", "The house", False),
            ("The house", "", False),
            ("The house", "is", False),
            ("The house is big.", "", False),
            ("The house is big.", "", True),
        ]
        assert {e.segment_id for e in original} == {original[0].segment_id}
        assert all(e.language == "en" and not e.translated for e in original)
        spanish = rig.to("es")
        assert len(spanish) == 1
        assert spanish[0].translated
        assert spanish[0].final
        assert spanish[0].language == "es"
        assert spanish[0].source_language == "en"
        assert spanish[0].stable == "La casa es grande."
        assert spanish[0].segment_id == original[0].segment_id
        assert spanish[0].speaker.display_name == "Ada"
        # The first result came a second after its audio's end, 0.7 s of audio: the turn
        # began 0.2 s after T0 + 0.2 s.
        first = original[0]
        assert (first.start_ms, original[-1].end_ms) == (1200, 2600)

        await rig.pipeline.flush()
        english = await store.list_segments(meeting.id, "en")
        assert [(s.text, s.speaker_name, s.speaker_user, s.translated) for s in english] == [
            ("The house is big.", "Ada", host.id, False)
        ]
        assert (english[0].start_ms, english[0].end_ms) == (1200, 2600)
        assert english[0].start_at == T0 + timedelta(seconds=1.2)
        stored = await store.list_segments(meeting.id, "es")
        assert [(s.text, s.source_language, s.translated) for s in stored] == [
            ("La casa es grande.", "en", True)
        ]
        assert (stored[0].start_ms, stored[0].end_ms) == (1200, 2600)
        # The route was warmed up once, when English was first heard while Spanish was read.
        assert [n for n in rig.spawned if "prepare" in n] == ["captions prepare en-es"]
    finally:
        await rig.close()


async def test_nothing_is_translated_when_nobody_reads_another_language(
    registry: TranslationRegistry,
) -> None:
    rig = Rig(MeetingId("m"), registry, None)
    rig.pipeline.set_demand(["original", "en"])
    try:
        rig.pipeline.feed(said("Good morning.", 0.0, 1.0, final=True, ends=True))
        await rig.translated()
        assert [e.stable for e in rig.to("original")] == ["Good morning."]
        assert rig.to("en") == rig.to("original")
        assert rig.to("es") == []
        assert len(registry.cache) == 0
        assert registry.cache.misses == 0
    finally:
        await rig.close()


async def test_readers_of_a_language_without_a_route_get_the_original(
    registry: TranslationRegistry,
) -> None:
    rig = Rig(MeetingId("m"), registry, None)
    rig.pipeline.speaker(ADA, display_name="Ada", user_id=None)
    rig.pipeline.set_demand(["zh", "es"])  # nothing translates English into Chinese here
    try:
        rig.pipeline.feed(said("Thank you", 0.0, 0.6))
        rig.pipeline.feed(said("Thank you very much.", 0.0, 1.2, final=True, ends=True))
        await rig.translated()
        chinese = rig.to("zh")
        assert [(e.stable, e.unstable, e.final, e.translated) for e in chinese] == [
            ("", "Thank you", False, False),
            ("Thank you very much.", "", True, False),
        ]
        assert all(e.language == "en" for e in chinese)
        assert rig.to("original") == chinese
        spanish = rig.to("es")
        assert [(e.final, e.translated, e.language) for e in spanish] == [(True, True, "es")]
        assert "gracias" in spanish[0].stable.lower()
        assert registry.cache.misses == 1  # Spanish only
    finally:
        await rig.close()


async def test_a_frozen_translator_times_out_and_its_readers_get_the_original(
    db: Database, meeting: MeetingRecord, own_apy: Apy, caplog: pytest.LogCaptureFixture
) -> None:
    registry = TranslationRegistry([ApertiumEngine(url=own_apy.url, timeout=2)], timeout=2)
    await registry.start()
    store = TranscriptStore(db)
    rig = Rig(meeting.id, registry, store)
    rig.pipeline.speaker(BO, display_name="Bo", user_id=None)
    rig.pipeline.set_demand(["original", "es"])
    try:
        own_apy.signal(signal.SIGSTOP)  # accepts connections, answers nothing
        rig.pipeline.feed(said("The dog eats.", 0.0, 1.0, final=True, ends=True, who=BO))
        await rig.translated()
        spanish = rig.to("es")
        assert [(e.stable, e.final, e.translated, e.language) for e in spanish] == [
            ("The dog eats.", True, False, "en")
        ]
        assert "not translated en -> es" in caplog.text
        await rig.pipeline.flush()
        assert [s.text for s in await store.list_segments(meeting.id, "en")] == ["The dog eats."]
        assert await store.list_segments(meeting.id, "es") == []

        # Back: the next segment is translated again.
        own_apy.signal(signal.SIGCONT)
        rig.pipeline.feed(said("The house is big.", 2.0, 3.0, final=True, ends=True, who=BO))
        await rig.translated()
        assert [e.stable for e in rig.to("es")][1:] == ["La casa es grande."]
    finally:
        own_apy.signal(signal.SIGCONT)
        await rig.close()
        await registry.close()


async def test_a_speaker_of_an_unknown_language_is_shown_as_spoken_to_everyone(
    db: Database, meeting: MeetingRecord, registry: TranslationRegistry
) -> None:
    store = TranscriptStore(db)
    rig = Rig(meeting.id, registry, store)
    rig.pipeline.set_demand(["original", "es", "fr"])
    try:
        rig.pipeline.feed(said("Hello there.", 0.0, 1.0, final=True, ends=True, language=None))
        await rig.translated()
        for reading in ("original", "es", "fr"):
            events = rig.to(reading)
            assert [(e.stable, e.final, e.language, e.translated) for e in events] == [
                ("Hello there.", True, None, False)
            ]
        assert registry.cache.misses == 0
        await rig.pipeline.flush()
        stored = await store.list_segments(meeting.id, "und")
        assert [(s.text, s.source_language, s.speaker_name) for s in stored] == [
            ("Hello there.", None, "p_ada")
        ]
        assert not [n for n in rig.spawned if "prepare" in n]
    finally:
        await rig.close()


async def test_rows_wait_for_the_batch_and_flush_writes_them(
    db: Database, meeting: MeetingRecord, registry: TranslationRegistry
) -> None:
    store = TranscriptStore(db)
    rig = Rig(meeting.id, registry, store, {"batch_seconds": 3600, "batch_rows": 50})
    rig.pipeline.speaker(ADA, display_name="Ada", user_id=None)
    rig.pipeline.speaker(BO, display_name="Bo", user_id=None)
    rig.pipeline.set_demand(["es"])
    try:
        rig.pipeline.feed(said("Good", 0.0, 0.4, final=True))
        rig.pipeline.feed(said("The dog", 5.0, 5.5, who=BO))
        rig.pipeline.feed(said("morning.", 0.5, 1.0, final=True, ends=True))
        rig.pipeline.feed(said("The dog eats.", 5.0, 6.0, final=True, ends=True, who=BO))
        await rig.translated()
        assert await store.languages(meeting.id) == []  # an hour's batch: not yet
        await rig.pipeline.flush()
        english = await store.list_segments(meeting.id, "en")
        assert [(s.speaker_name, s.text) for s in english] == [
            ("Ada", "Good morning."),
            ("Bo", "The dog eats."),
        ]
        spanish = await store.list_segments(meeting.id, "es")
        assert [s.speaker_name for s in spanish] == ["Ada", "Bo"]
        assert all(s.translated and s.source_language == "en" for s in spanish)
        ids = {e.segment_id for e in rig.to("original")}
        assert len(ids) == 2
    finally:
        await rig.close()


async def test_a_full_batch_is_written_without_waiting(
    db: Database, meeting: MeetingRecord
) -> None:
    store = TranscriptStore(db)
    rig = Rig(meeting.id, None, store, {"batch_seconds": 3600, "batch_rows": 3})
    try:
        for n in range(3):
            rig.pipeline.feed(said(f"Line {n}.", n, n + 0.5, final=True, ends=True))
        await rig.written()  # the writer ends once nothing is pending
        assert len(await store.list_segments(meeting.id, "en")) == 3
    finally:
        await rig.close()


async def test_a_speaker_leaving_closes_their_turn_as_it_stands(
    db: Database, meeting: MeetingRecord, registry: TranslationRegistry
) -> None:
    store = TranscriptStore(db)
    rig = Rig(meeting.id, registry, store)
    rig.pipeline.speaker(ADA, display_name="Ada", user_id=None)
    rig.pipeline.set_demand(["original", "es"])
    try:
        rig.pipeline.feed(said("The house", 0.0, 0.5, final=True))
        rig.pipeline.feed(said("is big.", 0.6, 1.0))
        rig.pipeline.speaker_left(ADA)
        rig.pipeline.speaker_left(ADA)  # nothing open any more
        await rig.translated()
        original = rig.to("original")
        assert [(e.stable, e.unstable, e.final) for e in original][-1] == (
            "The house is big.",
            "",
            True,
        )
        assert [e.stable for e in rig.to("es")] == ["La casa es grande."]
        await rig.pipeline.flush()
        assert len(await store.list_segments(meeting.id, "en")) == 1
        assert len(await store.list_segments(meeting.id, "es")) == 1
    finally:
        await rig.close()


@asynccontextmanager
async def writers_held(db_url: str) -> AsyncIterator[None]:
    """Another connection holds the transcript table's write lock (SQLite's file lock)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        blocker = sqlite3.connect(url.database, isolation_level=None, check_same_thread=False)
        await asyncio.to_thread(blocker.execute, "BEGIN IMMEDIATE")
        try:
            yield
        finally:
            await asyncio.to_thread(blocker.execute, "COMMIT")
            blocker.close()
        return
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE transcript_segments IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await conn.close(timeout=10)


async def test_a_failed_write_is_tried_once_more_then_given_up(
    db: Database, db_url: str, meeting: MeetingRecord, caplog: pytest.LogCaptureFixture
) -> None:
    # The store's own database answers "locked" after a second (its busy or statement timeout).
    impatient = Database(db_url, timeout=1.0)
    store = TranscriptStore(impatient)
    rig = Rig(meeting.id, None, store, {"batch_seconds": 3600})
    rig.pipeline.speaker(ADA, display_name="Ada", user_id=None)
    try:
        rig.pipeline.feed(said("First.", 0.0, 1.0, final=True, ends=True))
        async with writers_held(db_url):
            await rig.pipeline.flush()
            assert "writing 1 transcript segments failed" in caplog.text
            assert "will retry" in caplog.text
            rig.pipeline.feed(said("Second.", 2.0, 3.0, final=True, ends=True))
        await rig.pipeline.flush()  # the retry, with the row given since
        assert [s.text for s in await store.list_segments(meeting.id, "en")] == [
            "First.",
            "Second.",
        ]

        caplog.clear()
        rig.pipeline.feed(said("Third.", 4.0, 5.0, final=True, ends=True))
        async with writers_held(db_url):
            await rig.pipeline.flush()
            await rig.pipeline.flush()
        assert "1 dropped after a second failure" in caplog.text
        await rig.pipeline.flush()
        assert len(await store.list_segments(meeting.id, "en")) == 2
        # Captions go on.
        rig.pipeline.feed(said("Fourth.", 6.0, 7.0, final=True, ends=True))
        await rig.pipeline.flush()
        assert [s.text for s in await store.list_segments(meeting.id, "en")][-1] == "Fourth."
    finally:
        await rig.close()
        await impatient.close()


# -- any sequence -------------------------------------------------------------------------

_WORDS = st.sampled_from(["", "hello", "the house", "is big.", "你好", " spaced  out "])
_FEED = st.tuples(
    st.just("feed"),
    st.sampled_from([ADA, BO]),
    st.sampled_from(["partial", "final", "end"]),
    _WORDS,
    st.floats(-5, 60, allow_nan=False),
    st.floats(0, 5, allow_nan=False),
    st.sampled_from(["en", "en", "es", "zh", None]),
)
_LEFT = st.tuples(st.just("left"), st.sampled_from([ADA, BO]))
_DEMAND = st.tuples(
    st.just("demand"), st.lists(st.sampled_from(["off", "original", "en", "es", "fr"]))
)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_FEED, _LEFT, _DEMAND), max_size=60))
def test_any_sequence_of_results_gives_growing_segments_each_final_once(
    steps: list[tuple[Any, ...]],
) -> None:
    delivered: list[tuple[CaptionEvent, frozenset[str]]] = []

    def spawn(coro: Coroutine[Any, Any, None], name: str) -> None:
        coro.close()
        raise AssertionError(f"nothing to translate or store, yet {name} was spawned")

    pipeline = CaptionPipeline(
        MeetingId("m"),
        deliver=lambda event, readings: delivered.append((event, readings)),
        spawn=spawn,
        translator=None,
        transcripts=None,
        origin=T0,
    )
    pipeline.speaker(ADA, display_name="Ada", user_id=None)
    errors = _Errors()
    logger = logging.getLogger("convene.captions.pipeline")
    logger.addHandler(errors)
    try:
        at = 10.0
        for step in steps:
            if step[0] == "feed":
                _, who, kind, text, start, length, language = step
                at += 0.1
                pipeline.feed(
                    said(
                        text,
                        start,
                        start + length,
                        final=kind != "partial",
                        ends=kind == "end",
                        who=who,
                        language=language,
                        at=at,
                    )
                )
            elif step[0] == "left":
                pipeline.speaker_left(step[1])
            else:
                pipeline.set_demand(step[1])
        pipeline.speaker_left(ADA)
        pipeline.speaker_left(BO)
    finally:
        logger.removeHandler(errors)
    assert errors.records == []

    segments: dict[str, list[CaptionEvent]] = {}
    for event, readings in delivered:
        assert "original" in readings
        assert not event.translated
        assert 0 <= event.start_ms <= event.end_ms
        segments.setdefault(event.segment_id, []).append(event)
    for events in segments.values():
        assert len({e.speaker.id for e in events}) == 1
        assert len({e.language for e in events}) == 1
        assert len({e.start_ms for e in events}) == 1
        for before, after in itertools.pairwise(events):
            assert after.stable.startswith(before.stable)
            assert after.end_ms >= before.end_ms
        assert [e.final for e in events] == [False] * (len(events) - 1) + [True]
        assert events[-1].unstable == ""


async def test_translations_are_capped_and_close_cancels_those_still_running(
    own_apy: Apy, caplog: pytest.LogCaptureFixture
) -> None:
    registry = TranslationRegistry([ApertiumEngine(url=own_apy.url, timeout=60)], timeout=60)
    await registry.start()
    rig = Rig(MeetingId("m"), registry, None, {"max_translations": 1})
    rig.pipeline.set_demand(["es"])
    try:
        own_apy.signal(signal.SIGSTOP)
        rig.pipeline.feed(said("The dog eats.", 0.0, 1.0, final=True, ends=True))
        await asyncio.sleep(0)  # its translation starts, and waits for the frozen apy
        rig.pipeline.feed(said("The house is big.", 2.0, 3.0, final=True, ends=True))
        # The second finds the one place taken: its Spanish readers get it as spoken, at once.
        assert [(e.stable, e.translated) for e in rig.to("es")] == [("The house is big.", False)]
        assert "1 segments already translating" in caplog.text
        # Closing does not wait for the frozen engine's minute.
        await asyncio.wait_for(rig.pipeline.close(), 30)
        assert not any(t.get_name().startswith("captions translate") for t in rig.tasks)
        assert len(rig.to("es")) == 1
    finally:
        own_apy.signal(signal.SIGCONT)
        await rig.close()
        await registry.close()


async def test_a_rename_a_change_of_language_and_unspaced_scripts() -> None:
    rig = Rig(MeetingId("m"), None, None)
    rig.pipeline.speaker(ADA, display_name="Ada", user_id=None)
    rig.pipeline.set_demand(["original"])
    rig.pipeline.feed(said("Hello", 0.0, 0.5, final=True))
    rig.pipeline.speaker(ADA, display_name="Ada L.", user_id=None)
    rig.pipeline.feed(said("Hola", 0.6, 1.0, language="es"))  # closes the English turn
    rig.pipeline.feed(said("Hola.", 0.6, 1.0, final=True, ends=True, language="es"))
    rig.pipeline.feed(said("你好", 2.0, 2.5, final=True, language="zh"))
    rig.pipeline.feed(said("世界", 2.5, 3.0, final=True, ends=True, language="zh"))
    events = rig.to("original")
    assert [
        (e.language, e.stable, e.unstable, e.final, e.speaker.display_name) for e in events
    ] == [
        ("en", "Hello", "", False, "Ada"),
        ("en", "Hello", "", True, "Ada L."),
        ("es", "", "Hola", False, "Ada L."),
        ("es", "Hola.", "", True, "Ada L."),
        ("zh", "你好", "", False, "Ada L."),
        ("zh", "你好世界", "", True, "Ada L."),
    ]
    assert len({e.segment_id for e in events}) == 3
    await rig.close()


async def test_a_repeated_partial_is_no_event_and_an_endless_turn_is_cut() -> None:
    rig = Rig(MeetingId("m"), None, None)
    rig.pipeline.feed(said("one", 0.0, 0.5))
    rig.pipeline.feed(said("one", 0.0, 0.5))
    assert len(rig.delivered) == 1
    # A worker that never ends the turn: it is closed once its text reaches the cap.
    word = "word " * 99 + "word."
    for n in range(5):
        rig.pipeline.feed(said(word, n, n + 1.0, final=True))
    finals = [e for e in rig.to("original") if e.final]
    assert len(finals) == 1
    assert finals[0].stable == " ".join([word] * 4)  # 2,003 characters
    assert len(finals[0].stable) >= SEGMENT_TEXT_MAX // 2
    last = rig.to("original")[-1]  # the next turn begins with what followed
    assert (last.stable, last.final) == (word, False)
    assert last.segment_id != finals[0].segment_id
    await rig.close()


async def test_rows_beyond_the_cap_drop_the_oldest_and_say_so(
    db: Database, meeting: MeetingRecord, caplog: pytest.LogCaptureFixture
) -> None:
    store = TranscriptStore(db)
    rig = Rig(meeting.id, None, store, {"batch_rows": 50, "max_pending_rows": 50})
    try:
        # All at once: the writer has had no turn in between.
        for n in range(51):
            rig.pipeline.feed(said(f"Line {n}.", n, n + 0.5, final=True, ends=True))
        assert "dropped the oldest (en, 1000 ms)" in caplog.text
        await rig.pipeline.flush()
        texts = [s.text for s in await store.list_segments(meeting.id, "en")]
        assert texts == [f"Line {n}." for n in range(1, 51)]
    finally:
        await rig.close()
