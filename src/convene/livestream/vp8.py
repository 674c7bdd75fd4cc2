"""Just enough of VP8 over RTP (RFC 7741) to switch between sources and to send a slate.

- :func:`parse_descriptor` reads a packet's payload descriptor: whether it starts a frame and,
  when it does, whether that frame is a keyframe (and its size). The program switches to a new
  source only at such a packet, so the decoder never sees a frame that refers to another
  source's pictures. Anything malformed reads as None.
- :func:`packetise` cuts one VP8 frame into RTP payloads (descriptor and data).
- :func:`slate_frames` encodes a black picture once: a keyframe and a few frames repeating it,
  which looped make a valid, nearly free video stream for when there is no program.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["MAX_PAYLOAD", "Vp8Start", "packetise", "parse_descriptor", "slate_frames"]

MAX_PAYLOAD = 1100  # bytes of VP8 data per RTP packet, under any path MTU in practice
_START_CODE = b"\x9d\x01\x2a"


@dataclass(frozen=True, slots=True)
class Vp8Start:
    """What a packet's payload descriptor says."""

    frame_start: bool  # the first packet of a frame (S=1, partition 0)
    keyframe: bool  # that frame is a keyframe
    width: int | None = None  # a keyframe's picture size
    height: int | None = None


def parse_descriptor(payload: bytes) -> Vp8Start | None:
    """The descriptor of a VP8 RTP payload, or None when it is not a well-formed one."""
    if not payload:
        return None
    first = payload[0]
    offset = 1
    if first & 0x80:  # X: an extension byte follows
        if len(payload) < 2:
            return None
        ext = payload[1]
        offset = 2
        if ext & 0x80:  # I: a picture id, 7 or 15 bits
            if len(payload) <= offset:
                return None
            offset += 2 if payload[offset] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            offset += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            offset += 1
    if len(payload) <= offset:
        return None
    start = bool(first & 0x10) and first & 0x07 == 0
    if not start:
        return Vp8Start(frame_start=False, keyframe=False)
    data = payload[offset:]
    if len(data) < 3:
        return None
    keyframe = not data[0] & 0x01  # P bit: 0 for a keyframe
    if not keyframe:
        return Vp8Start(frame_start=True, keyframe=False)
    if len(data) < 10 or data[3:6] != _START_CODE:
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    if not width or not height:
        return None
    return Vp8Start(frame_start=True, keyframe=True, width=width, height=height)


def packetise(frame: bytes, max_payload: int = MAX_PAYLOAD) -> list[bytes]:
    """One VP8 frame as RTP payloads: a one-byte descriptor (S on the first) and the data."""
    if not frame:
        return []
    chunks = [frame[i : i + max_payload] for i in range(0, len(frame), max_payload)]
    return [(b"\x10" if i == 0 else b"\x00") + chunk for i, chunk in enumerate(chunks)]


@functools.cache
def slate_frames(
    width: int, height: int, count: int = 5, yuv: tuple[int, int, int] = (0, 128, 128)
) -> tuple[bytes, ...]:
    """``count`` VP8 frames of a ``width`` x ``height`` picture of one colour (``yuv``; black
    by default), the first a keyframe."""
    import av  # PyAV loads libavcodec: only where a slate is made
    import numpy as np

    codec = av.CodecContext.create("libvpx", "w")
    codec.width = width
    codec.height = height
    codec.pix_fmt = "yuv420p"
    codec.time_base = Fraction(1, 90_000)
    codec.gop_size = count
    codec.bit_rate = 200_000
    codec.options = {"lag-in-frames": "0", "deadline": "realtime", "cpu-used": "8"}
    codec.open()
    planes = np.full((height * 3 // 2, width), yuv[0], dtype=np.uint8)
    quarter = height // 4  # yuv420p as one array: Y rows, then U and V rows of half width
    planes[height : height + quarter] = yuv[1]
    planes[height + quarter :] = yuv[2]
    frames: list[bytes] = []
    for index in range(count):
        picture = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        picture.pts = index * 3000
        frames += [bytes(p) for p in codec.encode(picture)]
    frames += [bytes(p) for p in codec.encode(None)]
    return tuple(frames)
