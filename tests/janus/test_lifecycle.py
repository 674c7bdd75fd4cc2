"""Sessions, keepalive, restart recovery and the pool, against real Janus child processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import pytest

from convene.media.base import MediaError, MediaUnavailable, RoomOptions, ServerReset
from convene.media.janus import JanusClient, JanusProcess, JanusSFU, write_config
from convene.media.janus.process import wait_until_answering
from convene.metrics import JANUS_REQUESTS, JANUS_UP
from convene.protocol.ids import new_feed_id
from tests.support.janus import (
    EventLog,
    janus_settings,
    new_secrets,
    running_sfu,
    wait_until,
)


async def test_keepalive_keeps_session_past_timeout(tmp_path: Path) -> None:
    """Janus ends a silent session after session_timeout; the keepalive task prevents it."""
    secrets = new_secrets()
    settings = janus_settings(keepalive_interval=1.0)
    async with running_sfu(tmp_path, settings, secrets=secrets, session_timeout=4) as sfu:
        assert sfu.process is not None
        lost: list[str] = []
        silent = JanusClient(
            sfu.process.url,
            api_secret=secrets.janus_api_secret,
            keepalive_interval=3600,  # effectively never
            on_lost=lost.append,
        )
        await silent.connect()
        room = await sfu.create_room(RoomOptions(), EventLog())
        keepalives = JANUS_REQUESTS.labels("keepalive", "ok")._value.get()

        # The silent session is timed out by Janus (a few seconds after session_timeout) ...
        reason = await silent.wait_lost()
        assert reason == "session timed out"
        assert lost == ["session timed out"]
        with pytest.raises(MediaUnavailable):
            await silent.attach(lambda event: None)
        await silent.close()

        # ... while the SFU's session, kept alive, still works, and so does its room.
        assert JANUS_REQUESTS.labels("keepalive", "ok")._value.get() > keepalives
        assert sfu.healthy()
        await room.allow("t")
        publisher = await room.publisher(
            feed=new_feed_id(), display="a", token="t", listener=EventLog()
        )
        await publisher.close()
        await room.destroy()


async def test_wrong_api_secret_is_refused(janus_sfu: JanusSFU) -> None:
    assert janus_sfu.process is not None
    client = JanusClient(janus_sfu.process.url, api_secret="wrong", request_timeout=5)
    with pytest.raises(MediaError) as refused:
        await client.connect()
    assert refused.value.code == 403
    await client.close()


async def test_restart_after_kill(tmp_path: Path) -> None:
    """SIGKILL the child: rooms get ServerReset, health drops, Janus comes back, rooms work."""
    async with running_sfu(tmp_path) as sfu:
        process = sfu.process
        assert process is not None
        assert process.pid is not None
        up_before = JANUS_UP._value.get()
        events = EventLog()
        room = await sfu.create_room(RoomOptions(), events)
        await room.allow("t")
        publisher = await room.publisher(
            feed=new_feed_id(), display="a", token="t", listener=EventLog()
        )
        first_pid = process.pid

        os.kill(first_pid, signal.SIGKILL)

        reset = await events.wait_for(ServerReset)
        assert "janus" in reset.reason
        assert not sfu.healthy()
        assert JANUS_UP._value.get() == up_before - 1
        with pytest.raises(MediaUnavailable):
            await sfu.create_room(RoomOptions(), EventLog())

        await wait_until(sfu.healthy, what="janus to be restarted and reconnected")
        assert process.restarts == 1
        assert process.pid not in (None, first_pid)
        assert JANUS_UP._value.get() == up_before

        # The old room and its handles are gone, quietly.
        await publisher.close()
        await room.destroy()
        assert len(events.of(ServerReset)) == 1

        # A new room works on the restarted server.
        fresh = await sfu.create_room(RoomOptions(), EventLog())
        await fresh.allow("t")
        publisher = await fresh.publisher(
            feed=new_feed_id(), display="a", token="t", listener=EventLog()
        )
        await publisher.close()
        await fresh.destroy()


async def test_external_pool_spreads_rooms_and_survives_a_lost_server(tmp_path: Path) -> None:
    """Two external Janus servers: rooms go to the one with fewer; a dead one is skipped."""
    secrets = new_secrets()
    settings = janus_settings()
    first = JanusProcess(settings, secrets, tmp_path / "a")
    second = JanusProcess(settings, secrets, tmp_path / "b")
    await first.start()
    await second.start()
    sfu = JanusSFU(
        janus_settings(mode="external", urls=[first.url, second.url]), secrets, data_dir=None
    )
    try:
        await sfu.start()
        await wait_until(lambda: all(s.healthy() for s in sfu.servers), what="both servers")
        rooms = [await sfu.create_room(RoomOptions(), EventLog()) for _ in range(4)]
        assert [s.room_count for s in sfu.servers] == [2, 2]
        assert {r.server.url for r in rooms} == {first.url, second.url}

        # Stop the first server for good: its rooms are reset, new rooms go to the second.
        lost = [r for r in rooms if r.server.url == first.url]
        await first.stop()
        await wait_until(lambda: not sfu.servers[0].healthy(), what="first server down")
        assert all(r.gone for r in lost)
        assert sfu.healthy()
        more = await sfu.create_room(RoomOptions(), EventLog())
        assert more.server.url == second.url
        for room in [*rooms, more]:
            await room.destroy()
    finally:
        await sfu.close()
        await first.stop()
        await second.stop()


async def test_calls_time_out_and_fail_when_the_connection_drops(janus_sfu: JanusSFU) -> None:
    """A frozen Janus: calls time out; when it dies, calls still waiting fail at once."""
    process = janus_sfu.process
    assert process is not None
    pid = process.pid
    assert pid is not None
    client = JanusClient(
        process.url,
        api_secret=janus_sfu._secrets.janus_api_secret,
        request_timeout=0.5,
        keepalive_interval=3600,
    )
    await client.connect()
    room = await janus_sfu.create_room(RoomOptions(), EventLog())
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(MediaUnavailable, match="no answer"):
            await client.attach(lambda event: None)
        assert client.connected  # a timeout alone does not drop the session

        # The SFU's own calls (10 s timeout) are still pending when the process dies.
        pending = asyncio.create_task(room.allow("late"))
        await asyncio.sleep(0.2)
        assert not pending.done()
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(MediaUnavailable, match=r"lost|closed"):
            await pending
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    await client.wait_lost()
    await client.close()
    await wait_until(janus_sfu.healthy, what="janus restarted")


async def test_stop_kills_a_janus_that_ignores_sigint(tmp_path: Path) -> None:
    process = JanusProcess(janus_settings(), new_secrets(), tmp_path, stop_timeout=0.5)
    await process.start()
    pid = process.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # a stopped process cannot handle SIGINT
    await process.stop()
    assert not process.running()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    await process.stop()  # idempotent


async def test_start_reaps_a_stale_janus_on_the_same_folder(tmp_path: Path) -> None:
    """A Janus left behind by a Convene that died is killed before a new one starts."""
    secrets = new_secrets()
    config = write_config(tmp_path / "janus", janus_settings(), secrets)
    stale = await asyncio.create_subprocess_exec(
        "janus", "-F", str(config.folder), "-N", "-L", str(config.log_file)
    )
    (config.folder / "janus.pid").write_text(str(stale.pid))
    await wait_until_answering(config.url, secrets.janus_api_secret, within=10)
    process = JanusProcess(janus_settings(), secrets, tmp_path)
    try:
        await process.start()
        assert await stale.wait() == -signal.SIGKILL
        assert process.pid != stale.pid
        assert (config.folder / "janus.log.1").exists()  # the previous log is kept
    finally:
        await process.stop()
        if stale.returncode is None:
            stale.kill()
            await stale.wait()
