"""The program's video: VP8 RTP sources in, one continuous RTP stream out to ffmpeg.

Each source has a UDP port of its own (Janus forwards one publisher's video to it). The
switcher relays one of them, the program, to its outputs (ffmpeg's RTP ports) as a single
stream: one SSRC, sequence numbers and timestamps that run on across switches, so the decoder
never sees a seam. A switch takes effect at the new source's next keyframe (the old one stays on
until then, and the keyframe is asked for at once: ``on_keyframe_needed``). With no program, or
when the program's packets stop for :data:`STALL_SECONDS`, a black slate is sent instead, so the
stream never stalls; the program comes back at its next keyframe.

Anyone who can reach a port can send to it: malformed packets, other sources' SSRCs and
payloads that are not VP8 are counted and dropped; nothing a sender does raises here.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import secrets
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from convene.livestream.udp import MAX_DATAGRAM, drain
from convene.livestream.vp8 import packetise, parse_descriptor, slate_frames
from convene.worker.rtp import RtpPacket, parse_rtp

__all__ = ["PAYLOAD_TYPE", "STALL_SECONDS", "SwitcherStats", "VideoSwitcher"]

log = logging.getLogger(__name__)

PAYLOAD_TYPE = 96
CLOCK_RATE = 90_000
STALL_SECONDS = 1.0  # the program sent nothing this long: the slate until it is back
SLATE_FPS = 10
KEYFRAME_EVERY = 1.0  # at most one keyframe request per source this often
_TICK = 1 / SLATE_FPS
_HEADER = struct.Struct("!BBHII")
_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32
_MAX_JUMP = 3000  # a sequence jump this large is a restarted sender


def _ahead(a: int, b: int) -> int:
    diff = (a - b) % _SEQ_MOD
    return diff - _SEQ_MOD if diff >= _SEQ_MOD // 2 else diff


@dataclass(slots=True)
class SwitcherStats:
    received: int = 0
    invalid: int = 0  # not RTP, not VP8
    forwarded: int = 0  # source packets relayed
    slate_frames: int = 0
    switches: int = 0  # times a source went on air


@dataclass(slots=True)
class _Source:
    key: str
    sock: socket.socket
    port: int
    last_packet: float = 0.0
    ssrc: int | None = None  # of the packets relayed since it went on air
    last_seq: int | None = None  # the last sequence number seen (loss shows as a gap)
    seq_offset: int = 0
    ts_offset: int = 0
    last_keyframe_request: float = -1e9
    registered: bool = field(default=False)


class VideoSwitcher:
    """See the module docstring. Call :meth:`attach` from the event loop before use."""

    def __init__(
        self,
        *,
        width: int,
        height: int,
        host: str = "127.0.0.1",
        on_keyframe_needed: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._width = width
        self._height = height
        self._host = host
        self._on_keyframe_needed = on_keyframe_needed
        self._clock = clock
        self._sources: dict[str, _Source] = {}
        self._program: str | None = None  # wanted
        self._on_air: str | None = None  # relayed now (None: the slate)
        self._outputs: dict[tuple[str, int], Callable[[], None] | None] = {}
        self._out: socket.socket | None = None  # opened by attach()
        self._ssrc = secrets.randbelow(_TS_MOD - 1) + 1
        self._seq = secrets.randbelow(_SEQ_MOD)
        self._ts_base = secrets.randbelow(_TS_MOD)
        self._epoch = clock()
        self._last_ts: int | None = None
        self._slate_index = 0
        self._slate_due = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.stats = SwitcherStats()

    # -- sources ---------------------------------------------------------------------------------

    def add_source(self, key: str) -> int:
        """A new source (or the existing one of that key); the UDP port it is received on."""
        existing = self._sources.get(key)
        if existing is not None:
            return existing.port
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((self._host, 0))
            with contextlib.suppress(OSError):  # a burst of a keyframe fits in the buffer
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        except OSError:
            sock.close()
            raise
        source = _Source(key=key, sock=sock, port=int(sock.getsockname()[1]))
        self._sources[key] = source
        self._register(source)
        if key == self._program and self._on_air != key:
            self._ask_keyframe(source, force=True)
        return source.port

    def remove_source(self, key: str) -> None:
        source = self._sources.pop(key, None)
        if source is None:
            return
        if source.registered and self._loop is not None:
            self._loop.remove_reader(source.sock.fileno())
        source.sock.close()
        if self._on_air == key:
            self._go_slate()

    def set_program(self, key: str | None) -> None:
        """Show ``key`` from its next keyframe (None: the slate, at once)."""
        self._program = key
        if key is None:
            if self._on_air is not None:
                self._go_slate()
            return
        source = self._sources.get(key)
        if source is not None and self._on_air != key:
            self._ask_keyframe(source, force=True)

    @property
    def program(self) -> str | None:
        return self._program

    @property
    def on_air(self) -> str | None:
        """The source relayed now (None: the slate)."""
        return self._on_air

    # -- outputs ---------------------------------------------------------------------------------

    def add_output(self, host: str, port: int, on_first_packet: Callable[[], None] | None) -> None:
        """Relay to ``host:port`` from the next keyframe on; ``on_first_packet`` is called as
        that keyframe is sent there (the moment its timeline starts). The program is asked for
        a keyframe."""
        self._outputs[(host, port)] = on_first_packet
        source = self._sources.get(self._on_air) if self._on_air else None
        if source is not None:
            self._ask_keyframe(source, force=True)
        self._slate_index = 0  # the slate's next frame is its keyframe

    def remove_output(self, host: str, port: int) -> None:
        self._outputs.pop((host, port), None)

    # -- life ------------------------------------------------------------------------------------

    def attach(self) -> None:
        """Start reading the sources and sending the slate (on the running loop)."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._out.setblocking(False)
        for source in self._sources.values():
            self._register(source)
        slate_frames(self._width, self._height)  # encoded once, before the first tick needs it
        self._task = asyncio.create_task(self._ticks(), name="livestream-switcher")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for key in list(self._sources):
            self.remove_source(key)
        if self._out is not None:
            self._out.close()
            self._out = None
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
            f"video source {source.key}",
        )

    def _take(self, source: _Source, data: bytes) -> None:
        packet = parse_rtp(data) if len(data) <= MAX_DATAGRAM else None
        if packet is None:
            self.stats.invalid += 1
            return
        now = self._clock()
        descriptor = parse_descriptor(packet.payload)
        if descriptor is None:
            self.stats.invalid += 1
            return
        if self._on_air == source.key:
            restarted = packet.ssrc != source.ssrc or (
                source.last_seq is not None
                and abs(_ahead(packet.sequence, source.last_seq)) > _MAX_JUMP
            )
            if restarted:
                # The sender started again (new SSRC, far jump): re-anchor at a keyframe.
                if not descriptor.keyframe:
                    self._ask_keyframe(source)
                    return
                self._anchor(source, packet, now)
            elif source.last_seq is not None:
                ahead = _ahead(packet.sequence, source.last_seq)
                if ahead > 1:  # lost packets: the decoder will want a keyframe
                    self._ask_keyframe(source)
            self._forward(source, packet, now, descriptor.keyframe)
            return
        source.last_packet = now
        if self._program != source.key:
            return
        if descriptor.keyframe:
            self._anchor(source, packet, now)
            self._on_air = source.key
            self.stats.switches += 1
            log.info("video source %s on air", source.key)
            self._forward(source, packet, now, True)
        else:
            self._ask_keyframe(source)

    def _anchor(self, source: _Source, packet: RtpPacket, now: float) -> None:
        source.ssrc = packet.ssrc
        source.last_seq = None
        source.seq_offset = (self._seq - packet.sequence) % _SEQ_MOD
        source.ts_offset = (self._next_ts(now) - packet.timestamp) % _TS_MOD

    def _forward(self, source: _Source, packet: RtpPacket, now: float, keyframe: bool) -> None:
        # Offsets, not renumbering: a packet that comes reordered keeps its place.
        newest = source.last_seq is None or _ahead(packet.sequence, source.last_seq) > 0
        if newest:
            source.last_seq = packet.sequence
        source.last_packet = now
        seq = (packet.sequence + source.seq_offset) % _SEQ_MOD
        ts = (packet.timestamp + source.ts_offset) % _TS_MOD
        if newest:
            self._seq = (seq + 1) % _SEQ_MOD
            self._last_ts = ts
        self._send(packet.marker, seq, ts, packet.payload, keyframe)
        self.stats.forwarded += 1

    # -- the slate and the stall watch -----------------------------------------------------------

    async def _ticks(self) -> None:
        while True:
            now = self._clock()
            try:
                self._tick(now)
            except Exception:  # keep relaying whatever one tick did
                log.exception("video switcher: a tick failed")
            await asyncio.sleep(_TICK)

    def _tick(self, now: float) -> None:
        on_air = self._sources.get(self._on_air) if self._on_air else None
        if on_air is not None and now - on_air.last_packet > STALL_SECONDS:
            log.info("video source %s stalled: the slate until its next keyframe", on_air.key)
            self._go_slate()
            on_air = None
        if on_air is None:
            wanted = self._sources.get(self._program) if self._program else None
            if wanted is not None:
                self._ask_keyframe(wanted)
            if now >= self._slate_due:
                self._send_slate(now)

    def _go_slate(self) -> None:
        self._on_air = None
        self._slate_index = 0
        self._slate_due = 0.0

    def _send_slate(self, now: float) -> None:
        frames = slate_frames(self._width, self._height)
        frame = frames[self._slate_index % len(frames)]
        self._slate_index = (self._slate_index + 1) % len(frames)
        self._slate_due = now + _TICK * 0.9
        ts = self._next_ts(now)
        self._last_ts = ts
        payloads = packetise(frame)
        for index, payload in enumerate(payloads):
            keyframe = index == 0 and frame is frames[0]
            self._send(index == len(payloads) - 1, self._seq, ts, payload, keyframe)
            self._seq = (self._seq + 1) % _SEQ_MOD
        self.stats.slate_frames += 1

    # -- sending ---------------------------------------------------------------------------------

    def _next_ts(self, now: float) -> int:
        """The output timestamp for ``now``: the switcher's clock, never behind the last one."""
        ts = (self._ts_base + round((now - self._epoch) * CLOCK_RATE)) % _TS_MOD
        if self._last_ts is not None and 0 <= (self._last_ts - ts) % _TS_MOD < _TS_MOD // 2:
            ts = (self._last_ts + 1) % _TS_MOD  # behind (or equal): just after the last one
        return ts

    def _send(self, marker: bool, seq: int, ts: int, payload: bytes, keyframe: bool) -> None:
        """Send one packet to every output. A new output gets nothing before a keyframe's first
        packet: ffmpeg starts its timeline at the first frame it can decode, and the run's
        audio starts at that moment too (``on_first_packet``)."""
        header = _HEADER.pack(0x80, (0x80 if marker else 0) | PAYLOAD_TYPE, seq, ts, self._ssrc)
        data = header + payload
        if self._out is None:
            return
        for address, first in list(self._outputs.items()):
            if first is not None and not keyframe:
                continue
            try:
                self._out.sendto(data, address)
            except OSError as exc:
                # Nothing listens there yet (ICMP refused) or the buffer is full: ffmpeg's
                # decoder conceals it, and asks for the next keyframe itself.
                if exc.errno not in (errno.ECONNREFUSED, errno.EAGAIN, errno.ENOBUFS):
                    log.debug("video output %s: send failed: %s", address[1], exc)
                continue
            if first is not None:
                self._outputs[address] = None
                first()

    def _ask_keyframe(self, source: _Source, *, force: bool = False) -> None:
        now = self._clock()
        if not force and now - source.last_keyframe_request < KEYFRAME_EVERY:
            return
        source.last_keyframe_request = now
        if self._on_keyframe_needed is not None:
            try:
                self._on_keyframe_needed(source.key)
            except Exception:
                log.exception("video source %s: the keyframe request failed", source.key)
