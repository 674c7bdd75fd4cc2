"""A worker's audio ratings reach the meeting's subscribers on the server, under the same rule
as captions: only from the worker holding the meeting, with its epoch, for a publisher listened
to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
import websockets

from convene.captions.service import CaptionsService
from convene.config import load_secrets
from convene.media.base import MediaEvent, RoomOptions
from convene.protocol.ids import MeetingId, ParticipantId, new_feed_id
from convene.worker.wire import (
    AudioQuality,
    Claim,
    Granted,
    Hello,
    Listen,
    Listening,
    Offer,
    Welcome,
    decode_from_server,
    default_server_url,
    encode,
)
from tests.support.server import RunningServer, running_server
from tests.worker.processes import eventually

HELLO = encode(Hello(worker_id="w-quality", capacity=1, media_host="127.0.0.1"))


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path / "server", worker={"embedded": False}) as running:
        yield running


async def test_only_the_holders_ratings_for_its_publishers_count(server: RunningServer) -> None:
    service = server.app.state.captions
    assert isinstance(service, CaptionsService)
    secret = load_secrets(server.settings).worker_secret
    events: list[MediaEvent] = []
    room = await server.app.state.sfu.create_room(RoomOptions(), events.append)
    meeting, pid = MeetingId("m-quality"), ParticipantId("p_a")
    got: list[tuple[str, str, list[str]]] = []
    # Subscribed before captions start (the feature subscribes when the meeting opens).
    unsubscribe = service.subscribe_quality(meeting, lambda p, r, i: got.append((p, r, list(i))))
    headers = {"Authorization": f"Bearer {secret}"}
    try:
        async with websockets.connect(
            default_server_url(server.settings), additional_headers=headers
        ) as ws:
            await ws.send(HELLO)
            assert isinstance(decode_from_server(await ws.recv()), Welcome)
            await service.start(meeting, room)
            assert isinstance(decode_from_server(await asyncio.wait_for(ws.recv(), 10)), Offer)
            await ws.send(encode(Claim(meeting=meeting)))
            granted = decode_from_server(await asyncio.wait_for(ws.recv(), 10))
            assert isinstance(granted, Granted)
            await service.publisher_added(meeting, pid, new_feed_id(), "en")
            listen = decode_from_server(await asyncio.wait_for(ws.recv(), 10))
            assert isinstance(listen, Listen)
            await ws.send(encode(Listening(meeting=meeting, participant=pid, port=9)))

            def rating(epoch: int, participant: str = pid, issues: list[str] | None = None) -> str:
                return encode(
                    AudioQuality.model_validate(
                        {
                            "meeting": meeting,
                            "participant": participant,
                            "epoch": epoch,
                            "rating": "poor",
                            "issues": issues or ["narrowband"],
                        }
                    )
                )

            await ws.send(rating(granted.epoch - 1))
            await ws.send(rating(granted.epoch, participant="p_unknown"))
            await ws.send(rating(granted.epoch, issues=["noisy"]))
            await eventually(lambda: got, 10, "the rating")
            await asyncio.sleep(0.2)
            assert got == [(pid, "poor", ["noisy"])]
            unsubscribe()
            await ws.send(rating(granted.epoch))
            await asyncio.sleep(0.2)
            assert len(got) == 1
            await service.stop(meeting)
    finally:
        await room.destroy()
