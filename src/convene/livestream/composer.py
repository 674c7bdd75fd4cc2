"""The livestream composer: a meeting's program as HLS (and RTMP), every language in it.

A :class:`Composer` receives the media the server forwards from Janus (``rtp_forward``): VP8
video sources, one of which is the program, and Opus audio sources, the floor and each
interpretation channel's voice. It runs ffmpeg as a supervised child, which writes
``out_dir/master.m3u8``: one H.264 video variant, an AAC audio rendition per language (the
floor, and each channel mixed over the ducked floor) and a WebVTT subtitle track per caption
language.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from convene.livestream import commands
from convene.livestream.ffmpeg import FfmpegChild, FfmpegRun
from convene.livestream.hls import (
    AudioRendition,
    SubtitleTrack,
    VideoTimeline,
    atomic_write,
    master_playlist,
    valid_language,
)
from convene.livestream.mixer import DELAY_FRAMES, AudioMixer
from convene.livestream.switcher import VideoSwitcher

__all__ = ["Composer", "ComposerHealth", "ComposerSpec"]

log = logging.getLogger(__name__)

ComposerState = Literal["starting", "live", "restarting", "failed", "stopped"]
RtmpState = Literal["off", "connecting", "live", "failed"]

PORT_WAIT_SECONDS = 10.0  # for ffmpeg to open its RTP port, before the run's clock starts
# ffmpeg binds its RTP port a little before it reads from it: a keyframe sent at once was
# sometimes lost, and ffmpeg's timeline then began at the next one while the audio's began at
# the lost one (the audio came out half a second late). This long after the port is bound.
PORT_SETTLE_SECONDS = 0.5
STUCK_SECONDS = 10.0  # a run that reported no headway this long is killed (and restarted)
SLOW_SPEED = 0.9  # ffmpeg's speed under which health says the stream falls behind
_HOUSEKEEPING = 0.25
_MAX_KEY = 200


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

    def validate(self) -> None:
        """Raise ValueError saying what is wrong with this spec."""
        for language in (*self.channels, *self.subtitles):
            if not valid_language(language):
                raise ValueError(f"not a language tag: {language!r}")
        if self.floor_language is not None and not valid_language(self.floor_language):
            raise ValueError(f"not a language tag: {self.floor_language!r}")
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("a channel language is listed twice")
        if len(set(self.subtitles)) != len(self.subtitles):
            raise ValueError("a subtitle language is listed twice")
        if not (math.isfinite(self.segment_seconds) and 0.5 <= self.segment_seconds <= 10):
            raise ValueError("segment_seconds must be between 0.5 and 10")
        for name, size in (("width", self.width), ("height", self.height)):
            if not 64 <= size <= 3840 or size % 2:
                raise ValueError(f"{name} must be even, from 64 to 3840")
        if not 100 <= self.video_kbps <= 50_000:
            raise ValueError("video_kbps must be from 100 to 50000")
        if self.rtmp_url is not None and not self.rtmp_url.lower().startswith(
            ("rtmp://", "rtmps://")
        ):
            raise ValueError("rtmp_url must be an rtmp:// or rtmps:// URL")


@dataclass(frozen=True, slots=True)
class ComposerHealth:
    state: ComposerState
    restarts: int
    last_error: str | None
    segment_age_seconds: float | None  # since the newest segment was written
    rtmp: RtmpState


def _language_name(tag: str) -> str:
    """The language's own name (``français``), or the tag when it is not known."""
    try:
        from babel import Locale, UnknownLocaleError

        name = Locale.parse(tag.replace("-", "_")).get_display_name()
    except (ValueError, UnknownLocaleError, ImportError):
        return tag
    return name or tag


def _udp_port_bound(port: int) -> bool:
    """Whether some socket of this host is bound to UDP ``port`` (Linux's /proc/net/udp)."""
    suffix = f":{port:04X}"
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        if any(line.split()[1].endswith(suffix) for line in lines if len(line.split()) > 1):
            return True
    return False


