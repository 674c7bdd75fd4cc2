"""Interpretation channels heard through a real Janus, by ear.

Hana (host) speaks on the floor with a 440 Hz tone. Anna and Bert are the booth partners of the
"fr" channel and speak into it with 660 Hz and 880 Hz tones; Rami is the "ar" interpreter, who
works by relay from "fr". Lena listens to "fr", Fred to the floor only. Every step goes through
Convene's signaling as a client's would; the listeners decode what Janus forwards and the test
reads each stream's frequency off its spectrum (and counts RTP packets), so "only the live
partner is forwarded" and "the partner is cut at the media server" are checked on the wire.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.media.tones import ListeningPeer, ToneTrack
from tests.support.janus import media_settings
from tests.support.peer import TestPeer
from tests.support.server import Person, RunningServer, running_server
from tests.support.signal import SignalClient, SignalError

FLOOR, FR_A, FR_B = 440.0, 660.0, 880.0
# Seconds for packets already in flight (and the jitter buffer) to drain after a change at Janus.
SETTLE = 0.5
# Seconds of audio to listen to each time (1 Hz bins; tones 220 Hz apart).
LISTEN = 1.0


@dataclass
class Member:
    name: str
    signal: SignalClient
    peer: ListeningPeer
    feed: int | None = None
    # subscriber mid -> the feed it carries
    received: dict[str, int] = field(default_factory=dict)
    # the peers sending its feeds (one per source)
    senders: list[TestPeer] = field(default_factory=list)

    @property
    def pid(self) -> str:
        assert self.signal.participant_id is not None
        return self.signal.participant_id

    async def publish(self, source: str, frequency: float) -> None:
        """Publish one audio-only feed carrying a tone of ``frequency``."""
        sender = TestPeer(f"{self.name} {source}", video=False)
        sender.audio_track = ToneTrack(frequency)  # type: ignore[assignment]
        self.senders.append(sender)
        offer = await sender.create_offer()
        reply = await self.signal.request(
            "publish",
            {
                "source": source,
                "jsep": {"type": "offer", "sdp": offer},
                "audio": True,
                "video": False,
            },
        )
        assert reply["jsep"]["type"] == "answer"
        assert [s["kind"] for s in reply["streams"]] == ["audio"]
        self.feed = reply["feed"]
        await sender.apply_answer(reply["jsep"]["sdp"])

    async def subscribe(self, *feeds: int) -> None:
        # As a client does: subscribe once each feed is announced (its connection is up).
        for feed in feeds:
            await self.signal.wait_event("feed.added", lambda d, f=feed: d["feed"]["id"] == f)
        reply = await self.signal.request("subscribe", {"add": [{"feed": f} for f in feeds]})
        assert reply["jsep"] is not None
        answer = await self.peer.answer_offer(reply["jsep"]["sdp"])
        await self.signal.request("subscriber.answer", {"jsep": {"type": "answer", "sdp": answer}})
        for s in reply["streams"]:
            self.received[s["mid"]] = s["feed"]

    def mid_of(self, feed: int | None) -> str:
        return next(mid for mid, f in self.received.items() if f == feed)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path, janus=media_settings()) as running:
        yield running


async def join(server: RunningServer, link: str, person: Person, name: str) -> Member:
    signal = await SignalClient.connect(server, person)
    reply = await signal.join(link, display_name=name)
    assert reply["state"] == "joined"
    return Member(name, signal, ListeningPeer(name))


async def guest(server: RunningServer, link: str, name: str) -> Member:
    person = server.guest()
    await person.meeting_info(link)
    return await join(server, link, person, name)


def booth(info: dict[str, Any], booth_id: str) -> dict[str, Any] | None:
    return next((b for b in info["booths"] if b["id"] == booth_id), None)


def channel(info: dict[str, Any], language: str) -> dict[str, Any] | None:
    return next((c for c in info["channels"] if c["language"] == language), None)


async def updated(member: Member, where: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first ``interpretation.updated`` ``member`` got that satisfies ``where``."""
    return await member.signal.wait_event("interpretation.updated", where, timeout=20)


async def heard_over(member: Member, mids: list[str], seconds: float = LISTEN) -> dict[str, int]:
    """Listen for ``seconds``; the RTP packets that arrived on each of ``mids`` meanwhile."""
    start = time.monotonic()
    await asyncio.sleep(seconds)
    return {mid: member.peer.packets_since(mid, start) for mid in mids}


