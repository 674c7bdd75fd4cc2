"""Schedules carry interpreters into the meeting they create: named in ``POST /schedules``,
replaced by ``PATCH`` (scope all), answered in every schedule; those named by address are
invited. The app runs on a settable clock (March 1, 2026)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from convene.app import create_app
from convene.auth.passwords import Passwords
from convene.clock import FixedClock
from convene.protocol.errors import ErrorCode
from convene.protocol.ids import MeetingId
from convene.storage.db import Database
from tests.api.client import Api, assert_error
from tests.api.conftest import FAST_HASHING, NoMedia, emptied, make_settings
from tests.api.test_meetings import RecordingLiveMeetings

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
async def app(tmp_path: Path, db_url: str) -> AsyncIterator[FastAPI]:
    await emptied(db_url)
    application = create_app(
        make_settings(tmp_path, db_url),
        passwords=Passwords(FAST_HASHING),
        sfu=NoMedia(),
        clock=FixedClock(NOW),
    )
    async with application.router.lifespan_context(application):
        yield application


async def person(new: Callable[[], Api], email: str, name: str) -> Api:
    api = new()
    await api.signup(email, name)
    return api


def schedule_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Board meeting",
        "timezone": "Europe/Paris",
        "start": "2026-03-02T09:00",
        "duration_minutes": 60,
        "recurrence": {"freq": "weekly", "count": 4},
    }
    body.update(fields)
    return body


def people(schedule: dict[str, Any]) -> list[tuple[str | None, str | None, list[str]]]:
    return [(i["user_id"], i["email"], i["languages"]) for i in schedule["interpreters"]]


async def test_a_schedule_names_interpreters_for_its_meeting_and_invites_addresses(
    browsers: Callable[[], Api],
) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bea = await person(browsers, "bea@example.org", "Bea")
    bea_id = (await bea.get("/users/me")).json()["id"]
    response = await ada.post(
        "/schedules",
        json=schedule_body(
            attendees=[{"email": "bob@example.org"}],
            interpreters=[
                {"user_id": bea_id, "languages": ["fr", "en"]},
                {"email": "Cy@Example.net", "languages": ["ar"]},
                # Invited already: not invited twice.
                {"email": "bob@example.org", "languages": ["es"]},
            ],
        ),
    )
    assert response.status_code == 201, response.text
    schedule = response.json()
    expected = [
        (bea_id, None, ["en", "fr"]),
        (None, "cy@example.net", ["ar"]),
        (None, "bob@example.org", ["es"]),
    ]
    assert people(schedule) == expected
    # The address is invited (optional); the account named by id is not made an invitee.
    assert {(a["email"], a["required"]) for a in schedule["attendees"]} == {
        ("bob@example.org", True),
        ("cy@example.net", False),
    }
    # The meeting it made names them: what the live meeting reads.
    meeting_id = schedule["meeting"]["id"]
    listed = (await ada.get(f"/meetings/{meeting_id}/interpreters")).json()["interpreters"]
    assert [(i["user_id"], i["email"], i["languages"]) for i in listed] == expected
    # Invitees see the schedule with its interpreters too; Bea, named by account only, is
    # no invitee of it.
    bob = await person(browsers, "bob@example.org", "Bob")
    bob_id = (await bob.get("/users/me")).json()["id"]
    # (Bob has an account now: his address leads to it.)
    assert people((await bob.get(f"/schedules/{schedule['id']}")).json()) == [
        *expected[:2],
        (bob_id, "bob@example.org", ["es"]),
    ]
    assert_error(await bea.get(f"/schedules/{schedule['id']}"), ErrorCode.NOT_FOUND, 404)


async def test_an_edit_replaces_the_list_for_every_occurrence(
    browsers: Callable[[], Api], app: FastAPI
) -> None:
    live = RecordingLiveMeetings()
    app.state.live_meetings = live
    ada = await person(browsers, "ada@example.org", "Ada")
    created = await ada.post(
        "/schedules",
        json=schedule_body(interpreters=[{"email": "cy@example.net", "languages": ["ar"]}]),
    )
    schedule = created.json()
    path = f"/schedules/{schedule['id']}"

    # One occurrence cannot have interpreters of its own: they are the meeting's.
    refused = await ada.patch(
        path,
        json={
            "scope": "this",
            "occurrence": schedule["first_start"],
            "interpreters": [],
        },
    )
    assert_error(refused, ErrorCode.INVALID_REQUEST, 422)
    assert refused.json()["error"]["details"] == {"field": "scope"}

    db: Database = app.state.db
    await db.meetings.set_status(MeetingId(schedule["meeting"]["id"]), "live")
    edited = await ada.patch(
        path, json={"interpreters": [{"email": "dee@example.org", "languages": ["ru", "en"]}]}
    )
    assert edited.status_code == 200, edited.text
    assert people(edited.json()) == [(None, "dee@example.org", ["en", "ru"])]
    # Dee is invited now; Cy stays invited (the organiser takes invitees off themselves).
    assert {a["email"] for a in edited.json()["attendees"]} == {
        "cy@example.net",
        "dee@example.org",
    }
    assert [m.id for m in live.changed] == [schedule["meeting"]["id"]]

    # Replacing the invitees keeps every interpreter invited.
    again = await ada.patch(path, json={"attendees": [{"email": "eve@example.org"}]})
    assert {a["email"] for a in again.json()["attendees"]} == {
        "eve@example.org",
        "dee@example.org",
    }
    assert people(again.json()) == [(None, "dee@example.org", ["en", "ru"])]
    # Only an edit of the interpreters tells the live meeting.
    assert len(live.changed) == 1

    cleared = await ada.patch(path, json={"interpreters": []})
    assert cleared.json()["interpreters"] == []


async def test_a_refused_list_leaves_nothing_behind(
    browsers: Callable[[], Api], app: FastAPI
) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bad = await ada.post(
        "/schedules",
        json=schedule_body(interpreters=[{"email": "cy@example.net", "languages": ["en", "en"]}]),
    )
    assert_error(bad, ErrorCode.INVALID_REQUEST, 422)
    unknown = await ada.post(
        "/schedules",
        json=schedule_body(
            interpreters=[{"user_id": "5f0c3c7e-8a1e-4a53-9f51-2c4b8f3a9d10", "languages": ["fr"]}]
        ),
    )
    assert_error(unknown, ErrorCode.INVALID_REQUEST, 422)
    assert unknown.json()["error"]["details"] == {"field": "interpreters[0].user_id"}
    # No room was left behind by either.
    assert (await ada.get("/meetings")).json()["meetings"] == []
