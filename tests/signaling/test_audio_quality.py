"""Audio quality: a speaker's poor audio is told to the speaker, the hosts and co-hosts and the
interpreters, and is in their snapshot; reports are rate limited; the server's own rating."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from convene.captions.service import CaptionsService
from convene.protocol.ids import MeetingId, ParticipantId
from convene.signaling.features.audio_quality import AudioQuality
from tests.signaling.test_feature_snapshots import conference, move, settle
from tests.signaling.test_meeting import Meeting, open_meeting
from tests.support.server import RunningServer
from tests.support.signal import SignalClient, SignalError
from tests.worker.processes import eventually

CLIPPING = {"rating": "poor", "issues": ["clipping"], "clipping": 0.02, "level_dbfs": -6.0}


class Clock:
    """The feature's clock, moved by hand so that tests need not wait out the rate limit."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def feature(server: RunningServer, m: Meeting) -> AudioQuality:
    found = [f for f in conference(server, m)._features if isinstance(f, AudioQuality)]
    assert len(found) == 1
    return found[0]


async def with_clock(server: RunningServer) -> tuple[Meeting, Clock]:
    """Alice hosts, Bob speaks, Carol (a guest) interprets English and French."""
    m = await open_meeting(server)
    clock = Clock()
    feature(server, m)._clock = clock
    carol = m.carol.participant_id
    await m.host.request("interpretation.assign", {"participant": carol, "languages": ["en", "fr"]})
    return m, clock


async def report(c: SignalClient, clock: Clock, data: dict[str, Any]) -> None:
    clock.t += 2.5
    await c.request("audio.quality", data)


def count(c: SignalClient) -> int:
    return c.types().count("audio.quality")


async def test_poor_audio_goes_to_the_speaker_hosts_and_interpreters(
    server: RunningServer,
) -> None:
    m, clock = await with_clock(server)
    bob = m.bob.participant_id
    dave = await SignalClient.connect(server, server.guest())
    await dave.join(m.info["link_token"], display_name="Dave")
    await settle(m.host, m.bob, m.carol, dave)

    await report(m.bob, clock, CLIPPING)
    for c in (m.bob, m.host, m.carol):
        got = await c.wait_event("audio.quality")
        assert got["participant_id"] == bob
        assert got["rating"] == "poor"
        assert got["issues"] == ["clipping"]
        assert got["source"] == "client"
        assert got["at"]
    await settle(dave)
    assert count(dave) == 0  # another participant is not told

    # Poor again, the same issues: nobody is told twice.
    await report(m.bob, clock, CLIPPING)
    # Poor for another reason: told.
    await report(m.bob, clock, {"rating": "poor", "issues": ["clipping", "noisy"]})
    got = await m.host.wait_event("audio.quality", lambda d: d["issues"] == ["clipping", "noisy"])
    await settle(m.host)
    assert count(m.host) == 2

    # Out of poor: told (the warning ends); fair to good: nobody is told.
    await report(m.bob, clock, {"rating": "fair", "issues": ["narrowband"]})
    for c in (m.bob, m.host, m.carol):
        await c.wait_event("audio.quality", lambda d: d["rating"] == "fair")
    await report(m.bob, clock, {"rating": "good"})
    await settle(m.host, m.bob, m.carol)
    assert [count(c) for c in (m.host, m.bob, m.carol, dave)] == [3, 3, 3, 0]

    # A good first report tells nobody; the interpreter's own poor audio is told to her and
    # the host, not to Bob.
    await report(m.carol, clock, {"rating": "good"})
    await report(m.carol, clock, {"rating": "poor", "issues": ["narrowband"]})
    for c in (m.carol, m.host):
        await c.wait_event("audio.quality", lambda d: d["participant_id"] == m.carol.participant_id)
    await settle(m.bob)
    assert count(m.bob) == 3
    await dave.close()
    await m.close()


async def test_a_cohost_is_told_and_the_snapshot_has_the_warnings_for_those_told_only(
    server: RunningServer,
) -> None:
    m, clock = await with_clock(server)
    bob, carol = m.bob.participant_id, m.carol.participant_id
    await report(m.carol, clock, {"rating": "poor", "issues": ["quiet"]})
    await m.host.request("host.set_role", {"participant": bob, "role": "cohost"})
    await report(m.carol, clock, {"rating": "poor", "issues": ["quiet", "noisy"]})
    got = await m.bob.wait_event("audio.quality")
    assert got["participant_id"] == carol

    # A late joiner who is no host nor interpreter has no warnings; the host who comes back
    # (a resume) finds Carol's.
    dave = await SignalClient.connect(server, server.guest())
    reply = await dave.join(m.info["link_token"], display_name="Dave")
    assert reply["snapshot"]["audio_warnings"] == []
    token = m.host.resume_token
    await m.host.ws.close()
    again = await SignalClient.connect(server, m.alice)
    reply = await again.join(m.info["link_token"], resume=token)
    warnings = reply["snapshot"]["audio_warnings"]
    assert [(w["participant_id"], w["rating"], w["issues"]) for w in warnings] == [
        (carol, "poor", ["quiet", "noisy"])
    ]

    # Carol leaves: her warning goes with her.
    await m.carol.request("leave")
    await again.wait_event("participant.left", lambda d: d["participant_id"] == carol)
    await again.ws.close()
    back = await SignalClient.connect(server, m.alice)
    reply = await back.join(m.info["link_token"], resume=again.resume_token)
    assert reply["snapshot"]["audio_warnings"] == []
    for c in (dave, back, m.bob):
        await c.close()