async def test_listeners_hear_the_live_interpreter_relay_handover_and_unassign(
    server: RunningServer,
) -> None:
    hana_person = await server.sign_up("hana@example.org", "Hana")
    meeting = await hana_person.create_meeting(waiting_room=False)
    link = meeting["link_token"]
    hana = await join(server, link, hana_person, "Hana")
    anna = await guest(server, link, "Anna")
    bert = await guest(server, link, "Bert")
    rami = await guest(server, link, "Rami")
    lena = await guest(server, link, "Lena")
    fred = await guest(server, link, "Fred")
    members = [hana, anna, bert, rami, lena, fred]
    try:
        # The host names the interpreters live: a two-partner "fr" booth, and "ar".
        for member, languages in ((anna, ["fr"]), (bert, ["fr"]), (rami, ["ar"])):
            assert (
                await hana.signal.request(
                    "interpretation.assign", {"participant": member.pid, "languages": languages}
                )
                == {}
            )
        info = await updated(
            lena,
            lambda d: (
                (b := booth(d, "fr")) is not None
                and set(b["partners"]) == {anna.pid, bert.pid}
                and booth(d, "ar") is not None
            ),
        )
        assert channel(info, "fr") is not None
        assert channel(info, "ar") is not None

        # Hana speaks on the floor; Anna publishes into "fr" first and so is live, Bert after her.
        await hana.publish("main", FLOOR)
        await anna.publish("interpretation", FR_A)
        await bert.publish("interpretation", FR_B)
        info = await updated(
            lena,
            lambda d: (
                (b := booth(d, "fr")) is not None
                and b["live"] == anna.pid
                and (c := channel(d, "fr")) is not None
                and set(c["feeds"]) == {anna.feed, bert.feed}
                and c["on_air"]
            ),
        )
        fr_feeds = channel(info, "fr")["feeds"]  # type: ignore[index]

        # Someone who is not an interpreter cannot publish into a channel.
        with pytest.raises(SignalError) as refused:
            await fred.publish("interpretation", FR_A)
        assert refused.value.code == "not_interpreter"
        assert fred.feed is None

        # Lena picks "fr": the floor and Anna's voice, not Bert's (stopped at Janus).
        assert await lena.signal.request("interpretation.listen", {"channel": "fr"}) == {
            "channel": "fr"
        }
        await lena.subscribe(hana.feed, *fr_feeds)  # type: ignore[arg-type]
        floor_mid, a_mid, b_mid = (lena.mid_of(f) for f in (hana.feed, anna.feed, bert.feed))
        await lena.peer.wait_for(lambda: lena.peer.hears(a_mid, FR_A), what="Anna's tone")
        await lena.peer.wait_for(lambda: lena.peer.hears(floor_mid, FLOOR), what="the floor")
        packets = await heard_over(lena, [a_mid, b_mid])
        assert packets[a_mid] > 25
        assert packets[b_mid] == 0
        assert lena.peer.tones([a_mid, b_mid]) == {FR_A}

        # Fred stays on the floor: a channel feed is refused him, and he hears only the floor.
        with pytest.raises(SignalError) as forbidden:
            await fred.subscribe(anna.feed)  # type: ignore[arg-type]
        assert forbidden.value.code == "forbidden"
        await fred.subscribe(hana.feed)  # type: ignore[arg-type]
        await fred.peer.wait_for(
            lambda: fred.peer.hears(fred.mid_of(hana.feed), FLOOR), what="the floor"
        )
        assert set(fred.received.values()) == {hana.feed}
        assert set(fred.peer.recv_mids) == {fred.mid_of(hana.feed)}

        # Relay: the "ar" interpreter works from the "fr" channel and hears Anna.
        assert await rami.signal.request("interpretation.listen", {"channel": "fr"}) == {
            "channel": "fr"
        }
        await rami.subscribe(*fr_feeds)
        await rami.peer.wait_for(
            lambda: rami.peer.hears(rami.mid_of(anna.feed), FR_A), what="Anna's tone by relay"
        )

        # Anna hands over to Bert; once he accepts, Lena hears Bert and no longer Anna, with
        # no renegotiation on her side.
        assert await anna.signal.request("interpretation.handover", {"to": bert.pid}) == {}
        await updated(
            bert,
            lambda d: (
                (b := booth(d, "fr")) is not None
                and b["handover"] is not None
                and b["handover"]["to"] == bert.pid
            ),
        )
        assert await bert.signal.request("interpretation.handover.accept") == {}
        await updated(lena, lambda d: (b := booth(d, "fr")) is not None and b["live"] == bert.pid)
        await lena.peer.wait_for(lambda: lena.peer.hears(b_mid, FR_B), what="Bert's tone")
        await asyncio.sleep(SETTLE)
        packets = await heard_over(lena, [a_mid, b_mid])
        assert packets[a_mid] == 0
        assert packets[b_mid] > 25
        assert lena.peer.tones([a_mid, b_mid]) == {FR_B}
        assert lena.peer.hears(floor_mid, FLOOR)

        # The host unassigns Bert, who is live: his channel stops at Janus (his client goes on
        # sending), nobody is live and "fr" falls back to the floor.
        assert await hana.signal.request("interpretation.unassign", {"participant": bert.pid}) == {}
        await updated(
            lena,
            lambda d: (
                (b := booth(d, "fr")) is not None
                and b["live"] is None
                and not channel(d, "fr")["on_air"]
            ),  # type: ignore[index]
        )
        await asyncio.sleep(SETTLE)
        packets = await heard_over(lena, [a_mid, b_mid, floor_mid])
        assert packets[b_mid] == 0
        assert packets[a_mid] == 0
        assert packets[floor_mid] > 25
    finally:
        for member in members:
            await member.signal.close()
            await member.peer.close()
            for sender in member.senders:
                await sender.close()
