"""The ffmpeg command lines of a livestream: HLS with every rendition, and the RTMP push.

Both read the program's video as RTP/VP8 described by an SDP file (the switcher's output) and
raw 48 kHz mono PCM from inherited pipes (the mixer's renditions). Video is encoded to H.264
(libx264 veryfast, zerolatency) with a keyframe at each segment boundary, audio to AAC. The HLS
output puts each stream in a playlist of its own (``-var_stream_map``): ``video/``, then
``audio-floor/`` and ``audio-<language>/`` per channel; ``append_list`` makes a restarted run
continue the playlists (higher media sequence numbers, a discontinuity at the seam).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "AUDIO_KBPS",
    "FLOOR_NAME",
    "FRAME_RATE",
    "HLS_LIST_SIZE",
    "channel_name",
    "free_udp_port",
    "h264_codecs",
    "hls_command",
    "rtmp_command",
    "sdp",
]

FRAME_RATE = 30
AUDIO_KBPS = 96
HLS_LIST_SIZE = 12
FLOOR_NAME = "audio-floor"
VIDEO_NAME = "video"


def channel_name(language: str) -> str:
    return f"audio-{language}"


def free_udp_port(host: str = "127.0.0.1") -> int:
    """An even UDP port on ``host`` with the next one free too (RTP and its RTCP)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as first:
            first.bind((host, 0))
            port = int(first.getsockname()[1])
            if port % 2 or port >= 65535:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
                try:
                    second.bind((host, port + 1))
                except OSError:
                    continue
            return port
    raise OSError("no free pair of UDP ports")


def sdp(host: str, port: int, payload_type: int = 96) -> str:
    """The session description of the switcher's VP8 output to ``host:port``."""
    return (
        "v=0\r\n"
        f"o=- 0 0 IN IP4 {host}\r\n"
        "s=convene program\r\n"
        f"c=IN IP4 {host}\r\n"
        "t=0 0\r\n"
        f"m=video {port} RTP/AVP {payload_type}\r\n"
        f"a=rtpmap:{payload_type} VP8/90000\r\n"
        "a=recvonly\r\n"
    )


def _level(width: int, height: int) -> tuple[str, int]:
    """The H.264 level for the picture size at FRAME_RATE: its name and its number."""
    pixels = width * height
    if pixels <= 1280 * 720:
        return "3.1", 31
    if pixels <= 1920 * 1088:
        return "4.0", 40
    return "5.1", 51


def h264_codecs(width: int, height: int) -> str:
    """The CODECS attribute of the variant: H.264 High at its level, AAC-LC."""
    return f"avc1.6400{_level(width, height)[1]:02x},mp4a.40.2"


def _inputs(sdp_file: Path, audio_fds: Sequence[int]) -> list[str]:
    args = [
        "-hide_banner", "-nostdin", "-loglevel", "warning", "-nostats",
        "-progress", "pipe:1", "-stats_period", "1",
        "-protocol_whitelist", "file,udp,rtp",
        "-thread_queue_size", "1024", "-reorder_queue_size", "64",
        "-analyzeduration", "1000000",
        "-i", str(sdp_file),
    ]  # fmt: skip
    for fd in audio_fds:
        args += [
            "-thread_queue_size", "1024",
            "-f", "s16le", "-ar", "48000", "-ac", "1", "-channel_layout", "mono",
            "-i", f"pipe:{fd}",
        ]  # fmt: skip
    return args


def _video(width: int, height: int, kbps: int, segment_seconds: float) -> list[str]:
    fit = (
        f"fps={FRAME_RATE},"
        f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p"
    )
    return [
        "-vf", fit,
        "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
        "-profile:v", "high", "-level:v", _level(width, height)[0],
        "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{2 * kbps}k",
        "-g", str(max(1, round(FRAME_RATE * segment_seconds * 2))), "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{segment_seconds:g})",
    ]  # fmt: skip


def hls_command(
    *,
    sdp_file: Path,
    audio_fds: Sequence[int],
    out_dir: Path,
    channels: Sequence[str],
    width: int,
    height: int,
    video_kbps: int,
    segment_seconds: float,
) -> list[str]:
    """ffmpeg's arguments for the HLS output: ``audio_fds`` are the floor, then each channel."""
    if len(audio_fds) != 1 + len(channels):
        raise ValueError("one audio pipe for the floor and one per channel")
    args = _inputs(sdp_file, audio_fds)
    args += ["-map", "0:v:0"]
    for index in range(len(audio_fds)):
        args += ["-map", f"{index + 1}:a:0"]
    args += _video(width, height, video_kbps, segment_seconds)
    args += ["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-ar", "48000", "-ac", "1"]
    names = [FLOOR_NAME] + [channel_name(c) for c in channels]
    stream_map = " ".join(
        [f"v:0,name:{VIDEO_NAME}"] + [f"a:{i},name:{name}" for i, name in enumerate(names)]
    )
    args += [
        "-f", "hls", "-hls_time", f"{segment_seconds:g}",
        "-hls_list_size", str(HLS_LIST_SIZE),
        "-hls_flags",
        "delete_segments+append_list+temp_file+program_date_time+independent_segments",
        "-hls_segment_type", "mpegts",
        # Each audio frame its own PES packet: none held back past a segment's end (a quiet
        # rendition's segment was left without a whole packet), and none waits to fill up.
        "-hls_segment_options", "pes_payload_size=0",
        "-hls_segment_filename", str(out_dir / "%v" / "seg_%05d.ts"),
        "-var_stream_map", stream_map,
        str(out_dir / "%v" / "index.m3u8"),
    ]  # fmt: skip
    return args


def rtmp_command(
    *,
    sdp_file: Path,
    audio_fd: int,
    url: str,
    width: int,
    height: int,
    video_kbps: int,
) -> list[str]:
    """ffmpeg's arguments for the RTMP push: the program with the floor, as FLV."""
    args = _inputs(sdp_file, [audio_fd])
    args += ["-map", "0:v:0", "-map", "1:a:0"]
    args += _video(width, height, video_kbps, 1.0)
    args += ["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "1"]
    args += ["-f", "flv", "-flvflags", "no_duration_filesize", url]
    return args
