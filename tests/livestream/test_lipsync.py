"""Lip sync: a flash and a beep sent at the same moment come out of the HLS stream together."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import struct
import subprocess
import time
from pathlib import Path

import numpy as np

from convene.livestream.composer import Composer, ComposerSpec
from convene.livestream.hls import parse_media_playlist
from convene.livestream.vp8 import packetise, slate_frames
from convene.worker.opus_rtp import OpusPacketiser

EVENTS = (5.0, 8.0, 11.0)  # seconds after the senders start: white and a 1 kHz beep, 0.5 s
LENGTH = 0.5
TOLERANCE = 0.15  # seconds; lip sync is noticed from about 0.1 s (audio early) or 0.2 s (late)


def flashing(at: float) -> bool:
    return any(e <= at < e + LENGTH for e in EVENTS)


async def send(video_port: int, audio_port: int) -> None:
    """30 fps VP8 (black, white during the events, a keyframe each 0.5 s and at each change)
    and 20 ms Opus packets (silence, a beep during the events), both timed by when each
    frame is due, so a late loop moves neither against the other."""
    black = slate_frames(160, 96, 15, (16, 128, 128))
    white = slate_frames(160, 96, 15, (235, 128, 128))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    packetiser = OpusPacketiser(ssrc=5)
    seq, frame, block = 0, 0, 0
    shown: tuple[bytes, ...] | None = None
    index = 0
    start = time.monotonic()
    try:
        while frame / 30 < EVENTS[-1] + 2:
            while block * 0.02 <= frame / 30:
                at = block * 0.02
                n = np.arange(block * 960, (block + 1) * 960)
                loud = 0.5 * 32767 * np.sin(2 * math.pi * 1000 * n / 48_000)
                wave = loud if flashing(at) else np.zeros(960)
                for packet in packetiser.utterance(wave.astype("<i2").tobytes()):
                    sock.sendto(packet, ("127.0.0.1", audio_port))
                block += 1
            frames = white if flashing(frame / 30) else black
            if frames is not shown:
                shown, index = frames, 0
            payloads = packetise(frames[index % len(frames)])
            index += 1
            for i, payload in enumerate(payloads):
                marker = 0x80 if i == len(payloads) - 1 else 0
                header = struct.pack("!BBHII", 0x80, marker | 96, seq, frame * 3000, 9)
                sock.sendto(header + payload, ("127.0.0.1", video_port))
                seq = (seq + 1) % 65536
            frame += 1
            await asyncio.sleep(max(0.0, start + frame / 30 - time.monotonic()))
    finally:
        sock.close()


def flashes(out: Path) -> list[float]:
    """When the picture turns white, on the stream's timeline."""
    command = [
        "ffmpeg", "-v", "info", "-copyts", "-i", str(out / "video" / "index.m3u8"),
        "-vf", "scale=8:8,format=gray,showinfo", "-f", "null", "-",
    ]  # fmt: skip
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
    )
    times, bright = [], False
    for line in result.stderr.splitlines():
        if "pts_time:" not in line or "mean:[" not in line:
            continue
        at = float(line.split("pts_time:")[1].split()[0])
        now = int(line.split("mean:[")[1].split("]")[0].split()[0]) > 128
        if now and not bright:
            times.append(at)
        bright = now
    return times


def beeps(out: Path) -> list[float]:
    """When the floor's audio turns loud, on the stream's timeline (segment by segment)."""
    times, loud = [], False
    folder = out / "audio-floor"
    for segment in parse_media_playlist((folder / "index.m3u8").read_text()):
        path = folder / segment.uri
        probe = subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-show_entries",
                "format=start_time",
                "-of",
                "json",
                str(path),
            ],
            capture_output=True,
            timeout=30,
        )
        start = json.loads(probe.stdout or b"{}").get("format", {}).get("start_time")
        if start is None:
            continue  # a silent segment too short for ffprobe to recognise
        pcm = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"],
            capture_output=True,
            timeout=30,
        ).stdout
        samples = np.abs(np.frombuffer(pcm, dtype="<i2").astype(np.float64))
        for k in range(0, len(samples), 240):
            now = bool(samples[k : k + 240].max(initial=0) > 3000)
            if now and not loud:
                times.append(float(start) + k / 48_000)
            loud = now
    return times


async def test_a_flash_and_a_beep_sent_together_come_out_together(tmp_path: Path) -> None:
    out = tmp_path / "hls"
    composer = Composer(ComposerSpec(out_dir=out, width=320, height=180, video_kbps=300))
    video_port = composer.add_video_source("camera")
    composer.set_program("camera")
    audio_port = composer.add_audio_source("microphone", None)
    await composer.start()
    try:
        await send(video_port, audio_port)
        await asyncio.sleep(1.5)  # the last segments
    finally:
        await composer.stop()
    seen = await asyncio.to_thread(flashes, out)
    heard = await asyncio.to_thread(beeps, out)
    assert len(seen) >= 2, seen
    pairs = [(f, min(heard, key=lambda b: abs(b - f))) for f in seen]
    offsets = sorted(b - f for f, b in pairs)
    assert abs(offsets[len(offsets) // 2]) < TOLERANCE, offsets
