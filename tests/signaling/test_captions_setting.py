"""The meeting's captions setting (forbidden, allowed, auto) in a live meeting: who changes it
over the protocol and over REST, what everyone is told, what a late joiner sees."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.signaling.test_meeting import open_meeting
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError

# No captions worker and no translation engine: these tests are about the meeting's setting.
QUIET: dict[str, Any] = {"worker": {"embedded": False}, "translation": {"enabled": False}}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path, **QUIET) as running:
        yield running


async def test_hosts_and_cohosts_change_it_and_everyone_is_told(server: RunningServer) -> None:
    m = await open_meeting(server)
    assert m.info["captions"] == "allowed"
    for participant in (m.bob, m.carol):
        with pytest.raises(SignalError) as exc:
            await participant.request("host.update", {"captions": "forbidden"})
        assert exc.value.code == "forbidden"
    with pytest.raises(SignalError) as exc:
        await m.host.request("host.update", {"captions": "sometimes"})
    assert exc.value.code == "invalid_request"

    await m.host.request("host.set_role", {"participant": m.bob.participant_id, "role": "cohost"})
    await m.bob.wait_event("participant.updated", lambda d: d["participant"]["role"] == "cohost")
    await m.bob.request("host.update", {"captions": "forbidden"})
    for c in (m.host, m.bob, m.carol):
        got = await c.wait_event("meeting.updated", lambda d: d["meeting"]["captions"] != "allowed")
        assert got["meeting"]["captions"] == "forbidden"
    # Stored: the host's REST view says so, and a host cannot turn captions on now.
    by_code = await m.alice.http.get(f"/api/v1/meetings/{m.info['code']}")
    assert by_code.json()["captions"] == "forbidden"
    with pytest.raises(SignalError) as exc:
        await m.host.request("captions.start")
    assert exc.value.code == "captions_forbidden"

    # Over REST, while the meeting is live: everyone is told too.
    response = await m.alice.http.patch(
        f"/api/v1/meetings/{m.info['id']}",
        json={"captions": "auto"},
        headers={"X-CSRF-Token": m.alice.csrf or ""},
    )
    assert response.status_code == 200, response.text
    assert response.json()["captions"] == "auto"
    got = await m.carol.wait_event("meeting.updated", lambda d: d["meeting"]["captions"] == "auto")
    assert got["meeting"]["captions"] == "auto"

    late = await SignalClient.connect(server, server.guest())
    reply = await late.join(m.info["link_token"], display_name="Dora")
    assert reply["snapshot"]["meeting"]["captions"] == "auto"
    await late.close()
    await m.close()


async def test_a_meeting_created_with_a_setting_starts_with_it(server: RunningServer) -> None:
    m = await open_meeting(server, captions="forbidden")
    late = await SignalClient.connect(server, server.guest())
    reply = await late.join(m.info["link_token"], display_name="Dora")
    assert reply["snapshot"]["meeting"]["captions"] == "forbidden"
    assert reply["snapshot"]["captions"]["policy"] == "forbidden"
    await late.close()
    await m.close()


async def test_forbidding_them_while_on_turns_them_off(server: RunningServer) -> None:
    m = await open_meeting(server)
    await m.host.request("captions.start")
    await m.carol.wait_event("captions.updated", lambda d: d["active"])
    await m.host.request("host.update", {"captions": "forbidden"})
    await m.carol.wait_event("meeting.updated", lambda d: d["meeting"]["captions"] == "forbidden")
    off = await m.carol.wait_event("captions.updated", lambda d: not d["active"])
    assert off["policy"] == "forbidden"
    await m.close()