class _Output:
    """One ffmpeg child fed by the switcher and the mixer, one run at a time."""

    def __init__(self, composer: Composer, name: str, renditions: Sequence[int]) -> None:
        self._composer = composer
        self.name = name
        self.renditions = tuple(renditions)  # which of the mixer's frames go to its pipes
        self.workdir = composer.workdir
        self.port = 0
        self.started_wall: float | None = None  # the run's 0 on the wall clock
        self._feeder: asyncio.Task[None] | None = None
        self._sink: Callable[[Sequence[bytes]], None] | None = None

    def sdp_file(self, fds: Sequence[int]) -> Path:
        """A new port and its SDP file for the next run."""
        host = self._composer.spec.bind_host
        self.port = commands.free_udp_port(host)
        path = self.workdir / f"{self.name}.sdp"
        atomic_write(path, commands.sdp(host, self.port))
        return path

    def on_run(self, run: FfmpegRun) -> None:
        self._feeder = asyncio.create_task(self._feed(run), name=f"livestream-feed-{self.name}")

    async def _feed(self, run: FfmpegRun) -> None:
        deadline = time.monotonic() + PORT_WAIT_SECONDS
        while not _udp_port_bound(self.port) and time.monotonic() < deadline:
            if run.process.returncode is not None:
                return
            await asyncio.sleep(0.02)
        await asyncio.sleep(PORT_SETTLE_SECONDS)
        host = self._composer.spec.bind_host
        pipes = run.pipes

        skip = DELAY_FRAMES

        def sink(frames: Sequence[bytes]) -> None:
            # The first frames out of the mixer carry audio from before the video's first
            # frame (the mixer holds a little): dropped, so the run's 0 is the same in both.
            nonlocal skip
            if skip > 0:
                skip -= 1
                return
            for pipe, index in zip(pipes, self.renditions, strict=True):
                pipe.write(frames[index])

        def first_packet() -> None:
            # The run's timeline starts now: its audio from this frame on, its subtitles too.
            self.started_wall = time.time()
            log.info("livestream %s: run %d starts its timeline", self.name, run.number)
            self._sink = sink
            self._composer.mixer.add_sink(sink)
            self._composer.run_started(self)

        self._composer.switcher.add_output(host, self.port, first_packet)

    def on_run_end(self, run: FfmpegRun) -> None:
        if self._feeder is not None:
            self._feeder.cancel()
            self._feeder = None
        self._composer.switcher.remove_output(self._composer.spec.bind_host, self.port)
        if self._sink is not None:
            self._composer.mixer.remove_sink(self._sink)
            self._sink = None
        self.started_wall = None
        self._composer.run_ended(self)


