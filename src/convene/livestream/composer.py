"""The livestream composer: a meeting's program as HLS (and RTMP), every language in it.

A :class:`Composer` receives the media the server forwards from Janus (``rtp_forward``): VP8
video sources, one of which is the program, and Opus audio sources, the floor and each
interpretation channel's voice. It runs ffmpeg as a supervised child, which writes
``out_dir/master.m3u8``: one H.264 video variant, an AAC audio rendition per language (the
floor, and each channel mixed over the ducked floor) and a WebVTT subtitle track per caption
language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["Composer", "ComposerHealth", "ComposerSpec"]

ComposerState = Literal["starting", "live", "restarting", "failed", "stopped"]
RtmpState = Literal["off", "connecting", "live", "failed"]


@dataclass(frozen=True, slots=True)
class ComposerSpec:
    """What one livestream carries and where it goes."""

    out_dir: Path  # HLS output folder (master.m3u8 and the variant playlists)
    channels: tuple[str, ...] = ()  # interpretation channel languages; the floor is always there
    subtitles: tuple[str, ...] = ()  # caption languages: one WebVTT track each
    floor_language: str | None = None  # the floor's language tag when known (else "und")
    segment_seconds: float = 1.0
    width: int = 1280
    height: int = 720
    video_kbps: int = 2500
    rtmp_url: str | None = None  # also push the program (floor audio) here; a secret
    bind_host: str = "127.0.0.1"  # where RTP is received


@dataclass(frozen=True, slots=True)
class ComposerHealth:
    state: ComposerState
    restarts: int
    last_error: str | None
    segment_age_seconds: float | None  # since the newest segment was written
    rtmp: RtmpState


class Composer:
    """See the module docstring."""

    def __init__(
        self,
        spec: ComposerSpec,
        *,
        ffmpeg: str = "ffmpeg",
        on_keyframe_needed: Callable[[str], None] | None = None,
    ) -> None:
        self.spec = spec
        self._ffmpeg = ffmpeg
        self._on_keyframe_needed = on_keyframe_needed

    async def start(self) -> None:
        """Start ffmpeg, supervised (restarted when it exits)."""
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    def health(self) -> ComposerHealth:
        return ComposerHealth("stopped", 0, None, None, "off")

    def add_video_source(self, key: str) -> int:
        """A VP8 RTP source (payload type 96, 90 kHz); the UDP port to forward it to."""
        raise NotImplementedError

    def remove_video_source(self, key: str) -> None:
        raise NotImplementedError

    def set_program(self, key: str | None) -> None:
        """Show source ``key`` (None: a black slate)."""
        raise NotImplementedError

    def add_audio_source(self, key: str, channel: str | None) -> int:
        """An Opus RTP source (payload type 111, 48 kHz) of the floor (``channel`` None) or of a
        channel's voice; the UDP port to forward it to."""
        raise NotImplementedError

    def remove_audio_source(self, key: str) -> None:
        raise NotImplementedError

    def add_cue(self, language: str, start_ms: int, end_ms: int, text: str) -> None:
        """A final caption line (wall-clock times, ``time.time() * 1000``) for a subtitle track."""
        raise NotImplementedError
