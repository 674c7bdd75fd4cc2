"""Two real worker processes and one real server: one meeting is processed by one worker only,
and a worker killed (or frozen) loses it to the other within seconds."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from convene.captions.service import CaptionsService
from convene.media.base import MediaEvent, MediaRoom, RoomOptions
from convene.protocol.ids import MeetingId
from convene.storage.leases import LeaseStore
from tests.support.server import RunningServer, running_server
from tests.worker.processes import eventually, worker_processes

HEARTBEAT = 0.5
LEASE = 3.0
# How long a takeover may take: the lease running out, an offer, a claim (not a measurement).
TAKEOVER = LEASE + 7.0


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    worker = {"embedded": False, "heartbeat_seconds": HEARTBEAT, "lease_seconds": LEASE}
    async with running_server(tmp_path / "server", worker=worker) as running:
        yield running


def _captions(server: RunningServer) -> CaptionsService:
    service = server.app.state.captions
    assert isinstance(service, CaptionsService)
    return service


async def _room(server: RunningServer) -> MediaRoom:
    events: list[MediaEvent] = []
    room: MediaRoom = await server.app.state.sfu.create_room(RoomOptions(), events.append)
    return room


def _workers_on(service: CaptionsService, meeting: str) -> list[str]:
    """The workers whose last heartbeat said they work on the meeting."""
    return [wid for wid, meetings in service.workers.items() if meeting in meetings]


async def _holds_alone(service: CaptionsService, meeting: str, seconds: float) -> str:
    """Watch for ``seconds``: exactly one worker processes the meeting, always the same."""
    holders: set[str] = set()
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        on = _workers_on(service, meeting)
        assert len(on) <= 1, f"two workers process {meeting}: {on}"
        holders.update(on)
        status = service.status(MeetingId(meeting))
        assert status is not None
        await asyncio.sleep(0.05)
    assert len(holders) == 1, holders
    return holders.pop()


async def test_one_meeting_one_worker_and_takeover_after_kill(
    server: RunningServer, tmp_path: Path
) -> None:
    service = _captions(server)
    leases = LeaseStore(server.app.state.db)
    meeting = MeetingId("m-lease-kill")
    async with worker_processes(server.settings, ["w-a", "w-b"], tmp_path) as workers:
        await eventually(lambda: len(service.workers) == 2, 30, "both workers linked")
        await service.start(meeting, await _room(server))
        await eventually(lambda: _workers_on(service, meeting), 10, "a worker on the meeting")
        holder = await _holds_alone(service, meeting, 3 * HEARTBEAT * 2)
        figures = service.figures()
        assert (figures.workers, figures.meetings_assigned, figures.meetings_waiting) == (2, 1, 0)
        status = service.status(meeting)
        assert status is not None
        assert status.worker_id == holder
        first_epoch = status.epoch
        lease = await leases.holder(meeting, now=server.app.state.clock.now())
        assert lease is not None
        assert lease.worker_id == holder
        other = "w-b" if holder == "w-a" else "w-a"

        await workers[holder].kill()
        took = await eventually(
            lambda: _workers_on(service, meeting) == [other], TAKEOVER, "the takeover"
        )
        assert took < TAKEOVER
        await _holds_alone(service, meeting, 2.0)
        status = service.status(meeting)
        assert status is not None
        assert status.worker_id == other
        assert status.epoch == first_epoch + 1

        await service.stop(meeting)
        await eventually(lambda: not _workers_on(service, meeting), 5, "the worker to let go")
        assert await leases.holder(meeting, now=server.app.state.clock.now()) is None


async def test_a_frozen_worker_stops_before_another_takes_over(
    server: RunningServer, tmp_path: Path
) -> None:
    service = _captions(server)
    meeting = MeetingId("m-lease-freeze")
    async with worker_processes(server.settings, ["w-a", "w-b"], tmp_path) as workers:
        await eventually(lambda: len(service.workers) == 2, 30, "both workers linked")
        await service.start(meeting, await _room(server))
        await eventually(lambda: _workers_on(service, meeting), 10, "a worker on the meeting")
        holder = await _holds_alone(service, meeting, 1.0)
        other = "w-b" if holder == "w-a" else "w-a"
        workers[holder].signal(signal.SIGSTOP)
        await eventually(lambda: _workers_on(service, meeting) == [other], TAKEOVER, "the takeover")
        # Thawed, the old holder finds its link and lease gone and never processes it again;
        # it links again and stays idle.
        workers[holder].signal(signal.SIGCONT)
        await eventually(lambda: holder in service.workers, 15, "the thawed worker to link again")
        assert await _holds_alone(service, meeting, 3.0) == other
        await service.stop(meeting)
