"""``/meetings/{id}/panelists`` and the event settings of ``/meetings``: the owner names
panelists; nobody else sees or changes them; bad lists are refused with the field at fault;
the mode is set at creation and changed with PATCH; the panelist link is in the host view only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from convene.protocol.errors import ErrorCode
from convene.protocol.ids import MeetingId
from convene.storage.db import Database
from tests.api.client import Api, assert_error
from tests.api.test_meetings import RecordingLiveMeetings


async def _put(api: Api, meeting_id: str, panelists: Any) -> httpx.Response:
    return await api.request(
        "PUT", f"/meetings/{meeting_id}/panelists", json={"panelists": panelists}
    )


async def test_the_owner_names_panelists_by_account_or_address(
    api: Api, new_api: Callable[..., Api]
) -> None:
    bea = await new_api().signup(email="bea@example.org", name="Bea")
    await api.signup()
    meeting = await api.create_meeting(mode="event")
    listed = await api.get(f"/meetings/{meeting['id']}/panelists")
    assert listed.status_code == 200
    assert listed.json() == {"panelists": []}
    response = await _put(
        api,
        meeting["id"],
        [{"user_id": bea["user"]["id"]}, {"email": " Cy@Example.org", "display_name": "Cy"}],
    )
    assert response.status_code == 200, response.text
    saved = response.json()["panelists"]
    assert [(p["user_id"], p["email"], p["display_name"]) for p in saved] == [
        (bea["user"]["id"], None, "Bea"),
        (None, "cy@example.org", "Cy"),
    ]
    assert (await api.get(f"/meetings/{meeting['id']}/panelists")).json() == {"panelists": saved}
    cy_api = new_api()
    cy = await cy_api.signup(email="cy@example.org", name="Cy Account")
    [_, by_email] = (await api.get(f"/meetings/{meeting['id']}/panelists")).json()["panelists"]
    assert by_email["user_id"] == cy["user"]["id"]
    # The join page learns who joins on the panel (their devices are checked), and nobody else.
    public = (await cy_api.get(f"/meetings/{meeting['code']}")).json()
    assert public["panelist"] is True
    assert (await new_api().get(f"/meetings/{meeting['code']}")).json()["panelist"] is False
    assert (await _put(api, meeting["id"], [])).json() == {"panelists": []}


async def test_nobody_else_sees_or_changes_the_list(api: Api, new_api: Callable[..., Api]) -> None:
    await api.signup()
    meeting = await api.create_meeting(mode="event")
    await _put(api, meeting["id"], [{"email": "p@example.org"}])
    stranger = new_api()
    await stranger.signup(email="s@example.org", name="S")
    path = f"/meetings/{meeting['id']}/panelists"
    assert_error(await stranger.get(path), ErrorCode.MEETING_NOT_FOUND, 404)
    assert_error(await _put(stranger, meeting["id"], []), ErrorCode.MEETING_NOT_FOUND, 404)
    assert_error(await new_api().get(path), ErrorCode.AUTH_REQUIRED, 401)
    assert_error(await api.get("/meetings/nonsense/panelists"), ErrorCode.MEETING_NOT_FOUND)
    assert len((await api.get(path)).json()["panelists"]) == 1


@pytest.mark.parametrize(
    ("panelists", "where"),
    [
        ([{}], "panelists.0"),
        ([{"email": "a@x.org", "user_id": "u"}], "panelists.0"),
        ([{"email": "not an address"}], "panelists.0.email"),
        ([{"email": "a@x.org", "languages": ["fr"]}], "panelists.0.languages"),
        ([{"email": "a@x.org", "display_name": "a\u202eb"}], "panelists.0.display_name"),
        ([{"user_id": 5}], "panelists.0.user_id"),
        ([{"email": "a@x.org"}] * 2, "panelists"),
        ([{"email": f"p{n}@x.org"} for n in range(201)], "panelists"),
        ("everyone", "panelists"),
    ],
)
async def test_bad_lists_are_refused_with_the_field_at_fault(
    api: Api, panelists: Any, where: str
) -> None:
    await api.signup()
    meeting = await api.create_meeting(mode="event")
    response = await _put(api, meeting["id"], panelists)
    assert_error(response, ErrorCode.INVALID_REQUEST, 422)
    message = response.json()["error"]["message"]
    assert message.startswith(f"Invalid request: {where}"), message
    assert (await api.get(f"/meetings/{meeting['id']}/panelists")).json()["panelists"] == []


async def test_an_unknown_account_is_refused_and_an_ended_meeting_too(
    api: Api, app: FastAPI
) -> None:
    await api.signup()
    meeting = await api.create_meeting(mode="event")
    response = await _put(api, meeting["id"], [{"user_id": "5f0c3c7e-8a1e-4a53-9f51-2c4b8f3a9d10"}])
    assert_error(response, ErrorCode.INVALID_REQUEST, 422)
    assert response.json()["error"]["details"] == {"field": "panelists[0].user_id"}
    db: Database = app.state.db
    await db.meetings.set_status(MeetingId(meeting["id"]), "ended")
    assert_error(
        await _put(api, meeting["id"], [{"email": "p@x.org"}]), ErrorCode.MEETING_ENDED, 410
    )


async def test_mode_and_panelist_link(api: Api, new_api: Callable[..., Api], app: FastAPI) -> None:
    await api.signup(name="Ada")
    plain = await api.create_meeting()
    assert plain["mode"] == "meeting"
    event = await api.create_meeting(mode="event")
    assert event["mode"] == "event"
    token = event["panelist_link"]
    assert token not in (None, event["link_token"], plain["panelist_link"])
    assert event["panelist_url"] == f"http://localhost:8080/j/{token}"
    for bad in ("party", 1, None, ""):
        response = await api.post("/meetings", json={"mode": bad})
        assert_error(response, ErrorCode.INVALID_REQUEST, 422)

    # Looked up with the panelist link: the public view, no passcode asked, no link shown.
    guest = new_api()
    public = await guest.get(f"/meetings/{token}")
    assert public.status_code == 200
    body = public.json()
    assert body["requires_passcode"] is False
    # A join page learns that it is an event (its audience skips the device check), and that
    # this link joins the panel (whose devices it checks).
    assert body["mode"] == "event"
    assert body["panelist"] is True
    assert (await guest.get(f"/meetings/{plain['code']}")).json()["panelist"] is True
    assert "panelist_link" not in body
    assert token not in public.text
    by_code = (await guest.get(f"/meetings/{event['code']}")).json()
    assert by_code["requires_passcode"] is True
    assert by_code["panelist"] is False
    assert token not in str(by_code)

    live = RecordingLiveMeetings()
    app.state.live_meetings = live
    db: Database = app.state.db
    await db.meetings.set_status(MeetingId(event["id"]), "live")
    changed = await api.patch(f"/meetings/{event['id']}", json={"mode": "lecture"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["mode"] == "lecture"
    assert [m.mode for m in live.changed] == ["lecture"]
    assert_error(
        await api.patch(f"/meetings/{event['id']}", json={"mode": "party"}),
        ErrorCode.INVALID_REQUEST,
        422,
    )
    # Left out: stays.
    same = await api.patch(f"/meetings/{event['id']}", json={"title": "Talk"})
    assert same.json()["mode"] == "lecture"


async def test_the_endpoints_are_in_the_openapi_document(api: Api) -> None:
    doc = (await api.http.get("/api/v1/openapi.json")).json()
    path = doc["paths"]["/api/v1/meetings/{meeting_id}/panelists"]
    assert set(path) == {"get", "put"}
    schemas = doc["components"]["schemas"]
    assert set(schemas["PanelistIn"]["properties"]) == {"user_id", "email", "display_name"}
    assert {"mode", "panelist_link", "panelist_url"} <= set(schemas["MeetingOut"]["properties"])
