"""One speaker's stream in a thread of its own, with a bounded queue of captions.

:meth:`SpeechStream.feed` never blocks the caller (the worker's event loop receiving RTP): audio
waits in an input list and the stream's thread runs VAD and Whisper on all of it at once, so a
stream that falls behind catches up on bigger buffers. Its events go into an
:class:`EventQueue` of bounded length that, when full, drops partials first (the oldest; a newer
partial supersedes it anyway) and never a final: a final waits for room, holding the thread back,
and the delay shows up as :attr:`SpeechStream.lag`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np

from convene.speech.audio import Pcm, seconds
from convene.speech.recognizer import Recognizer
from convene.speech.transcriber import Event, Final, Partial, StreamConfig, Transcriber

__all__ = ["Event", "EventQueue", "Final", "Partial", "SpeechStream", "StreamConfig", "StreamStats"]

log = logging.getLogger(__name__)


class EventQueue:
    """Thread-safe queue of caption events: bounded, partials dropped first, finals kept."""

    def __init__(self, maxsize: int = 32) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.dropped_partials = 0
        self._items: deque[Event] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def put(self, event: Event) -> None:
        """Add an event; a final waits while the queue is full of finals (until closed)."""
        with self._cond:
            if self._closed:
                return
            while len(self._items) >= self.maxsize:
                if self._drop_oldest_partial():
                    break
                if isinstance(event, Partial):
                    self.dropped_partials += 1
                    return
                self._cond.wait()
                if self._closed:
                    return
            self._items.append(event)
            self._wake()

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after ``timeout`` or once closed and empty."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout):
                return None
            return self._pop()

    async def get_async(self) -> Event | None:
        """The next event without blocking the event loop; None once closed and empty."""
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._items or self._closed:
                    return self._pop()
                ready = asyncio.Event()
                self._waiters.append((loop, ready))
            await ready.wait()

    def close(self) -> None:
        """No more events: readers drain what is queued, then get None."""
        with self._cond:
            self._closed = True
            self._wake()

    def _pop(self) -> Event | None:
        if not self._items:
            return None
        event = self._items.popleft()
        self._cond.notify_all()  # a final may be waiting for room
        return event

    def _drop_oldest_partial(self) -> bool:
        for i, queued in enumerate(self._items):
            if isinstance(queued, Partial):
                del self._items[i]
                self.dropped_partials += 1
                return True
        return False

    def _wake(self) -> None:
        self._cond.notify_all()
        for loop, ready in self._waiters:
            loop.call_soon_threadsafe(ready.set)
        self._waiters.clear()


@dataclass(frozen=True, slots=True)
class StreamStats:
    lag: float  # seconds of received audio not yet looked at by VAD and the recogniser
    queued: int  # events waiting to be read
    dropped_partials: int


class SpeechStream:
    """Streaming transcription of one speaker, run in its own thread."""

    def __init__(
        self,
        recognizer: Recognizer,
        config: StreamConfig | None = None,
        *,
        queue_size: int = 32,
        name: str = "speech",
    ) -> None:
        self._transcriber = Transcriber(recognizer, config)
        self.events = EventQueue(queue_size)
        self._input: list[Pcm] = []
        self._received = 0
        self._cond = threading.Condition()
        self._ending = False
        self._stopped = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> SpeechStream:
        self._thread.start()
        return self

    def feed(self, pcm: Pcm) -> None:
        """Queue the next audio (16 kHz mono float32); returns at once."""
        with self._cond:
            if self._ending or self._stopped:
                return
            self._input.append(pcm)
            self._received += len(pcm)
            self._cond.notify()

    def end(self) -> None:
        """No more audio: the stream finishes its current turn, then closes :attr:`events`."""
        with self._cond:
            self._ending = True
            self._cond.notify()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop now (audio not yet looked at is dropped) and wait for the thread."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self.events.close()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def lag(self) -> float:
        """Seconds of audio received and not yet processed."""
        with self._cond:
            return seconds(self._received - self._transcriber.consumed)

    def stats(self) -> StreamStats:
        return StreamStats(self.lag, len(self.events), self.events.dropped_partials)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while (event := await self.events.get_async()) is not None:
            yield event

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._input or self._ending or self._stopped)
                    if self._stopped:
                        return
                    chunk = self._input
                    self._input = []
                    ending = self._ending
                if chunk:
                    pcm = np.concatenate(chunk) if len(chunk) > 1 else chunk[0]
                    for event in self._transcriber.push(pcm):
                        self.events.put(event)
                    continue  # look for more input before ending
                if ending:
                    for event in self._transcriber.end():
                        self.events.put(event)
                    return
        except Exception as exc:
            log.exception("speech stream %s failed", self._thread.name)
            self.error = exc
        finally:
            self.events.close()
