"""Captions in a live meeting, through the protocol: who may turn them on and off, what everyone
is shown, the language each speaks and what each reads (no media here: tests/media has the
captions of real speech)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.signaling.test_meeting import Meeting, open_meeting
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError
from tests.worker.processes import eventually

# No captions worker is started and no translation engine: these tests are about the meeting.
QUIET: dict[str, Any] = {"worker": {"embedded": False}, "translation": {"enabled": False}}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path, **QUIET) as running:
        yield running


async def settle(*clients: SignalClient) -> None:
    for c in clients:
        await c.request("ping")


async def test_a_host_turns_captions_on_and_off_for_everyone(server: RunningServer) -> None:
    m = await open_meeting(server)
    with pytest.raises(SignalError) as exc:
        await m.bob.request("captions.start")
    assert exc.value.code == "forbidden"
    with pytest.raises(SignalError) as exc:
        await m.carol.request("captions.stop")
    assert exc.value.code == "forbidden"
    await settle(m.host, m.bob)
    assert "captions.updated" not in m.bob.types()

    await m.host.request("captions.start")
    for c in (m.host, m.bob, m.carol):
        got = await c.wait_event("captions.updated")
        assert got["active"] is True
        assert got["available"] is True
        assert got["policy"] == "allowed"
        assert got["started_by"] == {"id": m.host.participant_id, "display_name": "Alice"}
        assert got["started_at"] is not None
        # No worker runs here: nothing is being transcribed yet.
        assert got["transcribing"] is False
        assert [lang["code"] for lang in got["languages"]] == ["ar", "zh", "en", "fr", "ru", "es"]
        assert all(lang["speech"] for lang in got["languages"])
    # Turning them on again changes nothing and tells nobody.
    await m.host.request("captions.start")
    await settle(m.host, m.bob)
    assert m.bob.types().count("captions.updated") == 1

    late = await SignalClient.connect(server, server.guest())
    reply = await late.join(m.info["link_token"], display_name="Dave")
    captions = reply["snapshot"]["captions"]
    assert captions["active"] is True
    assert captions["started_by"]["display_name"] == "Alice"
    assert reply["snapshot"]["captions_reading"] == "off"

    # A co-host may turn them off.
    await m.host.request("host.set_role", {"participant": m.bob.participant_id, "role": "cohost"})
    await m.bob.wait_event(
        "participant.updated",
        lambda d: (
            d["participant"]["id"] == m.bob.participant_id and d["participant"]["role"] == "cohost"
        ),
    )
    await m.bob.request("captions.stop")
    for c in (m.host, m.carol, late):
        off = await c.wait_event("captions.updated", lambda d: not d["active"])
        assert off["started_by"] is None
        assert off["started_at"] is None
    await m.bob.request("captions.stop")
    await settle(m.bob, m.carol)
    assert m.carol.types().count("captions.updated") == 2
    await late.close()
    await m.close()


async def test_the_meetings_setting_forbids_captions(server: RunningServer) -> None:
    m = await open_meeting(server, captions="forbidden")
    reply_captions = await _snapshot_captions(server, m)
    assert reply_captions["policy"] == "forbidden"
    assert reply_captions["available"] is True
    with pytest.raises(SignalError) as exc:
        await m.host.request("captions.start")
    assert exc.value.code == "captions_forbidden"
    # A participant is told they may not, whatever the setting.
    with pytest.raises(SignalError) as exc:
        await m.bob.request("captions.start")
    assert exc.value.code == "forbidden"

    await m.host.request("host.update", {"captions": "allowed"})
    allowed = await m.bob.wait_event("captions.updated")
    assert allowed["policy"] == "allowed"
    assert allowed["active"] is False
    await m.host.request("captions.start")
    await m.bob.wait_event("captions.updated", lambda d: d["active"])
    # Forbidding them while they are on turns them off.
    await m.host.request("host.update", {"captions": "forbidden"})
    off = await m.carol.wait_event(
        "captions.updated", lambda d: d["policy"] == "forbidden" and not d["active"]
    )
    assert off["started_by"] is None
    await m.close()


async def test_an_auto_meeting_starts_with_captions_on(server: RunningServer) -> None:
    m = await open_meeting(server, captions="auto")
    captions = await _snapshot_captions(server, m)
    assert captions["active"] is True
    assert captions["policy"] == "auto"
    assert captions["started_by"] is None
    # A host may still turn them off.
    await m.host.request("captions.stop")
    await m.carol.wait_event("captions.updated", lambda d: not d["active"])
    await m.close()


async def _snapshot_captions(server: RunningServer, m: Meeting) -> dict[str, Any]:
    late = await SignalClient.connect(server, server.guest())
    reply = await late.join(m.info["link_token"], display_name="Erin")
    await late.close()
    captions: dict[str, Any] = reply["snapshot"]["captions"]
    return captions


async def test_captions_are_unavailable_when_the_operator_turned_them_off(
    tmp_path: Path,
) -> None:
    async with running_server(tmp_path, captions={"enabled": False}, **QUIET) as server:
        m = await open_meeting(server, captions="auto")
        captions = await _snapshot_captions(server, m)
        assert captions["available"] is False
        # Not even an auto meeting turns them on.
        assert captions["active"] is False
        with pytest.raises(SignalError) as exc:
            await m.host.request("captions.start")
        assert exc.value.code == "captions_unavailable"
        await settle(m.host, m.bob)
        assert "captions.updated" not in m.bob.types()
        await m.close()


async def test_the_spoken_language_from_join_and_captions_spoken(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    info = await alice.create_meeting(waiting_room=False)
    host = await SignalClient.connect(server, alice)
    reply = await host.join(info["link_token"], spoken_language="en")
    assert reply["snapshot"]["self"]["spoken_language"] == "en"
    guest = server.guest()
    await guest.meeting_info(info["link_token"])
    carol = await SignalClient.connect(server, guest)
    reply = await carol.join(info["link_token"], display_name="Carol")
    records = {p["display_name"]: p for p in reply["snapshot"]["participants"]}
    assert records["Alice"]["spoken_language"] == "en"
    assert records["Carol"]["spoken_language"] is None

    await carol.request("captions.spoken", {"language": "zh-Hant"})
    got = await host.wait_event(
        "participant.updated", lambda d: d["participant"]["id"] == carol.participant_id
    )
    assert got["participant"]["spoken_language"] == "zh-Hant"
    for bad in ({"language": "English"}, {"language": "e"}, {"language": ""}, {}):
        with pytest.raises(SignalError) as exc:
            await carol.request("captions.spoken", bad)
        assert exc.value.code == "invalid_request", bad
    bad_join = await SignalClient.connect(server, server.guest())
    with pytest.raises(SignalError) as exc:
        await bad_join.join(info["link_token"], display_name="Dan", spoken_language="xx_YY")
    assert exc.value.code == "invalid_request"
    await bad_join.close()
    # The same language again: nothing to tell.
    count = host.types().count("participant.updated")
    await carol.request("captions.spoken", {"language": "zh-Hant"})
    await settle(carol, host)
    assert host.types().count("participant.updated") == count
    await host.close()
    await carol.close()


async def test_what_each_reads_is_theirs_and_kept_across_a_resume(server: RunningServer) -> None:
    m = await open_meeting(server)
    assert await m.bob.request("captions.read", {"reading": "es"}) == {"reading": "es"}
    assert await m.carol.request("captions.read", {"reading": "original"}) == {
        "reading": "original"
    }
    for bad in ({"reading": "Spanish!"}, {"reading": ""}, {}, {"reading": "es", "x": 1}):
        with pytest.raises(SignalError) as exc:
            await m.bob.request("captions.read", bad)
        assert exc.value.code == "invalid_request", bad

    token, pid = m.bob.resume_token, m.bob.participant_id
    assert token is not None
    await m.bob.ws.close()  # the network drops: no leave
    await m.host.wait_event(
        "participant.updated",
        lambda d: (
            d["participant"]["id"] == pid and d["participant"]["connection"] == "reconnecting"
        ),
    )
    back = await SignalClient.connect(server, m.bob_person)
    reply = await back.join(m.info["link_token"], resume=token)
    assert reply["resumed"] is True
    assert reply["snapshot"]["captions_reading"] == "es"

    late = await SignalClient.connect(server, server.guest())
    reply = await late.join(m.info["link_token"], display_name="Dave")
    assert reply["snapshot"]["captions_reading"] == "off"

    assert await back.request("captions.read", {"reading": "off"}) == {"reading": "off"}
    # Leaving drops the choice: a new participant starts from off.
    await m.carol.request("leave")
    await m.host.wait_event("participant.left")
    await back.close()
    await late.close()
    await m.close()


async def test_the_service_captions_the_meeting_only_while_captions_are_on(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    service = server.app.state.captions
    meeting = m.info["id"]
    await m.host.request("captions.start")
    await eventually(lambda: service.status(meeting) is not None, 15, "captions to start")
    await m.host.request("captions.stop")
    await eventually(lambda: service.status(meeting) is None, 15, "captions to stop")
    await m.host.request("captions.start")
    await eventually(lambda: service.status(meeting) is not None, 15, "captions to start again")
    # Ending the meeting ends its captions.
    await m.host.request("host.end")
    await eventually(lambda: service.status(meeting) is None, 15, "captions to end")
    await m.close()
