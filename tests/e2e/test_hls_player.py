"""The livestream player plays HLS in Chromium with hls.js: a stream made by ffmpeg, and an
event's livestream.

ffmpeg encodes a live HLS stream as the livestream's composer does (H.264 video, AAC audio,
one-second segments, a master playlist with two audio renditions: the floor in English and a French
channel, and a French WebVTT subtitle track). The browser opens the watch page of a livestream
link; its requests for the playlist and the segments are answered from ffmpeg's folder (the
server's own serving of livestreams is tested in tests/livestream). The test reads what the page
decoded: the video's frame count grows, the player runs hls.js, it starts on the floor, and picking
French in the page's menu loads the French rendition's segments and plays on; French subtitles show
their cues.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Route, expect

from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_accessibility import serious_violations
from tests.e2e.test_event_attendee import create_event, join_as_attendee
from tests.support.browser import TIMEOUT_MS, Attendee

MEETING = "m_live1"
TOKEN = "tok.abc_123-x"
TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".vtt": "text/vtt"}


@pytest.fixture
async def hls_dir(tmp_path: Path) -> AsyncIterator[Path]:
    """A live HLS stream written by ffmpeg while the test runs (stopped after it)."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None, "ffmpeg is needed (scripts/install installs it)"
    out = tmp_path / "hls"
    out.mkdir()
    # A caption each second, in French, as the WebVTT subtitle track.
    cues = tmp_path / "cues.srt"
    cues.write_text(
        "\n".join(
            f"{i + 1}\n00:{i // 60:02d}:{i % 60:02d},000 --> 00:{(i + 1) // 60:02d}:"
            f"{(i + 1) % 60:02d},000\nSous-titre {i}\n"
            for i in range(130)
        )
    )
    # fmt: off
    args = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-re",
        "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000",
        "-i", str(cues),
        "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
        "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "64k", "-c:s", "webvtt",
        "-t", "120",
        "-f", "hls", "-hls_time", "1", "-hls_list_size", "6",
        "-hls_flags", "independent_segments+delete_segments+temp_file",
        "-master_pl_name", "master.m3u8",
        "-var_stream_map",
        "v:0,agroup:aud,s:0,sgroup:subs,name:video,language:fr "
        "a:0,agroup:aud,language:en,name:floor,default:yes "
        "a:1,agroup:aud,language:fr,name:fr",
        str(out / "stream_%v.m3u8"),
    ]
    # fmt: on
    proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            playlist = out / "stream_video.m3u8"
            ready = (out / "master.m3u8").exists() and playlist.exists()
            if ready and playlist.read_text().count("#EXTINF") >= 3:
                break
            assert proc.returncode is None, "ffmpeg stopped"
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("ffmpeg wrote no playlist within 20 s")
        yield out
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def serve_stream(viewer: Attendee, folder: Path, requested: list[str]) -> None:
    """Answers the page's requests for the livestream's files from ``folder``."""

    async def handle(route: Route) -> None:
        name = route.request.url.split("?", 1)[0].rsplit("/", 1)[-1]
        path = folder / name
        if "/" in name or name.startswith(".") or not path.is_file():
            await route.fulfill(status=404, body="")
            return
        requested.append(name)
        body = path.read_bytes()
        cache = "no-cache" if name.endswith(".m3u8") else "max-age=3600"
        await route.fulfill(
            status=200,
            body=body,
            headers={"Content-Type": TYPES[path.suffix], "Cache-Control": cache},
        )

    await viewer.page.route(f"**/api/v1/live/{MEETING}/{TOKEN}/*", handle)


async def frames(viewer: Attendee, video: str = "watch-player-video") -> int:
    """Frames the page's player decoded so far."""
    return int(
        await viewer.page.evaluate(
            "testid => document.querySelector(`[data-testid=${testid}]`)"
            "?.getVideoPlaybackQuality().totalVideoFrames ?? 0",
            video,
        )
    )


async def wait_frames_grow(
    viewer: Attendee, by: int, what: str, video: str = "watch-player-video", timeout: float = 30
) -> int:
    start = await frames(viewer, video)
    deadline = time.monotonic() + timeout
    now = start
    while time.monotonic() < deadline:
        now = await frames(viewer, video)
        if now >= start + by:
            return now
        await asyncio.sleep(0.25)
    raise AssertionError(f"{what}: decoded frames went from {start} to {now} only")


