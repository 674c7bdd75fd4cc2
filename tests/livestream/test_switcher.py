"""The video switcher over real UDP: one continuous stream out, switches at keyframes, the slate."""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
from collections.abc import AsyncIterator

import pytest

from convene.livestream.switcher import STALL_SECONDS, VideoSwitcher
from convene.livestream.vp8 import packetise, parse_descriptor, slate_frames
from convene.worker.rtp import RtpPacket, parse_rtp

RED = (81, 90, 240)
BLUE = (41, 240, 110)


class Source:
    """A VP8 sender of one colour: ``frames()`` sends frames, a keyframe every ``gop``."""

    def __init__(self, port: int, yuv: tuple[int, int, int], ssrc: int, gop: int = 5) -> None:
        self.port = port
        self.frames_ = slate_frames(64, 64, gop, yuv)
        self.ssrc = ssrc
        self.seq = 1000 * ssrc % 65536
        self.ts = 7_000_000 * ssrc % (1 << 32)
        self.index = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send_frame(self) -> None:
        frame = self.frames_[self.index % len(self.frames_)]
        self.index += 1
        payloads = packetise(frame, max_payload=200)
        for i, payload in enumerate(payloads):
            marker = 0x80 if i == len(payloads) - 1 else 0
            header = struct.pack("!BBHII", 0x80, marker | 96, self.seq, self.ts, self.ssrc)
            self.sock.sendto(header + payload, ("127.0.0.1", self.port))
            self.seq = (self.seq + 1) % 65536
        self.ts = (self.ts + 3000) % (1 << 32)

    def close(self) -> None:
        self.sock.close()


def again_payloads(source: Source) -> set[bytes]:
    """The payloads of a source's frames that are not keyframes."""
    return {p for frame in source.frames_[1:] for p in packetise(frame, max_payload=200)}


class Receiver(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[RtpPacket] = []

    def datagram_received(self, data: bytes, addr: object) -> None:
        packet = parse_rtp(data)
        assert packet is not None
        self.packets.append(packet)


@pytest.fixture
async def rig() -> AsyncIterator[tuple[VideoSwitcher, Receiver, list[str], int]]:
    asked: list[str] = []
    switcher = VideoSwitcher(width=64, height=64, on_keyframe_needed=asked.append)
    loop = asyncio.get_running_loop()
    transport, receiver = await loop.create_datagram_endpoint(Receiver, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    switcher.attach()
    started: list[int] = []
    switcher.add_output("127.0.0.1", port, lambda: started.append(1))
    yield switcher, receiver, asked, port
    transport.close()
    await switcher.close()


def colours(packets: list[RtpPacket]) -> list[bytes]:
    """The keyframes' data in the order sent (a colour is known by its keyframe's bytes)."""
    out = []
    for packet in packets:
        start = parse_descriptor(packet.payload)
        if start is not None and start.keyframe:
            out.append(packet.payload)
    return out


async def test_one_stream_out_across_switches_and_the_slate(
    rig: tuple[VideoSwitcher, Receiver, list[str], int],
) -> None:
    switcher, receiver, asked, _ = rig
    red = Source(switcher.add_source("red"), RED, ssrc=11)
    blue = Source(switcher.add_source("blue"), BLUE, ssrc=22)
    await asyncio.sleep(0.3)  # the slate, with no program
    assert receiver.packets
    assert switcher.on_air is None

    switcher.set_program("red")
    assert asked == ["red"]
    red.index = 1  # mid-GOP: not until its next keyframe
    for _ in range(9):
        red.send_frame()
        blue.send_frame()
        await asyncio.sleep(0.03)
    assert switcher.on_air == "red"
    switcher.set_program("blue")
    blue.index = 2
    for _ in range(9):
        red.send_frame()
        blue.send_frame()
        await asyncio.sleep(0.03)
    assert switcher.on_air == "blue"
    assert "blue" in asked

    # Garbage and strays are dropped without harm.
    garbage = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    garbage.sendto(b"\x00" * 40, ("127.0.0.1", blue.port))
    garbage.sendto(struct.pack("!BBHII", 0x80, 96, 1, 1, 5) + b"\x10", ("127.0.0.1", blue.port))
    garbage.close()
    await asyncio.sleep(0.05)
    assert switcher.stats.invalid >= 2

    # The program stops sending: the slate after STALL_SECONDS.
    await asyncio.sleep(STALL_SECONDS + 0.3)
    assert switcher.on_air is None

    packets = receiver.packets
    assert {p.ssrc for p in packets} == {packets[0].ssrc}  # one source, as ffmpeg sees it
    sequences = [p.sequence for p in packets]
    assert all((b - a) % 65536 == 1 for a, b in itertools.pairwise(sequences))
    stamps = [p.timestamp for p in packets]
    assert all(0 <= (b - a) % (1 << 32) < 90_000 * 2 for a, b in itertools.pairwise(stamps))
    keyframes = colours(packets)
    slate = packetise(slate_frames(64, 64)[0])[0]
    red_key = packetise(red.frames_[0], max_payload=200)[0]
    blue_key = packetise(blue.frames_[0], max_payload=200)[0]
    order: list[str] = []
    for key in keyframes:
        name = {slate: "slate", red_key: "red", blue_key: "blue"}.get(key, "?")
        if not order or order[-1] != name:
            order.append(name)
    assert order == ["slate", "red", "blue", "slate"]
    # Each source's first packet out was its keyframe (none of its frames before it).
    red.close()
    blue.close()


async def test_a_restarted_sender_is_taken_again_at_its_keyframe(
    rig: tuple[VideoSwitcher, Receiver, list[str], int],
) -> None:
    switcher, receiver, asked, _ = rig
    red = Source(switcher.add_source("red"), RED, ssrc=11)
    switcher.set_program("red")
    for _ in range(6):
        red.send_frame()
        await asyncio.sleep(0.02)
    assert switcher.on_air == "red"
    red.close()
    again = Source(red.port, RED, ssrc=33)  # a new SSRC: the publisher renegotiated
    again.index = 1
    before = len(receiver.packets)
    asked.clear()
    for _ in range(40):  # not keyframes: dropped, and one asked for (at most one a second)
        again.send_frame()
        await asyncio.sleep(0.03)
        again.index = max(again.index % 5, 1)
    assert "red" in asked
    assert all(p.payload not in again_payloads(again) for p in receiver.packets[before:])
    again.index = 0
    for _ in range(4):
        again.send_frame()
        await asyncio.sleep(0.02)
    sequences = [p.sequence for p in receiver.packets]
    assert all((b - a) % 65536 == 1 for a, b in itertools.pairwise(sequences))
    assert {p.ssrc for p in receiver.packets} == {receiver.packets[0].ssrc}
    again.close()
