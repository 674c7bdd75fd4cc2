"""Meetings over REST: creation, lookup by code or link, host-only changes, deletion."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from convene.auth.sessions import GUEST_COOKIE
from convene.protocol.errors import ErrorCode
from convene.protocol.ids import MeetingId
from convene.storage.db import Database
from convene.storage.meetings import MeetingRecord, format_code
from tests.api.client import Api, assert_error
from tests.api.conftest import emptied, make_app, make_settings

HOST_FIELDS = {
    "id",
    "code",
    "link_token",
    "join_url",
    "title",
    "passcode",
    "waiting_room",
    "allow_guests",
    "mute_on_entry",
    "allow_self_unmute",
    "locked",
    "chat",
    "screen_share",
    "max_participants",
    "guest_succession",
    "captions",
    "mode",
    "panelist_link",
    "panelist_url",
    "registration",
    "status",
    "created_at",
    "started_at",
    "ended_at",
}
PUBLIC_FIELDS = {
    "code",
    "title",
    "host_name",
    "requires_passcode",
    "allow_guests",
    "mode",
    "registration",
    "panelist",
    "status",
}


@dataclass
class RecordingLiveMeetings:
    """The signaling layer's side of the REST API, as a test implementation."""

    changed: list[MeetingRecord] = field(default_factory=list)
    ended: list[MeetingId] = field(default_factory=list)

    async def meeting_changed(self, meeting: MeetingRecord) -> None:
        self.changed.append(meeting)

    async def end_meeting(self, meeting_id: MeetingId) -> None:
        self.ended.append(meeting_id)


