"""Conflicts with connected calendars name the caller's calendar, once per busy time."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from convene.storage.db import Database
from convene.storage.models import BusyBlockRow, CalendarConnectionRow
from tests.api.client import Api
from tests.api.test_scheduling import NOW, app, person  # noqa: F401

AT = datetime(2026, 3, 16, 14, tzinfo=UTC)  # 10:00 in New York
UNTIL = datetime(2026, 3, 16, 15, tzinfo=UTC)


async def _calendar(db: Database, user_id: str, name: str) -> None:
    connection = uuid.uuid4()
    async with db.session() as session:
        session.add(
            CalendarConnectionRow(
                id=connection, user_id=uuid.UUID(user_id), kind="ics", purpose="busy",
                name=name, url="https://cal.example.org/x.ics", username=None, secret=None,
                status="ok", last_sync_at=NOW, last_error=None, created_at=NOW,
            )
        )  # fmt: skip
        await session.flush()
        session.add(
            BusyBlockRow(
                connection_id=connection, user_id=uuid.UUID(user_id), starts_at=AT, ends_at=UNTIL
            )
        )


async def _user_id(api: Api) -> str:
    body: dict[str, Any] = (await api.get("/auth/session")).json()
    return str(body["user"]["id"])


async def test_own_calendars_are_named_and_the_same_time_is_one_conflict(
    browsers: Callable[[], Api],
    app: FastAPI,  # noqa: F811
) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bob = await person(browsers, "bob@example.org", "Bob")
    db: Database = app.state.db
    for name in ("Work", "Family"):
        await _calendar(db, await _user_id(ada), name)
    for name in ("Therapy", "Gym"):
        await _calendar(db, await _user_id(bob), name)
    # They share a schedule (in April), so Ada sees Bob's busy times.
    shared = {
        "title": "April sync",
        "timezone": "America/New_York",
        "start": "2026-04-20T09:00",
        "duration_minutes": 30,
        "attendees": [{"email": "ada@example.org"}],
    }
    assert (await bob.post("/schedules", json=shared)).status_code == 201
    draft = {
        "title": "Planning",
        "timezone": "America/New_York",
        "start": "2026-03-16T10:00",
        "duration_minutes": 30,
        "attendees": ["bob@example.org"],
    }
    response = await ada.post("/schedules/conflicts", json=draft)
    assert response.status_code == 200, response.text
    found = [c for c in response.json()["conflicts"] if c["source"] == "calendar"]
    by_person = {c["email"]: c for c in found}
    assert len(found) == 2, found  # one per person, not one per calendar
    assert sorted(by_person["ada@example.org"]["calendars"]) == ["Family", "Work"]
    # Bob's calendars are his business: Ada learns he is busy, not in which calendar.
    assert by_person["bob@example.org"]["calendars"] == []
    assert by_person["bob@example.org"]["busy_start"] == "2026-03-16T14:00:00Z"
