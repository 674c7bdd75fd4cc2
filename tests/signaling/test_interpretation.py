"""Interpretation in a live meeting, through the protocol: who may name interpreters, who may
publish into a channel and take it, handovers (and the order of the media server's moderation
calls), who may receive channel and booth feeds, and what happens when the live one leaves.

Feeds are published with real offers to the real Janus, but no media flows here (the peer
connections never come up outside the test network namespace; tests/media hears channels).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from convene.protocol.ids import FeedId
from convene.signaling.conference import Conference
from convene.signaling.features.interpretation import Interpretation
from tests.signaling.test_feature_snapshots import conference, move
from tests.signaling.test_meeting import Meeting, open_meeting
from tests.support.peer import TestPeer
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError

QUIET: dict[str, Any] = {"worker": {"embedded": False}, "translation": {"enabled": False}}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path, **QUIET) as running:
        yield running


async def settle(*clients: SignalClient) -> None:
    for c in clients:
        await c.request("ping")


async def refused(client: SignalClient, msg_type: str, data: dict[str, Any] | None = None) -> str:
    with pytest.raises(SignalError) as exc:
        await client.request(msg_type, data)
    return exc.value.code


class ModerationLog:
    """The media room's moderate calls, in order (each still reaches Janus)."""

    def __init__(self, conf: Conference) -> None:
        room = conf.media_room
        assert room is not None
        self.calls: list[tuple[FeedId, bool]] = []
        real = room.moderate

        async def moderate(feed: FeedId, mid: str, *, muted: bool) -> None:
            self.calls.append((feed, muted))
            await real(feed, mid, muted=muted)

        room.moderate = moderate  # type: ignore[method-assign]


async def publish(client: SignalClient, source: str) -> int:
    """An audio-only offer for ``source``; returns the feed id."""
    peer = TestPeer(source, address="127.0.0.1", video=False)
    try:
        offer = await peer.create_offer()
        reply = await client.request(
            "publish",
            {
                "source": source,
                "jsep": {"type": "offer", "sdp": offer},
                "audio": True,
                "video": False,
            },
        )
    finally:
        await peer.close()
    feed: int = reply["feed"]
    return feed


@dataclass
class Booth:
    m: Meeting
    conf: Conference
    dave: SignalClient

    @property
    def bob_id(self) -> str:
        assert self.m.bob.participant_id is not None
        return self.m.bob.participant_id

    @property
    def carol_id(self) -> str:
        assert self.m.carol.participant_id is not None
        return self.m.carol.participant_id

    def info(self) -> dict[str, Any]:
        """The interpretation state as the meeting shows it now."""
        for feature in self.conf._features:
            if isinstance(feature, Interpretation):
                info: dict[str, Any] = feature.info().model_dump(mode="json")
                return info
        raise AssertionError("no interpretation feature")

    async def close(self) -> None:
        await self.dave.close()
        await self.m.close()


async def fr_booth(server: RunningServer) -> Booth:
    """Alice hosts; Bob and Carol are the partners of the "fr" booth; Dave listens."""
    m = await open_meeting(server)
    conf = conference(server, m)
    dave = await SignalClient.connect(server, server.guest())
    await dave.join(m.info["link_token"], display_name="Dave")
    for c in (m.bob, m.carol):
        await m.host.request(
            "interpretation.assign", {"participant": c.participant_id, "languages": ["fr"]}
        )
    await dave.wait_event("interpretation.updated", lambda d: len(d["interpreters"]) == 2)
    return Booth(m, conf, dave)


def booth_of(info: dict[str, Any], booth: str) -> dict[str, Any]:
    found: dict[str, Any] = next(b for b in info["booths"] if b["id"] == booth)
    return found


def channel_of(info: dict[str, Any], language: str) -> dict[str, Any]:
    """The channel of ``language`` (one with nothing in it when it is not offered)."""
    missing: dict[str, Any] = {
        "language": language,
        "kind": None,
        "booth": None,
        "feeds": [],
        "on_air": False,
    }
    found: dict[str, Any] = next(
        (c for c in info["channels"] if c["language"] == language), missing
    )
    return found