class Composer:
    """See the module docstring. Call every method from the event loop's thread."""

    def __init__(
        self,
        spec: ComposerSpec,
        *,
        ffmpeg: str = "ffmpeg",
        on_keyframe_needed: Callable[[str], None] | None = None,
    ) -> None:
        spec.validate()
        self.spec = spec
        self._ffmpeg = ffmpeg
        self._on_keyframe_needed = on_keyframe_needed
        self.workdir = Path(tempfile.gettempdir())  # a private folder of its own from start()
        self.switcher = VideoSwitcher(
            width=spec.width,
            height=spec.height,
            host=spec.bind_host,
            on_keyframe_needed=self._keyframe_needed,
        )
        self.mixer = AudioMixer(spec.channels, host=spec.bind_host)
        self._subtitles: dict[str, SubtitleTrack] = {}
        self._hls_output = _Output(self, "hls", range(1 + len(spec.channels)))
        self.hls = FfmpegChild(
            "hls",
            binary=ffmpeg,
            command=self._hls_command,
            audio_inputs=1 + len(spec.channels),
            on_run=self._hls_output.on_run,
            on_run_end=self._hls_output.on_run_end,
        )
        self._rtmp_output: _Output | None = None
        self.rtmp: FfmpegChild | None = None
        if spec.rtmp_url:
            self._rtmp_output = _Output(self, "rtmp", (0,))
            self.rtmp = FfmpegChild(
                "rtmp",
                binary=ffmpeg,
                command=self._rtmp_command,
                audio_inputs=1,
                on_run=self._rtmp_output.on_run,
                on_run_end=self._rtmp_output.on_run_end,
                secrets=(spec.rtmp_url,),
            )
        self._state: ComposerState = "stopped"
        self._segment_at: float | None = None  # wall clock of the newest video segment
        self._playlist_mtime: float | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self._last_error: str | None = None
        self._video_playlist = spec.out_dir / "video" / "index.m3u8"
        self._timeline = VideoTimeline()

    # -- life ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start ffmpeg, supervised (restarted when it exits); OSError when it cannot start."""
        if self._housekeeping is not None:
            return
        spec = self.spec
        self.workdir = Path(tempfile.mkdtemp(prefix="convene-livestream-"))
        self._state = "starting"  # from here on, stop() undoes what was done
        for output in (self._hls_output, self._rtmp_output):
            if output is not None:
                output.workdir = self.workdir
        try:
            spec.out_dir.mkdir(parents=True, exist_ok=True)
            for language in spec.subtitles:
                folder = spec.out_dir / f"subs-{language}"
                self._subtitles[language] = SubtitleTrack(folder, language)
            try:
                existing: str | None = self._video_playlist.read_text()
            except OSError:
                existing = None
            self._timeline = VideoTimeline(existing)
            self._write_master()
            self.switcher.attach()
            self.mixer.attach()
            await self.hls.start()
            if self.rtmp is not None:
                await self.rtmp.start()
        except BaseException:
            await self.stop()
            raise
        self._housekeeping = asyncio.create_task(self._keep(), name="livestream-housekeeping")

    async def stop(self) -> None:
        task, self._housekeeping = self._housekeeping, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.hls.stop()
        if self.rtmp is not None:
            await self.rtmp.stop()
        await self.switcher.close()
        await self.mixer.close()
        for track in self._subtitles.values():
            track.end_run()
            with contextlib.suppress(OSError):
                track.finish()
        if self._state != "stopped":
            shutil.rmtree(self.workdir, ignore_errors=True)
        self._state = "stopped"

    def health(self) -> ComposerHealth:
        age = None if self._segment_at is None else max(0.0, time.time() - self._segment_at)
        state = self._state
        if state != "stopped":
            child = self.hls.state
            if child == "failed":
                state = "failed"
            elif child == "restarting":
                state = "restarting"
            elif age is not None and age < 3 * self.spec.segment_seconds + 3:
                state = "live"
            elif self._segment_at is not None:
                state = "restarting"  # segments stopped coming: the watch restarts the run
        rtmp: RtmpState = "off"
        if self.rtmp is not None:
            rtmp = {"running": "live", "failed": "failed"}.get(self.rtmp.state, "connecting")  # type: ignore[assignment]
        last_error = self.hls.last_error
        run = self.hls.run
        if (
            run is not None
            and run.speed is not None
            and run.speed < SLOW_SPEED
            and time.monotonic() - run.started > 10
        ):
            # Slower than real time: the stream falls ever further behind (a busy machine).
            last_error = f"ffmpeg encodes at {run.speed:.2f}x real time"
        if self.rtmp is not None and self.rtmp.last_error and last_error is None:
            last_error = f"rtmp: {self.rtmp.last_error}"
        return ComposerHealth(state, self.hls.restarts, last_error, age, rtmp)

    @property
    def run_started_at(self) -> float | None:
        """The wall clock (``time.time()``) of the current HLS run's 0, once it has one."""
        return self._hls_output.started_wall

    # -- sources ---------------------------------------------------------------------------------

    def add_video_source(self, key: str) -> int:
        """A VP8 RTP source (payload type 96, 90 kHz); the UDP port to forward it to."""
        return self.switcher.add_source(_key(key))

    def remove_video_source(self, key: str) -> None:
        self.switcher.remove_source(key)

    def set_program(self, key: str | None) -> None:
        """Show source ``key`` from its next keyframe (None: a black slate)."""
        self.switcher.set_program(None if key is None else _key(key))

    def add_audio_source(self, key: str, channel: str | None) -> int:
        """An Opus RTP source (payload type 111, 48 kHz) of the floor (``channel`` None) or of a
        channel's voice; the UDP port to forward it to. ValueError for a channel not in the
        spec."""
        return self.mixer.add_source(_key(key), channel)

    def remove_audio_source(self, key: str) -> None:
        self.mixer.remove_source(key)

    def add_cue(self, language: str, start_ms: int, end_ms: int, text: str) -> None:
        """A final caption line (wall-clock times, ``time.time() * 1000``) for a subtitle
        track; ValueError for a language not in the spec. Dropped while no run is live."""
        track = self._subtitles.get(language)
        if track is None:
            if language in self.spec.subtitles:
                return  # not started yet
            raise ValueError(f"no subtitle track for {language!r}")
        track.add_cue(start_ms / 1000, end_ms / 1000, text)

    # -- runs ------------------------------------------------------------------------------------

    def _hls_command(self, fds: Sequence[int]) -> list[str]:
        spec = self.spec
        return commands.hls_command(
            sdp_file=self._hls_output.sdp_file(fds),
            audio_fds=fds,
            out_dir=spec.out_dir,
            channels=spec.channels,
            width=spec.width,
            height=spec.height,
            video_kbps=spec.video_kbps,
            segment_seconds=spec.segment_seconds,
        )

    def _rtmp_command(self, fds: Sequence[int]) -> list[str]:
        spec = self.spec
        assert self._rtmp_output is not None
        assert spec.rtmp_url is not None
        return commands.rtmp_command(
            sdp_file=self._rtmp_output.sdp_file(fds),
            audio_fd=fds[0],
            url=spec.rtmp_url,
            width=spec.width,
            height=spec.height,
            video_kbps=spec.video_kbps,
        )

    def run_started(self, output: _Output) -> None:
        if output is self._hls_output and output.started_wall is not None:
            self._timeline.start_run()
            for track in self._subtitles.values():
                track.start_run(output.started_wall)

    def run_ended(self, output: _Output) -> None:
        if output is self._hls_output:
            for track in self._subtitles.values():
                track.end_run()

    def _keyframe_needed(self, key: str) -> None:
        if self._on_keyframe_needed is not None:
            self._on_keyframe_needed(key)

    def _write_master(self) -> None:
        spec = self.spec
        floor = spec.floor_language or "und"
        floor_name = _language_name(floor) if spec.floor_language else "Floor"
        audio = [
            AudioRendition(f"{commands.FLOOR_NAME}/index.m3u8", floor, floor_name, default=True)
        ]
        for channel in spec.channels:
            name = _language_name(channel)
            if name == floor_name:
                name = f"{name} ({channel})"
            uri = f"{commands.channel_name(channel)}/index.m3u8"
            audio.append(AudioRendition(uri, channel, name))
        subtitles = [
            (f"subs-{language}/index.m3u8", language, _language_name(language))
            for language in spec.subtitles
        ]
        text = master_playlist(
            video_uri="video/index.m3u8",
            bandwidth=(spec.video_kbps + commands.AUDIO_KBPS) * 1000,
            width=spec.width,
            height=spec.height,
            codecs=commands.h264_codecs(spec.width, spec.height),
            audio=audio,
            subtitles=subtitles,
        )
        atomic_write(spec.out_dir / "master.m3u8", text)

    def _follow_video(self) -> None:
        """When ffmpeg listed a new video segment: its age, and the subtitle segments due."""
        try:
            mtime = self._video_playlist.stat().st_mtime
            if mtime == self._playlist_mtime:
                return
            text = self._video_playlist.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        self._playlist_mtime = mtime
        self._segment_at = mtime
        for segment, start in self._timeline.new_segments(text):
            for track in self._subtitles.values():
                try:
                    track.write(segment, start)
                except OSError as exc:
                    log.warning("livestream subtitles %s: %s", track.language, exc)

    async def _keep(self) -> None:
        """Subtitle segments when due, the newest segment's age, the watch on stuck runs."""
        while True:
            await asyncio.sleep(_HOUSEKEEPING)
            self._follow_video()
            for child in (self.hls, self.rtmp):
                run = child.run if child is not None else None
                if run is None or run.process.returncode is not None:
                    continue
                last = run.progress_at or run.started
                if time.monotonic() - last > STUCK_SECONDS + (
                    0 if run.progress_at else PORT_WAIT_SECONDS
                ):
                    assert child is not None
                    log.warning("ffmpeg %s made no headway: killing it", child.name)
                    run.progress_at = time.monotonic()
                    with contextlib.suppress(ProcessLookupError):
                        run.process.kill()


def _key(key: str) -> str:
    if not isinstance(key, str) or not key or len(key) > _MAX_KEY:
        raise ValueError("a source key is a non-empty string of at most 200 characters")
    return key
