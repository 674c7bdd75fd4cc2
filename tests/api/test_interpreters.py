"""``/meetings/{id}/interpreters``: the owner names interpreters ahead of time; nobody else sees
or changes them; bad lists are refused with the field at fault; a live meeting is told."""

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


async def _put(api: Api, meeting_id: str, interpreters: Any) -> httpx.Response:
    return await api.request(
        "PUT", f"/meetings/{meeting_id}/interpreters", json={"interpreters": interpreters}
    )


async def test_the_owner_names_interpreters_by_account_or_address(
    api: Api, new_api: Callable[..., Api]
) -> None:
    other = new_api()
    bea = await other.signup(email="bea@example.org", name="Bea")
    await api.signup()
    meeting = await api.create_meeting()
    listed = await api.get(f"/meetings/{meeting['id']}/interpreters")
    assert listed.status_code == 200
    assert listed.json() == {"interpreters": []}

    response = await _put(
        api,
        meeting["id"],
        [
            {"user_id": bea["user"]["id"], "languages": ["fr", "en"]},
            {"email": " Cy@Example.org", "display_name": "Cy", "languages": ["ar"]},
        ],
    )
    assert response.status_code == 200, response.text
    saved = response.json()["interpreters"]
    assert [
        (i["user_id"], i["email"], i["display_name"], i["languages"], i["booth"]) for i in saved
    ] == [
        (bea["user"]["id"], None, "Bea", ["en", "fr"], "en-fr"),
        (None, "cy@example.org", "Cy", ["ar"], "ar"),
    ]
    assert (await api.get(f"/meetings/{meeting['id']}/interpreters")).json() == {
        "interpreters": saved
    }

    # Cy signs up (with a verified address): the address now leads to the account.
    cy = await new_api().signup(email="cy@example.org", name="Cy Account")
    [_, by_email] = (await api.get(f"/meetings/{meeting['id']}/interpreters")).json()[
        "interpreters"
    ]
    assert (by_email["user_id"], by_email["email"]) == (cy["user"]["id"], "cy@example.org")

    cleared = await _put(api, meeting["id"], [])
    assert cleared.json() == {"interpreters": []}


async def test_nobody_else_sees_or_changes_the_list(api: Api, new_api: Callable[..., Api]) -> None:
    await api.signup()
    meeting = await api.create_meeting()
    await _put(api, meeting["id"], [{"email": "i@example.org", "languages": ["es"]}])
    stranger = new_api()
    await stranger.signup(email="s@example.org", name="S")
    path = f"/meetings/{meeting['id']}/interpreters"
    assert_error(await stranger.get(path), ErrorCode.MEETING_NOT_FOUND, 404)
    response = await _put(stranger, meeting["id"], [])
    assert_error(response, ErrorCode.MEETING_NOT_FOUND, 404)
    # Not signed in at all.
    assert_error(await new_api().get(path), ErrorCode.AUTH_REQUIRED, 401)
    assert_error(await api.get("/meetings/nonsense/interpreters"), ErrorCode.MEETING_NOT_FOUND)
    assert len((await api.get(path)).json()["interpreters"]) == 1


@pytest.mark.parametrize(
    ("interpreters", "where"),
    [
        ([{"languages": ["fr"]}], "interpreters.0"),
        ([{"email": "a@x.org", "user_id": "u", "languages": ["fr"]}], "interpreters.0"),
        ([{"email": "not an address", "languages": ["fr"]}], "interpreters.0.email"),
        ([{"email": "a@x.org", "languages": []}], "interpreters.0.languages"),
        ([{"email": "a@x.org", "languages": ["en", "fr", "es"]}], "interpreters.0.languages"),
        ([{"email": "a@x.org", "languages": ["en", "en"]}], "interpreters.0"),
        ([{"email": "a@x.org", "languages": ["French"]}], "interpreters.0.languages.0"),
        ([{"email": "a@x.org", "languages": "fr"}], "interpreters.0.languages"),
        ([{"email": "a@x.org", "languages": ["fr"], "booth": "x"}], "interpreters.0.booth"),
        ([{"email": "a@x.org", "languages": ["fr"]}] * 2, "interpreters"),
        ([{"email": f"i{n}@x.org", "languages": ["fr"]} for n in range(51)], "interpreters"),
        ("everyone", "interpreters"),
    ],
)
async def test_bad_lists_are_refused_with_the_field_at_fault(
    api: Api, interpreters: Any, where: str
) -> None:
    await api.signup()
    meeting = await api.create_meeting()
    response = await _put(api, meeting["id"], interpreters)
    assert_error(response, ErrorCode.INVALID_REQUEST, 422)
    message = response.json()["error"]["message"]
    assert message.startswith(f"Invalid request: {where}"), message
    assert (await api.get(f"/meetings/{meeting['id']}/interpreters")).json()["interpreters"] == []


async def test_an_unknown_account_is_refused(api: Api) -> None:
    await api.signup()
    meeting = await api.create_meeting()
    response = await _put(
        api,
        meeting["id"],
        [{"user_id": "5f0c3c7e-8a1e-4a53-9f51-2c4b8f3a9d10", "languages": ["fr"]}],
    )
    assert_error(response, ErrorCode.INVALID_REQUEST, 422)
    assert response.json()["error"]["details"] == {"field": "interpreters[0].user_id"}


async def test_a_live_meeting_is_told_and_an_ended_one_refuses(api: Api, app: FastAPI) -> None:
    live = RecordingLiveMeetings()
    app.state.live_meetings = live
    db: Database = app.state.db
    await api.signup()
    meeting = await api.create_meeting()
    entry = [{"email": "i@example.org", "languages": ["ru"]}]
    assert (await _put(api, meeting["id"], entry)).status_code == 200
    assert live.changed == []

    await db.meetings.set_status(MeetingId(meeting["id"]), "live")
    assert (await _put(api, meeting["id"], [])).status_code == 200
    assert [m.id for m in live.changed] == [meeting["id"]]

    await db.meetings.set_status(MeetingId(meeting["id"]), "ended")
    assert_error(await _put(api, meeting["id"], entry), ErrorCode.MEETING_ENDED, 410)
    listed = await api.get(f"/meetings/{meeting['id']}/interpreters")
    assert listed.json()["interpreters"] == []


async def test_the_endpoints_are_in_the_openapi_document(api: Api) -> None:
    doc = (await api.http.get("/api/v1/openapi.json")).json()
    path = doc["paths"]["/api/v1/meetings/{meeting_id}/interpreters"]
    assert set(path) == {"get", "put"}
    schemas = doc["components"]["schemas"]
    assert {"user_id", "email", "display_name", "languages"} == set(
        schemas["InterpreterIn"]["properties"]
    )
    assert "interpreters" in schemas["ScheduleOut"]["properties"]
