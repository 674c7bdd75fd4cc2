"""The scheduling REST API on SQLite and PostgreSQL: schedules, edits by scope, answers,
conflicts (across recurrence, zones, daylight saving and connected calendars), free/busy, find a
time and calendar settings. The app runs on a settable clock (March 1, 2026)."""

from __future__ import annotations

import uuid
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
from convene.storage.calendars import BusyInterval
from convene.storage.db import Database
from convene.storage.models import BusyBlockRow, CalendarConnectionRow
from tests.api.client import Api, assert_error
from tests.api.conftest import FAST_HASHING, NoMedia, emptied, make_settings

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
NY = "America/New_York"
PARIS = "Europe/Paris"
ALL_2026 = {"freq": "weekly", "by_weekday": ["MO"], "until": "2026-12-31"}
# Mondays when New York and Paris are 5 hours apart, not 6 (the US and the EU change their
# clocks on different Sundays): March 9, 16, 23 and October 26, 2026.
OFFSETS_DIFFER = ["2026-03-09", "2026-03-16", "2026-03-23", "2026-10-26"]


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
        "title": "Weekly sync",
        "timezone": NY,
        "start": "2026-03-02T09:00",
        "duration_minutes": 60,
        "recurrence": {"freq": "weekly", "count": 10},
    }
    body.update(fields)
    return body


