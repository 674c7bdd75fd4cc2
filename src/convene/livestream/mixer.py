"""The livestream's audio: Opus RTP sources in, one 48 kHz PCM mix per rendition out.

Each source has a UDP port of its own (Janus forwards one publisher's Opus to it), and belongs
to the floor (``channel`` None) or to an interpretation channel. Packets are put in order
(:class:`~convene.worker.rtp.Sequencer`), decoded to 48 kHz mono and held in a short jitter
buffer. Every 20 ms of the mixer's clock, each rendition gets one frame:

- the floor: every floor source summed;
- a channel: its voice summed over the floor, the floor ducked to :data:`DUCK` while the voice
  speaks and back to full :data:`HOLD_SECONDS` after it falls silent (ramped, never a click).

Frames go to the sinks (an ffmpeg run's pipes) as 16-bit little-endian PCM; the mixer's clock
is the wall clock, so a run's audio timeline keeps pace with its video. Anything malformed a
sender sends is counted and dropped; nothing a sender does raises here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import av
import numpy as np
import numpy.typing as npt

from convene.livestream.udp import MAX_DATAGRAM, drain
from convene.worker.rtp import Sequencer, parse_rtp

__all__ = [
    "DELAY_FRAMES",
    "DUCK",
    "FRAME_SAMPLES",
    "HOLD_SECONDS",
    "SAMPLE_RATE",
    "AudioMixer",
    "Ducker",
    "MixerStats",
    "Sink",
]

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
DUCK = 0.2  # the floor's level under a channel's voice
HOLD_SECONDS = 1.0  # silence this long before the floor comes back up
VOICE_RMS = 0.01  # a frame louder than this (about -40 dBFS) is speech
ATTACK_SECONDS = 0.05  # from full to ducked
RELEASE_SECONDS = 0.4  # from ducked back to full
PREBUFFER = 3 * FRAME_SAMPLES  # a source plays once this much is held (60 ms)
MAX_BUFFER = 15 * FRAME_SAMPLES  # more than this held (a clock running fast): trim to PREBUFFER
# Audio held longer than needed is lip-sync lost (the video is not delayed): when a source held
# more than PREBUFFER plus a frame all through a second, the excess is dropped.
TRIM_EVERY = 50  # frames (1 s)
# The audio's delay through the mixer (the prebuffer, Opus's own, half a tick), in frames: a
# run's audio starts this much after its video, so that the two are in sync.
DELAY_FRAMES = PREBUFFER // FRAME_SAMPLES + 1
MAX_CATCH_UP = 50  # frames made at once after the loop was held up (1 s); beyond: skipped
_MAX_CONCEALED = 25  # lost packets filled with silence at most, per gap

Samples = npt.NDArray[np.float32]
Sink = Callable[[Sequence[bytes]], None]
"""Takes one 20 ms frame per rendition (floor first, then the channels in order)."""


@dataclass(slots=True)
class MixerStats:
    received: int = 0
    invalid: int = 0
    frames: int = 0  # 20 ms ticks mixed
    skipped: int = 0  # ticks not made (the loop was held up too long)
    underruns: int = 0


class _Opus:
    """Opus payloads to 48 kHz mono float samples."""

    def __init__(self) -> None:
        self._codec = av.CodecContext.create("opus", "r")
        self._codec.sample_rate = SAMPLE_RATE
        self._codec.layout = "stereo"
        self.errors = 0

    def decode(self, payload: bytes) -> Samples | None:
        try:
            frames = self._codec.decode(av.Packet(payload))
        except (av.error.FFmpegError, ValueError):
            self.errors += 1
            return None
        parts: list[Samples] = []
        for frame in frames:
            data = frame.to_ndarray().astype(np.float32)
            if frame.format.name.startswith("s16"):
                data = data / 32768.0
            channels = len(frame.layout.channels)
            if frame.format.is_planar:
                mono = data.mean(axis=0) if data.ndim == 2 else data
            else:
                mono = data.reshape(-1, channels).mean(axis=1)
            parts.append(mono.astype(np.float32))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


@dataclass(slots=True)
class _Source:
    key: str
    channel: str | None
    sock: socket.socket
    port: int
    sequencer: Sequencer = field(default_factory=lambda: Sequencer(window=3))
    decoder: _Opus = field(default_factory=_Opus)
    chunks: deque[Samples] = field(default_factory=deque)
    held: int = 0
    playing: bool = False
    registered: bool = False
    low: int = 0  # the least held since the last trim check
    pulls: int = 0
    trimmed: int = 0  # samples dropped to keep the delay down

    def push(self, samples: Samples) -> None:
        self.chunks.append(samples)
        self.held += len(samples)
        if self.held > MAX_BUFFER:
            self._drop(self.held - PREBUFFER)

    def _drop(self, count: int) -> None:
        while count > 0 and self.chunks:
            first = self.chunks[0]
            if len(first) <= count:
                self.chunks.popleft()
                self.held -= len(first)
                count -= len(first)
            else:
                self.chunks[0] = first[count:]
                self.held -= count
                count = 0

    def pull(self, count: int) -> Samples | None:
        """``count`` samples, or None while the buffer (re)fills."""
        if not self.playing:
            if self.held < PREBUFFER:
                return None
            self.playing = True
        out = np.zeros(count, dtype=np.float32)
        filled = 0
        while filled < count and self.chunks:
            first = self.chunks[0]
            take = min(count - filled, len(first))
            out[filled : filled + take] = first[:take]
            filled += take
            if take == len(first):
                self.chunks.popleft()
            else:
                self.chunks[0] = first[take:]
            self.held -= take
        if filled < count:
            self.playing = False  # ran dry: wait for PREBUFFER again
        self.low = self.held if self.pulls == 0 else min(self.low, self.held)
        self.pulls += 1
        if self.pulls >= TRIM_EVERY:
            if self.low > PREBUFFER + FRAME_SAMPLES:
                excess = self.low - PREBUFFER
                self._drop(excess)
                self.trimmed += excess
            self.pulls = 0
        return out


class Ducker:
    """The floor's gain under one channel's voice (see the module docstring)."""

    def __init__(self) -> None:
        self.gain = 1.0
        self._silent_for = HOLD_SECONDS  # seconds since the voice last spoke

    def apply(self, floor: Samples, voice: Samples | None) -> Samples:
        """The channel's frame: ``floor`` at the ducked gain plus ``voice``."""
        speaking = voice is not None and float(np.sqrt(np.mean(voice**2))) > VOICE_RMS
        self._silent_for = 0.0 if speaking else self._silent_for + len(floor) / SAMPLE_RATE
        target = DUCK if self._silent_for < HOLD_SECONDS else 1.0
        seconds = len(floor) / SAMPLE_RATE
        if target < self.gain:
            step = (1.0 - DUCK) * seconds / ATTACK_SECONDS
            end = max(target, self.gain - step)
        else:
            step = (1.0 - DUCK) * seconds / RELEASE_SECONDS
            end = min(target, self.gain + step)
        ramp = np.linspace(self.gain, end, len(floor), endpoint=False, dtype=np.float32)
        self.gain = end
        mixed = floor * ramp
        return mixed if voice is None else mixed + voice


