"""``/meetings/{id}/transcripts``: who may read and delete, the formats, paging."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from webvtt import WebVTT

from convene.auth.sessions import GUEST_COOKIE
from convene.protocol.errors import ErrorCode
from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.protocol.messages import Role
from convene.storage.db import Database
from convene.storage.transcripts import NewSegment, TranscriptStore
from tests.api.client import Api, assert_error
from tests.api.conftest import emptied
from tests.support.server import Person, running_server
from tests.support.signal import SignalClient

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _db(app: FastAPI) -> Database:
    db: Database = app.state.db
    return db


async def _segments(app: FastAPI, meeting_id: str, count: int = 3, language: str = "en") -> None:
    await TranscriptStore(_db(app)).append(
        MeetingId(meeting_id),
        [
            NewSegment(
                language=language,
                speaker_id=ParticipantId("p_ada"),
                speaker_name="Ada",
                speaker_user=None,
                start_at=T0 + timedelta(seconds=2 * i),
                end_at=T0 + timedelta(seconds=2 * i + 1),
                start_ms=2000 * i,
                end_ms=2000 * i + 1000,
                text=f"line {i} --> <v x> & more",
                source_language="en" if language != "en" else None,
                translated=language != "en",
            )
            for i in range(count)
        ],
    )


async def _attended(
    app: FastAPI,
    meeting_id: str,
    *,
    user_id: str | None = None,
    guest_key: str | None = None,
    role: Role = "participant",
    leave_reason: str | None = "left",
    admitted: bool = True,
) -> None:
    """What the conference records when someone asks to join, is let in or not (and leaves)."""
    db = _db(app)
    pid = ParticipantId("p_" + uuid.uuid4().hex[:12])
    await db.participation.record_join(
        MeetingId(meeting_id),
        pid,
        user_id=UserId(user_id) if user_id else None,
        guest_key=guest_key,
        display_name="Someone",
        role=role,
        admitted=admitted,
    )
    if leave_reason is not None:
        await db.participation.record_leave(pid, leave_reason)


async def _meeting(api: Api, app: FastAPI) -> dict[str, Any]:
    await api.signup("host@example.org", "Host")
    meeting = await api.create_meeting(title="Weekly sync")
    await _segments(app, meeting["id"])
    await _segments(app, meeting["id"], count=2, language="es")
    return meeting


async def _user(new_api: Callable[..., Api], email: str) -> tuple[Api, str]:
    client = new_api()
    body = await client.signup(email, email.split("@")[0])
    return client, body["user"]["id"]


async def test_the_host_lists_and_downloads_every_format(api: Api, app: FastAPI) -> None:
    meeting = await _meeting(api, app)
    base = f"/meetings/{meeting['id']}/transcripts"
    listed = await api.get(base)
    assert listed.status_code == 200, listed.text
    assert listed.json() == {
        "meeting_id": meeting["id"],
        "languages": [
            {"language": "en", "segments": 3, "translated": False},
            {"language": "es", "segments": 2, "translated": True},
        ],
        "may_delete": True,
    }

    vtt = await api.get(f"{base}/en?format=vtt")
    assert vtt.status_code == 200
    assert vtt.headers["content-type"] == "text/vtt; charset=utf-8"
    assert vtt.headers["content-disposition"] == (
        f'attachment; filename="transcript-{meeting["code"]}-en.vtt"'
    )
    parsed = WebVTT.from_string(vtt.text)
    assert [c.start for c in parsed.captions] == ["00:00:00.000", "00:00:02.000", "00:00:04.000"]
    assert parsed.captions[0].voice == "Ada"
    assert parsed.captions[0].raw_text == "<v Ada>line 0 --&gt; &lt;v x&gt; &amp; more"

    srt = await api.get(f"{base}/en?format=srt")
    assert srt.headers["content-disposition"].endswith('-en.srt"')
    captions = WebVTT.from_buffer(io.StringIO(srt.text), format="srt").captions
    assert [c.end for c in captions] == ["00:00:01.000", "00:00:03.000", "00:00:05.000"]

    txt = await api.get(f"{base}/es?format=txt")
    assert txt.headers["content-type"] == "text/plain; charset=utf-8"
    assert "[00:00:02] Ada: line 1 --> <v x> & more" in txt.text

    whole = await api.get(f"{base}/en?format=json")
    assert whole.headers["content-disposition"].endswith('-en.json"')
    body = whole.json()
    assert body["title"] == "Weekly sync"
    assert [s["start_ms"] for s in body["segments"]] == [0, 2000, 4000]
    assert body["segments"][0]["start"] == "2026-12-03T09:00:00Z"

    # VTT is the default; a language without a transcript is a 404 of its own.
    assert (await api.get(f"{base}/en")).headers["content-type"].startswith("text/vtt")
    assert_error(await api.get(f"{base}/fr"), ErrorCode.NOT_FOUND, 404)
    assert_error(await api.get(f"{base}/en?format=pdf"), ErrorCode.INVALID_REQUEST)
    assert_error(await api.get(f"{base}/EN!"), ErrorCode.INVALID_REQUEST)


async def test_json_pages(api: Api, app: FastAPI) -> None:
    meeting = await _meeting(api, app)
    await _segments(app, meeting["id"], count=7, language="fr")
    base = f"/meetings/{meeting['id']}/transcripts/fr"
    seen: list[int] = []
    cursor: str | None = None
    while True:
        query = f"?format=json&limit=3{f'&cursor={cursor}' if cursor else ''}"
        page = await api.get(base + query)
        assert page.status_code == 200, page.text
        body = page.json()
        seen.extend(s["start_ms"] for s in body["segments"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [2000 * i for i in range(7)]
    assert_error(
        await api.get(f"{base}?format=json&limit=3&cursor=nonsense"), ErrorCode.INVALID_REQUEST
    )
    # Pages are for JSON; the files are whole.
    assert_error(await api.get(f"{base}?format=vtt&limit=3"), ErrorCode.INVALID_REQUEST)


async def test_who_may_read(api: Api, app: FastAPI, new_api: Callable[..., Api]) -> None:
    meeting = await _meeting(api, app)
    base = f"/meetings/{meeting['id']}/transcripts"
    attendee, attendee_id = await _user(new_api, "bo@example.org")
    stranger, _ = await _user(new_api, "eve@example.org")
    turned_away, turned_away_id = await _user(new_api, "mo@example.org")
    await _attended(app, meeting["id"], user_id=attendee_id)
    await _attended(
        app, meeting["id"], user_id=turned_away_id, leave_reason="denied", admitted=False
    )

    # A guest is known by their browser's guest cookie.
    guest = new_api()
    assert (await guest.get(f"/meetings/{meeting['code']}")).status_code == 200
    guest_key = guest.http.cookies[GUEST_COOKIE]
    await _attended(app, meeting["id"], guest_key=guest_key, leave_reason=None)
    other_guest = new_api()
    await other_guest.get(f"/meetings/{meeting['code']}")
    signed_out = new_api()

    for reader in (attendee, guest):
        assert (await reader.get(base)).status_code == 200
        assert (await reader.get(f"{base}/en?format=srt")).status_code == 200
    missing = f"/meetings/{uuid.uuid4()}/transcripts"
    for outsider in (stranger, turned_away, other_guest, signed_out):
        # The same answer as for a meeting that does not exist.
        assert_error(await outsider.get(base), ErrorCode.MEETING_NOT_FOUND, 404)
        assert_error(await outsider.get(f"{base}/en"), ErrorCode.MEETING_NOT_FOUND, 404)
        assert_error(await outsider.delete(base), ErrorCode.MEETING_NOT_FOUND, 404)
        assert_error(await outsider.get(missing), ErrorCode.MEETING_NOT_FOUND, 404)


async def test_only_the_host_deletes(api: Api, app: FastAPI, new_api: Callable[..., Api]) -> None:
    meeting = await _meeting(api, app)
    base = f"/meetings/{meeting['id']}/transcripts"
    attendee, attendee_id = await _user(new_api, "bo@example.org")
    await _attended(app, meeting["id"], user_id=attendee_id)
    assert (await attendee.get(base)).json()["may_delete"] is False
    assert_error(await attendee.delete(base), ErrorCode.FORBIDDEN, 403)
    assert (await api.get(base)).json()["languages"] != []

    # Writes need the CSRF token, as every cookie-authenticated write.
    no_csrf = await api.http.delete(f"/api/v1{base}")
    assert_error(no_csrf, ErrorCode.CSRF_FAILED, 403)

    deleted = await api.delete(base)
    assert deleted.status_code == 204
    assert (await api.get(base)).json()["languages"] == []
    assert_error(await attendee.get(f"{base}/en"), ErrorCode.NOT_FOUND, 404)


async def test_a_participant_made_host_may_delete(
    api: Api, app: FastAPI, new_api: Callable[..., Api]
) -> None:
    meeting = await _meeting(api, app)
    base = f"/meetings/{meeting['id']}/transcripts"
    successor, successor_id = await _user(new_api, "lin@example.org")
    await _attended(app, meeting["id"], user_id=successor_id, role="host")
    assert (await successor.get(base)).json()["may_delete"] is True
    assert (await successor.delete(base)).status_code == 204


async def test_the_app_runs_the_retention_purge(api: Api, app: FastAPI) -> None:
    meeting = await _meeting(api, app)
    # The default keeps 30 days: segments stored now stay.
    assert app.state.settings.transcripts.retention_days == 30
    await app.state.background.run_once("transcripts-purge")
    assert len((await api.get(f"/meetings/{meeting['id']}/transcripts")).json()["languages"]) == 2


# -- admission, as the live meeting records it (a real server, a real Janus) ------------------


async def _status(person: Person, path: str) -> int:
    return (await person.http.get(f"/api/v1{path}")).status_code


async def _reads(person: Person, path: str) -> None:
    """The admission is noted just after the participant is let in: wait for it."""
    async with asyncio.timeout(10):
        # The database is the only witness; it has no event to wait on.
        while await _status(person, path) != 200:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_only_those_let_in_may_read(tmp_path: Path, db_url: str) -> None:
    await emptied(db_url)
    async with running_server(tmp_path, database_url=db_url) as server:
        alice = await server.sign_up("alice@example.org", "Alice")
        info = await alice.create_meeting(waiting_room=True)
        await _segments(server.app, info["id"])
        base = f"/meetings/{info['id']}/transcripts"
        host = await SignalClient.connect(server, alice)
        assert (await host.join(info["link_token"]))["state"] == "joined"
        await _reads(alice, base)

        async def waiting(person: Person, name: str) -> SignalClient:
            client = await SignalClient.connect(server, person)
            reply = await client.join(info["link_token"], display_name=name)
            assert reply["state"] == "waiting"
            await host.wait_event(
                "waiting.updated", lambda d: name in [w["display_name"] for w in d["waiting"]]
            )
            return client

        # A guest let in reads by their guest cookie, while the meeting goes on and after.
        carol = server.guest()
        await carol.meeting_info(info["link_token"])
        carol_ws = await waiting(carol, "Carol")
        assert await _status(carol, base) == 404
        await host.request("host.admit", {"participant": carol_ws.participant_id})
        await carol_ws.wait_event("admitted")
        await _reads(carol, base)
        assert await _status(carol, f"{base}/en?format=txt") == 200

        # A user let in and then removed keeps what they were there for.
        bob = await server.sign_up("bob@example.org", "Bob")
        bob_ws = await waiting(bob, "Bob")
        await host.request("host.admit", {"participant": bob_ws.participant_id})
        await bob_ws.wait_event("admitted")
        await host.request("host.remove", {"participant": bob_ws.participant_id})
        await host.wait_event(
            "participant.left", lambda d: d["participant_id"] == bob_ws.participant_id
        )
        await _reads(bob, base)

        # Waiting only: leaving before a host lets you in, sent away, removed while waiting.
        dan = await server.sign_up("dan@example.org", "Dan")
        dan_ws = await waiting(dan, "Dan")
        await dan_ws.request("leave")
        erin = server.guest()
        await erin.meeting_info(info["link_token"])
        erin_ws = await waiting(erin, "Erin")
        await host.request("host.deny", {"participant": erin_ws.participant_id})
        fay = await server.sign_up("fay@example.org", "Fay")
        fay_ws = await waiting(fay, "Fay")
        await host.request("host.remove", {"participant": fay_ws.participant_id})
        await host.wait_event("waiting.updated", lambda d: d["waiting"] == [])
        stranger = await server.sign_up("eve@example.org", "Eve")

        # The meeting ends: every stay is closed.
        await host.request("host.end")
        await host.closed
        for c in (host, carol_ws, bob_ws, dan_ws, erin_ws, fay_ws):
            await c.close()
        registry = server.app.state.live_meetings
        async with asyncio.timeout(10):
            while registry.get(MeetingId(info["id"])) is not None:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

        stays = await _db(server.app).participation.list_participation(MeetingId(info["id"]))
        assert {s.display_name: s.admitted for s in stays} == {
            "Alice": True,
            "Carol": True,
            "Bob": True,
            "Dan": False,
            "Erin": False,
            "Fay": False,
        }
        for reader in (alice, carol, bob):
            assert await _status(reader, base) == 200, reader.user
            assert await _status(reader, f"{base}/en") == 200
        for outsider in (dan, erin, fay, stranger, server.guest()):
            response = await outsider.http.get(f"/api/v1{base}")
            assert_error(response, ErrorCode.MEETING_NOT_FOUND, 404)