async def test_reports_are_rate_limited(server: RunningServer) -> None:
    m = await open_meeting(server)
    await m.bob.request("audio.quality", CLIPPING)
    with pytest.raises(SignalError) as exc:
        await m.bob.request("audio.quality", {"rating": "good"})
    assert exc.value.code == "rate_limited"
    assert exc.value.details["retry_after"] in (1, 2)
    # Refused: it had no effect (Bob is still rated poor).
    await settle(m.host)
    assert count(m.host) == 1
    # Each participant has their own allowance.
    await m.carol.request("audio.quality", {"rating": "good"})
    await asyncio.sleep(2.05)
    await m.bob.request("audio.quality", {"rating": "good"})
    await m.host.wait_event("audio.quality", lambda d: d["rating"] == "good")
    await m.close()


async def test_bad_reports_are_refused(server: RunningServer) -> None:
    m, clock = await with_clock(server)
    for data in [
        {},
        {"rating": "awful"},
        {"rating": "poor", "issues": ["loud"]},
        {"rating": "poor", "issues": ["quiet"] * 5},
        {"rating": "good", "level_dbfs": 3},
        {"rating": "good", "clipping": 1.5},
        {"rating": "good", "bandwidth_hz": -1},
        {"rating": "good", "extra": 1},
    ]:
        clock.t += 2.5
        with pytest.raises(SignalError) as exc:
            await m.bob.request("audio.quality", data)
        assert exc.value.code == "invalid_request", data
    await settle(m.host)
    assert count(m.host) == 0
    await m.close()


async def test_the_servers_rating_and_a_restore(server: RunningServer) -> None:
    m, clock = await with_clock(server)
    bob = ParticipantId(m.bob.participant_id)
    conf = conference(server, m)
    async with conf.room.lock:
        feature(server, m).heard(bob, "poor", ["narrowband", "narrowband"])
    got = await m.carol.wait_event("audio.quality")
    assert got["source"] == "server"
    assert got["issues"] == ["narrowband"]
    await report(m.bob, clock, CLIPPING)
    await m.host.wait_event("audio.quality", lambda d: d["source"] == "client")

    # Moved to another node: both ratings are kept; Bob's client comes back to good, which
    # ends the client's warning only.
    data = await move(conf)
    assert set(data["audio_quality"]["ratings"][bob]) == {"client", "server"}
    await m.bob.request("audio.quality", {"rating": "good"})
    await m.host.wait_event("audio.quality", lambda d: d["rating"] == "good")
    token = m.host.resume_token
    await m.host.ws.close()
    again = await SignalClient.connect(server, m.alice)
    reply = await again.join(m.info["link_token"], resume=token)
    warnings = reply["snapshot"]["audio_warnings"]
    assert [(w["participant_id"], w["source"]) for w in warnings] == [(bob, "server")]
    for c in (again, m.bob, m.carol):
        await c.close()


async def test_the_workers_ratings_come_through_the_captions_service(
    server: RunningServer,
) -> None:
    m, _clock = await with_clock(server)
    service = server.app.state.captions
    assert isinstance(service, CaptionsService)
    mid = MeetingId(m.info["id"])
    # What the service calls when the meeting's worker reports a rating (see
    # tests/worker/test_audio_quality_link.py for the worker's side).
    handlers = list(service._quality.get(mid, []))
    assert len(handlers) == 1
    handlers[0](ParticipantId(m.bob.participant_id), "poor", ["noisy"])
    for c in (m.bob, m.host, m.carol):
        got = await c.wait_event("audio.quality", lambda d: d["source"] == "server")
        assert (got["participant_id"], got["issues"]) == (m.bob.participant_id, ["noisy"])
    # A participant who is not (or no longer) in the meeting: nothing.
    handlers[0](ParticipantId("p_nobody"), "poor", ["noisy"])
    await settle(m.host)
    assert count(m.host) == 1
    # The meeting ends: the feature lets go of its subscription.
    await m.host.request("host.end")
    await eventually(lambda: mid not in service._quality, 10, "the unsubscription")
    for c in (m.bob, m.carol, m.host):
        await c.close()