async def test_hls_player_plays_and_switches_the_audio_rendition(
    open_attendee: OpenAttendee, hls_dir: Path
) -> None:
    viewer = await open_attendee("Vera")
    requested: list[str] = []
    await serve_stream(viewer, hls_dir, requested)
    await viewer.page.goto(f"{viewer.base_url}/live/{MEETING}/{TOKEN}")
    player = viewer.by_testid("watch-player")
    await expect(player).to_have_attribute("data-engine", "hls.js", timeout=TIMEOUT_MS)
    await wait_frames_grow(viewer, 25, "video plays")
    await expect(player).to_have_attribute("data-audio-tracks", "2", timeout=TIMEOUT_MS)
    await expect(player).to_have_attribute("data-audio-lang", "en")
    assert any(name.startswith("stream_floor") and name.endswith(".ts") for name in requested)
    assert not any(name.startswith("stream_fr") for name in requested)

    # The listener picks French: hls.js switches to the French rendition and plays on.
    menu = viewer.by_testid("watch-audio")
    await viewer.expect_visible(menu)
    await menu.select_option("fr")
    await expect(player).to_have_attribute("data-audio-lang", "fr", timeout=TIMEOUT_MS)
    await expect(player).to_have_attribute("data-audio-track", "1")
    deadline = time.monotonic() + 20
    while not any(n.startswith("stream_fr") and n.endswith(".ts") for n in requested):
        assert time.monotonic() < deadline, f"no French segment was loaded: {requested[-10:]}"
        await asyncio.sleep(0.2)
    await wait_frames_grow(viewer, 25, "video plays on after the switch")

    # French subtitles: the WebVTT track is shown and its cues arrive.
    await expect(player).to_have_attribute("data-subtitle-tracks", "1", timeout=TIMEOUT_MS)
    await expect(player).to_have_attribute("data-subtitle-track", "-1")
    await viewer.by_testid("watch-subtitles").select_option("fr")
    await expect(player).to_have_attribute("data-subtitle-track", "0", timeout=TIMEOUT_MS)
    deadline = time.monotonic() + 20
    while True:
        shown = await viewer.page.evaluate(
            """() => [...document.querySelector('[data-testid=watch-player-video]').textTracks]
                .filter((t) => t.mode === 'showing')
                .flatMap((t) => [...(t.cues ?? [])].map((c) => c.text))"""
        )
        if any(text.startswith("Sous-titre") for text in shown):
            break
        assert time.monotonic() < deadline, f"no subtitle cue was shown: {shown}"
        await asyncio.sleep(0.25)
    await viewer.by_testid("watch-subtitles").select_option("off")
    await expect(player).to_have_attribute("data-subtitle-track", "-1")
    played = await viewer.page.evaluate(
        "() => document.querySelector('[data-testid=watch-player-video]').currentTime"
    )
    assert played > 1
    assert await serious_violations(viewer) == []


async def test_an_attendee_watches_the_event_s_livestream(open_attendee: OpenAttendee) -> None:
    """The whole way: the host starts the livestream from the audience panel (the server's
    embedded worker runs ffmpeg), an attendee switches to "Watch the stream" and hls.js plays
    the server's signed playlist; back to "Watch live", the host's camera plays over WebRTC."""
    hana = await open_attendee("Hana")
    await hana.sign_up("hana@example.org")
    await create_event(hana)
    hana_id = await hana.participant_id()
    link = await hana.invite_link()

    panel = await hana.open_panel("audience-button", "audience-panel")
    controls = panel.get_by_test_id("livestream-controls")
    start = controls.get_by_test_id("livestream-start")
    await expect(start).to_be_enabled(timeout=30_000)
    # The RTMP URL is typed masked, and a wrong one is refused before anything is sent.
    rtmp = controls.get_by_test_id("livestream-rtmp")
    await expect(rtmp).to_have_attribute("type", "password")
    await rtmp.fill("https://example.org/app/secret-key")
    await start.click()
    await hana.expect_visible(controls.get_by_test_id("livestream-rtmp-error"))
    await rtmp.fill("")
    await start.click()
    await expect(controls).to_have_attribute("data-state", "live", timeout=60_000)
    await expect(controls.get_by_test_id("livestream-url")).to_contain_text("/master.m3u8")
    await expect(controls.get_by_test_id("livestream-watch-url")).to_contain_text("/live/")
    await hana.expect_visible(hana.by_testid("live-badge"))

    ari = await open_attendee("Ari")
    await join_as_attendee(ari, link)
    await ari.expect_visible(ari.by_testid("live-badge"))
    await ari.by_testid("watch-stream").click()
    await expect(ari.by_testid("watch-stream")).to_have_attribute("aria-pressed", "true")
    player = ari.by_testid("hls-player")
    await expect(player).to_have_attribute("data-engine", "hls.js", timeout=TIMEOUT_MS)
    await wait_frames_grow(ari, 15, "the livestream plays", video="hls-player-video", timeout=60)
    # Nothing is received over WebRTC meanwhile.
    await expect(ari.tile_of(hana_id)).to_have_count(0)

    await ari.by_testid("watch-live").click()
    await ari.wait_video_playing(ari.tile_of(hana_id))

    await controls.get_by_test_id("livestream-stop").click()
    await expect(controls).to_have_attribute("data-state", "off", timeout=30_000)
