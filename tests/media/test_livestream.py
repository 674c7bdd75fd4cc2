"""A meeting livestreamed through the real Janus, the real worker and ffmpeg, watched over HTTP.

Hana (host) publishes a camera and a 440 Hz tone with aiortc; Anna interprets into "fr" with a
660 Hz tone. Hana starts the livestream: the embedded worker is placed on it, Janus forwards
Hana's video and audio and Anna's voice to the composer, and the signed playlist URL serves
H.264 video (Hana's picture, not the slate) with one AAC rendition per language: the floor
(440 Hz) and "fr" (660 Hz over the ducked floor). Then ffmpeg is killed: the worker restarts it,
everyone is told (``health.restarts``) and the playlist goes on with new segments.

With captions on (the embedded worker's English model), what Alice says reaches the
livestream's English WebVTT track. With two cameras, the program follows the rules: the
spotlight over a camera, a screen share over the spotlight, and back when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from convene.livestream.hls import parse_media_playlist
from tests.livestream.media import ffprobe_streams, picture_colour, tone_level
from tests.media.test_interpretation import Member, join
from tests.media.tones import ToneTrack
from tests.support.janus import media_settings
from tests.support.peer import TestPeer
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient
from tests.worker.audio import SpeechTrack, speech_with_pauses, transcripts

FLOOR_HZ, FRENCH_HZ = 440.0, 660.0
CLIPS = [
    "sense_and_sensibility_01_austen_64kb-0880",
    "sense_and_sensibility_01_austen_64kb-0890",
]
# Bounds on waiting, not measurements: the child worker starts, then ffmpeg writes segments.
LIVE = 90.0
WAIT = 30.0


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(
        tmp_path, janus=media_settings(), translation={"enabled": False}
    ) as running:
        yield running


async def until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.1)


async def publish_camera(member: Member, frequency: float) -> None:
    """Publish the main feed: a camera and a tone."""
    sender = TestPeer(f"{member.name} main", video=True)
    sender.audio_track = ToneTrack(frequency)  # type: ignore[assignment]
    member.senders.append(sender)
    offer = await sender.create_offer()
    reply = await member.signal.request(
        "publish",
        {"source": "main", "jsep": {"type": "offer", "sdp": offer}, "audio": True, "video": True},
    )
    assert sorted(s["kind"] for s in reply["streams"]) == ["audio", "video"]
    member.feed = reply["feed"]
    await sender.apply_answer(reply["jsep"]["sdp"])
    await member.signal.wait_event("feed.added", lambda d: d["feed"]["id"] == member.feed)


def hls_ffmpeg(folder: Path) -> int | None:
    """The process id of the ffmpeg writing ``folder``'s HLS (a grandchild of the server)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        writes_here = any(str(folder).encode() in a for a in argv)
        if argv and argv[0].endswith(b"ffmpeg") and writes_here and b"hls" in argv:
            return int(entry.name)
    return None


class Watcher:
    """Reads the livestream over HTTP as a player does, keeping what it fetched in ``keep``."""

    def __init__(self, http: httpx.AsyncClient, url: str, keep: Path) -> None:
        self.http = http
        self.base = url.rsplit("/", 1)[0]
        self.master_url = url
        self.keep = keep
        keep.mkdir(parents=True, exist_ok=True)

    async def get(self, name: str) -> httpx.Response:
        response = await self.http.get(f"{self.base}/{name}")
        assert response.status_code == 200, (name, response.status_code)
        return response

    async def renditions(self) -> list[dict[str, str]]:
        text = (await self.http.get(self.master_url)).text
        found = []
        for line in text.splitlines():
            if line.startswith("#EXT-X-MEDIA:TYPE=AUDIO"):
                pairs = re.findall(r'([A-Z-]+)=(?:"([^"]*)"|([^,]*))', line.partition(":")[2])
                found.append({k: quoted or bare for k, quoted, bare in pairs})
        return found

    async def segments(self, playlist: str) -> list[Any]:
        text = (await self.get(playlist)).text
        return parse_media_playlist(text)

    async def newest(self, playlist: str) -> Path:
        """The newest segment of a media playlist, downloaded."""
        listed = await self.segments(playlist)
        assert listed, f"{playlist} lists no segment"
        folder = playlist.rsplit("/", 1)[0]
        name = f"{folder}/{listed[-1].uri}"
        path = self.keep / name.replace("/", "_")
        path.write_bytes((await self.get(name)).content)
        return path


