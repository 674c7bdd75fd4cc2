"""RTP parsing and sequencing: reordering, duplicates, losses, strays and garbage."""

from __future__ import annotations

import random
import struct

from convene.worker.rtp import PROBATION, RtpPacket, Sequencer, parse_rtp
from tests.worker.audio import rtp


def packet(seq: int, ssrc: int = 7) -> RtpPacket:
    parsed = parse_rtp(rtp(b"x%d" % seq, seq, seq * 960, ssrc))
    assert parsed is not None
    return parsed


def test_parse_reads_the_header_and_skips_csrcs_extension_and_padding() -> None:
    csrc = struct.pack("!I", 99)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\x10\xaa\x00\x00"
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 1, 0x80 | 111, 65535, 123, 0xCAFE)
    parsed = parse_rtp(header + csrc + extension + b"opus" + b"\x00\x00\x03")
    assert parsed == RtpPacket(65535, 123, 0xCAFE, 111, True, b"opus")


def test_parse_refuses_what_is_not_rtp() -> None:
    assert parse_rtp(b"") is None
    assert parse_rtp(b"\x80\x6f\x00") is None  # too short
    assert parse_rtp(rtp(b"x", 1, 1)[:12]) is None  # no payload
    assert parse_rtp(b"\x40" + rtp(b"x", 1, 1)[1:]) is None  # version 1
    assert parse_rtp(rtp(b"x", 1, 1, pt=0)) is None  # static payload type
    rtcp = struct.pack("!BBHI", 0x80, 200, 6, 0x1234) + bytes(20)  # a sender report
    assert parse_rtp(rtcp) is None
    too_many_csrcs = struct.pack("!BBHII", 0x8F, 111, 1, 1, 1) + b"abc"
    assert parse_rtp(too_many_csrcs) is None
    bad_extension = struct.pack("!BBHII", 0x90, 111, 1, 1, 1) + struct.pack("!HH", 1, 200)
    assert parse_rtp(bad_extension) is None
    all_padding = struct.pack("!BBHII", 0xA0, 111, 1, 1, 1) + b"\x00\x05"
    assert parse_rtp(all_padding) is None
    rng = random.Random(5)
    for _ in range(2000):
        data = rng.randbytes(rng.randrange(0, 80))
        result = parse_rtp(data)
        assert result is None or result.payload  # garbage parses to nothing or to something


def _feed(seq: Sequencer, numbers: list[int], ssrc: int = 7) -> list[tuple[int, int]]:
    out = []
    for n in numbers:
        out += [(lost, p.sequence) for lost, p in seq.push(packet(n, ssrc))]
    return out


def test_in_order_after_probation_with_reordering_and_duplicates() -> None:
    seq = Sequencer(window=3)
    got = _feed(seq, [10, 11, 12, 14, 14, 13, 15, 12])
    # The first PROBATION - 1 packets only establish the source.
    assert PROBATION == 3
    assert got == [(0, 12), (0, 13), (0, 14), (0, 15)]
    assert seq.stats.duplicates == 1
    assert seq.stats.late == 1


def test_a_gap_is_given_up_after_the_window_and_counted() -> None:
    seq = Sequencer(window=2)
    got = _feed(seq, [1, 2, 3, 6, 7, 8, 5])
    assert got == [(0, 3), (2, 6), (0, 7), (0, 8)]
    assert seq.stats.lost == 2
    assert seq.stats.late == 1


def test_sequence_numbers_wrap() -> None:
    seq = Sequencer()
    got = _feed(seq, [65533, 65534, 65535, 0, 1])
    assert [s for _, s in got] == [65535, 0, 1]


def test_a_stray_source_cannot_take_the_stream_but_a_new_one_can() -> None:
    seq = Sequencer()
    assert [s for _, s in _feed(seq, [100, 101, 102, 103])] == [102, 103]
    # Strays from another SSRC, out of sequence, are not followed.
    assert _feed(seq, [5, 9, 2], ssrc=99) == []
    assert [s for _, s in _feed(seq, [104])] == [104]
    assert seq.stats.foreign == 2 + 3  # the first source's probation, then the strays
    # A publisher that restarts (new SSRC, in sequence) is followed after its probation.
    assert [s for _, s in _feed(seq, [50, 51, 52, 53], ssrc=8)] == [52, 53]
    assert seq.ssrc == 8
    assert seq.stats.restarts == 1


def test_a_far_jump_restarts_the_sequence() -> None:
    seq = Sequencer()
    _feed(seq, [1, 2, 3])
    assert [s for _, s in _feed(seq, [30_000, 30_001])] == [30_000, 30_001]
    assert seq.stats.lost == 0
