"""worker.udp_ports: a real worker binds speakers' audio within the range only, and says
``no_port`` when the range is used up."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from pydantic import ValidationError

from convene.captions.service import CaptionsService
from convene.config import WorkerSettings
from convene.media.base import MediaEvent, RoomOptions
from convene.protocol.ids import MeetingId, ParticipantId, new_feed_id
from tests.support.server import running_server
from tests.worker.processes import eventually, worker_processes


def _free_pair() -> int:
    """A port p such that p and p + 1 are both free for UDP on loopback now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as first:
            first.bind(("127.0.0.1", 0))
            low = int(first.getsockname()[1])
            if low >= 65535:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
                try:
                    second.bind(("127.0.0.1", low + 1))
                except OSError:
                    continue
                return low
    raise AssertionError("no two consecutive free UDP ports")


def _bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def test_the_range_setting_is_checked() -> None:
    assert WorkerSettings().udp_port_range is None
    assert WorkerSettings(udp_ports="40000-40999").udp_port_range == (40000, 40999)
    for bad in ("40000", "40999-40000", "0-10", "1-70000", "a-b"):
        with pytest.raises(ValidationError, match="udp_ports"):
            WorkerSettings(udp_ports=bad)


async def test_ports_come_from_the_range_and_run_out(tmp_path: Path) -> None:
    low = _free_pair()
    worker = {"embedded": False, "heartbeat_seconds": 0.5}
    async with running_server(tmp_path / "server", worker=worker) as server:
        service = server.app.state.captions
        assert isinstance(service, CaptionsService)
        events: list[MediaEvent] = []
        room = await server.app.state.sfu.create_room(RoomOptions(), events.append)
        meeting = MeetingId("m-ports")
        speakers = [ParticipantId(f"p_{i}") for i in range(3)]
        ranged = {"udp_ports": f"{low}-{low + 1}"}
        async with worker_processes(server.settings, ["w-a"], tmp_path, **ranged):
            await service.start(meeting, room)
            await eventually(
                lambda: (s := service.status(meeting)) is not None and s.worker_id == "w-a",
                30,
                "the worker to take the meeting",
            )

            def error(pid: ParticipantId) -> str | None:
                status = service.status(meeting)
                publisher = status.publishers.get(pid) if status else None
                return publisher.error if publisher else None

            # Their feeds are not in the room: the worker listens, the forward then fails.
            for pid in speakers[:2]:
                await service.publisher_added(meeting, pid, new_feed_id(), "en")
                await eventually(lambda: error(pid) is not None, 60, f"{pid} listened to")  # noqa: B023
                assert error(pid) == "forward_failed"
            assert _bound(low)
            assert _bound(low + 1)

            await service.publisher_added(meeting, speakers[2], new_feed_id(), "en")
            await eventually(lambda: error(speakers[2]) is not None, 30, "the third answer")
            assert error(speakers[2]) == "no_port"

            # A speaker gone frees its port for the next one.
            await service.publisher_left(meeting, speakers[0])
            await eventually(lambda: not _bound(low) or not _bound(low + 1), 10, "a port freed")
            await service.publisher_added(meeting, ParticipantId("p_3"), new_feed_id(), "en")
            await eventually(lambda: error(ParticipantId("p_3")) is not None, 30, "the fourth")
            assert error(ParticipantId("p_3")) == "forward_failed"
            await service.stop(meeting)
        await room.destroy()
