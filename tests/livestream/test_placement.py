"""Two real worker processes with ffmpeg and one real server: a livestream is placed on one
worker (its own lease), and when that worker is killed it moves to the other, whose playlist
goes on in the same folder; stopping it ends the lease and removes the folder."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio

from convene.livestream.hls import parse_media_playlist
from convene.livestream.service import LivestreamService, StreamPlan, StreamView, lease_key
from convene.media.base import MediaEvent, MediaRoom, RoomOptions
from convene.protocol.ids import MeetingId
from convene.storage.leases import LeaseStore
from tests.support.server import RunningServer, running_server
from tests.worker.processes import eventually, worker_processes

HEARTBEAT = 1.0
LEASE = 6.0
# Bounds on waiting, not measurements: a worker starts ffmpeg, which writes segments; a
# takeover waits for the lease to run out.
LIVE = 45.0
TAKEOVER = LEASE + 30.0
MEETING = MeetingId("0b6e4cbe-5d0e-4f4a-9a54-2b8f0e0e6c11")


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    worker = {"embedded": False, "heartbeat_seconds": HEARTBEAT, "lease_seconds": LEASE}
    async with running_server(
        tmp_path / "server", worker=worker, translation={"enabled": False}
    ) as running:
        yield running


def _service(server: RunningServer) -> LivestreamService:
    service = server.app.state.livestream
    assert isinstance(service, LivestreamService)
    return service


def _segments(folder: Path) -> list[int]:
    try:
        text = (folder / "video" / "index.m3u8").read_text()
    except OSError:
        return []
    return [s.sequence for s in parse_media_playlist(text)]


async def test_a_livestream_moves_to_another_worker_when_its_worker_dies(
    server: RunningServer, tmp_path: Path
) -> None:
    service = _service(server)
    events: list[MediaEvent] = []
    room: MediaRoom = await server.app.state.sfu.create_room(RoomOptions(), events.append)
    views: list[StreamView] = []
    async with worker_processes(server.settings, ["w1", "w2"], tmp_path) as workers:
        await eventually(lambda: len(service.workers) == 2, 30, "two workers that can stream")
        assert all(capacity > 0 for capacity, _ in service.workers.values())
        assert service.available()

        await service.start(MEETING, room, StreamPlan(), views.append)
        await eventually(
            lambda: bool(views) and views[-1].state == "live", LIVE, "the livestream live"
        )
        first = views[-1].worker_id
        assert first in ("w1", "w2")
        held = [wid for wid, (_, streams) in service.workers.items() if MEETING in streams]
        assert held == [first]
        lease = await LeaseStore(server.app.state.db).holder(
            lease_key(MEETING), now=datetime.now(UTC)
        )
        assert lease is not None
        assert lease.worker_id == first
        # The captions lease of the meeting is another row: none is taken here.
        assert await LeaseStore(server.app.state.db).holder(MEETING, now=datetime.now(UTC)) is None

        folder = service.out_dir(MEETING)
        await eventually(lambda: len(_segments(folder)) >= 2, LIVE, "segments")
        before = _segments(folder)[-1]

        # The worker dies: the livestream is placed on the other once its lease ran out.
        workers[first].signal(signal.SIGKILL)
        await eventually(
            lambda: views[-1].state == "live" and views[-1].worker_id not in (None, first),
            TAKEOVER,
            "the other worker streaming",
        )
        second = views[-1].worker_id
        assert second != first
        await eventually(
            lambda: bool(_segments(folder)) and _segments(folder)[-1] >= before + 2,
            LIVE,
            "the playlist going on",
        )
        assert (folder / "master.m3u8").exists()

        await service.stop(MEETING)
        assert service.view(MEETING) is None
        await eventually(lambda: not folder.exists(), 15, "the folder removed")
        assert (
            await LeaseStore(server.app.state.db).holder(lease_key(MEETING), now=datetime.now(UTC))
            is None
        )
        await eventually(
            lambda: all(not streams for _, streams in service.workers.values()),
            10,
            "no worker holding it",
        )
    await room.destroy()