def to_pcm(samples: Samples) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


class AudioMixer:
    """See the module docstring. :meth:`attach` from the event loop before use."""

    def __init__(
        self,
        channels: Sequence[str],
        *,
        host: str = "127.0.0.1",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channels = tuple(channels)
        self._host = host
        self._clock = clock
        self._sources: dict[str, _Source] = {}
        self._duckers = {channel: Ducker() for channel in self.channels}
        self._sinks: list[Sink] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.stats = MixerStats()

    @property
    def renditions(self) -> int:
        return 1 + len(self.channels)

    def add_source(self, key: str, channel: str | None) -> int:
        """A new source (or the existing one of that key, moved to ``channel``); its port."""
        if channel is not None and channel not in self._duckers:
            raise ValueError(f"no such channel: {channel!r}")
        existing = self._sources.get(key)
        if existing is not None:
            existing.channel = channel
            return existing.port
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((self._host, 0))
        except OSError:
            sock.close()
            raise
        source = _Source(key=key, channel=channel, sock=sock, port=int(sock.getsockname()[1]))
        self._sources[key] = source
        self._register(source)
        return source.port

    def remove_source(self, key: str) -> None:
        source = self._sources.pop(key, None)
        if source is None:
            return
        if source.registered and self._loop is not None:
            self._loop.remove_reader(source.sock.fileno())
        source.sock.close()

    def add_sink(self, sink: Sink) -> None:
        self._sinks.append(sink)

    def remove_sink(self, sink: Sink) -> None:
        with contextlib.suppress(ValueError):
            self._sinks.remove(sink)

    def attach(self) -> None:
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        for source in self._sources.values():
            self._register(source)
        self._task = asyncio.create_task(self._ticks(), name="livestream-mixer")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for key in list(self._sources):
            self.remove_source(key)
        self._sinks.clear()
        self._loop = None

    def _register(self, source: _Source) -> None:
        if self._loop is None or source.registered:
            return
        self._loop.add_reader(source.sock.fileno(), self._readable, source)
        source.registered = True

    # -- receiving -------------------------------------------------------------------------------

    def _readable(self, source: _Source) -> None:
        drain(
            source.sock,
            lambda data: self._take(source, data),
            self.stats,
            f"audio source {source.key}",
        )

    def _take(self, source: _Source, data: bytes) -> None:
        packet = parse_rtp(data) if len(data) <= MAX_DATAGRAM else None
        if packet is None:
            self.stats.invalid += 1
            return
        for lost, ready in source.sequencer.push(packet):
            if lost:
                count = min(lost, _MAX_CONCEALED) * FRAME_SAMPLES
                source.push(np.zeros(count, dtype=np.float32))
            samples = source.decoder.decode(ready.payload)
            if samples is None:
                self.stats.invalid += 1
            elif len(samples):
                source.push(samples)

    # -- mixing ----------------------------------------------------------------------------------

    async def _ticks(self) -> None:
        start = self._clock()
        made = 0
        while True:
            due = int((self._clock() - start) / FRAME_SECONDS) + 1
            if due - made > MAX_CATCH_UP:
                self.stats.skipped += due - made - 1
                made = due - 1
            while made < due:
                try:
                    self._emit(self.mix())
                except Exception:
                    log.exception("livestream mixer: a frame failed")
                made += 1
            await asyncio.sleep(max(0.0, start + made * FRAME_SECONDS - self._clock()))

    def mix(self) -> list[Samples]:
        """One 20 ms frame per rendition: the floor, then each channel."""
        floor = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        voices: dict[str, Samples] = {}
        for source in self._sources.values():
            was_playing = source.playing
            samples = source.pull(FRAME_SAMPLES)
            if samples is None:
                continue
            if was_playing and not source.playing:
                self.stats.underruns += 1
            if source.channel is None:
                floor += samples
            elif source.channel in voices:
                voices[source.channel] += samples
            else:
                voices[source.channel] = samples
        frames = [floor]
        frames += [self._duckers[c].apply(floor, voices.get(c)) for c in self.channels]
        self.stats.frames += 1
        return frames

    def _emit(self, frames: list[Samples]) -> None:
        if not self._sinks:
            return
        pcm = [to_pcm(frame) for frame in frames]
        for sink in list(self._sinks):
            try:
                sink(pcm)
            except Exception:
                log.exception("livestream mixer: a sink failed")
