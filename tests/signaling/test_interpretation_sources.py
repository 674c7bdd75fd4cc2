"""Where a meeting's channels come from besides live assignments: the interpreters it names
ahead of time (REST, matched on the account of whoever joins), and machine-voice channels.

The machine voices here are a stand-in at the service boundary (the real ones need a worker
and a speech model; tests/media hears them): it records what the feature asks of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from convene.media.base import MediaRoom
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import FeedId, MeetingId
from convene.signaling.features.interpretation import Interpretation
from tests.signaling.test_feature_snapshots import conference
from tests.signaling.test_interpretation import booth_of, channel_of, publish, refused
from tests.signaling.test_meeting import open_meeting
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError
from tests.worker.processes import eventually

QUIET: dict[str, Any] = {"worker": {"embedded": False}, "translation": {"enabled": False}}
MACHINE_FEED = FeedId(7_000_001)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path, **QUIET) as running:
        yield running


class Voices:
    """Machine voices for es and fr; fr cannot be served (no worker has it)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def languages(self) -> list[str]:
        return ["fr", "es"]

    async def start(self, meeting: MeetingId, room: MediaRoom, language: str) -> FeedId:
        self.calls.append(("start", language))
        if language == "fr":
            raise ConveneError(ErrorCode.INTERPRETATION_UNAVAILABLE, "no worker speaks fr")
        return MACHINE_FEED

    async def stop(self, meeting: MeetingId, language: str) -> None:
        self.calls.append(("stop", language))

    async def stop_all(self, meeting: MeetingId) -> None:
        self.calls.append(("stop_all",))


async def test_machine_channels_open_step_aside_for_a_live_booth_and_come_back(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    conf = conference(server, m)
    voices = Voices()
    [feature] = [f for f in conf._features if isinstance(f, Interpretation)]
    feature._machine.voices = voices
    assert feature.info().machine_languages == ["es", "fr"]

    assert await refused(m.host, "interpretation.machine", {"language": "de", "on": True}) == (
        "interpretation_unavailable"
    )
    assert await refused(m.host, "interpretation.machine", {"language": "fr", "on": True}) == (
        "interpretation_unavailable"
    )
    assert voices.calls == [("start", "fr")]
    await m.host.request("interpretation.machine", {"language": "es", "on": True})
    opened = await m.carol.wait_event(
        "interpretation.updated", lambda d: any(c["kind"] == "machine" for c in d["channels"])
    )
    assert opened["channels"] == [
        {
            "language": "es",
            "kind": "machine",
            "booth": None,
            "feeds": [MACHINE_FEED],
            "on_air": True,
        }
    ]
    assert voices.calls[-1] == ("start", "es")

    # The machine feed belongs to nobody: only its listeners (and interpreters) receive it.
    async def verdict(client: SignalClient) -> str:
        try:
            await client.request("subscribe", {"add": [{"feed": MACHINE_FEED}]})
        except SignalError as exc:
            return exc.code
        return "ok"

    assert await verdict(m.carol) == "forbidden"
    await m.carol.request("interpretation.listen", {"channel": "es"})
    assert await verdict(m.carol) != "forbidden"

    # A human booth going live in Spanish replaces it; it comes back when nobody is live.
    await m.host.request(
        "interpretation.assign", {"participant": m.bob.participant_id, "languages": ["es"]}
    )
    await publish(m.bob, "interpretation")
    human = await m.carol.wait_event(
        "interpretation.updated", lambda d: channel_of(d, "es")["kind"] == "human"
    )
    assert channel_of(human, "es")["booth"] == "es"
    assert booth_of(human, "es")["live"] == m.bob.participant_id
    await eventually(lambda: voices.calls[-1] == ("stop", "es"), 10, "the voice stopped")
    await m.bob.request("leave")
    back = await m.carol.wait_event(
        "interpretation.updated",
        lambda d: channel_of(d, "es")["kind"] == "machine" and channel_of(d, "es")["on_air"],
        after=len(m.carol.events) - 1,
    )
    assert channel_of(back, "es")["feeds"] == [MACHINE_FEED]
    assert voices.calls[-1] == ("start", "es")

    await m.host.request("interpretation.machine", {"language": "es", "on": False})
    await m.carol.wait_event("interpretation.updated", lambda d: d["channels"] == [])
    assert voices.calls[-1] == ("stop", "es")
    # Captions forbidden in the meeting: no machine channel, and the open one closes.
    await m.host.request("interpretation.machine", {"language": "es", "on": True})
    await m.carol.wait_event(
        "interpretation.updated", lambda d: channel_of(d, "es")["kind"] == "machine"
    )
    await m.host.request("host.update", {"captions": "forbidden"})
    off = await m.carol.wait_event(
        "interpretation.updated", lambda d: d["machine_languages"] == [] and not d["channels"]
    )
    assert off["channels"] == []
    assert voices.calls[-1] == ("stop", "es")
    assert await refused(m.host, "interpretation.machine", {"language": "es", "on": True}) == (
        "interpretation_unavailable"
    )
    await m.host.request("host.end")
    await eventually(lambda: voices.calls[-1] == ("stop_all",), 10, "the voices closed")
    await m.close()


async def test_named_interpreters_are_interpreters_when_they_join(server: RunningServer) -> None:
    m = await open_meeting(server)
    assert m.bob_person.user is not None
    bob_user = m.bob_person.user["id"]
    dave_person = await server.sign_up("dave@example.org", "Dave")
    assert dave_person.user is not None

    async def name(interpreters: list[dict[str, Any]]) -> None:
        headers = {"X-CSRF-Token": m.alice.csrf} if m.alice.csrf else {}
        response = await m.alice.http.put(
            f"/api/v1/meetings/{m.info['id']}/interpreters",
            json={"interpreters": interpreters},
            headers=headers,
        )
        response.raise_for_status()

    # Named while the meeting is live: Bob (present) becomes one at once.
    await name(
        [
            {"user_id": bob_user, "languages": ["fr", "en"]},
            {"user_id": dave_person.user["id"], "languages": ["ar"]},
        ]
    )
    named = await m.carol.wait_event("interpretation.updated", lambda d: d["interpreters"])
    assert [i["participant_id"] for i in named["interpreters"]] == [m.bob.participant_id]
    # Dave is not here yet: his channel is offered all the same.
    assert [c["language"] for c in named["channels"]] == ["ar", "en", "fr"]
    assert [b["id"] for b in named["booths"]] == ["ar", "en-fr"]

    dave = await SignalClient.connect(server, dave_person)
    reply = await dave.join(m.info["link_token"])
    interpreters = reply["snapshot"]["interpretation"]["interpreters"]
    assert {i["participant_id"]: i["booth"] for i in interpreters} == {
        m.bob.participant_id: "en-fr",
        dave.participant_id: "ar",
    }
    await dave.request("interpretation.take")
    # A host removes Dave for this meeting: he stays removed although the list names him.
    await m.host.request("interpretation.unassign", {"participant": dave.participant_id})
    await m.carol.wait_event("interpretation.updated", lambda d: len(d["interpreters"]) == 1)
    assert await refused(dave, "interpretation.take") == "not_interpreter"

    await name([])
    cleared = await m.carol.wait_event("interpretation.updated", lambda d: not d["interpreters"])
    assert cleared["channels"] == []
    await dave.close()
    await m.close()
