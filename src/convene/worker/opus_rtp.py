"""48 kHz mono PCM to Opus RTP packets (RFC 7587): what a machine voice sends to the media room.

One :class:`OpusPacketiser` per outgoing stream: a fixed SSRC, a sequence number and a
timestamp that run on across utterances. Each utterance is cut into 20 ms frames (the last one
padded with silence), encoded with libopus through PyAV, and each frame becomes one RTP packet;
the first packet of an utterance carries the marker bit (RFC 7587: the start of a talkspurt).
The time between utterances is counted in the timestamp (:meth:`OpusPacketiser.pause`), so a
receiver's jitter buffer sees a pause, not late packets.
"""

from __future__ import annotations

import secrets
import struct
from fractions import Fraction

import av
import numpy as np

__all__ = ["FRAME_SAMPLES", "PAYLOAD_TYPE", "OpusPacketiser"]

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms
PAYLOAD_TYPE = 111
_HEADER = struct.Struct("!BBHII")


class OpusPacketiser:
    """See the module docstring."""

    def __init__(
        self, ssrc: int, *, payload_type: int = PAYLOAD_TYPE, bitrate: int = 32_000
    ) -> None:
        if not 0 < ssrc < 1 << 32:
            raise ValueError("an SSRC is a non-zero 32-bit number")
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.sequence = secrets.randbelow(1 << 16)
        self.timestamp = secrets.randbelow(1 << 32)
        self._encoder = av.CodecContext.create("libopus", "w")
        self._encoder.sample_rate = SAMPLE_RATE
        self._encoder.layout = "mono"
        self._encoder.format = "s16"
        self._encoder.bit_rate = bitrate
        self._encoder.time_base = Fraction(1, SAMPLE_RATE)
        self._encoder.options = {"application": "voip", "frame_duration": "20"}
        self._encoder.open()
        self._pts = 0

    def pause(self, seconds: float) -> None:
        """Count ``seconds`` of silence (nothing sent) before the next utterance."""
        if seconds > 0:
            frames = int(seconds * SAMPLE_RATE) // FRAME_SAMPLES
            self.timestamp = (self.timestamp + frames * FRAME_SAMPLES) & 0xFFFFFFFF

    def utterance(self, pcm: bytes) -> list[bytes]:
        """One utterance (16-bit mono PCM at 48 kHz) as RTP packets, 20 ms each."""
        samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
        if samples.size == 0:
            return []
        padding = -samples.size % FRAME_SAMPLES
        if padding:
            samples = np.concatenate([samples, np.zeros(padding, dtype="<i2")])
        payloads: list[bytes] = []
        for start in range(0, samples.size, FRAME_SAMPLES):
            chunk = samples[start : start + FRAME_SAMPLES].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = self._pts
            self._pts += FRAME_SAMPLES
            payloads += [bytes(p) for p in self._encoder.encode(frame)]
        packets = []
        for index, payload in enumerate(payloads):
            marker = 0x80 if index == 0 else 0
            header = _HEADER.pack(
                0x80, marker | self.payload_type, self.sequence, self.timestamp, self.ssrc
            )
            packets.append(header + payload)
            self.sequence = (self.sequence + 1) & 0xFFFF
            self.timestamp = (self.timestamp + FRAME_SAMPLES) & 0xFFFFFFFF
        return packets
