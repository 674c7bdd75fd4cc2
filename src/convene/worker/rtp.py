"""Just enough RTP (RFC 3550) for one forwarded audio stream: parse, put in order, count.

Janus's ``rtp_forward`` sends a publisher's Opus as plain RTP over UDP. Datagrams may come
reordered or twice, some never; anyone who can reach the port can send garbage. So:

- :func:`parse_rtp` returns None for anything that is not a well-formed RTP packet (version 2,
  header, CSRCs, extension and padding within the datagram, a non-empty payload, a dynamic
  payload type);
- a :class:`Sequencer` follows one synchronisation source at a time: a new SSRC becomes the one
  followed only after :data:`PROBATION` packets in sequence (RFC 3550's ``MIN_SEQUENTIAL``), so a
  stray packet cannot take the stream over; packets are reordered within a small window,
  duplicates and late ones dropped, gaps counted as lost.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["PROBATION", "RtpPacket", "Sequencer", "SequencerStats", "parse_rtp"]

PROBATION = 3
_HEADER = struct.Struct("!BBHII")
_SEQ_MOD = 1 << 16
# A jump this far ahead is a restarted stream, not a gap: start again from it.
_MAX_DROPOUT = 3000


@dataclass(frozen=True, slots=True)
class RtpPacket:
    sequence: int
    timestamp: int
    ssrc: int
    payload_type: int
    marker: bool
    payload: bytes


def parse_rtp(data: bytes) -> RtpPacket | None:
    """The RTP packet in ``data``, or None when it is not one."""
    if len(data) < _HEADER.size:
        return None
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != 2:
        return None
    payload_type = second & 0x7F
    if not 96 <= payload_type <= 127:  # RTCP (200-204 read as 72-76) and static types too
        return None
    offset = _HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < offset + 4:
            return None
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding: the last byte says how much
        if end <= offset:
            return None
        end -= data[-1]
    if end <= offset:
        return None
    return RtpPacket(sequence, timestamp, ssrc, payload_type, bool(second & 0x80), data[offset:end])


@dataclass(slots=True)
class SequencerStats:
    received: int = 0  # packets given to push()
    delivered: int = 0
    duplicates: int = 0
    late: int = 0  # arrived after their place was passed (given up, or a duplicate of one)
    lost: int = 0  # never arrived (counted when skipped over)
    foreign: int = 0  # from a source not followed (strays, or one on probation)
    restarts: int = 0  # the source changed, or jumped far


def _ahead(a: int, b: int) -> int:
    """How far sequence number ``a`` is after ``b`` (negative: before), modulo 2**16."""
    diff = (a - b) % _SEQ_MOD
    return diff - _SEQ_MOD if diff >= _SEQ_MOD // 2 else diff


class Sequencer:
    """Packets of one source in sequence order; :meth:`push` returns those now ready.

    Each ready item is ``(lost_before, packet)``: how many packets were given up just before it
    (for concealment). ``window`` packets may wait for a missing one (20 ms each for Opus).
    """

    def __init__(self, window: int = 5) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.window = window
        self.stats = SequencerStats()
        self.ssrc: int | None = None
        self._expected = 0
        self._waiting: dict[int, RtpPacket] = {}
        self._candidate: tuple[int, int, int] | None = None  # ssrc, last sequence, count

    def push(self, packet: RtpPacket) -> list[tuple[int, RtpPacket]]:
        self.stats.received += 1
        if packet.ssrc != self.ssrc:
            if not self._on_probation(packet):
                self.stats.foreign += 1
                return []
            self._restart(packet)
            return self._drain(0)
        ahead = _ahead(packet.sequence, self._expected)
        if ahead < 0:
            if ahead < -_MAX_DROPOUT:
                self._restart(packet)
                return self._drain(0)
            self.stats.late += 1
            return []
        if ahead > _MAX_DROPOUT:
            self._restart(packet)
            return self._drain(0)
        if packet.sequence in self._waiting:
            self.stats.duplicates += 1
            return []
        self._waiting[packet.sequence] = packet
        return self._drain(0)

    def _on_probation(self, packet: RtpPacket) -> bool:
        """Whether a packet of a source not followed yet completes that source's probation."""
        candidate = self._candidate
        if (
            candidate is not None
            and candidate[0] == packet.ssrc
            and _ahead(packet.sequence, candidate[1]) == 1
        ):
            count = candidate[2] + 1
        else:
            count = 1
        if count >= PROBATION:
            self._candidate = None
            return True
        self._candidate = (packet.ssrc, packet.sequence, count)
        return False

    def _restart(self, packet: RtpPacket) -> None:
        if self.ssrc is not None:
            self.stats.restarts += 1
        self.ssrc = packet.ssrc
        self._waiting = {packet.sequence: packet}
        self._expected = packet.sequence

    def _drain(self, lost: int) -> list[tuple[int, RtpPacket]]:
        ready: list[tuple[int, RtpPacket]] = []
        while True:
            packet = self._waiting.pop(self._expected, None)
            if packet is not None:
                ready.append((lost, packet))
                lost = 0
                self.stats.delivered += 1
                self._expected = (self._expected + 1) % _SEQ_MOD
                continue
            if len(self._waiting) <= self.window:
                return ready
            # Waited long enough: give up on the missing one(s) and go on from the next held.
            nearest = min(_ahead(s, self._expected) for s in self._waiting)
            lost += nearest
            self.stats.lost += nearest
            self._expected = (self._expected + nearest) % _SEQ_MOD
