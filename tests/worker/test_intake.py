"""A speaker's intake on a real UDP socket: Opus RTP in, 16 kHz PCM out, garbage harmless."""

from __future__ import annotations

import asyncio
import random

import numpy as np

from convene.speech.audio import SAMPLE_RATE, Pcm, read_pcm
from convene.worker.intake import open_intake
from tests.worker.audio import FRAME, clip_path, opus_packets, read_48k_stereo, rtp

CLIP = "sense_and_sensibility_01_austen_64kb-0880"


class Collector:
    def __init__(self) -> None:
        self.parts: list[Pcm] = []

    def __call__(self, pcm: Pcm) -> None:
        self.parts.append(pcm)

    @property
    def pcm(self) -> Pcm:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32)


async def _send(port: int, datagrams: list[bytes]) -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=("127.0.0.1", port)
    )
    try:
        for i, data in enumerate(datagrams):
            transport.sendto(data)
            if i % 20 == 0:
                await asyncio.sleep(0.002)  # let the receiver keep up (the socket buffer is finite)
    finally:
        transport.close()


async def _settle(collector: Collector, intake_stats: object) -> None:
    for _ in range(100):
        before = sum(len(p) for p in collector.parts)
        await asyncio.sleep(0.05)
        if sum(len(p) for p in collector.parts) == before:
            return


async def test_a_clip_arrives_whole_through_reordering_duplicates_and_garbage() -> None:
    packets = opus_packets(read_48k_stereo(clip_path(CLIP)))
    rng = random.Random(3)
    datagrams = [rtp(p, 5000 + i, i * FRAME) for i, p in enumerate(packets)]
    # Swap neighbours here and there, send some twice, and mix in garbage and RTCP-like noise.
    for i in range(3, len(datagrams) - 1, 7):
        datagrams[i], datagrams[i + 1] = datagrams[i + 1], datagrams[i]
    mixed: list[bytes] = []
    for data in datagrams:
        mixed.append(data)
        if rng.random() < 0.05:
            mixed.append(data)
        if rng.random() < 0.1:
            mixed.append(rng.randbytes(rng.randrange(1, 300)))
        if rng.random() < 0.05:
            mixed.append(rtp(rng.randbytes(40), rng.randrange(65536), 0, ssrc=rng.getrandbits(32)))
    collector = Collector()
    intake = await open_intake(collector, host="127.0.0.1", name="test")
    try:
        await _send(intake.port, mixed)
        await _settle(collector, intake)
    finally:
        intake.close()
    stats = intake.stats()
    assert stats.sequencing.delivered == len(packets) - 2  # all but the probation packets
    assert stats.sequencing.lost == 0
    assert stats.sequencing.duplicates + stats.sequencing.late > 0
    assert stats.invalid > 0
    expected = read_pcm(clip_path(CLIP))
    got = collector.pcm
    # The same audio, give or take the probation packets, codec delay and the final frame.
    assert abs(len(got) - len(expected)) < 0.1 * SAMPLE_RATE
    energy = float(np.sqrt(np.mean(got**2)))
    assert energy > 0.3 * float(np.sqrt(np.mean(expected**2)))


async def test_lost_packets_become_silence_of_their_length() -> None:
    packets = opus_packets(read_48k_stereo(clip_path(CLIP)))[:100]
    kept = [rtp(p, i, i * FRAME) for i, p in enumerate(packets) if not 40 <= i < 50]
    collector = Collector()
    intake = await open_intake(collector, host="127.0.0.1", name="test")
    try:
        await _send(intake.port, kept)
        await _settle(collector, intake)
    finally:
        intake.close()
    assert intake.stats().sequencing.lost == 10
    # 98 packets after probation, 10 of them concealed: 20 ms each at 16 kHz.
    assert abs(len(collector.pcm) - 98 * 320) <= 2 * 320


async def test_garbage_alone_gives_nothing_and_breaks_nothing() -> None:
    rng = random.Random(11)
    garbage = [rng.randbytes(rng.randrange(0, 1600)) for _ in range(500)]
    # Well-formed RTP headers around payloads Opus refuses, in sequence (past probation).
    garbage += [rtp(b"\xff" * rng.randrange(1, 50), 100 + i, i * FRAME) for i in range(50)]
    collector = Collector()
    intake = await open_intake(collector, host="127.0.0.1", name="test")
    try:
        await _send(intake.port, garbage)
        await _settle(collector, intake)
        # Still working afterwards.
        packets = opus_packets(read_48k_stereo(clip_path(CLIP)))[:20]
        await _send(
            intake.port, [rtp(p, 9000 + i, i * FRAME, ssrc=77) for i, p in enumerate(packets)]
        )
        await _settle(collector, intake)
    finally:
        intake.close()
    assert intake.stats().invalid > 400
    assert len(collector.pcm) >= 17 * 320