async def test_hosts_name_interpreters_and_others_may_not(server: RunningServer) -> None:
    m = await open_meeting(server)
    bob, carol = m.bob.participant_id, m.carol.participant_id
    assert (
        await refused(m.bob, "interpretation.assign", {"participant": carol, "languages": ["fr"]})
        == "forbidden"
    )
    assert await refused(m.carol, "interpretation.unassign", {"participant": bob}) == "forbidden"
    assert (
        await refused(m.carol, "interpretation.machine", {"language": "es", "on": True})
        == "forbidden"
    )
    # Interpreters' requests from someone who is not one.
    for msg_type, data in (
        ("interpretation.take", {}),
        ("interpretation.output", {"language": "fr"}),
        ("interpretation.handover", {"to": bob}),
        ("interpretation.handover.accept", {}),
        ("interpretation.handover.cancel", {}),
        ("interpretation.booth_chat", {"text": "hello"}),
        ("interpretation.signal", {"kind": "slow_down"}),
    ):
        assert await refused(m.carol, msg_type, data) == "not_interpreter", msg_type
    assert (
        await refused(m.host, "interpretation.unassign", {"participant": carol}) == "invalid_state"
    )
    await settle(m.host, m.bob)
    assert "interpretation.updated" not in m.bob.types()

    await m.host.request("interpretation.assign", {"participant": bob, "languages": ["fr", "en"]})
    for c in (m.host, m.bob, m.carol):
        got = await c.wait_event("interpretation.updated")
        assert [ch["language"] for ch in got["channels"]] == ["en", "fr"]
        assert got["interpreters"] == [
            {
                "participant_id": bob,
                "display_name": "Bob",
                "languages": ["en", "fr"],
                "booth": "en-fr",
            }
        ]
        [b] = got["booths"]
        assert b == {
            "id": "en-fr",
            "languages": ["en", "fr"],
            "output": "en",
            "live": None,
            "partners": [bob],
            "handover": None,
        }
        assert channel_of(got, "en")["booth"] == "en-fr"
        assert channel_of(got, "fr")["booth"] is None
        assert not any(ch["on_air"] for ch in got["channels"])
        assert got["machine_languages"] == []
    late = await SignalClient.connect(server, server.guest())
    reply = await late.join(m.info["link_token"], display_name="Dave")
    assert reply["snapshot"]["interpretation"]["interpreters"][0]["participant_id"] == bob
    assert reply["snapshot"]["interpretation_listening"] is None

    await m.host.request("interpretation.unassign", {"participant": bob})
    gone = await late.wait_event("interpretation.updated", lambda d: not d["interpreters"])
    assert gone["channels"] == []
    assert gone["booths"] == []
    assert await refused(m.bob, "interpretation.take") == "not_interpreter"
    # No machine voices on this server.
    assert await refused(m.host, "interpretation.machine", {"language": "es", "on": True}) == (
        "interpretation_unavailable"
    )
    await late.close()
    await m.close()