async def test_create_with_defaults(api: Api) -> None:
    await api.signup(name="Ada")
    meeting = await api.create_meeting()
    assert set(meeting) == HOST_FIELDS
    assert re.fullmatch(r"[1-9][0-9]{8}", meeting["code"])
    assert re.fullmatch(r"[0-9]{6}", meeting["passcode"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", meeting["link_token"])
    assert meeting["join_url"] == f"http://localhost:8080/j/{meeting['link_token']}"
    assert meeting["title"] == "Ada's meeting"
    assert meeting["status"] == "open"
    assert meeting["waiting_room"] is True
    assert meeting["allow_guests"] is True
    assert meeting["mute_on_entry"] is False
    assert meeting["allow_self_unmute"] is True
    assert meeting["locked"] is False
    assert (meeting["chat"], meeting["screen_share"]) == ("everyone", "everyone")
    assert meeting["max_participants"] == 300
    assert meeting["guest_succession"] is False
    assert meeting["captions"] == "allowed"


async def test_create_with_choices(api: Api) -> None:
    await api.signup()
    meeting = await api.create_meeting(
        title=" Design review ",
        passcode="s3cret!",
        waiting_room=False,
        allow_guests=False,
        mute_on_entry=True,
        allow_self_unmute=False,
    )
    assert meeting["title"] == "Design review"
    assert meeting["passcode"] == "s3cret!"
    assert (meeting["waiting_room"], meeting["allow_guests"]) == (False, False)
    assert (meeting["mute_on_entry"], meeting["allow_self_unmute"]) == (True, False)
    assert (await api.create_meeting(passcode=""))["passcode"] is None
    assert (await api.create_meeting(guest_succession=True))["guest_succession"] is True
    assert (await api.create_meeting(captions="auto"))["captions"] == "auto"
    assert (await api.create_meeting(captions="forbidden"))["captions"] == "forbidden"


async def test_guest_succession_defaults_to_the_server_setting(tmp_path: Path, db_url: str) -> None:
    await emptied(db_url)
    application = make_app(make_settings(tmp_path, db_url, meetings={"guest_succession": True}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            api = Api(http)
            await api.signup()
            meeting = await api.create_meeting()
            assert meeting["guest_succession"] is True
            assert (await api.create_meeting(guest_succession=False))["guest_succession"] is False
            listed = (await api.get("/meetings")).json()["meetings"]
            assert [m["guest_succession"] for m in listed] == [False, True]
            db: Database = application.state.db
            stored = await db.meetings.get(MeetingId(meeting["id"]))
            assert stored is not None
            assert stored.guest_succession is True
            # A scheduled meeting's room takes the server's default too.
            scheduled = await api.post(
                "/schedules",
                json={
                    "title": "Planned",
                    "timezone": "UTC",
                    "start": "2030-01-07T09:00",
                    "duration_minutes": 30,
                },
            )
            assert scheduled.status_code == 201, scheduled.text
            room = await db.meetings.get(MeetingId(scheduled.json()["meeting"]["id"]))
            assert room is not None
            assert room.guest_succession is True


async def test_captions_default_to_the_server_setting(tmp_path: Path, db_url: str) -> None:
    await emptied(db_url)
    application = make_app(
        make_settings(tmp_path, db_url, captions={"default_policy": "forbidden"})
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            api = Api(http)
            await api.signup()
            meeting = await api.create_meeting()
            assert meeting["captions"] == "forbidden"
            assert (await api.create_meeting(captions="auto"))["captions"] == "auto"
            listed = (await api.get("/meetings")).json()["meetings"]
            assert [m["captions"] for m in listed] == ["auto", "forbidden"]
            assert (await api.get(f"/meetings/{meeting['code']}")).json()["captions"] == "forbidden"
            db: Database = application.state.db
            stored = await db.meetings.get(MeetingId(meeting["id"]))
            assert stored is not None
            assert stored.captions == "forbidden"
            # A scheduled meeting's room takes the server's default, or the schedule's choice.
            planned = {
                "title": "Planned",
                "timezone": "UTC",
                "start": "2030-01-07T09:00",
                "duration_minutes": 30,
            }
            scheduled = await api.post("/schedules", json=planned)
            assert scheduled.status_code == 201, scheduled.text
            assert scheduled.json()["meeting"]["captions"] == "forbidden"
            room = await db.meetings.get(MeetingId(scheduled.json()["meeting"]["id"]))
            assert room is not None
            assert room.captions == "forbidden"
            chosen = await api.post("/schedules", json=planned | {"captions": "auto"})
            assert chosen.status_code == 201, chosen.text
            assert chosen.json()["meeting"]["captions"] == "auto"
            # The organiser changes it for the whole series (the room is the same).
            sid = chosen.json()["id"]
            edited = await api.patch(f"/schedules/{sid}", json={"captions": "allowed"})
            assert edited.status_code == 200, edited.text
            assert edited.json()["meeting"]["captions"] == "allowed"
            room = await db.meetings.get(MeetingId(chosen.json()["meeting"]["id"]))
            assert room is not None
            assert room.captions == "allowed"
            assert_error(
                await api.post("/schedules", json=planned | {"captions": "always"}),
                ErrorCode.INVALID_REQUEST,
                422,
            )


@pytest.mark.parametrize(
    "body",
    [
        {"passcode": "12"},
        {"passcode": "with space"},
        {"passcode": 123456},
        {"title": ""},
        {"title": "x" * 201},
        {"waiting_room": "yes"},
        {"guest_succession": "yes"},
        {"captions": "sometimes"},
        {"captions": True},
        {"chat": "none"},
        {"max_participants": 5},
    ],
)
async def test_create_validates(api: Api, body: dict[str, object]) -> None:
    await api.signup()
    assert_error(await api.post("/meetings", json=body), ErrorCode.INVALID_REQUEST, 422)


async def test_only_signed_in_users_create(api: Api) -> None:
    assert_error(await api.post("/meetings", json={}), ErrorCode.AUTH_REQUIRED, 401)


async def test_list_own_meetings_newest_first(api: Api, new_api: Callable[..., Api]) -> None:
    await api.signup()
    first = await api.create_meeting(title="first")
    second = await api.create_meeting(title="second")
    other = new_api()
    await other.signup("other@example.org")
    await other.create_meeting(title="not mine")
    listed = (await api.get("/meetings")).json()["meetings"]
    assert [m["id"] for m in listed] == [second["id"], first["id"]]
    assert_error(await new_api().get("/meetings"), ErrorCode.AUTH_REQUIRED, 401)


async def test_lookup_by_code_and_by_link(api: Api, new_api: Callable[..., Api]) -> None:
    await api.signup(name="Hedy")
    meeting = await api.create_meeting(title="Standup")

    # The host sees the host view, however they name the meeting.
    for ref in (meeting["code"], format_code(meeting["code"]), meeting["link_token"]):
        response = await api.get(f"/meetings/{ref}")
        assert response.status_code == 200
        assert response.json() == meeting

    guest = new_api()
    by_code = await guest.get(f"/meetings/{format_code(meeting['code'])}")
    assert by_code.status_code == 200
    assert set(by_code.json()) == PUBLIC_FIELDS
    assert by_code.json() == {
        "code": meeting["code"],
        "title": "Standup",
        "host_name": "Hedy",
        "requires_passcode": True,
        "allow_guests": True,
        "mode": "meeting",
        "registration": "off",
        "panelist": True,
        "status": "open",
    }
    # Whoever has the link needs no passcode.
    by_link = await guest.get(f"/meetings/{meeting['link_token']}")
    assert by_link.json()["requires_passcode"] is False
    assert meeting["passcode"] not in by_code.text


async def test_guests_get_a_guest_cookie_once(api: Api, new_api: Callable[..., Api]) -> None:
    await api.signup()
    meeting = await api.create_meeting()
    # Signed-in users need none.
    assert GUEST_COOKIE not in (await api.get(f"/meetings/{meeting['code']}")).headers.get(
        "set-cookie", ""
    )
    guest = new_api()
    first = await guest.get(f"/meetings/{meeting['code']}")
    assert "HttpOnly" in first.headers["set-cookie"]
    key = guest.http.cookies[GUEST_COOKIE]
    again = await guest.get(f"/meetings/{meeting['code']}")
    assert "set-cookie" not in again.headers
    assert guest.http.cookies[GUEST_COOKIE] == key
    # A forged, malformed key is replaced.
    forged = new_api()
    forged.http.cookies.set(GUEST_COOKIE, "x")
    replaced = await forged.get(f"/meetings/{meeting['code']}")
    assert GUEST_COOKIE in replaced.headers["set-cookie"]


@pytest.mark.parametrize("ref", ["000000000", "123", "not a ref", "%00", "a" * 30])
async def test_unknown_meetings(api: Api, ref: str) -> None:
    assert_error(await api.get(f"/meetings/{ref}"), ErrorCode.MEETING_NOT_FOUND, 404)


async def test_overlong_refs_are_invalid(api: Api) -> None:
    assert_error(await api.get(f"/meetings/{'a' * 65}"), ErrorCode.INVALID_REQUEST, 422)


async def test_lookups_are_rate_limited(api: Api, new_api: Callable[..., Api]) -> None:
    guesser = new_api("192.0.2.44")
    # Unknown codes: 10 a minute, bursts of 20; the budget refills as time passes, so count
    # rather than assume a pace.
    answered = 0
    for i in range(1000):
        response = await guesser.get(f"/meetings/{100000000 + i}")
        if response.status_code == 429:
            assert_error(response, ErrorCode.RATE_LIMITED, 429)
            break
        assert response.status_code == 404
        answered += 1
    assert answered >= 20
    assert answered < 1000
    assert (await new_api("192.0.2.45").get("/meetings/100000999")).status_code == 404


async def test_host_changes_settings(api: Api) -> None:
    await api.signup()
    meeting = await api.create_meeting()
    response = await api.patch(
        f"/meetings/{meeting['id']}",
        json={
            "title": "Renamed",
            "locked": True,
            "chat": "hosts",
            "screen_share": "hosts",
            "max_participants": 50,
            "passcode": "",
            "waiting_room": False,
            "guest_succession": True,
            "captions": "forbidden",
        },
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["guest_succession"] is True
    assert updated["captions"] == "forbidden"
    assert updated["title"] == "Renamed"
    assert updated["locked"] is True
    assert (updated["chat"], updated["screen_share"]) == ("hosts", "hosts")
    assert updated["max_participants"] == 50
    assert updated["passcode"] is None
    assert updated["waiting_room"] is False
    assert updated["code"] == meeting["code"]
    # Left-out fields stay.
    again = await api.patch(f"/meetings/{meeting['id']}", json={"passcode": "newpass"})
    assert again.json() == updated | {"passcode": "newpass"}


@pytest.mark.parametrize(
    "body",
    [
        {"chat": "all"},
        {"max_participants": 1},
        {"locked": 1},
        {"guest_succession": 1},
        {"captions": "on"},
        {"captions": ""},
        {"unknown": True},
        {"title": ""},
    ],
)
async def test_setting_changes_are_validated(api: Api, body: dict[str, object]) -> None:
    await api.signup()
    meeting = await api.create_meeting()
    assert_error(
        await api.patch(f"/meetings/{meeting['id']}", json=body), ErrorCode.INVALID_REQUEST, 422
    )


async def test_max_participants_is_capped_by_the_server(api: Api) -> None:
    await api.signup()
    meeting = await api.create_meeting()
    response = await api.patch(f"/meetings/{meeting['id']}", json={"max_participants": 301})
    assert_error(response, ErrorCode.INVALID_REQUEST, 422)
    assert response.json()["error"]["details"]["limit"] == 300


async def test_only_the_host_changes_or_deletes(api: Api, new_api: Callable[..., Api]) -> None:
    await api.signup()
    meeting = await api.create_meeting()
    intruder = new_api()
    await intruder.signup("intruder@example.org")
    path = f"/meetings/{meeting['id']}"
    assert_error(
        await intruder.patch(path, json={"locked": True}), ErrorCode.MEETING_NOT_FOUND, 404
    )
    assert_error(await intruder.delete(path), ErrorCode.MEETING_NOT_FOUND, 404)
    assert_error(await new_api().patch(path, json={}), ErrorCode.AUTH_REQUIRED, 401)
    assert_error(await api.patch("/meetings/not-an-id", json={}), ErrorCode.MEETING_NOT_FOUND, 404)
    assert (await api.get(f"/meetings/{meeting['code']}")).json() == meeting


async def test_delete(api: Api) -> None:
    await api.signup()
    meeting = await api.create_meeting()
    assert (await api.delete(f"/meetings/{meeting['id']}")).status_code == 204
    assert_error(await api.get(f"/meetings/{meeting['code']}"), ErrorCode.MEETING_NOT_FOUND, 404)
    assert_error(await api.delete(f"/meetings/{meeting['id']}"), ErrorCode.MEETING_NOT_FOUND, 404)


async def test_live_meetings_hear_of_changes_and_deletion(api: Api, app: FastAPI) -> None:
    live = RecordingLiveMeetings()
    app.state.live_meetings = live
    db: Database = app.state.db
    await api.signup()
    idle = await api.create_meeting()
    meeting = await api.create_meeting()

    # Not live yet: nothing to tell.
    await api.patch(f"/meetings/{idle['id']}", json={"locked": True})
    assert live.changed == []

    await db.meetings.set_status(MeetingId(meeting["id"]), "live")
    await api.patch(f"/meetings/{meeting['id']}", json={"locked": True})
    assert [(m.id, m.locked) for m in live.changed] == [(meeting["id"], True)]
    await api.patch(f"/meetings/{meeting['id']}", json={"guest_succession": True})
    assert live.changed[-1].guest_succession is True
    await api.patch(f"/meetings/{meeting['id']}", json={"captions": "auto"})
    assert live.changed[-1].captions == "auto"

    assert (await api.delete(f"/meetings/{meeting['id']}")).status_code == 204
    assert live.ended == [meeting["id"]]
    assert await db.meetings.get(MeetingId(meeting["id"])) is None


async def test_ended_meetings_cannot_be_changed(api: Api, app: FastAPI) -> None:
    db: Database = app.state.db
    await api.signup()
    meeting = await api.create_meeting()
    await db.meetings.set_status(MeetingId(meeting["id"]), "ended")
    response = await api.patch(f"/meetings/{meeting['id']}", json={"locked": True})
    assert_error(response, ErrorCode.MEETING_ENDED, 410)
