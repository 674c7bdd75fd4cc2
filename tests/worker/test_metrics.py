"""/metrics reports the captions workers: linked workers, meetings assigned and waiting, the
worst lag, partials dropped and finals per language, from real links to a real server."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import websockets

from convene.captions.results import CaptionResult
from convene.captions.service import CaptionsService
from convene.config import load_secrets
from convene.media.base import MediaEvent, RoomOptions
from convene.protocol.ids import MeetingId, ParticipantId, new_feed_id
from convene.worker.wire import (
    Caption,
    Claim,
    Granted,
    Heartbeat,
    Hello,
    Listen,
    Listening,
    Offer,
    Renewed,
    Welcome,
    decode_from_server,
    default_server_url,
    encode,
)
from tests.support.server import RunningServer, running_server
from tests.worker.processes import eventually, worker_processes


async def _scrape(server: RunningServer) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    values: dict[str, float] = {}
    for line in response.text.splitlines():
        found = re.fullmatch(r"(convene_captions_[a-z_]+(?:\{[^}]*\})?) (\S+)", line)
        if found:
            values[found[1]] = float(found[2])
    return values


async def test_the_gauges_follow_a_real_worker(tmp_path: Path) -> None:
    worker = {"embedded": False, "heartbeat_seconds": 0.5}
    async with running_server(tmp_path / "server", worker=worker) as server:
        service = server.app.state.captions
        assert isinstance(service, CaptionsService)
        room = await server.app.state.sfu.create_room(RoomOptions(), [].append)
        meeting = MeetingId("m-metrics")
        before = await _scrape(server)
        assert before["convene_captions_workers"] == 0
        await service.start(meeting, room)
        figures = await _scrape(server)
        assert figures['convene_captions_meetings{state="waiting"}'] == 1
        assert figures['convene_captions_meetings{state="assigned"}'] == 0
        async with worker_processes(server.settings, ["w-a"], tmp_path):
            await eventually(
                lambda: (s := service.status(meeting)) is not None and s.worker_id == "w-a",
                30,
                "the worker to take the meeting",
            )
            figures = await _scrape(server)
            assert figures["convene_captions_workers"] == 1
            assert figures['convene_captions_meetings{state="assigned"}'] == 1
            assert figures['convene_captions_meetings{state="waiting"}'] == 0
            assert figures["convene_captions_worst_lag_seconds"] == 0
            await service.stop(meeting)
        await eventually(lambda: not service.workers, 15, "the worker to go")
        figures = await _scrape(server)
        assert figures["convene_captions_workers"] == 0
        assert figures['convene_captions_meetings{state="assigned"}'] == 0
        await room.destroy()


async def test_lag_dropped_partials_and_finals_per_language(tmp_path: Path) -> None:
    """A worker driven by hand over the real link reports lag and drops; its finals count."""
    async with running_server(tmp_path / "server", worker={"embedded": False}) as server:
        service = server.app.state.captions
        assert isinstance(service, CaptionsService)
        secret = load_secrets(server.settings).worker_secret
        events: list[MediaEvent] = []
        room = await server.app.state.sfu.create_room(RoomOptions(), events.append)
        meeting, pid = MeetingId("m-metrics-counts"), ParticipantId("p_a")
        before = await _scrape(server)
        finals_fr = 'convene_captions_finals_total{language="fr"}'
        dropped = "convene_captions_dropped_partials_total"
        try:
            async with websockets.connect(
                default_server_url(server.settings),
                additional_headers={"Authorization": f"Bearer {secret}"},
            ) as ws:
                hello = Hello(worker_id="w-hand", capacity=1, media_host="127.0.0.1")
                await ws.send(encode(hello))
                assert isinstance(decode_from_server(await ws.recv()), Welcome)
                await service.start(meeting, room)
                got: list[CaptionResult] = []
                service.subscribe(meeting, got.append)
                assert isinstance(decode_from_server(await asyncio.wait_for(ws.recv(), 10)), Offer)
                await ws.send(encode(Claim(meeting=meeting)))
                granted = decode_from_server(await asyncio.wait_for(ws.recv(), 10))
                assert isinstance(granted, Granted)
                await service.publisher_added(meeting, pid, new_feed_id(), "fr")
                assert isinstance(decode_from_server(await asyncio.wait_for(ws.recv(), 10)), Listen)
                await ws.send(encode(Listening(meeting=meeting, participant=pid, port=9)))

                for seq, lost in ((1, 3), (2, 5)):
                    beat = Heartbeat(seq=seq, meetings=[meeting], lag=1.5, dropped_partials=lost)
                    await ws.send(encode(beat))
                    while not isinstance(
                        decode_from_server(await asyncio.wait_for(ws.recv(), 10)), Renewed
                    ):
                        pass
                for final in (True, True, False):
                    caption = Caption(
                        meeting=meeting,
                        participant=pid,
                        epoch=granted.epoch,
                        final=final,
                        text="bonjour",
                        start=0,
                        end=1,
                        language="fr",
                    )
                    await ws.send(encode(caption))
                await eventually(
                    lambda: service.figures().worst_lag == 1.5, 10, "the heartbeats to count"
                )
                await eventually(lambda: len(got) == 3, 10, "the captions to arrive")
                figures = await _scrape(server)
                assert figures["convene_captions_worst_lag_seconds"] == 1.5
                assert figures[dropped] - before.get(dropped, 0) == 5
                assert figures[finals_fr] - before.get(finals_fr, 0) == 2
                await service.stop(meeting)
        finally:
            await room.destroy()