async def test_only_interpreters_publish_into_a_channel_and_the_first_goes_live(
    server: RunningServer,
) -> None:
    b = await fr_booth(server)
    moderation = ModerationLog(b.conf)
    assert await refused_publish(b.dave, "interpretation") == "not_interpreter"
    assert await refused_publish(b.dave, "booth") == "not_interpreter"
    assert await refused_publish(b.m.host, "interpretation") == "not_interpreter"

    bob_feed = await publish(b.m.bob, "interpretation")
    live = await b.dave.wait_event(
        "interpretation.updated", lambda d: booth_of(d, "fr")["live"] == b.bob_id
    )
    assert channel_of(live, "fr")["on_air"] is True
    assert channel_of(live, "fr")["booth"] == "fr"
    assert moderation.calls == []  # the live partner is forwarded
    # The second partner's voice starts stopped at the media server.
    carol_feed = await publish(b.m.carol, "interpretation")
    assert moderation.calls == [(FeedId(carol_feed), True)]
    async with b.conf.room.lock:
        bob = b.conf.room.participants[b.m.bob.participant_id]  # type: ignore[index]
        assert bob.feeds["interpretation"].channel == "fr"
        assert bob.interpreter_languages == ("fr",)
    booth_feed = await publish(b.m.carol, "booth")
    async with b.conf.room.lock:
        carol = b.conf.room.participants[b.m.carol.participant_id]  # type: ignore[index]
        assert carol.feeds["booth"].channel == "fr"
    assert moderation.calls == [(FeedId(carol_feed), True)]
    assert booth_feed != carol_feed

    # Someone is live: nobody else takes the channel; the output must be a booth language.
    assert await refused(b.m.carol, "interpretation.take") == "invalid_state"
    assert await refused(b.m.bob, "interpretation.output", {"language": "en"}) == "invalid_state"
    assert await refused(b.m.carol, "interpretation.output", {"language": "fr"}) == "invalid_state"
    # A host mute does not reach an interpreter's channel feed (the booth governs it).
    await b.m.host.request("host.mute", {"participant": b.bob_id})
    await b.m.bob.wait_event("moderated", lambda d: d["action"] == "audio_muted")
    await b.m.bob.request("media.state", {"audio": True, "video": False})
    await settle(b.m.host)
    assert moderation.calls == [(FeedId(carol_feed), True)]
    assert bob_feed != carol_feed
    await b.close()


async def refused_publish(client: SignalClient, source: str) -> str:
    with pytest.raises(SignalError) as exc:
        await publish(client, source)
    return exc.value.code


async def test_a_handover_is_asked_and_accepted_and_switches_at_the_media_server(
    server: RunningServer,
) -> None:
    b = await fr_booth(server)
    moderation = ModerationLog(b.conf)
    bob_feed = FeedId(await publish(b.m.bob, "interpretation"))
    carol_feed = FeedId(await publish(b.m.carol, "interpretation"))
    assert moderation.calls == [(carol_feed, True)]

    assert await refused(b.m.carol, "interpretation.handover.accept") == "invalid_state"
    assert await refused(b.m.bob, "interpretation.handover", {"to": b.dave.participant_id}) == (
        "not_interpreter"
    )
    await b.m.bob.request("interpretation.handover", {"to": b.carol_id})
    asked = await b.dave.wait_event(
        "interpretation.updated", lambda d: booth_of(d, "fr")["handover"] is not None
    )
    handover = booth_of(asked, "fr")["handover"]
    assert handover["from"] == b.bob_id
    assert handover["to"] == b.carol_id
    # The partner who asked cannot force it, nor can anyone outside the booth.
    assert await refused(b.m.bob, "interpretation.handover.accept") == "forbidden"
    assert await refused(b.dave, "interpretation.handover.accept") == "not_interpreter"
    assert booth_of(b.info(), "fr")["live"] == b.bob_id

    await b.m.carol.request("interpretation.handover.accept")
    done = await b.dave.wait_event(
        "interpretation.updated", lambda d: booth_of(d, "fr")["live"] == b.carol_id
    )
    assert booth_of(done, "fr")["handover"] is None
    # The new live partner is forwarded first, then the old one stopped.
    assert moderation.calls == [(carol_feed, True), (carol_feed, False), (bob_feed, True)]

    # Carol offers it back, then thinks better of it; Bob asks to take it, and she accepts.
    await b.m.carol.request("interpretation.handover", {"to": b.bob_id})
    await b.m.carol.request("interpretation.handover.cancel")
    await b.dave.wait_event(
        "interpretation.updated",
        lambda d: booth_of(d, "fr")["handover"] is None and booth_of(d, "fr")["live"] == b.carol_id,
        after=len(b.dave.events) - 1,
    )
    assert await refused(b.m.bob, "interpretation.handover.cancel") == "invalid_state"
    await b.m.bob.request("interpretation.handover", {"to": b.carol_id})
    await b.m.carol.request("interpretation.handover.accept")
    await b.dave.wait_event(
        "interpretation.updated", lambda d: booth_of(d, "fr")["live"] == b.bob_id
    )
    assert moderation.calls[-2:] == [(bob_feed, False), (carol_feed, True)]
    await b.close()


