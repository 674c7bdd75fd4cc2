"""The worker's livestream driver with a real composer and ffmpeg, spoken to as the server
would: beats that are renewed keep a livestream, beats that are not make the worker stop it on
its own (leaving the folder to whoever takes it over); sources get ports; the server's stop
removes the folder."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from convene.config import Settings
from convene.worker.livestream import LivestreamDriver, Outgoing
from convene.worker.wire import (
    StreamBeat,
    StreamDrop,
    StreamHello,
    StreamPort,
    StreamProgram,
    StreamReleased,
    StreamRenewed,
    StreamSource,
    StreamStart,
    StreamStatus,
    StreamStop,
)

# A lease long enough that a busy machine (the composer mixes audio on the event loop) does
# not miss a renewal; the fence is LEASE - 1 s.
HEARTBEAT, LEASE = 1.0, 6.0
MEETING = "0b6e4cbe-5d0e-4f4a-9a54-2b8f0e0e6c11"
# Bounds on waiting, not measurements.
WAIT = 20.0


async def until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.05)


class Server:
    """What the driver sent, and (when ``renew``) the renewals a server would answer with."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.renew = True
        self.driver: LivestreamDriver | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, message: Outgoing) -> None:
        self.sent.append(message)
        if isinstance(message, StreamBeat) and self.renew and self.driver is not None:
            renewed = StreamRenewed(seq=message.seq, meetings=dict(message.meetings))
            task = asyncio.create_task(self.driver.handle(renewed))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def of(self, kind: type[Any]) -> list[Any]:
        return [m for m in self.sent if isinstance(m, kind)]


@pytest.fixture
async def linked(tmp_path: Path) -> AsyncIterator[tuple[LivestreamDriver, Server]]:
    settings = Settings(
        data_dir=tmp_path,
        worker={"embedded": False, "heartbeat_seconds": HEARTBEAT, "lease_seconds": LEASE},
    )
    server = Server()
    driver = LivestreamDriver(settings, send=server.send, worker_id="w-test")
    server.driver = driver
    driver.linked(heartbeat=HEARTBEAT, lease=LEASE)
    loop = asyncio.create_task(driver.run())
    try:
        yield driver, server
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        await driver.drop_all("test over")


def start(out_dir: Path, epoch: int = 1) -> StreamStart:
    return StreamStart(meeting=MEETING, epoch=epoch, out_dir=str(out_dir), channels=["fr"])


async def test_a_renewed_livestream_runs_and_the_servers_stop_removes_it(
    linked: tuple[LivestreamDriver, Server], tmp_path: Path
) -> None:
    driver, server = linked
    [hello] = server.of(StreamHello)
    assert hello.capacity == 2
    out = tmp_path / "live" / MEETING
    await driver.handle(start(out))
    assert driver.meetings == [MEETING]
    await until(lambda: any(s.state == "live" for s in server.of(StreamStatus)), WAIT, "live")
    assert (out / "master.m3u8").exists()
    assert all(s.epoch == 1 for s in server.of(StreamStatus))

    # Sources get ports; one the composer cannot take (a channel it does not carry) gets 0.
    for key, kind, channel in (("v-1", "video", None), ("a-1", "audio", None)):
        await driver.handle(StreamSource(meeting=MEETING, key=key, kind=kind, channel=channel))
    await driver.handle(StreamSource(meeting=MEETING, key="c-2", kind="audio", channel="fr"))
    await driver.handle(StreamSource(meeting=MEETING, key="c-3", kind="audio", channel="de"))
    ports = {p.key: p.port for p in server.of(StreamPort)}
    assert all(ports[k] > 0 for k in ("v-1", "a-1", "c-2"))
    assert ports["c-3"] == 0
    assert len({ports[k] for k in ("v-1", "a-1", "c-2")}) == 3
    await driver.handle(StreamProgram(meeting=MEETING, key="v-1"))
    await driver.handle(StreamDrop(meeting=MEETING, key="a-1"))

    # Renewed beats keep it well past a lease.
    await asyncio.sleep(LEASE + 1)
    assert driver.meetings == [MEETING]
    beats = server.of(StreamBeat)
    assert len(beats) >= 4
    assert beats[-1].meetings == {MEETING: 1}

    await driver.handle(StreamStop(meeting=MEETING))
    assert driver.meetings == []
    assert [r.meeting for r in server.of(StreamReleased)] == [MEETING]
    assert not out.exists()


async def test_a_livestream_whose_lease_is_not_renewed_is_stopped_by_the_worker(
    linked: tuple[LivestreamDriver, Server], tmp_path: Path
) -> None:
    driver, server = linked
    server.renew = False
    out = tmp_path / "live" / MEETING
    await driver.handle(start(out))
    started = time.monotonic()
    await until(lambda: driver.meetings == [], LEASE + 2, "the livestream stopped")
    # Before the lease could have run out at the server (its margin), never after.
    assert time.monotonic() - started <= LEASE
    await until(lambda: bool(server.of(StreamReleased)), WAIT, "the release")
    assert [r.meeting for r in server.of(StreamReleased)] == [MEETING]
    # Another worker may write there now: the folder stays.
    assert out.exists()
    # A late renewal for it, or a source, changes nothing.
    await driver.handle(StreamRenewed(seq=1, meetings={MEETING: 1}))
    await driver.handle(StreamSource(meeting=MEETING, key="v-1", kind="video"))
    assert driver.meetings == []
    assert server.of(StreamPort) == []


async def test_placed_again_with_a_new_epoch_the_composer_starts_over(
    linked: tuple[LivestreamDriver, Server], tmp_path: Path
) -> None:
    driver, server = linked
    out = tmp_path / "live" / MEETING
    await driver.handle(start(out, epoch=1))
    first = driver.composer(MEETING)
    await driver.handle(start(out, epoch=1))  # repeated: the same one, its status again
    assert driver.composer(MEETING) is first
    await driver.handle(start(out, epoch=2))
    second = driver.composer(MEETING)
    assert second is not None
    assert second is not first
    await until(
        lambda: any(s.epoch == 2 for s in server.of(StreamStatus)), WAIT, "status of epoch 2"
    )
    assert (await _beat(server)).meetings == {MEETING: 2}


async def _beat(server: Server) -> StreamBeat:
    count = len(server.of(StreamBeat))
    await until(lambda: len(server.of(StreamBeat)) > count, WAIT, "a beat")
    beat: StreamBeat = server.of(StreamBeat)[-1]
    return beat