async def create(api: Api, **fields: Any) -> dict[str, Any]:
    response = await api.post("/schedules", json=schedule_body(**fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def mondays(conflicts: list[dict[str, Any]]) -> list[str]:
    return sorted({c["occurrence_start"][:10] for c in conflicts})


async def test_scheduling_a_series_with_invitees(browsers: Callable[[], Api]) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bob = await person(browsers, "bob@example.org", "Bob")
    eve = await person(browsers, "eve@example.org", "Eve")
    created = await create(
        ada,
        agenda="Plans",
        attendees=[
            {"email": "Bob@example.org", "cohost": True},
            {"email": "carol@elsewhere.net", "required": False},
        ],
        passcode="123456",
        waiting_room=False,
    )
    assert created["start"] == "2026-03-02T09:00:00"
    assert created["rrule"] == "FREQ=WEEKLY;BYDAY=MO;COUNT=10"
    assert created["recurrence"]["freq"] == "weekly"
    assert created["recurrence"]["by_weekday"] == ["MO"]
    assert created["first_start"] == "2026-03-02T14:00:00Z"
    assert created["last_end"] == "2026-05-04T14:00:00Z"
    assert (created["role"], created["partstat"], created["sequence"]) == ("organizer", None, 0)
    assert created["organizer"]["email"] == "ada@example.org"
    assert created["meeting"]["passcode"] == "123456"
    assert created["meeting"]["waiting_room"] is False
    assert created["meeting"]["join_url"].startswith("http")
    bob_row, carol_row = created["attendees"]
    assert (bob_row["email"], bob_row["cohost"], bob_row["user_id"] is not None) == (
        "bob@example.org",
        True,
        True,
    )
    assert (carol_row["required"], carol_row["user_id"], carol_row["partstat"]) == (
        False,
        None,
        "NEEDS-ACTION",
    )
    # The room exists, hosted by the organiser.
    meeting = (await ada.get(f"/meetings/{created['meeting']['code']}")).json()
    assert meeting["title"] == "Weekly sync"
    assert meeting["passcode"] == "123456"

    seen_by_bob = (await bob.get(f"/schedules/{created['id']}")).json()
    assert (seen_by_bob["role"], seen_by_bob["partstat"]) == ("cohost", "NEEDS-ACTION")
    assert seen_by_bob["meeting"]["passcode"] == "123456"
    assert seen_by_bob["attendees"][0]["email_error"] is None
    assert_error(await eve.get(f"/schedules/{created['id']}"), ErrorCode.NOT_FOUND, 404)
    assert_error(await eve.get("/schedules/not-an-id"), ErrorCode.NOT_FOUND, 404)


async def test_the_calendar_lists_occurrences_with_role_and_answer(
    browsers: Callable[[], Api],
) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bob = await person(browsers, "bob@example.org", "Bob")
    created = await create(ada, attendees=[{"email": "bob@example.org"}])
    answer = await bob.post(
        f"/schedules/{created['id']}/respond",
        json={"partstat": "DECLINED", "occurrence": "2026-03-09T13:00:00Z"},
    )
    assert answer.status_code == 200, answer.text
    window = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-17T00:00:00Z"}
    mine = (await ada.get("/schedules", params=window)).json()
    assert [o["start"] for o in mine["occurrences"]] == [
        "2026-03-02T14:00:00Z",
        "2026-03-09T13:00:00Z",
        "2026-03-16T13:00:00Z",
    ]
    first = mine["occurrences"][0]
    assert (first["role"], first["partstat"], first["recurring"]) == ("organizer", None, True)
    assert first["timezone"] == NY
    assert first["organizer"]["display_name"] == "Ada"
    theirs = (await bob.get("/schedules", params=window)).json()["occurrences"]
    assert [(o["role"], o["partstat"]) for o in theirs] == [
        ("attendee", "NEEDS-ACTION"),
        ("attendee", "DECLINED"),
        ("attendee", "NEEDS-ACTION"),
    ]
    bad = await ada.get("/schedules", params={"start": "2026-03-01", "end": "2026-03-02"})
    assert_error(bad, ErrorCode.INVALID_REQUEST, 422)
    too_long = await ada.get(
        "/schedules", params={"start": "2026-01-01T00:00:00Z", "end": "2028-01-01T00:00:00Z"}
    )
    assert_error(too_long, ErrorCode.INVALID_REQUEST, 422)


async def test_conflicts_across_recurrence_zones_and_daylight_saving(
    browsers: Callable[[], Api], app: FastAPI
) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bob = await person(browsers, "bob@example.org", "Bob")
    # They share a schedule (a Wednesday evening in December), so Ada sees Bob's busy times.
    await create(
        bob, title="Year end", timezone=PARIS, start="2026-12-16T18:00", recurrence=None,
        attendees=[{"email": "ada@example.org"}],
    )  # fmt: skip
    # Bob's weekly 14:00 in Paris, all year.
    paris = await create(
        bob, title="Paris review", timezone=PARIS, start="2026-01-05T14:00", recurrence=ALL_2026
    )
    draft = {
        "title": "New York sync",
        "timezone": NY,
        "start": "2026-01-05T09:00",
        "duration_minutes": 60,
        "recurrence": ALL_2026,
        "attendees": ["bob@example.org"],
    }
    found = (await ada.post("/schedules/conflicts", json=draft)).json()
    # Checked from now (March 1) on: the 4 Mondays when the offsets differ.
    assert found["checked_occurrences"] == 44
    assert mondays(found["conflicts"]) == OFFSETS_DIFFER
    first = found["conflicts"][0]
    assert (first["email"], first["self"], first["source"]) == (
        "bob@example.org",
        False,
        "schedule",
    )
    assert (first["occurrence_start"], first["busy_start"]) == (
        "2026-03-09T13:00:00Z",
        "2026-03-09T13:00:00Z",
    )
    # Ada is not invited to Bob's review: she learns that Bob is busy, not with what.
    assert (first["title"], first["schedule_id"]) == (None, None)

    # Bob's 15:00 Paris meeting collides with 09:00 New York in every other week.
    await bob.delete(f"/schedules/{paris['id']}")
    await create(bob, title="Later", timezone=PARIS, start="2026-01-05T15:00", recurrence=ALL_2026)
    found = (await ada.post("/schedules/conflicts", json=draft)).json()
    all_mondays = {c["occurrence_start"][:10] for c in found["conflicts"]}
    assert len(all_mondays) == 40
    assert all_mondays.isdisjoint(OFFSETS_DIFFER)

    # Busy time from Bob's connected calendar counts too.
    db: Database = app.state.db
    bob_id = (await bob.get("/auth/session")).json()["user"]["id"]
    connection = uuid.uuid4()
    async with db.session() as session:
        session.add(
            CalendarConnectionRow(
                id=connection, user_id=uuid.UUID(bob_id), kind="ics", purpose="busy",
                name="Work", url="https://cal.example.org/b.ics", username=None, secret=None,
                status="ok", last_sync_at=None, last_error=None, created_at=NOW,
            )
        )  # fmt: skip
        await session.flush()
        session.add(
            BusyBlockRow(
                connection_id=connection,
                user_id=uuid.UUID(bob_id),
                starts_at=datetime(2026, 3, 16, 12, 30, tzinfo=UTC),
                ends_at=datetime(2026, 3, 16, 13, 30, tzinfo=UTC),
            )
        )
    found = (await ada.post("/schedules/conflicts", json=draft)).json()
    (block,) = [c for c in found["conflicts"] if c["source"] == "calendar"]
    assert (block["occurrence_start"], block["busy_start"], block["busy_end"]) == (
        "2026-03-16T13:00:00Z",
        "2026-03-16T12:30:00Z",
        "2026-03-16T13:30:00Z",
    )
    # A later sync of that calendar replaces its busy times: the next check sees the new ones.
    assert await db.calendars.replace_busy(
        str(connection),
        [
            BusyInterval(
                starts_at=datetime(2026, 3, 23, 12, 30, tzinfo=UTC),
                ends_at=datetime(2026, 3, 23, 13, 30, tzinfo=UTC),
            )
        ],
    )
    found = (await ada.post("/schedules/conflicts", json=draft)).json()
    assert [c["busy_start"] for c in found["conflicts"] if c["source"] == "calendar"] == [
        "2026-03-23T12:30:00Z"
    ]


async def test_conflict_previews_see_changes_as_they_happen(browsers: Callable[[], Api]) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bob = await person(browsers, "bob@example.org", "Bob")
    draft = schedule_body(attendees=["bob@example.org"])
    del draft["title"]
    assert (await ada.post("/schedules/conflicts", json=draft)).json()["conflicts"] == []
    # Bob is invited to Carol-less Ada's other meeting: she sees it by name (her own).
    own = await create(ada, title="Own", start="2026-03-09T09:30", recurrence=None)
    found = (await ada.post("/schedules/conflicts", json=draft)).json()["conflicts"]
    assert [(c["self"], c["title"], c["schedule_id"]) for c in found] == [(True, "Own", own["id"])]
    # A meeting Bob organises, Ada invited: visible to Ada in Bob's row too.
    shared = await create(
        bob,
        title="Shared",
        start="2026-03-16T09:00",
        recurrence=None,
        attendees=[{"email": "ada@example.org"}],
    )
    found = (await ada.post("/schedules/conflicts", json=draft)).json()["conflicts"]
    assert sorted((c["email"], c["title"]) for c in found) == [
        ("ada@example.org", "Own"),
        ("ada@example.org", "Shared"),
        ("bob@example.org", "Shared"),
    ]
    # Declining takes it out of Ada's busy time; cancelling out of everyone's.
    await ada.post(f"/schedules/{shared['id']}/respond", json={"partstat": "DECLINED"})
    found = (await ada.post("/schedules/conflicts", json=draft)).json()["conflicts"]
    assert sorted((c["email"], c["title"]) for c in found) == [
        ("ada@example.org", "Own"),
        ("bob@example.org", "Shared"),
    ]
    assert (await ada.delete(f"/schedules/{own['id']}")).status_code == 204
    await bob.delete(f"/schedules/{shared['id']}")
    assert (await ada.post("/schedules/conflicts", json=draft)).json()["conflicts"] == []
    # An edit does not conflict with itself.
    sync = await create(ada)
    edit = {**draft, "schedule_id": sync["id"]}
    assert (await ada.post("/schedules/conflicts", json=edit)).json()["conflicts"] == []
    found = (await ada.post("/schedules/conflicts", json=draft)).json()["conflicts"]
    assert len(found) == 10


async def test_editing_by_scope(browsers: Callable[[], Api]) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bob = await person(browsers, "bob@example.org", "Bob")
    created = await create(ada, attendees=[{"email": "bob@example.org"}])
    sid = created["id"]
    # One occurrence moved to Tuesday.
    moved = await ada.patch(
        f"/schedules/{sid}",
        json={"scope": "this", "occurrence": "2026-03-16T13:00:00Z", "start": "2026-03-17T10:00"},
    )
    assert moved.status_code == 200, moved.text
    (exc,) = moved.json()["exceptions"]
    assert (exc["recurrence_id"], exc["start"]) == ("2026-03-16T13:00:00Z", "2026-03-17T10:00:00")
    assert moved.json()["sequence"] == 1
    # This and following: a new schedule carries the rest.
    split = await ada.patch(
        f"/schedules/{sid}",
        json={"scope": "following", "occurrence": "2026-03-30T13:00:00Z", "title": "Renamed"},
    )
    assert split.status_code == 200, split.text
    rest = split.json()
    assert rest["id"] != sid
    assert (rest["parent_id"], rest["title"], rest["rrule"]) == (
        sid,
        "Renamed",
        "FREQ=WEEKLY;BYDAY=MO;COUNT=6",
    )
    assert rest["meeting"]["code"] == created["meeting"]["code"]
    # The whole (first part of the) series moves to 10:00; no more recurrence for the rest.
    whole = await ada.patch(f"/schedules/{sid}", json={"start": "2026-03-02T10:00"})
    assert whole.json()["first_start"] == "2026-03-02T15:00:00Z"
    single = await ada.patch(f"/schedules/{rest['id']}", json={"recurrence": None})
    assert (single.json()["rrule"], single.json()["recurrence"]) == (None, None)
    # Passcode and waiting room are for the whole series.
    settings = await ada.patch(f"/schedules/{sid}", json={"passcode": "", "waiting_room": False})
    assert settings.json()["meeting"]["passcode"] is None
    not_for_one = await ada.patch(
        f"/schedules/{sid}",
        json={"scope": "this", "occurrence": "2026-03-02T14:00:00Z", "passcode": "9999"},
    )
    assert_error(not_for_one, ErrorCode.INVALID_REQUEST, 422)
    # Only the organiser edits; an unknown occurrence is not found.
    assert_error(
        await bob.patch(f"/schedules/{sid}", json={"title": "Mine"}), ErrorCode.FORBIDDEN, 403
    )
    assert_error(
        await ada.patch(
            f"/schedules/{sid}",
            json={"scope": "this", "occurrence": "2026-03-03T14:00:00Z", "title": "x"},
        ),
        ErrorCode.NOT_FOUND,
        404,
    )
    missing_occurrence = await ada.patch(f"/schedules/{sid}", json={"scope": "this", "title": "x"})
    assert_error(missing_occurrence, ErrorCode.INVALID_REQUEST, 422)


async def test_cancelling_by_scope(browsers: Callable[[], Api]) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bob = await person(browsers, "bob@example.org", "Bob")
    created = await create(ada, attendees=[{"email": "bob@example.org"}])
    sid = created["id"]
    assert_error(await bob.delete(f"/schedules/{sid}"), ErrorCode.FORBIDDEN, 403)
    one = await ada.delete(
        f"/schedules/{sid}", params={"scope": "this", "occurrence": "2026-03-09T13:00:00Z"}
    )
    assert one.status_code == 204
    rest = await ada.delete(
        f"/schedules/{sid}", params={"scope": "following", "occurrence": "2026-03-23T13:00:00Z"}
    )
    assert rest.status_code == 204
    window = {"start": "2026-03-01T00:00:00Z", "end": "2026-06-01T00:00:00Z"}
    left = (await bob.get("/schedules", params=window)).json()["occurrences"]
    assert [o["start"] for o in left] == ["2026-03-02T14:00:00Z", "2026-03-16T13:00:00Z"]
    assert_error(
        await ada.delete(f"/schedules/{sid}", params={"scope": "this"}),
        ErrorCode.INVALID_REQUEST,
        422,
    )
    assert (await ada.delete(f"/schedules/{sid}")).status_code == 204
    assert (await bob.get("/schedules", params=window)).json()["occurrences"] == []
    assert (await ada.get(f"/schedules/{sid}")).json()["status"] == "cancelled"
    assert_error(await ada.delete(f"/schedules/{sid}"), ErrorCode.INVALID_STATE, 409)


async def test_answering_shows_the_invitees_own_conflicts(browsers: Callable[[], Api]) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bob = await person(browsers, "bob@example.org", "Bob")
    eve = await person(browsers, "eve@example.org", "Eve")
    bobs_own = await create(bob, title="Dentist", start="2026-03-23T09:30", recurrence=None)
    invite = await create(ada, attendees=[{"email": "bob@example.org"}])
    answer = await bob.post(f"/schedules/{invite['id']}/respond", json={"partstat": "ACCEPTED"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["partstat"] == "ACCEPTED"
    assert body["schedule"]["partstat"] == "ACCEPTED"
    (conflict,) = body["conflicts"]
    assert (conflict["self"], conflict["title"], conflict["schedule_id"]) == (
        True,
        "Dentist",
        bobs_own["id"],
    )
    assert conflict["occurrence_start"] == "2026-03-23T13:00:00Z"
    one = await bob.post(
        f"/schedules/{invite['id']}/respond",
        json={"partstat": "TENTATIVE", "occurrence": "2026-03-16T13:00:00Z"},
    )
    assert (one.json()["partstat"], one.json()["conflicts"]) == ("TENTATIVE", [])
    replies = (await ada.get(f"/schedules/{invite['id']}/replies")).json()["replies"]
    assert [(r["partstat"], r["occurrence"]) for r in replies] == [
        ("ACCEPTED", None),
        ("TENTATIVE", "2026-03-16T13:00:00Z"),
    ]
    assert_error(
        await eve.post(f"/schedules/{invite['id']}/respond", json={"partstat": "ACCEPTED"}),
        ErrorCode.NOT_FOUND,
        404,
    )
    assert_error(await bob.get(f"/schedules/{invite['id']}/replies"), ErrorCode.FORBIDDEN, 403)
    bad = await bob.post(f"/schedules/{invite['id']}/respond", json={"partstat": "NEEDS-ACTION"})
    assert_error(bad, ErrorCode.INVALID_REQUEST, 422)


async def test_freebusy_and_find_a_time(browsers: Callable[[], Api]) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bruno = await person(browsers, "bruno@example.org", "Bruno")
    await bruno.patch("/users/me/calendar-settings", json={"timezone": PARIS})
    await ada.patch("/users/me/calendar-settings", json={"timezone": NY})
    # Bruno is busy on Monday March 9, 13:00-15:00 UTC (14:00-16:00 Paris).
    await create(
        bruno, title="Busy", timezone=PARIS, start="2026-03-09T14:00", duration_minutes=120,
        recurrence=None,
    )  # fmt: skip
    # Ada sees Bruno's free/busy once they share a meeting (tests/api/test_freebusy_privacy.py).
    await create(
        ada, title="Later", start="2026-04-06T09:00", recurrence=None,
        attendees=[{"email": "bruno@example.org"}],
    )  # fmt: skip
    window = {"start": "2026-03-09T00:00:00Z", "end": "2026-03-10T00:00:00Z"}
    people = (
        await ada.post(
            "/freebusy",
            json={**window, "attendees": ["bruno@example.org", "nobody@elsewhere.net"]},
        )
    ).json()["people"]
    assert [(p["email"], p["known"], p["timezone"]) for p in people] == [
        ("bruno@example.org", True, PARIS),
        ("nobody@elsewhere.net", False, None),
    ]
    assert people[0]["busy"] == [{"start": "2026-03-09T13:00:00Z", "end": "2026-03-09T15:00:00Z"}]
    assert people[0]["working"] == [
        {"start": "2026-03-09T08:00:00Z", "end": "2026-03-09T16:00:00Z"}
    ]
    assert people[1]["busy"] == []
    # Ada in New York (09-17 EDT: 13-21 UTC) and Bruno in Paris (08-16 UTC): 13-16 UTC, less
    # Bruno's meeting.
    slots = (
        await ada.post(
            "/find-time",
            json={
                **window,
                "end": "2026-03-11T00:00:00Z",
                "attendees": [{"email": "bruno@example.org"}],
                "duration_minutes": 60,
                "limit": 3,
            },
        )
    ).json()["slots"]
    assert [(s["start"], s["end"]) for s in slots] == [
        ("2026-03-09T15:00:00Z", "2026-03-09T16:00:00Z"),
        ("2026-03-10T13:00:00Z", "2026-03-10T14:00:00Z"),
        ("2026-03-10T13:30:00Z", "2026-03-10T14:30:00Z"),
    ]
    bad = await ada.post("/freebusy", json={**window, "attendees": ["not an address"]})
    assert_error(bad, ErrorCode.INVALID_REQUEST, 422)
    no_offset = await ada.post(
        "/freebusy",
        json={
            "attendees": ["bruno@example.org"],
            "start": "2026-03-09T00:00",
            "end": "2026-03-10T00:00:00Z",
        },
    )
    assert_error(no_offset, ErrorCode.INVALID_REQUEST, 422)


async def test_calendar_settings(browsers: Callable[[], Api]) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    defaults = (await ada.get("/users/me/calendar-settings")).json()
    assert defaults == {
        "timezone": "UTC",
        "working_hours": {
            **{day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            "sat": [],
            "sun": [],
        },
        "reminder_minutes": 10,
        "email_reminders": True,
        "feed_enabled": False,
        "language": None,
    }
    hours: dict[str, list[list[str]]] = {
        day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    hours["mon"] = [["08:00", "12:00"], ["13:00", "24:00"]]
    changed = await ada.patch(
        "/users/me/calendar-settings",
        json={"timezone": "Asia/Kolkata", "working_hours": hours, "reminder_minutes": None},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["working_hours"]["mon"] == [["08:00", "12:00"], ["13:00", "24:00"]]
    assert changed.json()["reminder_minutes"] is None
    assert changed.json()["email_reminders"] is True
    unknown = await ada.patch("/users/me/calendar-settings", json={"timezone": "Mars/Base"})
    assert_error(unknown, ErrorCode.INVALID_REQUEST, 422)
    assert unknown.json()["error"]["details"]["reason"] == "unknown_timezone"
    overlapping = {**hours, "mon": [["08:00", "12:00"], ["11:00", "13:00"]]}
    assert_error(
        await ada.patch("/users/me/calendar-settings", json={"working_hours": overlapping}),
        ErrorCode.INVALID_REQUEST,
        422,
    )
    assert_error(
        await ada.patch("/users/me/calendar-settings", json={"working_hours": {"mon": []}}),
        ErrorCode.INVALID_REQUEST,
        422,
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"timezone": "Atlantis/Capital"}, "unknown_timezone"),
        ({"start": "2026-03-08T02:30"}, "nonexistent_time"),
        ({"start": "2026-11-01T01:30"}, "ambiguous_time"),
        ({"recurrence": {"freq": "daily", "count": 100000}}, "invalid_recurrence"),
        ({"recurrence": {"freq": "daily", "until": "2040-01-01"}}, "invalid_recurrence"),
    ],
)
async def test_bad_timing_gets_a_clear_error(
    browsers: Callable[[], Api], fields: dict[str, Any], reason: str
) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    response = await ada.post("/schedules", json=schedule_body(**fields))
    assert_error(response, ErrorCode.INVALID_REQUEST, 422)
    assert response.json()["error"]["details"]["reason"] == reason
    # Nothing was left behind: no schedule, no room.
    assert (await ada.get("/meetings")).json()["meetings"] == []


@pytest.mark.parametrize(
    "fields",
    [
        {"start": "2026-03-02T09:00:00+01:00"},
        {"start": "yesterday"},
        {"recurrence": {"freq": "secondly"}},
        {"recurrence": {"freq": "weekly", "by_weekday": ["XX"]}},
        {"duration_minutes": 0},
        {"duration_minutes": "60"},
        {"attendees": [{"email": "a@example.org"}, {"email": "A@example.org"}]},
        {"title": ""},
        {"unknown": 1},
    ],
)
async def test_malformed_bodies_are_refused(
    browsers: Callable[[], Api], fields: dict[str, Any]
) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    assert_error(
        await ada.post("/schedules", json=schedule_body(**fields)), ErrorCode.INVALID_REQUEST, 422
    )


async def test_signed_out_callers_get_nothing(browsers: Callable[[], Api]) -> None:
    anonymous = browsers()
    assert_error(
        await anonymous.get("/schedules", params={"start": "x", "end": "y"}),
        ErrorCode.AUTH_REQUIRED,
        401,
    )
    assert_error(
        await anonymous.post("/schedules", json=schedule_body()), ErrorCode.AUTH_REQUIRED, 401
    )
    assert_error(await anonymous.get("/users/me/calendar-settings"), ErrorCode.AUTH_REQUIRED, 401)


async def test_a_scheduled_meeting_room_is_not_deleted_behind_its_invitees(
    browsers: Callable[[], Api],
) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    created = await create(ada, attendees=[{"email": "carol@elsewhere.net"}])
    meeting = (await ada.get(f"/meetings/{created['meeting']['code']}")).json()
    # Deleting the room would drop the schedule silently: invitees would never hear of it.
    assert_error(await ada.delete(f"/meetings/{meeting['id']}"), ErrorCode.INVALID_STATE, 409)
    assert (await ada.delete(f"/schedules/{created['id']}")).status_code == 204
    assert_error(await ada.delete(f"/meetings/{meeting['id']}"), ErrorCode.INVALID_STATE, 409)