async def test_who_may_receive_channel_and_booth_feeds(server: RunningServer) -> None:
    b = await fr_booth(server)
    rami = await SignalClient.connect(server, server.guest())
    await rami.join(b.m.info["link_token"], display_name="Rami")
    await b.m.host.request(
        "interpretation.assign", {"participant": rami.participant_id, "languages": ["ar"]}
    )
    await rami.wait_event("interpretation.updated", lambda d: len(d["interpreters"]) == 3)
    channel_feed = await publish(b.m.bob, "interpretation")
    booth_feed = await publish(b.m.bob, "booth")

    async def verdict(client: SignalClient, feed: int) -> str:
        """forbidden, or what the media server said (the feed's connection is not up here)."""
        try:
            await client.request("subscribe", {"add": [{"feed": feed}]})
        except SignalError as exc:
            return "forbidden" if exc.code == "forbidden" else "allowed"
        return "allowed"

    # A listener on the floor may not receive a channel; one who picked it may.
    assert await verdict(b.dave, channel_feed) == "forbidden"
    reply = await b.dave.request("interpretation.listen", {"channel": "es"})
    assert reply == {"channel": "es"}
    assert await verdict(b.dave, channel_feed) == "forbidden"
    await b.dave.request("interpretation.listen", {"channel": "fr"})
    assert await verdict(b.dave, channel_feed) == "allowed"
    await b.dave.request("interpretation.listen", {"channel": None})
    assert await verdict(b.dave, channel_feed) == "forbidden"
    # Interpreters may hear any channel (relay); the partner link is the booth's alone.
    assert await verdict(rami, channel_feed) == "allowed"
    assert await verdict(b.m.carol, booth_feed) == "allowed"
    assert await verdict(rami, booth_feed) == "forbidden"
    assert await verdict(b.dave, booth_feed) == "forbidden"
    assert await verdict(b.m.host, booth_feed) == "forbidden"
    await rami.close()
    await b.close()


async def test_the_live_interpreter_leaving_falls_back_to_the_floor(server: RunningServer) -> None:
    b = await fr_booth(server)
    await publish(b.m.bob, "interpretation")
    await b.dave.wait_event(
        "interpretation.updated", lambda d: booth_of(d, "fr")["live"] == b.bob_id
    )
    await b.m.bob.request("leave")
    after = await b.dave.wait_event(
        "interpretation.updated", lambda d: booth_of(d, "fr")["partners"] == [b.carol_id]
    )
    assert booth_of(after, "fr")["live"] is None
    assert channel_of(after, "fr")["on_air"] is False
    # The partner may take the channel now.
    await b.m.carol.request("interpretation.take")
    taken = await b.dave.wait_event(
        "interpretation.updated", lambda d: booth_of(d, "fr")["live"] == b.carol_id
    )
    assert channel_of(taken, "fr")["on_air"] is True
    await b.m.carol.request("interpretation.take")  # already live: nothing to do
    # Unassigned while live: the channel is let go and her feeds cut.
    await b.m.host.request("interpretation.unassign", {"participant": b.carol_id})
    cut = await b.dave.wait_event("interpretation.updated", lambda d: not d["interpreters"])
    assert cut["booths"] == []
    await b.close()


async def test_booth_chat_and_signals_reach_the_right_people(server: RunningServer) -> None:
    b = await fr_booth(server)
    await b.m.bob.request("interpretation.booth_chat", {"text": "  next speaker is fast  "})
    for c in (b.m.bob, b.m.carol):
        got = await c.wait_event("interpretation.booth_message")
        assert got["text"] == "next speaker is fast"
        assert got["booth"] == "fr"
        assert got["sender"] == b.bob_id
    await b.m.carol.request(
        "interpretation.signal", {"kind": "slow_down", "to": b.dave.participant_id}
    )
    for c in (b.m.host, b.m.bob, b.m.carol, b.dave):
        got = await c.wait_event("interpretation.signal")
        assert got["kind"] == "slow_down"
        assert got["to"] == b.dave.participant_id
        assert got["display_name"] == "Carol"
    assert await refused(b.m.bob, "interpretation.booth_chat", {"text": "   "}) == "invalid_request"
    await settle(b.dave, b.m.host)
    assert "interpretation.booth_message" not in b.dave.types()
    assert "interpretation.booth_message" not in b.m.host.types()
    codes = []
    for _ in range(8):
        try:
            await b.m.bob.request("interpretation.signal", {"kind": "audio_poor"})
            codes.append("ok")
        except SignalError as exc:
            codes.append(exc.code)
    assert "rate_limited" in codes
    await b.close()