async def test_a_panelist_is_livestreamed_with_a_channel_and_ffmpeg_is_restarted(
    server: RunningServer, tmp_path: Path
) -> None:
    hana_person = await server.sign_up("hana@example.org", "Hana")
    meeting = await hana_person.create_meeting(waiting_room=False)
    link, meeting_id = meeting["link_token"], meeting["id"]
    hana = await join(server, link, hana_person, "Hana")
    anna_person = server.guest()
    await anna_person.meeting_info(link)
    anna = await join(server, link, anna_person, "Anna")
    members = [hana, anna]
    try:
        await hana.signal.request(
            "interpretation.assign", {"participant": anna.pid, "languages": ["fr"]}
        )
        await publish_camera(hana, FLOOR_HZ)
        await anna.publish("interpretation", FRENCH_HZ)
        await hana.signal.wait_event(
            "interpretation.updated",
            lambda d: any(c["language"] == "fr" and c["on_air"] for c in d["channels"]),
            timeout=WAIT,
        )

        assert await hana.signal.request("livestream.start") == {}
        starting = await anna.signal.wait_event("livestream.updated")
        assert starting["audio"] == [None, "fr"]
        live = await anna.signal.wait_event(
            "livestream.updated", lambda d: d["state"] == "live", timeout=LIVE
        )
        service = server.app.state.livestream
        expected = {f"v-{hana.feed}", f"a-{hana.feed}", f"c-{anna.feed}"}
        await until(lambda: expected <= set(service.forwarded(meeting_id)), WAIT, "the forwards")

        async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
            watcher = Watcher(http, live["url"], tmp_path / "watched")
            renditions = await watcher.renditions()
            assert len(renditions) == 2
            assert renditions[0]["DEFAULT"] == "YES"
            assert [r.get("LANGUAGE") for r in renditions][1] == "fr"
            floor_playlist, french_playlist = (r["URI"] for r in renditions)

            # ffprobe reads the whole stream through the signed URL: H.264 and AAC, one audio
            # stream per rendition.
            streams = await ffprobe_streams(server.base_url + live["url"])  # type: ignore[arg-type]
            codecs = [str(s["codec_name"]) for s in streams]
            assert "h264" in codecs
            assert codecs.count("aac") == len(renditions)

            # The program is Hana's camera (grey frames), not the black slate; each rendition
            # carries its language's tone.
            async def heard() -> bool:
                video = await watcher.newest("video/index.m3u8")
                floor = await watcher.newest(floor_playlist)
                french = await watcher.newest(french_playlist)
                colour = await picture_colour(video)
                return (
                    min(colour) > 60
                    and await tone_level(floor, FLOOR_HZ) > 10 * await tone_level(floor, FRENCH_HZ)
                    and await tone_level(french, FRENCH_HZ)
                    > 0.5 * await tone_level(french, FLOOR_HZ)
                )

            deadline = time.monotonic() + WAIT
            while not await heard():
                assert time.monotonic() < deadline, "the program and its tones never showed"
                await asyncio.sleep(1.0)

            # ffmpeg dies: restarted, everyone told, and the playlist goes on.
            before = await watcher.segments("video/index.m3u8")
            pid = hls_ffmpeg(service.out_dir(meeting_id).resolve())
            assert pid is not None, "no ffmpeg writes the livestream"
            os.kill(pid, signal.SIGKILL)
            restarted = await hana.signal.wait_event(
                "livestream.updated", lambda d: d["health"]["restarts"] >= 1, timeout=WAIT
            )
            assert restarted["state"] in ("live", "starting")

            async def goes_on() -> bool:
                after = await watcher.segments("video/index.m3u8")
                return bool(after) and after[-1].sequence >= before[-1].sequence + 3

            deadline = time.monotonic() + WAIT
            while not await goes_on():
                assert time.monotonic() < deadline, "no new segments after the restart"
                await asyncio.sleep(0.5)
            assert hls_ffmpeg(service.out_dir(meeting_id).resolve()) not in (None, pid)
            after = await watcher.segments("video/index.m3u8")
            numbers = [s.sequence for s in after]
            assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))

        assert await hana.signal.request("livestream.stop") == {}
        await anna.signal.wait_event("livestream.updated", lambda d: d["state"] == "off")
        await until(lambda: service.forwarded(meeting_id) == {}, WAIT, "the forwards stopped")
    finally:
        for member in members:
            await member.signal.close()
            for sender in member.senders:
                await sender.close()
            await member.peer.close()


