"""One publisher on a worker: its UDP intake, its speech stream, and the captions it yields.

The intake (and so the UDP port Janus forwards to) lives as long as the publisher is listened
to; the speech stream is replaced when the speaker's language changes. Recognition runs in the
stream's own thread; the captions are read here on the event loop and passed to ``emit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from convene.speech.audio import Pcm
from convene.speech.recognizer import Recognizer
from convene.speech.stream import Final, Partial, SpeechStream, StreamConfig, StreamStats
from convene.worker.audio_watch import AudioWatch, OnRating
from convene.worker.intake import SpeakerIntake, open_intake

__all__ = ["Emit", "Speaker"]

log = logging.getLogger(__name__)

Emit = Callable[[Partial | Final, str | None], None]
"""Called with each caption event and the language it is in."""


class Speaker:
    def __init__(
        self,
        intake: SpeakerIntake,
        *,
        name: str,
        emit: Emit,
        queue_size: int,
        on_quality: OnRating | None = None,
    ) -> None:
        self.intake = intake
        # The audio's quality for interpreters, rated as it comes (convene.audio.quality).
        self._watch = AudioWatch(on_quality) if on_quality is not None else None
        self.name = name
        self._emit = emit
        self._queue_size = queue_size
        self.language: str | None = None
        self._stream: SpeechStream | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(
        cls,
        *,
        host: str,
        name: str,
        emit: Emit,
        queue_size: int,
        ports: tuple[int, int] | None = None,
        on_quality: OnRating | None = None,
    ) -> Speaker:
        """Bind the speaker's UDP port (within ``ports`` when given: else
        :class:`~convene.worker.intake.NoPortError`)."""
        speaker: Speaker | None = None

        def feed(pcm: Pcm) -> None:
            if speaker is not None and speaker._stream is not None:
                speaker._stream.feed(pcm)
            if speaker is not None and speaker._watch is not None:
                speaker._watch.feed(pcm)

        intake = await open_intake(feed, host=host, name=name, ports=ports)
        speaker = cls(intake, name=name, emit=emit, queue_size=queue_size, on_quality=on_quality)
        return speaker

    @property
    def port(self) -> int:
        return self.intake.port

    def start(self, recognizer: Recognizer, config: StreamConfig) -> None:
        """(Re)start recognition with ``config`` (its language is the speaker's)."""
        self._end_stream()
        self.language = config.language
        stream = SpeechStream(recognizer, config, queue_size=self._queue_size, name=self.name)
        self._stream = stream.start()
        pump = asyncio.create_task(self._read(stream, config.language), name=self.name)
        self._pumps.add(pump)
        pump.add_done_callback(self._pumps.discard)

    def stats(self) -> StreamStats | None:
        return self._stream.stats() if self._stream is not None else None

    async def _read(self, stream: SpeechStream, language: str | None) -> None:
        async for event in stream:
            self._emit(event, language)
        if stream.error is not None:
            log.error("speaker %s: recognition stopped: %s", self.name, stream.error)

    def _end_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.end()  # finishes the current turn in its thread; the pump drains it

    async def close(self) -> None:
        self.intake.close()
        stream, self._stream = self._stream, None
        if stream is not None:
            await asyncio.to_thread(stream.stop)
        for pump in list(self._pumps):
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
