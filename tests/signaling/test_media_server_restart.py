"""When Janus dies, meetings go on: the room is recreated and clients reconnect their media."""

from __future__ import annotations

import os
import signal

from convene.media.janus import JanusSFU
from tests.support.server import RunningServer
from tests.support.signal import SignalClient


async def test_janus_restart_resets_media_and_keeps_the_meeting(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice.create_meeting(waiting_room=False)
    host = await SignalClient.connect(server, alice)
    await host.join(meeting["link_token"])
    guest = await SignalClient.connect(server, server.guest())
    await guest.join(meeting["link_token"], display_name="Bob")

    sfu = server.app.state.sfu
    assert isinstance(sfu, JanusSFU)
    assert sfu.process is not None
    pid = sfu.process.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    reset = await guest.wait_event("media.reset", timeout=30)
    assert reset["reason"]
    await host.wait_event("media.reset", timeout=30)
    assert sfu.healthy()
    # Chat, roles and admission are untouched; signaling never dropped.
    await guest.request("chat.send", {"text": "still here"})
    await host.wait_event("chat.message", lambda d: d["text"] == "still here")
    await host.request("host.mute", {"participant": guest.participant_id})
    # A new participant can join the recreated media room.
    late = await SignalClient.connect(server, server.guest())
    assert (await late.join(meeting["link_token"], display_name="Carol"))["state"] == "joined"
    for c in (host, guest, late):
        await c.close()
