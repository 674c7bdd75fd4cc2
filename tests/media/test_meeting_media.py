"""A meeting's media end to end through Convene's own signaling: aiortc peers, a real Janus.

Everything a browser would do goes through the signaling WebSocket: publish offers, subscribe,
answer Janus's offers. The peers then count the frames and packets they decode.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.janus import media_settings
from tests.support.peer import TestPeer
from tests.support.server import Person, RunningServer, running_server
from tests.support.signal import SignalClient, SignalError

SETTLE = 1.0  # seconds for packets already in flight to arrive after a change at the SFU


@dataclass
class Member:
    name: str
    person: Person
    signal: SignalClient
    peer: TestPeer
    feed: int | None = None
    # subscriber mid -> (publisher participant id, kind)
    received: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def pid(self) -> str:
        assert self.signal.participant_id is not None
        return self.signal.participant_id

    async def publish(self) -> None:
        offer = await self.peer.create_offer()
        reply = await self.signal.request(
            "publish", {"jsep": {"type": "offer", "sdp": offer}, "audio": True, "video": True}
        )
        assert reply["jsep"]["type"] == "answer"
        assert {s["kind"] for s in reply["streams"]} == {"audio", "video"}
        self.feed = reply["feed"]
        await self.peer.apply_answer(reply["jsep"]["sdp"])

    async def subscribe(self, *others: Member) -> None:
        # As a client does: subscribe once the feed is announced (its connection is up).
        for o in others:
            await self.signal.wait_event("feed.added", lambda d, o=o: d["feed"]["id"] == o.feed)
        feeds = [{"feed": o.feed} for o in others]
        reply = await self.signal.request("subscribe", {"add": feeds})
        assert reply["jsep"] is not None
        answer = await self.peer.answer_offer(reply["jsep"]["sdp"])
        await self.signal.request("subscriber.answer", {"jsep": {"type": "answer", "sdp": answer}})
        for s in reply["streams"]:
            self.received[s["mid"]] = (s["participant_id"], s["kind"])

    def mid_of(self, other: Member, kind: str) -> str:
        return next(
            mid for mid, (pid, k) in self.received.items() if pid == other.pid and k == kind
        )

    def frames_from(self, other: Member) -> int:
        return self.peer.frames_from(self.mid_of(other, "video"))

    def audio_from(self, other: Member) -> int:
        return self.peer.audio_packets_from(self.mid_of(other, "audio"))


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path, janus=media_settings()) as running:
        yield running


async def join(server: RunningServer, meeting: dict[str, Any], person: Person, name: str) -> Member:
    signal = await SignalClient.connect(server, person)
    reply = await signal.join(meeting["link_token"], display_name=name)
    assert reply["state"] == "joined"
    return Member(name, person, signal, TestPeer(name))


async def close_all(*members: Member) -> None:
    for m in members:
        await m.signal.close()
        await m.peer.close()


async def grows(counter: Any, during: float = 1.5) -> int:
    """How much a counter grows over ``during`` seconds."""
    before = counter()
    await asyncio.sleep(during)
    return int(counter() - before)


async def test_two_people_see_and_hear_each_other(server: RunningServer) -> None:
    alice_person = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice_person.create_meeting(waiting_room=False)
    alice = await join(server, meeting, alice_person, "Alice")
    bob_person = server.guest()
    await bob_person.meeting_info(meeting["link_token"])
    bob = await join(server, meeting, bob_person, "Bob")

    await alice.publish()
    await bob.publish()
    added = await alice.signal.wait_event("feed.added", lambda d: d["feed"]["id"] == bob.feed)
    assert added["feed"]["participant_id"] == bob.pid
    await bob.signal.wait_event("feed.added", lambda d: d["feed"]["id"] == alice.feed)

    await alice.subscribe(bob)
    await bob.subscribe(alice)
    for me, other in ((alice, bob), (bob, alice)):
        await me.peer.wait_for(
            lambda me=me, other=other: me.frames_from(other) > 10, what=f"video from {other.name}"
        )
        await me.peer.wait_for(
            lambda me=me, other=other: me.audio_from(other) > 25, what=f"audio from {other.name}"
        )
    # Janus's audio levels say who talks (the peers send a steady tone).
    speaking = await alice.signal.wait_event("speaking", lambda d: d["participant_id"] == bob.pid)
    assert speaking["speaking"] is True
    # The frames are the other peer's own: their embedded counters increase.
    first = alice.peer.last_counter_from(alice.mid_of(bob, "video"))
    await asyncio.sleep(0.5)
    later = alice.peer.last_counter_from(alice.mid_of(bob, "video"))
    assert first is not None
    assert later is not None
    assert later > first
    await close_all(alice, bob)


async def test_host_mute_is_enforced_at_the_media_server(server: RunningServer) -> None:
    alice_person = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice_person.create_meeting(waiting_room=False)
    alice = await join(server, meeting, alice_person, "Alice")
    bob = await join(server, meeting, server.guest(), "Bob")
    carol = await join(server, meeting, server.guest(), "Carol")
    await bob.publish()
    await carol.subscribe(bob)
    await carol.peer.wait_for(lambda: carol.audio_from(bob) > 25, what="audio from Bob")

    # Bob's client keeps sending (it ignores the mute); the SFU stops forwarding his audio.
    await alice.signal.request("host.mute", {"participant": bob.pid})
    await bob.signal.wait_event("moderated", lambda d: d["action"] == "audio_muted")
    await asyncio.sleep(SETTLE)
    assert await grows(lambda: carol.audio_from(bob)) == 0
    assert await grows(lambda: carol.frames_from(bob)) > 5  # video still flows

    # Bob unmutes himself (allowed by default): audio flows again.
    await bob.signal.request("media.state", {"audio": True, "video": True})
    await carol.peer.wait_for(lambda: carol.audio_from(bob) > 0, what="audio again")
    assert await grows(lambda: carol.audio_from(bob)) > 25
    await close_all(alice, bob, carol)


async def test_removed_participant_media_stops_and_rejoin_is_refused(server: RunningServer) -> None:
    alice_person = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice_person.create_meeting(waiting_room=False)
    alice = await join(server, meeting, alice_person, "Alice")
    bob_person = server.guest()
    await bob_person.meeting_info(meeting["link_token"])
    bob = await join(server, meeting, bob_person, "Bob")
    await bob.publish()
    await alice.subscribe(bob)
    await alice.peer.wait_for(lambda: alice.frames_from(bob) > 10, what="video from Bob")

    await alice.signal.request("host.remove", {"participant": bob.pid})
    await bob.signal.wait_event("closed", lambda d: d["reason"] == "removed")
    await alice.signal.wait_event("feed.removed", lambda d: d["feed"] == bob.feed)
    await asyncio.sleep(SETTLE)
    assert await grows(lambda: alice.frames_from(bob)) == 0
    assert await grows(lambda: alice.audio_from(bob)) == 0

    again = await SignalClient.connect(server, bob_person)
    with pytest.raises(SignalError) as exc:
        await again.join(meeting["link_token"], display_name="Bob")
    assert exc.value.code == "removed"
    await again.close()
    await close_all(alice, bob)