async def test_the_captions_are_the_livestreams_subtitles(
    server: RunningServer, tmp_path: Path
) -> None:
    track = SpeechTrack(speech_with_pauses(CLIPS))
    peer = TestPeer("alice", video=False)
    peer.audio_track = track  # type: ignore[assignment]
    alice = await server.sign_up("alice@example.org", "Alice")
    info = await alice.create_meeting(waiting_room=False)
    host = await SignalClient.connect(server, alice)
    try:
        await host.join(info["link_token"], spoken_language="en")
        offer = await peer.create_offer()
        reply = await host.request(
            "publish", {"jsep": {"type": "offer", "sdp": offer}, "audio": True, "video": False}
        )
        await peer.apply_answer(reply["jsep"]["sdp"])
        await host.wait_event("feed.added", timeout=WAIT)
        await host.request("captions.start")
        await host.wait_event(
            "captions.updated", lambda d: d["active"] and d["transcribing"], timeout=LIVE
        )

        assert await host.request("livestream.start") == {}
        # Translation is off here: the panel's English is the one language with lines.
        starting = await host.wait_event("livestream.updated")
        assert starting["subtitles"] == ["en"]
        live = await host.wait_event(
            "livestream.updated", lambda d: d["state"] == "live", timeout=LIVE
        )
        service = server.app.state.livestream
        await until(
            lambda: f"a-{reply['feed']}" in service.forwarded(info["id"]), WAIT, "the forward"
        )
        captions = server.app.state.captions
        await until(
            lambda: (
                (status := captions.status(info["id"])) is not None
                and any(p.listening == "en" for p in status.publishers.values())
            ),
            LIVE,
            "Alice's audio forwarded to the captions worker",
        )
        track.play()
        await asyncio.wait_for(track.finished.wait(), 60)

        words = set(re.findall(r"[a-z']+", " ".join(transcripts()[c] for c in CLIPS).lower()))
        async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
            watcher = Watcher(http, live["url"], tmp_path / "watched")
            master = (await http.get(live["url"])).text
            assert re.search(r'TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="en"', master)

            async def cued() -> set[str]:
                heard: set[str] = set()
                for segment in await watcher.segments("subs-en/index.m3u8"):
                    text = (await watcher.get(f"subs-en/{segment.uri}")).text
                    assert text.startswith("WEBVTT")
                    cues = [line for line in text.splitlines() if line and "-->" not in line]
                    heard |= set(re.findall(r"[a-z']+", " ".join(cues[1:]).lower()))
                return heard & words

            deadline = time.monotonic() + WAIT * 2
            while len(await cued()) < 10:
                assert time.monotonic() < deadline, "the captions never reached the subtitles"
                await asyncio.sleep(1.0)
        assert await host.request("livestream.stop") == {}
    finally:
        await host.close()
        await peer.close()


async def publish_screen(member: Member) -> int:
    sender = TestPeer(f"{member.name} screen", audio=False, video=True)
    member.senders.append(sender)
    offer = await sender.create_offer()
    reply = await member.signal.request(
        "publish",
        {
            "source": "screen",
            "jsep": {"type": "offer", "sdp": offer},
            "audio": False,
            "video": True,
        },
    )
    await sender.apply_answer(reply["jsep"]["sdp"])
    feed: int = reply["feed"]
    await member.signal.wait_event("feed.added", lambda d: d["feed"]["id"] == feed)
    return feed


async def test_the_program_is_a_screen_share_else_the_spotlight_else_a_camera(
    server: RunningServer,
) -> None:
    hana_person = await server.sign_up("hana@example.org", "Hana")
    meeting = await hana_person.create_meeting(waiting_room=False)
    link, meeting_id = meeting["link_token"], meeting["id"]
    hana = await join(server, link, hana_person, "Hana")
    bob_person = server.guest()
    await bob_person.meeting_info(link)
    bob = await join(server, link, bob_person, "Bob")
    members = [hana, bob]
    try:
        await publish_camera(hana, FLOOR_HZ)
        await publish_camera(bob, FRENCH_HZ)
        assert await hana.signal.request("livestream.start") == {}
        await hana.signal.wait_event(
            "livestream.updated", lambda d: d["state"] == "live", timeout=LIVE
        )
        service = server.app.state.livestream
        cameras = {f"v-{hana.feed}", f"v-{bob.feed}"}
        await until(lambda: cameras <= set(service.forwarded(meeting_id)), WAIT, "both cameras")
        # Nobody spoke yet and nothing is shared: the first camera (Hana joined first), unless
        # a speaker took it meanwhile (both send a tone).
        assert service.program(meeting_id) in cameras

        # The spotlight wins over speakers.
        await hana.signal.request("host.spotlight", {"participant_ids": [bob.pid]})
        await until(
            lambda: service.program(meeting_id) == f"v-{bob.feed}", WAIT, "Bob on the program"
        )
        # The worker asked for Bob's keyframe when he went on air, and Janus was asked.
        await until(
            lambda: service.keyframes(meeting_id).get(f"v-{bob.feed}", 0) >= 1,
            WAIT,
            "a keyframe of Bob's camera",
        )

        # A screen share wins over the spotlight, and gives the program back when it ends.
        screen = await publish_screen(hana)
        await until(lambda: service.program(meeting_id) == f"v-{screen}", WAIT, "the screen share")
        await hana.signal.request("unpublish", {"source": "screen"})
        await until(lambda: service.program(meeting_id) == f"v-{bob.feed}", WAIT, "Bob again")
        await until(
            lambda: f"v-{screen}" not in service.forwarded(meeting_id), WAIT, "its forward gone"
        )

        # Bob leaves: the program goes back to Hana's camera.
        await bob.signal.request("leave")
        await until(lambda: service.program(meeting_id) == f"v-{hana.feed}", WAIT, "Hana's camera")
        assert await hana.signal.request("livestream.stop") == {}
    finally:
        for member in members:
            with contextlib.suppress(Exception):
                await member.signal.close()
            for sender in member.senders:
                await sender.close()
            await member.peer.close()