async def test_a_restore_keeps_the_booth_and_a_resume_keeps_the_listening_choice(
    server: RunningServer,
) -> None:
    b = await fr_booth(server)
    await publish(b.m.bob, "interpretation")
    await b.m.bob.request("interpretation.handover", {"to": b.carol_id})
    await b.dave.request("interpretation.listen", {"channel": "fr"})
    await b.dave.wait_event(
        "interpretation.updated", lambda d: booth_of(d, "fr")["handover"] is not None
    )
    before = b.info()
    data = await move(b.conf)
    state = data["interpretation"]
    assert state["listening"] == {b.dave.participant_id: "fr"}
    assert state["booths"]["fr"]["live"] == b.bob_id
    assert b.info() == before
    async with b.conf.room.lock:
        carol = b.conf.room.participants[b.m.carol.participant_id]  # type: ignore[index]
        assert carol.interpreter_languages == ("fr",)

    # The dave connection drops and resumes: what he listens to is kept.
    token = b.dave.resume_token
    await b.dave.ws.close()
    again = await SignalClient.connect(server, server.guest())
    reply = await again.join(b.m.info["link_token"], resume=token)
    assert reply["snapshot"]["interpretation_listening"] == "fr"
    assert booth_of(reply["snapshot"]["interpretation"], "fr")["live"] == b.bob_id
    b.dave = again

    await b.m.carol.request("interpretation.handover.accept")
    await again.wait_event(
        "interpretation.updated", lambda d: booth_of(d, "fr")["live"] == b.carol_id
    )
    # Rebuilt from an empty snapshot, nobody interprets any more.
    await b.conf.restore_features({})
    async with b.conf.room.lock:
        assert not b.conf.room.participants[b.m.carol.participant_id].interpreter_languages  # type: ignore[index]
    await b.close()


async def test_a_bidirectional_booth_picks_its_output_unless_another_booth_is_live_in_it(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    conf = conference(server, m)
    bob, carol = m.bob.participant_id, m.carol.participant_id
    await m.host.request("interpretation.assign", {"participant": bob, "languages": ["fr", "en"]})
    await m.host.request("interpretation.assign", {"participant": carol, "languages": ["fr"]})
    carol_feed = await publish(m.carol, "interpretation")
    bob_feed = await publish(m.bob, "interpretation")
    both = await m.host.wait_event(
        "interpretation.updated",
        lambda d: booth_of(d, "en-fr")["live"] == bob and booth_of(d, "fr")["live"] == carol,
    )
    assert channel_of(both, "en")["booth"] == "en-fr"
    assert channel_of(both, "fr")["booth"] == "fr"
    assert await refused(m.bob, "interpretation.output", {"language": "fr"}) == "invalid_state"
    assert await refused(m.bob, "interpretation.output", {"language": "ar"}) == "invalid_state"
    await m.bob.request("interpretation.output", {"language": "en"})  # already: nothing changes

    # Carol leaves: her booth (named live, for her alone) goes with her.
    await m.carol.request("leave")
    await m.host.wait_event("interpretation.updated", lambda d: len(d["booths"]) == 1)
    await m.bob.request("interpretation.output", {"language": "fr"})
    switched = await m.host.wait_event(
        "interpretation.updated", lambda d: booth_of(d, "en-fr")["output"] == "fr"
    )
    assert channel_of(switched, "fr")["booth"] == "en-fr"
    assert channel_of(switched, "fr")["on_air"] is True
    assert channel_of(switched, "en")["on_air"] is False
    async with conf.room.lock:
        assert conf.room.participants[bob].feeds["interpretation"].channel == "fr"  # type: ignore[index]
    assert bob_feed != carol_feed
    await m.close()
