"""The livestream through the protocol: who may start and stop it, what everyone is shown, the
RTMP URL never echoed, and a real worker (the server's embedded child, with ffmpeg) composing a
playlist that the signed URL serves (no media here: tests/media streams a real panelist)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from convene.protocol.ids import MeetingId
from convene.signaling.registry import Registry
from tests.signaling.audience_support import client_from, open_stage
from tests.signaling.test_meeting import open_meeting
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError

QUIET: dict[str, Any] = {"worker": {"embedded": False}, "translation": {"enabled": False}}
SECRET_KEY = "sk-live-0123456789abcdef"
RTMP = f"rtmp://127.0.0.1:1/live/{SECRET_KEY}"
# Bounds on waiting, not measurements: the child worker starts, then ffmpeg writes segments.
LIVE = 60.0


async def refused(client: SignalClient, msg_type: str, data: dict[str, Any] | None = None) -> str:
    with pytest.raises(SignalError) as exc:
        await client.request(msg_type, data or {})
    return exc.value.code


@pytest.fixture
async def quiet(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path, **QUIET) as running:
        yield running


async def test_only_hosts_may_start_it_and_no_worker_means_unavailable(
    quiet: RunningServer,
) -> None:
    m = await open_meeting(quiet)
    for client in (m.bob, m.carol):
        assert await refused(client, "livestream.start") == "forbidden"
        assert await refused(client, "livestream.stop") == "forbidden"
    # No worker can stream on this server (none linked, no embedded one).
    assert await refused(m.host, "livestream.start") == "livestream_unavailable"
    for bad in (
        "http://example.org/live",
        "rtmp://",
        "rtmp:// example.org/live/key",
        "rtmps://example.org/live/" + "k" * 1000,
        "rtmp://exa mple.org/live",
        "rtmp://example.org/live\nkey",
        "file:///etc/passwd",
    ):
        code = await refused(m.host, "livestream.start", {"rtmp_url": bad})
        assert code == "invalid_request", bad
    assert await refused(m.host, "livestream.start", {"nothing": 1}) == "invalid_request"
    # Stopping what is off answers {} and tells nobody.
    assert await m.host.request("livestream.stop") == {}
    await m.bob.request("ping")
    assert "livestream.updated" not in m.bob.types()

    # Tries are limited per meeting: three in a row (one above, two here), then one every 10 s.
    assert await refused(m.host, "livestream.start") == "livestream_unavailable"
    assert await refused(m.host, "livestream.start") == "livestream_unavailable"
    with pytest.raises(SignalError) as limited:
        await m.host.request("livestream.start")
    assert limited.value.code == "rate_limited"
    assert limited.value.details["retry_after"] >= 1

    late = await SignalClient.connect(quiet, quiet.guest())
    reply = await late.join(m.info["link_token"], display_name="Dave")
    livestream = reply["snapshot"]["livestream"]
    assert livestream["state"] == "off"
    assert livestream["available"] is False
    assert livestream["url"] is None
    await late.close()
    await m.close()


async def test_an_attendee_cannot_start_it(quiet: RunningServer) -> None:
    stage = await open_stage(quiet)
    watcher = await stage.guest("Wendy")
    assert await refused(watcher, "livestream.start") == "forbidden"
    assert await refused(watcher, "livestream.stop") == "forbidden"
    await stage.close()


async def test_a_host_streams_the_meeting_to_everyone_and_a_co_host_stops_it(
    tmp_path: Path,
) -> None:
    settings: dict[str, Any] = {"translation": {"enabled": False}}
    async with running_server(tmp_path, **settings) as server:
        stage = await open_stage(server, mode="event")
        bob_person = await server.sign_up("bob@example.org", "Bob")
        stage_id = stage.info["id"]
        # Bob is named a panelist; Wendy watches from the audience.
        bob = await client_from(server, bob_person)
        stage.clients.append(bob)
        await bob.join(stage.info["panelist_link"])
        watcher = await stage.guest("Wendy")
        everyone = (stage.host, bob, watcher)

        assert await stage.host.request("livestream.start", {"rtmp_url": RTMP}) == {}
        for client in everyone:
            starting = await client.wait_event("livestream.updated")
            assert starting["state"] == "starting"
            assert starting["by"] == {"id": stage.host.participant_id, "display_name": "Alice"}
            assert starting["started_at"] is not None
            assert starting["audio"] == [None]
            assert starting["subtitles"] == []
            assert starting["rtmp"] == "connecting"
            assert starting["rtmp_target"] == "rtmp://127.0.0.1/…"
            assert starting["url"].startswith(f"/api/v1/live/{stage_id}/")
            assert starting["url"].endswith("/master.m3u8")
        assert await refused(stage.host, "livestream.start") == "invalid_state"

        live = await watcher.wait_event(
            "livestream.updated", lambda d: d["state"] == "live", timeout=LIVE
        )
        assert (
            live["health"]["last_error"] is None or SECRET_KEY not in live["health"]["last_error"]
        )
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            master = await http.get(live["url"])
            assert master.status_code == 200
            assert master.headers["cache-control"] == "no-cache"
            assert "#EXT-X-STREAM-INF" in master.text
            assert 'TYPE=AUDIO,GROUP-ID="aud"' in master.text

        # A late panelist's snapshot has it, with a URL of its own that works.
        late = await client_from(server)
        stage.clients.append(late)
        reply = await late.join(stage.info["panelist_link"], display_name="Lou")
        assert reply["snapshot"]["livestream"]["state"] == "live"
        assert reply["snapshot"]["livestream"]["expires_at"] is not None

        # A late attendee's snapshot has it too: the URL is what the audience plays.
        viewer = await client_from(server)
        stage.clients.append(viewer)
        joined = await viewer.join(stage.info["link_token"], display_name="Vera")
        watching = joined["snapshot"]["self"]
        assert watching["role"] == "attendee"
        assert joined["snapshot"]["livestream"]["state"] == "live"
        assert joined["snapshot"]["livestream"]["url"].endswith("/master.m3u8")

        # The meeting's features move (snapshot, restore): the livestream goes on, and the
        # snapshot never held the stream key.
        registry: Registry = server.app.state.live_meetings
        conf = registry.get(MeetingId(stage_id))
        assert conf is not None
        data = json.loads(json.dumps(await conf.feature_snapshot()))
        assert data["livestream"]["state"] == "live"
        assert data["livestream"]["rtmp_target"] == "rtmp://127.0.0.1/…"
        assert SECRET_KEY not in json.dumps(data)
        await conf.restore_features({})
        await conf.restore_features(data)
        service = server.app.state.livestream
        assert service.view(MeetingId(stage_id)) is not None

        # A co-host may stop it.
        await stage.host.request("host.promote", {"participant": watcher.participant_id})
        await watcher.wait_event("audience.promoted")
        await stage.host.request(
            "host.set_role", {"participant": bob.participant_id, "role": "cohost"}
        )
        await bob.wait_event(
            "participant.updated",
            lambda d: (
                d["participant"]["id"] == bob.participant_id
                and d["participant"]["role"] == "cohost"
            ),
        )
        assert await bob.request("livestream.stop") == {}
        for client in everyone:
            off = await client.wait_event("livestream.updated", lambda d: d["state"] == "off")
            assert off["url"] is None
            assert off["rtmp_target"] is None
        assert service.view(MeetingId(stage_id)) is None
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            deadline = time.monotonic() + 10
            while (await http.get(live["url"])).status_code != 404:
                assert time.monotonic() < deadline, "the playlist is still served"

        # The stream key never reached a client (nor the snapshot).
        for client in (*everyone, late):
            assert SECRET_KEY not in json.dumps(client.events)
        await stage.close()
