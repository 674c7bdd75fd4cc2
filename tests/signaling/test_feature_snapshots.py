"""Each feature of a live meeting gives its state as a snapshot and is rebuilt from one.

A snapshot goes through JSON and is restored into new instances of every feature (the old ones
are dropped), as when a live meeting moves to another node; the meeting then behaves as before.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from convene.protocol.ids import MeetingId, ParticipantId
from convene.signaling.conference import Conference
from convene.signaling.registry import Registry
from tests.signaling.test_meeting import Meeting, open_meeting
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    # Captions are turned on here without a worker or translation engines: no child starts.
    quiet: dict[str, Any] = {"worker": {"embedded": False}, "translation": {"enabled": False}}
    async with running_server(tmp_path, **quiet) as running:
        yield running


def conference(server: RunningServer, m: Meeting) -> Conference:
    registry: Registry = server.app.state.live_meetings
    conf = registry.get(MeetingId(m.info["id"]))
    assert conf is not None, "the meeting is not live"
    return conf


async def move(conf: Conference) -> dict[str, Any]:
    """Snapshot every feature, through JSON, and rebuild them all from it. In between, every
    feature is reset to its empty state (state kept on the participants included), so that
    what the meeting does next comes from the snapshot alone."""
    before = list(conf._features)
    data: dict[str, Any] = json.loads(json.dumps(await conf.feature_snapshot()))
    await conf.restore_features({})
    await conf.restore_features(data)
    assert not any(f is g for f in before for g in conf._features), "not rebuilt"
    return data


async def settle(*clients: SignalClient) -> None:
    """Every event queued before now has reached these clients."""
    for c in clients:
        await c.request("ping")


async def test_chat_after_a_restore_answers_a_resend_without_sending_it_again(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    conf = conference(server, m)
    sent = await m.bob.request("chat.send", {"text": "hello", "client_msg_id": "b1"})
    message_id = sent["message"]["id"]
    await m.carol.wait_event("chat.message", lambda d: d["id"] == message_id)

    data = await move(conf)
    assert data["chat"] == {"sent": [message_id]}

    again = await m.bob.request("chat.send", {"text": "hello", "client_msg_id": "b1"})
    assert again["message"]["id"] == message_id
    later = await m.bob.request("chat.send", {"text": "and now", "client_msg_id": "b2"})
    await m.carol.wait_event("chat.message", lambda d: d["id"] == later["message"]["id"])
    await settle(m.carol)
    seen = [e["data"]["id"] for e in m.carol.events if e["type"] == "chat.message"]
    assert seen.count(message_id) == 1
    assert (await move(conf))["chat"] == {"sent": [message_id, later["message"]["id"]]}
    await m.close()


async def test_spotlight_after_a_restore(server: RunningServer) -> None:
    m = await open_meeting(server)
    conf = conference(server, m)
    bob, carol = m.bob.participant_id, m.carol.participant_id
    await m.host.request("host.spotlight", {"participant_ids": [carol, bob]})
    await m.bob.wait_event("spotlight.updated")

    data = await move(conf)
    assert data["spotlight"] == {"participant_ids": [carol, bob]}

    late = await SignalClient.connect(server, server.guest())
    reply = await late.join(m.info["link_token"], display_name="Dave")
    assert reply["snapshot"]["spotlight"] == [carol, bob]
    # The same list again changes nothing and tells nobody.
    await m.host.request("host.spotlight", {"participant_ids": [carol, bob]})
    await settle(m.host, m.bob)
    assert m.bob.types().count("spotlight.updated") == 1
    # A spotlighted participant who leaves drops out of it.
    await m.carol.request("leave")
    got = await m.bob.wait_event("spotlight.updated", lambda d: d["participant_ids"] == [bob])
    assert got["by"] is None
    await late.close()
    await m.close()


async def test_hands_and_reactions_after_a_restore(server: RunningServer) -> None:
    m = await open_meeting(server)
    conf = conference(server, m)
    bob = ParticipantId(m.bob.participant_id)
    await m.bob.request("hand", {"raised": True})
    raised = await m.host.wait_event(
        "participant.updated",
        lambda d: d["participant"]["id"] == bob and d["participant"]["hand_raised"],
    )
    raised_at = raised["participant"]["hand_raised_at"]

    snap: dict[str, Any] = json.loads(json.dumps(await conf.feature_snapshot()))
    assert list(snap["hands"]["raised"]) == [bob]
    # The hand is lowered, then the snapshot from before is restored: the hand is up again,
    # raised when it was.
    await m.bob.request("hand", {"raised": False})
    await conf.restore_features(snap)
    assert conf.room.participants[bob].hand_raised_at is not None

    late = await SignalClient.connect(server, server.guest())
    reply = await late.join(m.info["link_token"], display_name="Dave")
    [info] = [p for p in reply["snapshot"]["participants"] if p["id"] == bob]
    assert info["hand_raised"]
    assert info["hand_raised_at"] == raised_at

    await m.host.request("host.lower_hand", {"participant": bob})
    got = await m.bob.wait_event("moderated", lambda d: d["action"] == "hand_lowered")
    assert got["by"]["id"] == m.host.participant_id
    assert (await move(conf))["hands"] == {"raised": {}}

    await m.carol.request("reaction", {"emoji": "👏"})
    for c in (m.host, m.bob, late):
        reaction = await c.wait_event("reaction")
        assert reaction == {"participant_id": m.carol.participant_id, "emoji": "👏"}
    await late.close()
    await m.close()


async def test_host_mutes_and_unmute_invitations_after_a_restore(server: RunningServer) -> None:
    m = await open_meeting(server)
    conf = conference(server, m)
    bob, carol = m.bob.participant_id, m.carol.participant_id
    await m.host.request("host.mute_all", {"allow_self_unmute": False})
    await m.bob.wait_event("moderated", lambda d: d["action"] == "audio_muted")

    data = await move(conf)
    assert data["host_controls"]["moderation"][bob] == {
        "audio_blocked": True,
        "video_blocked": False,
        "unmute_invited": False,
    }
    with pytest.raises(SignalError) as exc:
        await m.bob.request("media.state", {"audio": True, "video": False})
    assert exc.value.code == "muted_by_host"

    await m.host.request("host.ask_unmute", {"participant": bob})
    await m.bob.wait_event("moderated", lambda d: d["action"] == "unmute_requested")
    data = await move(conf)
    assert data["host_controls"]["moderation"][bob]["unmute_invited"] is True
    # The invitation survived: Bob may unmute; Carol, not invited, still may not.
    await m.bob.request("media.state", {"audio": True, "video": False})
    with pytest.raises(SignalError) as exc:
        await m.carol.request("media.state", {"audio": True, "video": False})
    assert exc.value.code == "muted_by_host"
    assert bob not in (await move(conf))["host_controls"]["moderation"]
    assert carol in (await move(conf))["host_controls"]["moderation"]
    await m.close()


async def test_a_feature_missing_from_the_snapshot_starts_empty(server: RunningServer) -> None:
    m = await open_meeting(server)
    conf = conference(server, m)
    await m.host.request("host.spotlight", {"participant_ids": [m.bob.participant_id]})
    await m.bob.request("hand", {"raised": True})
    await conf.restore_features({})
    assert await conf.feature_snapshot() == {
        "chat": {"sent": []},
        "hands": {"raised": {}},
        "host_controls": {"moderation": {}},
        "spotlight": {"participant_ids": []},
        "captions": {
            "active": False,
            "started_at": None,
            "started_by": None,
            "origin": None,
            "readings": {},
        },
        "audio_quality": {"ratings": {}},
        "interpretation": {
            "assigned": {},
            "assigned_people": {},
            "stored": {},
            "revoked": [],
            "stored_emails": {},
            "revoked_emails": [],
            "booths": {},
            "listening": {},
            "machine": [],
            "machine_feeds": {},
        },
        "livestream": {
            "state": "off",
            "started_at": None,
            "by": None,
            "audio": [],
            "subtitles": [],
            "floor_language": None,
            "rtmp_target": None,
        },
        "comments": {
            "enabled": None,
            "slow_mode_seconds": 0,
            "words": [],
            "recent": [],
            "remembered": [],
            "hidden": [],
            "by_client_id": {},
            "last_sent": {},
            "pending": [],
            "received": 0,
        },
        "audience": {"count": 0, "hands": []},
        "qa": {"enabled": None, "anonymous": True, "questions": []},
        "polls": {"polls": []},
    }
    await m.close()


async def test_captions_after_a_restore(server: RunningServer) -> None:
    m = await open_meeting(server)
    conf = conference(server, m)
    bob, carol = m.bob.participant_id, m.carol.participant_id
    await m.bob.request("captions.read", {"reading": "es"})
    await m.carol.request("captions.read", {"reading": "original"})
    await m.host.request("captions.start")
    on = await m.bob.wait_event("captions.updated", lambda d: d["active"])

    data = await move(conf)
    captions = data["captions"]
    assert captions["active"] is True
    assert captions["started_by"] == {"id": m.host.participant_id, "display_name": "Alice"}
    assert captions["readings"] == {bob: "es", carol: "original"}

    late = await SignalClient.connect(server, server.guest())
    reply = await late.join(m.info["link_token"], display_name="Dave")
    assert reply["snapshot"]["captions"]["active"] is True
    assert reply["snapshot"]["captions"]["started_at"] == on["started_at"]
    await m.bob.request("captions.read", {"reading": "fr"})
    # Carol's choice survived: she leaves, and it goes with her.
    await m.carol.request("leave")
    await m.host.wait_event("participant.left", lambda d: d["participant_id"] == carol)
    assert (await move(conf))["captions"]["readings"] == {bob: "fr"}

    # Started before the move, stopped after it: everyone is told once.
    await m.host.request("captions.stop")
    off = await late.wait_event("captions.updated", lambda d: not d["active"])
    assert off["started_by"] is None
    await settle(m.bob)
    assert m.bob.types().count("captions.updated") == 2
    await late.close()
    await m.close()
