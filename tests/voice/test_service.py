"""WorkerVoices: a machine channel opens a feed in the media room, follows the meeting's
captions and has the worker holding the meeting speak the finals translated into its language.

A hand-driven worker (as in tests/worker/test_link.py) claims the meeting and sends captions;
the server is real (its Janus, its apertium-apy), so the test reads what the worker is told.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import websockets

from convene.config import load_secrets
from convene.media.base import RoomOptions
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId, ParticipantId, new_feed_id
from convene.voice.service import WorkerVoices
from convene.worker.wire import (
    Caption,
    Claim,
    FromServer,
    Granted,
    Hello,
    Listen,
    Listening,
    Offer,
    Speak,
    SpeakClose,
    SpeakOpen,
    Welcome,
    decode_from_server,
    default_server_url,
    encode,
)
from tests.support.server import RunningServer, running_server
from tests.worker.processes import eventually

HELLO = encode(Hello(worker_id="w-voice", capacity=1, media_host="127.0.0.1", voices=["es"]))
# Bound on waiting for apertium-apy to start, not a measurement.
TRANSLATION_START = 60.0


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path / "server", worker={"embedded": False}) as running:
        yield running


async def next_of(ws: websockets.ClientConnection, kind: type, timeout: float = 10) -> FromServer:
    """The next message of ``kind`` the server sends (others, like renewals, are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        message = decode_from_server(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if isinstance(message, kind):
            return message


async def test_a_machine_channel_speaks_translated_finals_through_the_holder(
    server: RunningServer,
) -> None:
    voices = server.app.state.voices
    captions = server.app.state.captions
    assert isinstance(voices, WorkerVoices)
    secret = load_secrets(server.settings).worker_secret
    room = await server.app.state.sfu.create_room(RoomOptions(), lambda e: None)
    meeting, pid = MeetingId("m-voice"), ParticipantId("p_alice")
    try:
        # No worker that can speak: no language, and a channel is refused.
        assert voices.languages() == []
        with pytest.raises(ConveneError) as refused:
            await voices.start(meeting, room, "es")
        assert refused.value.code == ErrorCode.INTERPRETATION_UNAVAILABLE

        url = default_server_url(server.settings)
        headers = {"Authorization": f"Bearer {secret}"}
        async with websockets.connect(url, additional_headers=headers) as ws:
            await ws.send(HELLO)
            assert isinstance(decode_from_server(await ws.recv()), Welcome)
            await eventually(lambda: voices.languages() == ["es"], 5, "the worker's voices")
            with pytest.raises(ConveneError):
                await voices.start(meeting, room, "fr")  # no voice for French

            # Open before captions are on: a feed, and nothing told to any worker yet.
            feed = await voices.start(meeting, room, "es")
            assert await voices.start(meeting, room, "es") == feed  # opening again: the same

            await captions.start(meeting, room)
            assert isinstance(await next_of(ws, Offer), Offer)
            await ws.send(encode(Claim(meeting=meeting)))
            granted = await next_of(ws, Granted)
            assert isinstance(granted, Granted)
            opened = await next_of(ws, SpeakOpen)
            assert isinstance(opened, SpeakOpen)
            assert (opened.meeting, opened.language, opened.ssrc) == (meeting, "es", 1000)
            assert opened.port > 0

            await captions.publisher_added(meeting, pid, new_feed_id(), "en")
            listen = await next_of(ws, Listen)
            assert isinstance(listen, Listen)
            await ws.send(encode(Listening(meeting=meeting, participant=pid, port=9)))

            def caption(text: str, *, final: bool, at: float) -> str:
                return encode(
                    Caption(
                        meeting=meeting,
                        participant=pid,
                        epoch=granted.epoch,
                        final=final,
                        text=text,
                        start=at,
                        end=at + 1,
                        ends_segment=final,
                        language="en",
                    )
                )

            # A partial is never spoken; each final segment is, once translated (before the
            # translation engine is up a segment falls back to the original: not spoken).
            await ws.send(caption("Good", final=False, at=0))
            spoken: Speak | None = None
            at = 1.0
            deadline = time.monotonic() + TRANSLATION_START
            while spoken is None and time.monotonic() < deadline:
                await ws.send(caption("Good morning to everyone.", final=True, at=at))
                at += 2
                try:
                    message = await next_of(ws, Speak, timeout=2)
                except TimeoutError:
                    continue
                assert isinstance(message, Speak)
                spoken = message
            assert spoken is not None, "no translated final to speak"
            assert (spoken.meeting, spoken.language) == (meeting, "es")
            assert spoken.text
            assert "morning" not in spoken.text.lower()  # Spanish, not the original
            assert voices.spoken(meeting, "es") >= 1

            await voices.stop(meeting, "es")
            closed = await next_of(ws, SpeakClose)
            assert isinstance(closed, SpeakClose)
            assert (closed.meeting, closed.language) == (meeting, "es")
            assert voices.spoken(meeting, "es") == 0
            await voices.stop(meeting, "es")  # closed already: nothing happens
            await voices.stop_all(meeting)
            await captions.stop(meeting)
    finally:
        await room.destroy()
