"""One speaker's audio into the worker: a UDP port, RTP in order, Opus decoded, 16 kHz PCM out.

A :class:`SpeakerIntake` owns one UDP socket (Janus forwards one publisher's Opus to it). Every
datagram is handled on the event loop at once and cheaply: parsed (:mod:`convene.worker.rtp`),
put in order, decoded with PyAV's Opus decoder, resampled to 16 kHz mono (H1's
:class:`~convene.speech.audio.Resampler`) and handed to ``on_pcm`` (a
:class:`~convene.speech.stream.SpeechStream`'s ``feed``, which never blocks). Lost packets become
silence of their length, so the stream's clock stays the speaker's. Anything malformed is
counted and dropped; nothing a sender does can raise out of :meth:`datagram_received`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import av
import numpy as np

from convene.speech.audio import SAMPLE_RATE, Pcm, Resampler
from convene.worker.rtp import Sequencer, SequencerStats, parse_rtp

__all__ = ["IntakeStats", "NoPortError", "OpusDecoder", "SpeakerIntake", "open_intake"]

log = logging.getLogger(__name__)

OPUS_RATE = 48_000
_FRAME_SECONDS = 0.020  # what a lost packet is assumed to have carried
_MAX_CONCEALED = 50  # lost packets filled with silence at most, per gap (1 s)
_MAX_DATAGRAM = 1500


@dataclass(frozen=True, slots=True)
class IntakeStats:
    datagrams: int
    invalid: int  # not RTP, or not decodable
    sequencing: SequencerStats
    samples_out: int


class OpusDecoder:
    """Opus payloads to 16 kHz mono PCM; a payload the decoder refuses gives nothing."""

    def __init__(self) -> None:
        self._codec = av.CodecContext.create("opus", "r")
        self._codec.sample_rate = OPUS_RATE
        self._codec.layout = "stereo"
        self._resampler = Resampler()
        self.errors = 0

    def decode(self, payload: bytes) -> Pcm:
        try:
            frames = self._codec.decode(av.Packet(payload))
            parts = [self._resampler.frame(frame) for frame in frames]
        except (av.error.FFmpegError, ValueError):
            self.errors += 1
            return np.zeros(0, dtype=np.float32)
        if not parts:
            return np.zeros(0, dtype=np.float32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


class SpeakerIntake(asyncio.DatagramProtocol):
    """The datagram side of one speaker's forward (see the module docstring)."""

    def __init__(self, on_pcm: Callable[[Pcm], None], *, name: str, window: int = 5) -> None:
        self._on_pcm = on_pcm
        self.name = name
        self._sequencer = Sequencer(window)
        self._decoder = OpusDecoder()
        self._datagrams = 0
        self._invalid = 0
        self._samples_out = 0
        self.transport: asyncio.DatagramTransport | None = None

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self._datagrams += 1
        try:
            self._take(data)
        except Exception:
            # A bug here must not stop the intake: count the datagram and go on.
            self._invalid += 1
            log.exception("intake %s: a datagram could not be handled", self.name)

    def error_received(self, exc: Exception) -> None:
        log.debug("intake %s: socket error %s", self.name, exc)

    def _take(self, data: bytes) -> None:
        packet = parse_rtp(data) if len(data) <= _MAX_DATAGRAM else None
        if packet is None:
            self._invalid += 1
            return
        for lost, ready in self._sequencer.push(packet):
            if lost:
                gap = round(min(lost, _MAX_CONCEALED) * _FRAME_SECONDS * SAMPLE_RATE)
                self._emit(np.zeros(gap, dtype=np.float32))
            errors = self._decoder.errors
            pcm = self._decoder.decode(ready.payload)
            if self._decoder.errors > errors:
                self._invalid += 1
            if len(pcm):
                self._emit(pcm)

    def _emit(self, pcm: Pcm) -> None:
        self._samples_out += len(pcm)
        self._on_pcm(pcm)

    def stats(self) -> IntakeStats:
        return IntakeStats(self._datagrams, self._invalid, self._sequencer.stats, self._samples_out)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class NoPortError(OSError):
    """Every UDP port of the configured range is in use."""


async def open_intake(
    on_pcm: Callable[[Pcm], None],
    *,
    host: str,
    name: str,
    port: int = 0,
    ports: tuple[int, int] | None = None,
) -> SpeakerIntake:
    """Bind a UDP port on ``host`` for one speaker's RTP: ``port`` (0: any free one), or the
    first free one of ``ports`` (lowest, highest) when given; :class:`NoPortError` when none is."""
    loop = asyncio.get_running_loop()
    candidates = [port] if ports is None else list(range(ports[0], ports[1] + 1))
    for candidate in candidates:
        try:
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: SpeakerIntake(on_pcm, name=name), local_addr=(host, candidate)
            )
        except OSError as exc:
            if ports is None or exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            continue
        protocol.transport = transport  # connection_made comes a loop iteration later
        return protocol
    assert ports is not None
    raise NoPortError(errno.EADDRINUSE, f"no free UDP port in {ports[0]}-{ports[1]}")
