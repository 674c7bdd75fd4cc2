"""One machine voice in the worker: texts in, speech out as Opus RTP to the media room's port.

The server opens a voice (``speak_open``: meeting, language, where to send, the SSRC) and then
sends it the meeting's final captions translated into that language (``speak``). A
:class:`MachineVoice` speaks them one after another, in order: a Piper voice where one is
installed for the language (:mod:`convene.worker.piper`), else espeak-ng
(:mod:`convene.worker.tts`), then 20 ms Opus RTP packets (:mod:`convene.worker.opus_rtp`) sent
in real time over UDP. Bounds: at most :data:`MAX_QUEUED` texts wait (the oldest is dropped, so
that a voice that falls behind catches up with the meeting instead of lagging ever more).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from convene.worker.opus_rtp import FRAME_SAMPLES, OpusPacketiser
from convene.worker.piper import PiperVoices, choose_engines, discover
from convene.worker.tts import SAMPLE_RATE, SynthesisError, installed_languages, synthesise

__all__ = ["MAX_QUEUED", "MachineVoice", "Synthesise", "Voices"]

log = logging.getLogger(__name__)

MAX_QUEUED = 8
_FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE

Synthesise = Callable[[str, str], Awaitable[bytes]]


class _Sender(asyncio.DatagramProtocol):
    def error_received(self, exc: Exception) -> None:
        log.debug("machine voice: a datagram was not delivered (%s)", exc)


class MachineVoice:
    """See the module docstring. :meth:`open` first; :meth:`close` ends it."""

    def __init__(
        self,
        meeting: str,
        language: str,
        *,
        host: str,
        port: int,
        ssrc: int,
        synthesise_with: Synthesise | None = None,
    ) -> None:
        self.meeting = meeting
        self.language = language
        self.address = (host, port)
        self.packetiser = OpusPacketiser(ssrc)
        self._synthesise = synthesise_with or (lambda text, lang: synthesise(text, lang))
        self._texts: collections.deque[str] = collections.deque(maxlen=MAX_QUEUED)
        self._wake = asyncio.Event()
        self._transport: asyncio.DatagramTransport | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_sent = time.monotonic()
        self.spoken = 0  # texts spoken so far
        self.packets = 0  # RTP packets sent so far

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(_Sender, remote_addr=self.address)
        self._task = asyncio.create_task(self._run(), name=f"voice-{self.meeting}-{self.language}")

    def say(self, text: str) -> None:
        """Queue ``text`` to be spoken (the oldest waiting is dropped when too many wait)."""
        if len(self._texts) == self._texts.maxlen:
            log.info("meeting %s: the %s voice drops a text (behind)", self.meeting, self.language)
        self._texts.append(text)
        self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._texts:
                text = self._texts.popleft()
                try:
                    pcm = await self._synthesise(text, self.language)
                    await self._send(pcm)
                except SynthesisError as exc:
                    log.warning(
                        "meeting %s: %s speech failed: %s", self.meeting, self.language, exc
                    )
                    continue
                except Exception:
                    # One bad utterance (an encoder error, ...) must not silence the voice.
                    log.exception("meeting %s: %s speech not sent", self.meeting, self.language)
                    continue
                self.spoken += 1

    async def _send(self, pcm: bytes) -> None:
        """Send one utterance paced in real time, 20 ms a packet."""
        now = time.monotonic()
        self.packetiser.pause(now - self._last_sent)
        packets = self.packetiser.utterance(pcm)
        start = time.monotonic()
        for index, packet in enumerate(packets):
            delay = start + index * _FRAME_SECONDS - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._transport is None:
                return
            self._transport.sendto(packet)
            self.packets += 1
        self._last_sent = start + len(packets) * _FRAME_SECONDS


class Voices:
    """The worker's open machine voices, by meeting and language."""

    def __init__(
        self,
        *,
        binary: str = "espeak-ng",
        limit: float = 10.0,
        piper: bool = True,
        piper_dir: Path | None = None,
    ) -> None:
        self._binary = binary
        self._limit = limit
        self._espeak = installed_languages(binary)
        # A Piper voice where one is installed for the language, else espeak-ng (worker.piper).
        self._piper_models = discover(piper_dir) if piper else {}
        self._piper = PiperVoices(limit=limit)
        self.engines = choose_engines(self._espeak, self._piper_models)
        self.languages = list(self.engines)
        self._open: dict[tuple[str, str], MachineVoice] = {}

    async def speak(self, text: str, language: str) -> bytes:
        """``text`` spoken in ``language`` (48 kHz PCM) by the engine chosen for it."""
        model = self._piper_models.get(language)
        # A broken Piper voice is passed over for espeak-ng (or says so, without espeak-ng).
        if model is not None and (language not in self._espeak or not self._piper.broken(model)):
            try:
                return await self._piper.synthesise(text, model)
            except SynthesisError as exc:
                if language not in self._espeak:
                    raise
                log.warning("%s speech falls back to espeak-ng: %s", language, exc)
        return await synthesise(text, language, binary=self._binary, limit=self._limit)

    async def open(self, meeting: str, language: str, *, host: str, port: int, ssrc: int) -> None:
        """Open (or re-point) the voice; a language without a voice is refused (logged)."""
        if language not in self.languages:
            log.warning("meeting %s: no voice for %s", meeting, language)
            return
        await self.close(meeting, language)
        voice = MachineVoice(
            meeting, language, host=host, port=port, ssrc=ssrc, synthesise_with=self.speak
        )
        try:
            await voice.open()
        except OSError as exc:  # an address this host cannot send to
            log.warning("meeting %s: the %s voice cannot send: %s", meeting, language, exc)
            await voice.close()
            return
        self._open[(meeting, language)] = voice
        log.info("meeting %s: machine voice %s open", meeting, language)

    def say(self, meeting: str, language: str, text: str) -> None:
        voice = self._open.get((meeting, language))
        if voice is not None:
            voice.say(text)

    async def close(self, meeting: str, language: str) -> None:
        voice = self._open.pop((meeting, language), None)
        if voice is not None:
            await voice.close()

    async def close_meeting(self, meeting: str) -> None:
        for key in [k for k in self._open if k[0] == meeting]:
            await self.close(*key)
