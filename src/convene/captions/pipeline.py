"""One captioned meeting's results turned into what readers see and what the transcript keeps.

The captions feature (:mod:`convene.signaling.features.captions`) owns who reads what; this
module owns the text. It is handed every :class:`~convene.captions.results.CaptionResult` of
the meeting (:meth:`CaptionPipeline.feed`) and:

- builds each speaker's current **segment** (one speech turn): ``stable`` is the finals given
  so far, joined (it only grows), ``unstable`` the latest partial tail; the result that
  ``ends_segment`` makes it final. Each change is one :class:`CaptionEvent` in the speaker's
  language, delivered at once to the readers of the original (see :data:`Deliver`).
- **translates** each final segment into every language someone reads (the *demand*,
  :meth:`set_demand`) that a route reaches from the speaker's language, through the
  :class:`~convene.translation.registry.TranslationRegistry` (with its timeouts; a failure
  is logged and that language's readers get the original instead, never nothing). Languages
  nobody reads are not translated.
- **stores** each final segment, in the speaker's language and in every language it was
  translated into, as the meeting's transcript (:class:`TranscriptStore`), in batches, so a
  slow database never holds captions back; :meth:`flush` writes what is pending.

Nothing here takes the room's lock; :data:`Deliver` must not block.

Times: a result's ``start``/``end`` are seconds on the speaker's own audio clock. A segment is
placed in the day once, at its first result (``received_at`` minus the audio it covers); its
later results move its end by their audio time from there, so a segment's length is the audio's
and a slow network only shifts where it starts.

Bounds: one open segment per speaker; at most ``max_translations`` segments translating at once
(a segment beyond that is not translated: its readers get the original, and it is logged); at
most ``max_pending_rows`` transcript rows waiting for the database (the oldest beyond that are
dropped, logged). A batch that fails is tried once more (the writer's next pass, a batch
interval later, or the next :meth:`~CaptionPipeline.flush`), then dropped (logged).

Each route from a language spoken to a language read is warmed up once
(:meth:`TranslationRegistry.prepare`), so that the first segment does not wait for an engine's
start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from convene.captions.results import CaptionResult
from convene.protocol.base import LANGUAGE_PATTERN
from convene.protocol.captions import CaptionEvent, CaptionSpeaker
from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.storage.transcripts import SEGMENT_TEXT_MAX, NewSegment, TranscriptStore
from convene.translation.errors import PairNotAvailable, TranslationError
from convene.translation.languages import normalise
from convene.translation.registry import TranslationRegistry

__all__ = ["UNKNOWN_LANGUAGE", "CaptionPipeline", "Deliver"]

log = logging.getLogger(__name__)

# Called with an event and the ``reading`` values ("original" or a language) whose readers get
# it. Must not block.
Deliver = Callable[[CaptionEvent, frozenset[str]], None]

# The transcript's language for speech whose language is not known (BCP 47 "undetermined").
UNKNOWN_LANGUAGE = "und"
ORIGINAL = "original"
_OFF = "off"
_LANGUAGE = re.compile(LANGUAGE_PATTERN)
_SEGMENT_MAX = SEGMENT_TEXT_MAX // 2  # a translation may be longer than its original
# Written without spaces between words: finals are joined without one.
_UNSPACED = frozenset({"zh", "ja", "th", "lo", "my", "km", "bo"})


@dataclass(slots=True)
class _Speaker:
    display_name: str
    user_id: UserId | None


@dataclass(slots=True)
class _Segment:
    id: str
    participant: ParticipantId
    language: str | None
    # Wall time (Unix seconds) of the speaker's audio clock's zero, fixed at the first result.
    offset: float
    start: float  # audio seconds
    end: float
    stable: str = ""
    unstable: str = ""


@dataclass(slots=True)
class _Row:
    segment: NewSegment
    attempts: int = 0


@dataclass(slots=True)
class _Closed:
    """A final segment as it is translated and stored."""

    event: CaptionEvent
    speaker: _Speaker
    participant: ParticipantId
    start_at: datetime
    end_at: datetime
    targets: list[str] = field(default_factory=list)


def _join(stable: str, more: str, language: str | None) -> str:
    if not more:
        return stable
    if not stable:
        return more
    if language is not None and normalise(language) in _UNSPACED:
        return stable + more
    return f"{stable} {more}"


def _after(unstable: str, settled: str) -> str:
    """What is left of the partial tail once ``settled`` (its head, usually) is final."""
    if settled and unstable.startswith(settled):
        return unstable[len(settled) :].strip()
    return ""


class CaptionPipeline:
    def __init__(
        self,
        meeting: MeetingId,
        *,
        deliver: Deliver,
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
        translator: TranslationRegistry | None,
        transcripts: TranscriptStore | None,
        origin: datetime,
        clock: Callable[[], float] = time.time,
        batch_seconds: float = 2.0,
        batch_rows: int = 50,
        max_pending_rows: int = 2000,
        max_translations: int = 16,
        write_timeout: float = 10.0,
    ) -> None:
        """``spawn`` runs a coroutine in a task the meeting owns; ``origin`` is when the
        meeting's transcript began (``start_ms``/``end_ms`` count from it)."""
        self.meeting = meeting
        self._deliver_to = deliver
        self._spawn_task = spawn
        self._translator = translator
        self._transcripts = transcripts
        self._origin = origin.timestamp()
        self._clock = clock
        self._batch_seconds = batch_seconds
        self._batch_rows = max(1, min(batch_rows, 1000))
        self._max_pending_rows = max(self._batch_rows, max_pending_rows)
        self._max_translations = max_translations
        self._write_timeout = write_timeout
        self._speakers: dict[ParticipantId, _Speaker] = {}
        self._segments: dict[ParticipantId, _Segment] = {}
        self._count = 0
        # Segment ids stay unique when captions are turned off and on again (a new pipeline):
        # clients replace a turn's line by its id.
        self._run = secrets.token_hex(3)
        self._languages: frozenset[str] = frozenset()
        self._spoken: set[str] = set()  # the speakers' languages seen (to prepare routes)
        self._prepared: set[tuple[str, str]] = set()
        self._translating: set[asyncio.Task[Any]] = set()
        self._translations_waiting = 0
        self._rows: deque[_Row] = deque()
        self._full = asyncio.Event()
        self._writer = False
        self._write_lock = asyncio.Lock()
        self._closed = False

    # -- who and what ------------------------------------------------------------------------

    def speaker(
        self, participant: ParticipantId, *, display_name: str, user_id: UserId | None
    ) -> None:
        """Who a participant is (their name is attached to their segments); call again after a
        rename."""
        self._speakers[participant] = _Speaker(display_name, user_id)

    def set_demand(self, readings: Collection[str]) -> None:
        """The ``reading`` of everyone present who reads captions ("original" or languages;
        "off" is ignored): what is translated from now on."""
        self._languages = frozenset(r for r in readings if r not in (ORIGINAL, _OFF))
        self._prepare()

    @property
    def demand(self) -> frozenset[str]:
        """The languages read now ("original" and "off" aside)."""
        return self._languages

    # -- results -----------------------------------------------------------------------------

    def feed(self, result: CaptionResult) -> None:
        """One result of the meeting's worker (the speaker's language is ``result.language``)."""
        if self._closed:
            return
        try:
            self._feed(result)
        except Exception:
            # A bad result must never break the meeting's captions.
            log.exception(
                "meeting %s: caption result of %s not handled", self.meeting, result.participant
            )

    def _feed(self, result: CaptionResult) -> None:
        if result.language is not None and result.language not in self._spoken:
            self._spoken.add(result.language)
            self._prepare()
        who = result.participant
        text = result.text.strip()
        segment = self._segments.get(who)
        if segment is not None and segment.language != result.language:
            # The speaker changed language: what was said so far is one segment.
            self._close(segment)
            segment = None
        if segment is None:
            if not text:
                return  # an empty partial or closing final with nothing open: nothing to show
            segment = self._open(result)
        before = (segment.stable, segment.unstable, segment.end)
        segment.end = max(segment.end, result.end)
        if result.final:
            segment.stable = _join(segment.stable, text, segment.language)
            segment.unstable = _after(segment.unstable, text)
            # A turn that never ends (a worker gone wrong) is cut where the transcript would.
            if result.ends_segment or len(segment.stable) >= _SEGMENT_MAX:
                self._close(segment)
                return
        else:
            segment.unstable = text
        if (segment.stable, segment.unstable, segment.end) != before:
            self._send(segment, final=False)

    def _open(self, result: CaptionResult) -> _Segment:
        self._count += 1
        received = result.received_at or self._clock()
        start = min(result.start, result.end)
        segment = _Segment(
            id=f"{result.participant}-{self._run}-{self._count}",
            participant=result.participant,
            language=result.language,
            offset=received - result.end,
            start=start,
            end=result.end,
        )
        self._segments[result.participant] = segment
        return segment

    def speaker_left(self, participant: ParticipantId) -> None:
        """Close the participant's unfinished segment (stored and translated as it stands)."""
        segment = self._segments.get(participant)
        if segment is None:
            return
        segment.stable = _join(segment.stable, segment.unstable, segment.language)
        segment.unstable = ""
        try:
            self._close(segment)
        except Exception:
            self._segments.pop(participant, None)
            log.exception("meeting %s: the segment of %s not closed", self.meeting, participant)

    # -- delivering and spawning --------------------------------------------------------------

    def _deliver(self, event: CaptionEvent, readings: frozenset[str]) -> None:
        try:
            self._deliver_to(event, readings)
        except Exception:
            log.exception(
                "meeting %s: caption event %s not delivered", self.meeting, event.segment_id
            )

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> bool:
        try:
            self._spawn_task(coro, name)
        except Exception:
            coro.close()
            log.exception("meeting %s: %s could not be started", self.meeting, name)
            return False
        return True

    # -- events ------------------------------------------------------------------------------

    def _who(self, participant: ParticipantId) -> _Speaker:
        speaker = self._speakers.get(participant)
        return speaker if speaker is not None else _Speaker(str(participant), None)

    def _ms(self, at: float) -> int:
        return max(0, round((at - self._origin) * 1000))

    def _event(self, segment: _Segment, *, final: bool) -> CaptionEvent:
        speaker = self._who(segment.participant)
        start_ms = self._ms(segment.offset + segment.start)
        return CaptionEvent(
            segment_id=segment.id,
            speaker=CaptionSpeaker(id=segment.participant, display_name=speaker.display_name),
            language=segment.language,
            source_language=segment.language,
            stable=segment.stable,
            unstable="" if final else segment.unstable,
            final=final,
            start_ms=start_ms,
            end_ms=max(start_ms, self._ms(segment.offset + segment.end)),
        )

    def _routes(self, language: str | None) -> tuple[frozenset[str], list[str]]:
        """Who reads ``language``'s original, and the demanded languages to translate into."""
        readings = {ORIGINAL}
        if language is None:
            return frozenset(readings | self._languages), []
        readings.add(language)
        source = normalise(language)
        targets: list[str] = []
        for target in sorted(self._languages):
            if normalise(target) == source:
                readings.add(target)
            elif self._has_route(source, target):
                targets.append(target)
            else:
                readings.add(target)
        return frozenset(readings), targets

    def _has_route(self, source: str, target: str) -> bool:
        if self._translator is None:
            return False
        try:
            self._translator.route(source, target)
        except PairNotAvailable:
            return False
        return True

    def _send(self, segment: _Segment, *, final: bool) -> CaptionEvent:
        event = self._event(segment, final=final)
        readings, _ = self._routes(segment.language)
        self._deliver(event, readings)
        return event

    def _close(self, segment: _Segment) -> None:
        del self._segments[segment.participant]
        event = self._event(segment, final=True)
        readings, targets = self._routes(segment.language)
        self._deliver(event, readings)
        if not event.stable:
            return
        speaker = self._who(segment.participant)
        closed = _Closed(
            event=event,
            speaker=speaker,
            participant=segment.participant,
            start_at=datetime.fromtimestamp(segment.offset + segment.start, UTC),
            end_at=datetime.fromtimestamp(segment.offset + max(segment.start, segment.end), UTC),
        )
        spoken = segment.language
        stored = spoken if spoken is not None and _LANGUAGE.match(spoken) else UNKNOWN_LANGUAGE
        self._store(closed, event.stable, stored, None)
        if not targets:
            return
        if self._translations_waiting >= self._max_translations:
            log.warning(
                "meeting %s: %d segments already translating; %s's segment %s goes untranslated "
                "to %s",
                self.meeting,
                self._translations_waiting,
                segment.participant,
                segment.id,
                ", ".join(targets),
            )
            self._deliver(event, frozenset(targets))
            return
        closed.targets = targets
        self._translations_waiting += 1
        if not self._spawn(self._translate(closed), f"captions translate {segment.id}"):
            self._translations_waiting -= 1
            self._deliver(event, frozenset(targets))

    # -- translating -------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Warm up each route from a language spoken to a language read, once, so that a
        segment is not the one that waits for an engine's start."""
        if self._translator is None or self._closed:
            return
        for spoken in sorted(self._spoken):
            source = normalise(spoken)
            for target in sorted(self._languages):
                key = (source, normalise(target))
                if key[0] == key[1] or key in self._prepared or not self._has_route(*key):
                    continue
                self._prepared.add(key)
                self._spawn(self._prepare_route(*key), f"captions prepare {key[0]}-{key[1]}")

    async def _prepare_route(self, source: str, target: str) -> None:
        assert self._translator is not None
        task = asyncio.current_task()
        if task is not None:
            self._translating.add(task)
        try:
            await self._translator.prepare(source, target)
        except TranslationError as exc:
            # The segments will try again (and fall back to the original); a later pick may
            # prepare it again.
            self._prepared.discard((source, target))
            log.warning(
                "meeting %s: translation %s -> %s not ready: %s", self.meeting, source, target, exc
            )
        finally:
            if task is not None:
                self._translating.discard(task)

    async def _translate(self, closed: _Closed) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._translating.add(task)
        try:
            if self._closed:
                return
            await asyncio.gather(*(self._translate_one(closed, t) for t in closed.targets))
        finally:
            self._translations_waiting -= 1
            if task is not None:
                self._translating.discard(task)

    async def _translate_one(self, closed: _Closed, target: str) -> None:
        event = closed.event
        assert self._translator is not None
        assert event.language is not None
        registry = self._translator
        # The registry bounds each engine call; this bounds the whole route, whatever happens.
        within = 2 * registry.timeout * registry.max_hops + 1
        try:
            async with asyncio.timeout(within):
                text = await registry.translate_one(event.stable, event.language, target)
        except (TranslationError, TimeoutError) as exc:
            log.warning(
                "meeting %s: segment %s not translated %s -> %s: %s",
                self.meeting,
                event.segment_id,
                event.language,
                target,
                exc or "timeout",
            )
            self._deliver(event, frozenset({target}))
            return
        translated = event.model_copy(
            update={"language": target, "translated": True, "stable": text}
        )
        self._deliver(translated, frozenset({target}))
        if text and _LANGUAGE.match(event.language):
            self._store(closed, text, target, event.language)

    # -- the transcript ----------------------------------------------------------------------

    def _store(self, closed: _Closed, text: str, language: str, source: str | None) -> None:
        if self._transcripts is None:
            return
        event = closed.event
        row = NewSegment(
            language=language,
            speaker_id=closed.participant,
            speaker_name=closed.speaker.display_name,
            speaker_user=closed.speaker.user_id,
            start_at=closed.start_at,
            end_at=closed.end_at,
            start_ms=event.start_ms,
            end_ms=event.end_ms,
            text=text[:SEGMENT_TEXT_MAX],
            source_language=source,
            translated=source is not None,
        )
        if len(self._rows) >= self._max_pending_rows:
            dropped = self._rows.popleft()
            log.error(
                "meeting %s: %d transcript segments waiting; dropped the oldest (%s, %s ms)",
                self.meeting,
                len(self._rows) + 1,
                dropped.segment.language,
                dropped.segment.start_ms,
            )
        self._rows.append(_Row(row))
        if len(self._rows) >= self._batch_rows:
            self._full.set()
        self._start_writer()

    def _start_writer(self) -> None:
        if not self._writer and not self._closed and self._rows:
            self._writer = True
            self._writer = self._spawn(self._write_loop(), f"captions transcript {self.meeting}")

    async def _write_loop(self) -> None:
        try:
            while self._rows and not self._closed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self._batch_seconds)
                self._full.clear()
                await self._write_pass()
        finally:
            self._writer = False

    async def _write_pass(self) -> None:
        """Try each row pending now once, in batches. A batch that fails goes back to the head
        of the queue for one more try (the writer's next pass); after a second failure its
        rows are dropped, and logged."""
        assert self._transcripts is not None
        async with self._write_lock:
            rows = list(self._rows)
            self._rows.clear()
            again: list[_Row] = []
            for first in range(0, len(rows), self._batch_rows):
                batch = rows[first : first + self._batch_rows]
                try:
                    async with asyncio.timeout(self._write_timeout):
                        await self._transcripts.append(self.meeting, [r.segment for r in batch])
                except Exception as exc:
                    retry = [r for r in batch if r.attempts == 0]
                    for row in retry:
                        row.attempts += 1
                    again.extend(retry)
                    lost = len(batch) - len(retry)
                    log.error(
                        "meeting %s: writing %d transcript segments failed (%s); %s",
                        self.meeting,
                        len(batch),
                        str(exc) or type(exc).__name__,
                        f"{lost} dropped after a second failure" if lost else "will retry",
                    )
            self._rows.extendleft(reversed(again))
        self._start_writer()

    async def flush(self) -> None:
        """Write every pending transcript segment (captions stopping, the meeting closing).

        A batch that fails stays pending for one more try (the writer's, or :meth:`close`'s)."""
        if self._transcripts is not None:
            await self._write_pass()

    async def close(self) -> None:
        """Flush, then cancel translations still running.

        Open segments are closed first (their originals stored); a batch that fails here is
        tried once more before the pipeline gives it up."""
        for participant in list(self._segments):
            self.speaker_left(participant)
        await self.flush()
        self._closed = True
        self._full.set()
        if self._rows:
            await self.flush()
        tasks = list(self._translating)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
