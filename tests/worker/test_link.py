"""The worker endpoint admits only workers with the secret, from allowed addresses, speaking
the protocol; a worker without a model for a language makes a clear error, not silence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from convene.captions.service import CaptionsService
from convene.config import load_secrets
from convene.media.base import MediaEvent, RoomOptions
from convene.protocol.ids import MeetingId, ParticipantId, new_feed_id
from convene.worker.wire import (
    CLOSE_BAD_MESSAGE,
    Caption,
    Claim,
    Granted,
    Hello,
    Listen,
    Listening,
    Offer,
    Revoke,
    Welcome,
    decode_from_server,
    default_server_url,
    encode,
)
from tests.support.server import RunningServer, running_server
from tests.worker.processes import eventually, worker_processes

HELLO = encode(Hello(worker_id="w-test", capacity=1, media_host="127.0.0.1"))


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path / "server", worker={"embedded": False}) as running:
        yield running


def _url(server: RunningServer) -> str:
    return default_server_url(server.settings)


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def _read_until_closed(ws: websockets.ClientConnection) -> None:
    while True:
        await ws.recv()


async def test_a_worker_without_the_secret_is_refused(server: RunningServer) -> None:
    for headers in ({}, _auth("wrong"), {"Authorization": "Basic x"}):
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(_url(server), additional_headers=headers):
                pass
        assert refused.value.response.status_code == 403
    assert server.app.state.captions.workers == {}


async def test_a_worker_from_an_address_not_allowed_is_refused(tmp_path: Path) -> None:
    worker = {"embedded": False, "allowed_addresses": ["10.0.0.0/8"]}
    async with running_server(tmp_path / "server", worker=worker) as server:
        secret = load_secrets(server.settings).worker_secret
        with pytest.raises(InvalidStatus):
            async with websockets.connect(_url(server), additional_headers=_auth(secret)):
                pass


async def test_the_protocol_is_checked(server: RunningServer) -> None:
    secret = load_secrets(server.settings).worker_secret
    service = server.app.state.captions
    assert isinstance(service, CaptionsService)
    # Something else than hello first.
    async with websockets.connect(_url(server), additional_headers=_auth(secret)) as ws:
        await ws.send('{"type":"heartbeat"}')
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CLOSE_BAD_MESSAGE
    async with websockets.connect(_url(server), additional_headers=_auth(secret)) as ws:
        await ws.send(HELLO)
        welcome = decode_from_server(await ws.recv())
        assert isinstance(welcome, Welcome)
        assert service.workers == {"w-test": ()}
        # A caption for a meeting it does not hold changes nothing.
        stray = Caption(
            meeting="m-none", participant="p", epoch=1, final=True, text="x", start=0, end=1
        )
        await ws.send(encode(stray))
        # Then garbage: the link is closed.
        await ws.send('{"type":"caption","meeting":""}')
        with pytest.raises(ConnectionClosed) as closed:
            await _read_until_closed(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CLOSE_BAD_MESSAGE
    await eventually(lambda: service.workers == {}, 5, "the link to go")


async def test_a_language_without_a_model_is_reported(tmp_path: Path) -> None:
    speech = {"default_models": {"en": "tiny.en"}}  # nothing for other languages
    worker = {"embedded": False, "heartbeat_seconds": 0.5}
    async with running_server(tmp_path / "server", worker=worker, speech=speech) as server:
        service = server.app.state.captions
        assert isinstance(service, CaptionsService)
        events: list[MediaEvent] = []
        room = await server.app.state.sfu.create_room(RoomOptions(), events.append)
        meeting, pid = MeetingId("m-no-model"), ParticipantId("p_fr")
        async with worker_processes(server.settings, ["w-a"], tmp_path):
            await service.start(meeting, room)
            await eventually(
                lambda: (s := service.status(meeting)) is not None and s.worker_id == "w-a",
                30,
                "the worker to take the meeting",
            )
            await service.publisher_added(meeting, pid, new_feed_id(), "fr")

            def error() -> str | None:
                status = service.status(meeting)
                publisher = status.publishers.get(pid) if status else None
                return publisher.error if publisher else None

            await eventually(lambda: error() is not None, 30, "the error")
            assert error() == "model_not_installed"
            await service.stop(meeting)
        await room.destroy()


async def test_only_the_holders_results_with_its_epoch_count(server: RunningServer) -> None:
    """A hand-driven worker: claims, listens, and sends results; stale ones are dropped."""
    service = server.app.state.captions
    assert isinstance(service, CaptionsService)
    secret = load_secrets(server.settings).worker_secret
    events: list[MediaEvent] = []
    room = await server.app.state.sfu.create_room(RoomOptions(), events.append)
    meeting, pid = MeetingId("m-epoch"), ParticipantId("p_a")
    got: list[str] = []
    try:
        async with websockets.connect(_url(server), additional_headers=_auth(secret)) as ws:
            await ws.send(HELLO)
            assert isinstance(decode_from_server(await ws.recv()), Welcome)
            await service.start(meeting, room)
            service.subscribe(meeting, lambda r: got.append(r.text))
            offer = decode_from_server(await asyncio.wait_for(ws.recv(), 10))
            assert isinstance(offer, Offer)
            await ws.send(encode(Claim(meeting=meeting)))
            granted = decode_from_server(await asyncio.wait_for(ws.recv(), 10))
            assert isinstance(granted, Granted)
            # A publisher (its feed is not in the room: the forward fails, the listen counts).
            await service.publisher_added(meeting, pid, new_feed_id(), "en")
            listen = decode_from_server(await asyncio.wait_for(ws.recv(), 10))
            assert isinstance(listen, Listen)
            assert (listen.participant, listen.language) == (pid, "en")
            await ws.send(encode(Listening(meeting=meeting, participant=pid, port=9)))

            def caption(text: str, epoch: int, participant: str = pid) -> str:
                return encode(
                    Caption(
                        meeting=meeting,
                        participant=participant,
                        epoch=epoch,
                        final=True,
                        text=text,
                        start=0,
                        end=1,
                        language="en",
                    )
                )

            await ws.send(caption("stale", granted.epoch - 1))
            await ws.send(caption("nobody", granted.epoch, participant="p_unknown"))
            await ws.send(caption("counted", granted.epoch))
            await eventually(lambda: got, 10, "the result")
            await asyncio.sleep(0.2)
            assert got == ["counted"]
            status = service.status(meeting)
            assert status is not None
            assert status.publishers[pid].error == "forward_failed"
            await service.stop(meeting)
            revoke = decode_from_server(await asyncio.wait_for(ws.recv(), 10))
            assert isinstance(revoke, Revoke)
    finally:
        await room.destroy()


async def test_a_stop_cut_short_by_cancellation_lets_captions_start_again(
    server: RunningServer,
) -> None:
    """The caller of ``stop`` is cancelled (its meeting closing): the meeting is still
    forgotten, so turning captions on again offers it to a worker afresh."""
    service = server.app.state.captions
    assert isinstance(service, CaptionsService)
    secret = load_secrets(server.settings).worker_secret
    room = await server.app.state.sfu.create_room(RoomOptions(), lambda event: None)
    meeting = MeetingId("m-cancelled-stop")
    try:
        async with websockets.connect(_url(server), additional_headers=_auth(secret)) as ws:
            await ws.send(HELLO)
            assert isinstance(decode_from_server(await ws.recv()), Welcome)
            await service.start(meeting, room)
            offer = decode_from_server(await asyncio.wait_for(ws.recv(), 10))
            assert isinstance(offer, Offer)
            await ws.send(encode(Claim(meeting=meeting)))
            assert isinstance(decode_from_server(await asyncio.wait_for(ws.recv(), 10)), Granted)

            stopping = asyncio.create_task(service.stop(meeting))
            await asyncio.sleep(0)
            stopping.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stopping
            assert service.status(meeting) is None

            await service.start(meeting, room)
            assert service.status(meeting) is not None
            # The teardown's revoke may come first; then the meeting is offered again.
            while True:
                message = decode_from_server(await asyncio.wait_for(ws.recv(), 10))
                if isinstance(message, Offer):
                    assert message.meeting == meeting
                    break
            await service.stop(meeting)
    finally:
        await room.destroy()
