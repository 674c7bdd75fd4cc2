"""A live interpreter (``interpretation.assign``, not named ahead) who drops and joins afresh
(a new connection and a new participant, not a resume) interprets again in the same languages,
matched on who they are: their account, or a guest's cookie. The assignment moves with the
meeting's snapshot; ``interpretation.unassign`` and ``host.remove`` end it for good.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from convene.signaling.conference import Conference
from convene.signaling.features.interpretation import Interpretation
from tests.signaling.test_feature_snapshots import conference, move
from tests.signaling.test_meeting import Meeting, open_meeting
from tests.support.server import Person, RunningServer, running_server
from tests.support.signal import SignalClient, SignalError

QUIET: dict[str, Any] = {"worker": {"embedded": False}, "translation": {"enabled": False}}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path, **QUIET) as running:
        yield running


def feature(conf: Conference) -> Interpretation:
    for f in conf._features:
        if isinstance(f, Interpretation):
            return f
    raise AssertionError("no interpretation feature")


def interpreters(snapshot: dict[str, Any]) -> dict[str, list[str]]:
    """The interpreters a snapshot or ``interpretation.updated`` shows, by participant."""
    return {i["participant_id"]: i["languages"] for i in snapshot["interpretation"]["interpreters"]}


async def assign(m: Meeting, client: SignalClient, languages: list[str]) -> None:
    await m.host.request(
        "interpretation.assign", {"participant": client.participant_id, "languages": languages}
    )
    await m.host.wait_event(
        "interpretation.updated",
        lambda d: any(i["participant_id"] == client.participant_id for i in d["interpreters"]),
    )


async def rejoin(
    server: RunningServer, m: Meeting, old: SignalClient, person: Person, **fields: Any
) -> tuple[SignalClient, dict[str, Any]]:
    """``old`` leaves; the same person joins again from a new connection (no resume)."""
    gone = old.participant_id
    await old.request("leave")
    await old.close()
    await m.host.wait_event("participant.left", lambda d: d["participant_id"] == gone)
    again = await SignalClient.connect(server, person)
    reply = await again.join(m.info["link_token"], **fields)
    assert again.participant_id != gone, "a fresh join, not a resume"
    return again, reply


async def test_a_signed_in_interpreter_who_joins_again_interprets_again(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    await assign(m, m.bob, ["fr", "en"])
    m.bob, reply = await rejoin(server, m, m.bob, m.bob_person)
    bob = m.bob.participant_id
    assert bob is not None
    assert interpreters(reply["snapshot"]) == {bob: ["en", "fr"]}
    booth = next(b for b in reply["snapshot"]["interpretation"]["booths"] if b["id"] == "en-fr")
    assert booth["partners"] == [bob]
    # He is an interpreter to the server too: he may take the booth's channel.
    await m.bob.request("interpretation.take")
    live = await m.host.wait_event(
        "interpretation.updated",
        lambda d: any(b["id"] == "en-fr" and b["live"] == bob for b in d["booths"]),
    )
    assert {i["participant_id"] for i in live["interpreters"]} == {bob}
    # Carol is no interpreter for all that.
    assert await _refused(m.carol, "interpretation.take") == "not_interpreter"
    await m.close()


async def test_a_guest_is_known_again_by_their_cookie_and_not_by_their_name(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    await assign(m, m.carol, ["ar"])
    m.carol, reply = await rejoin(server, m, m.carol, m.carol_person, display_name="Carol")
    carol = m.carol.participant_id
    assert interpreters(reply["snapshot"]) == {carol: ["ar"]}  # type: ignore[dict-item]
    # Another guest taking the name she had is not her.
    await m.carol.request("leave")
    await m.carol.close()
    await m.host.wait_event("participant.left", lambda d: d["participant_id"] == carol)
    stranger = await SignalClient.connect(server, server.guest())
    other = await stranger.join(m.info["link_token"], display_name="Carol")
    assert interpreters(other["snapshot"]) == {}
    assert await _refused(stranger, "interpretation.take") == "not_interpreter"
    # She herself, once more, is.
    m.carol = await SignalClient.connect(server, m.carol_person)
    back = await m.carol.join(m.info["link_token"], display_name="Carol again")
    assert interpreters(back["snapshot"]) == {m.carol.participant_id: ["ar"]}
    await stranger.close()
    await m.close()


async def test_the_assignment_moves_with_the_meetings_snapshot(server: RunningServer) -> None:
    m = await open_meeting(server)
    conf = conference(server, m)
    await assign(m, m.bob, ["fr"])
    data = await move(conf)
    assert list(data["interpretation"]["assigned_people"].values()) == [["fr"]]
    m.bob, reply = await rejoin(server, m, m.bob, m.bob_person)
    assert interpreters(reply["snapshot"]) == {m.bob.participant_id: ["fr"]}
    # Moved again while he is away: still kept.
    await m.bob.request("leave")
    await m.bob.close()
    await move(conf)
    m.bob = await SignalClient.connect(server, m.bob_person)
    reply = await m.bob.join(m.info["link_token"])
    assert interpreters(reply["snapshot"]) == {m.bob.participant_id: ["fr"]}
    await m.close()


async def test_unassigned_they_join_again_as_a_listener(server: RunningServer) -> None:
    m = await open_meeting(server)
    await assign(m, m.bob, ["fr"])
    await assign(m, m.carol, ["fr"])
    await m.host.request("interpretation.unassign", {"participant": m.bob.participant_id})
    await m.host.request("interpretation.unassign", {"participant": m.carol.participant_id})
    await m.host.wait_event("interpretation.updated", lambda d: not d["interpreters"])
    m.bob, reply = await rejoin(server, m, m.bob, m.bob_person)
    assert interpreters(reply["snapshot"]) == {}
    m.carol, reply = await rejoin(server, m, m.carol, m.carol_person, display_name="Carol")
    assert interpreters(reply["snapshot"]) == {}
    assert await _refused(m.bob, "interpretation.take") == "not_interpreter"
    assert feature(conference(server, m)).snapshot().assigned_people == {}
    # Assigned again, and the new assignment is the one remembered.
    await assign(m, m.bob, ["es"])
    m.bob, reply = await rejoin(server, m, m.bob, m.bob_person)
    assert interpreters(reply["snapshot"]) == {m.bob.participant_id: ["es"]}
    await m.close()


async def test_a_removed_interpreter_is_forgotten(server: RunningServer) -> None:
    m = await open_meeting(server)
    conf = conference(server, m)
    await assign(m, m.bob, ["fr"])
    await assign(m, m.carol, ["de"])
    assert len(feature(conf).snapshot().assigned_people) == 2
    for c in (m.bob, m.carol):
        await m.host.request("host.remove", {"participant": c.participant_id})
        await m.host.wait_event(
            "participant.left", lambda d, c=c: d["participant_id"] == c.participant_id
        )
    await m.host.wait_event("interpretation.updated", lambda d: not d["interpreters"])
    assert feature(conf).snapshot().assigned_people == {}
    # And they cannot come back in anyway.
    again = await SignalClient.connect(server, m.bob_person)
    with pytest.raises(SignalError) as exc:
        await again.join(m.info["link_token"])
    assert exc.value.code == "removed"
    await again.close()
    await m.close()


async def _refused(client: SignalClient, msg_type: str) -> str:
    with pytest.raises(SignalError) as exc:
        await client.request(msg_type)
    return exc.value.code
