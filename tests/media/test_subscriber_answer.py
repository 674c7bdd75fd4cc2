"""``subscriber.answer`` when no subscriber offer is waiting, with real media: aiortc peers, a
real Janus. The stray answer is refused with ``invalid_state``, never reaches Janus (its handle
keeps the answer it was given), and the session goes on: media flows and renegotiates."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from convene.media.janus.sfu import JanusSFU
from tests.media.test_meeting_media import Member, close_all, grows, join
from tests.support.janus import media_settings
from tests.support.peer import TestPeer
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalError


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path, janus=media_settings()) as running:
        yield running


def ufrags(sdp: str) -> set[str]:
    return set(re.findall(r"^a=ice-ufrag:(\S+)", sdp, flags=re.MULTILINE))


async def subscriber_remote_sdps(sfu: JanusSFU) -> list[str]:
    """The answer each VideoRoom subscriber handle holds, read over Janus's admin API."""
    assert sfu.process is not None
    port = sfu.process._config.admin_port
    secret = sfu._secrets.janus_admin_secret
    ids = itertools.count()
    async with websockets.connect(
        f"ws://127.0.0.1:{port}", subprotocols=[websockets.Subprotocol("janus-admin-protocol")]
    ) as ws:

        async def call(request: str, **fields: Any) -> dict[str, Any]:
            transaction = f"t{next(ids)}"
            await ws.send(
                json.dumps(
                    {"janus": request, "transaction": transaction, "admin_secret": secret} | fields
                )
            )
            reply: dict[str, Any] = json.loads(await ws.recv())
            assert reply["janus"] == "success", reply
            return reply

        sdps = []
        for session in (await call("list_sessions"))["sessions"]:
            handles = (await call("list_handles", session_id=session))["handles"]
            for handle in handles:
                info = (await call("handle_info", session_id=session, handle_id=handle))["info"]
                if info.get("plugin_specific", {}).get("type") == "subscriber":
                    sdps.append(info.get("sdps", {}).get("remote", ""))
        return sdps


async def answer_refused(member: Member, sdp: str) -> None:
    with pytest.raises(SignalError) as exc:
        await member.signal.request("subscriber.answer", {"jsep": {"type": "answer", "sdp": sdp}})
    assert exc.value.code == "invalid_state"


async def test_an_answer_without_a_pending_offer_is_refused(server: RunningServer) -> None:
    sfu: JanusSFU = server.app.state.sfu
    alice_person = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice_person.create_meeting(waiting_room=False)
    alice = await join(server, meeting, alice_person, "Alice")
    bob_person = server.guest()
    await bob_person.meeting_info(meeting["link_token"])
    bob = await join(server, meeting, bob_person, "Bob")
    stray = TestPeer("stray")

    await alice.publish()
    await bob.signal.wait_event("feed.added", lambda d: d["feed"]["id"] == alice.feed)
    # Before any subscription there is nothing to answer.
    await answer_refused(bob, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")

    reply = await bob.signal.request("subscribe", {"add": [{"feed": alice.feed}]})
    answer = await bob.peer.answer_offer(reply["jsep"]["sdp"])
    # A real answer to the same offer from another peer: what a confused client could send.
    other = await stray.answer_offer(reply["jsep"]["sdp"])
    assert ufrags(other).isdisjoint(ufrags(answer))
    await bob.signal.request("subscriber.answer", {"jsep": {"type": "answer", "sdp": answer}})
    for s in reply["streams"]:
        bob.received[s["mid"]] = (s["participant_id"], s["kind"])
    await bob.peer.wait_for(lambda: bob.frames_from(alice) > 10, what="video from Alice")

    # The offer was answered: a second answer (twice: the same one, then another peer's) is
    # refused and not passed on; Janus keeps the first.
    await answer_refused(bob, answer)
    await answer_refused(bob, other)
    remote = await subscriber_remote_sdps(sfu)
    assert len(remote) == 1
    assert ufrags(remote[0]) == ufrags(answer)

    # The session works on: media still flows, and the next offer is answered as usual.
    assert await grows(lambda: bob.frames_from(alice)) > 10
    carol = await join(server, meeting, alice_person, "Carol")
    await carol.publish()
    await bob.subscribe(carol)
    await bob.peer.wait_for(lambda: bob.frames_from(carol) > 10, what="video from Carol")
    assert await grows(lambda: bob.frames_from(alice)) > 10
    await answer_refused(bob, answer)
    await stray.close()
    await close_all(alice, bob, carol)
