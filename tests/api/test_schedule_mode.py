"""Schedules carry the meeting's mode: set in ``POST /schedules``, changed by ``PATCH`` (scope
all only), answered in every schedule's ``meeting``."""

from __future__ import annotations

from collections.abc import Callable

from convene.protocol.errors import ErrorCode
from tests.api.client import Api, assert_error
from tests.api.test_schedule_interpreters import app, person, schedule_body

__all__ = ["app"]


async def test_a_schedule_sets_and_changes_its_meeting_s_mode(browsers: Callable[[], Api]) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    plain = await ada.post("/schedules", json=schedule_body())
    assert plain.status_code == 201, plain.text
    assert plain.json()["meeting"]["mode"] == "meeting"
    created = await ada.post("/schedules", json=schedule_body(mode="lecture"))
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["meeting"]["mode"] == "lecture"
    meeting = await ada.get(f"/meetings/{schedule['meeting']['code']}")
    assert meeting.json()["mode"] == "lecture"

    path = f"/schedules/{schedule['id']}"
    refused = await ada.patch(
        path, json={"scope": "this", "occurrence": schedule["first_start"], "mode": "event"}
    )
    assert_error(refused, ErrorCode.INVALID_REQUEST, 422)
    assert refused.json()["error"]["details"] == {"field": "scope"}
    edited = await ada.patch(path, json={"mode": "event"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["meeting"]["mode"] == "event"
    for bad in ("party", 3):
        assert_error(await ada.patch(path, json={"mode": bad}), ErrorCode.INVALID_REQUEST, 422)
        assert_error(
            await ada.post("/schedules", json=schedule_body(mode=bad)),
            ErrorCode.INVALID_REQUEST,
            422,
        )
