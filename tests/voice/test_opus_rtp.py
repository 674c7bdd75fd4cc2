"""The Opus RTP packetiser: packets parse back as RTP and decode (PyAV's libopus) to the speech."""

from __future__ import annotations

import av
import numpy as np
import pytest

from convene.worker.opus_rtp import FRAME_SAMPLES, PAYLOAD_TYPE, OpusPacketiser
from convene.worker.rtp import parse_rtp
from convene.worker.tts import synthesise


def decode(payloads: list[bytes]) -> np.ndarray:
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate = 48_000
    decoder.layout = "mono"
    out = []
    for payload in payloads:
        for frame in decoder.decode(av.Packet(payload)):
            out.append(frame.to_ndarray().reshape(-1))
    samples = np.concatenate(out)
    if samples.dtype.kind == "f":
        samples = samples * 32_768
    return samples.astype(np.float64)


async def test_an_utterance_is_20_ms_packets_that_decode_to_it() -> None:
    pcm = await synthesise("Buenos días a todos.", "es")
    packetiser = OpusPacketiser(1000)
    first_seq, first_ts = packetiser.sequence, packetiser.timestamp
    packets = [parse_rtp(p) for p in packetiser.utterance(pcm)]
    assert all(p is not None for p in packets)
    parsed = [p for p in packets if p is not None]
    samples = len(pcm) // 2
    assert len(parsed) == -(-samples // FRAME_SAMPLES)
    assert [p.sequence for p in parsed] == [(first_seq + i) & 0xFFFF for i in range(len(parsed))]
    assert [p.timestamp for p in parsed] == [
        (first_ts + i * FRAME_SAMPLES) & 0xFFFFFFFF for i in range(len(parsed))
    ]
    assert {p.ssrc for p in parsed} == {1000}
    assert {p.payload_type for p in parsed} == {PAYLOAD_TYPE}
    assert [p.marker for p in parsed[:2]] == [True, False]
    assert not any(p.marker for p in parsed[1:])

    decoded = decode([p.payload for p in parsed])
    assert abs(decoded.size - len(parsed) * FRAME_SAMPLES) <= FRAME_SAMPLES
    original = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    # The same speech: a comparable level (Opus at 32 kbit/s keeps speech's loudness).
    ratio = np.sqrt((decoded**2).mean()) / np.sqrt((original**2).mean())
    assert 0.5 < ratio < 1.5, ratio


async def test_utterances_run_on_and_a_pause_moves_the_clock() -> None:
    packetiser = OpusPacketiser(1010)
    one = packetiser.utterance(b"\x00\x10" * 2_000)
    seq, ts = packetiser.sequence, packetiser.timestamp
    packetiser.pause(1.0)
    two = [parse_rtp(p) for p in packetiser.utterance(b"\x00\x10" * 960)]
    assert len(one) == 3
    assert two[0] is not None
    assert two[0].sequence == seq
    assert two[0].timestamp == (ts + 48_000) & 0xFFFFFFFF
    assert two[0].marker
    assert packetiser.utterance(b"") == []


def test_an_ssrc_must_be_32_bit_non_zero() -> None:
    for ssrc in (0, 1 << 32, -1):
        with pytest.raises(ValueError, match="SSRC"):
            OpusPacketiser(ssrc)
