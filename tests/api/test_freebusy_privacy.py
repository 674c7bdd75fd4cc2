"""Who may see whose free/busy, on SQLite and PostgreSQL: ``/freebusy`` and ``/find-time``
show the asker and the people they share a schedule with; anyone else, account or not, gets
exactly the answer of an address without an account, and the requests are limited per user.
The app runs on a settable clock (March 1, 2026)."""

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
from tests.api.client import Api, assert_error
from tests.api.conftest import FAST_HASHING, NoMedia, emptied, make_settings
from tests.api.test_verification import VERIFYING, link_token, verified_user
from tests.mail.scenario import scenario
from tests.support.server import Person

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
PARIS = "Europe/Paris"
WINDOW = {"start": "2026-03-09T00:00:00Z", "end": "2026-03-10T00:00:00Z"}


@pytest.fixture
def overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
async def app(tmp_path: Path, db_url: str, overrides: dict[str, Any]) -> AsyncIterator[FastAPI]:
    await emptied(db_url)
    application = create_app(
        make_settings(tmp_path, db_url, **overrides),
        passwords=Passwords(FAST_HASHING),
        sfu=NoMedia(),
        clock=FixedClock(NOW),
    )
    async with application.router.lifespan_context(application):
        yield application


async def person(new: Callable[[], Api], email: str, name: str, zone: str = PARIS) -> Api:
    api = new()
    await api.signup(email, name)
    response = await api.patch("/users/me/calendar-settings", json={"timezone": zone})
    assert response.status_code == 200, response.text
    return api


async def schedule(api: Api, start: str, *invitees: str, title: str = "Sync") -> None:
    body = {
        "title": title,
        "timezone": PARIS,
        "start": start,
        "duration_minutes": 60,
        "attendees": [{"email": e} for e in invitees],
    }
    response = await api.post("/schedules", json=body)
    assert response.status_code == 201, response.text


async def freebusy(api: Api, *emails: str) -> dict[str, dict[str, Any]]:
    response = await api.post("/freebusy", json={**WINDOW, "attendees": list(emails)})
    assert response.status_code == 200, response.text
    return {p["email"]: p for p in response.json()["people"]}


async def find_time(api: Api, email: str) -> list[tuple[str, str, list[str]]]:
    body = {
        **WINDOW,
        "end": "2026-03-11T00:00:00Z",
        "attendees": [{"email": email}],
        "duration_minutes": 60,
        "limit": 50,
    }
    response = await api.post("/find-time", json=body)
    assert response.status_code == 200, response.text
    slots = response.json()["slots"]
    # The invitee's own address is replaced, so that two answers can be compared whole.
    return [
        (s["start"], s["end"], ["them" if e == email else e for e in s["optional_free"]])
        for s in slots
    ]


def anonymous(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("email", "display_name")} | {
        "display_name_is_email": entry["display_name"] == entry["email"]
    }


async def test_an_account_sharing_no_meeting_looks_like_no_account(
    browsers: Callable[[], Api],
) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    carol = await person(browsers, "carol@example.org", "Carol")
    # Carol is busy on March 9 (10:00-11:00 Paris) and invited someone without an account.
    await schedule(carol, "2026-03-09T10:00", "dave@elsewhere.net", title="Carol's")
    people = await freebusy(ada, "carol@example.org", "dave@elsewhere.net", "nobody@elsewhere.net")
    stranger = {
        "user_id": None,
        "known": False,
        "timezone": None,
        "busy": [],
        "working": [],
        "display_name_is_email": True,
    }
    assert [anonymous(people[e]) for e in people] == [stranger] * 3
    # Find a time: Carol's calendar shapes nothing, exactly as for an address with no account.
    assert await find_time(ada, "carol@example.org") == await find_time(ada, "nobody@elsewhere.net")
    # Carol herself still sees her own.
    mine = await freebusy(carol, "carol@example.org")
    assert mine["carol@example.org"]["known"] is True
    assert mine["carol@example.org"]["busy"] == [
        {"start": "2026-03-09T09:00:00Z", "end": "2026-03-09T10:00:00Z"}
    ]


async def test_people_sharing_a_meeting_see_each_others_busy_times(
    browsers: Callable[[], Api],
) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bruno = await person(browsers, "bruno@example.org", "Bruno")
    carol = await person(browsers, "carol@example.org", "Carol")
    await schedule(carol, "2026-03-09T10:00", title="Carol's")
    before = await freebusy(ada, "carol@example.org")
    assert before["carol@example.org"]["known"] is False
    # Bruno invites Ada and Carol (in April): they are co-invitees, he is their organiser.
    await schedule(bruno, "2026-04-06T09:00", "ada@example.org", "carol@example.org")
    people = await freebusy(ada, "carol@example.org", "bruno@example.org", "ada@example.org")
    assert people["carol@example.org"]["known"] is True
    assert people["carol@example.org"]["display_name"] == "Carol"
    assert people["carol@example.org"]["timezone"] == PARIS
    assert people["carol@example.org"]["busy"] == [
        {"start": "2026-03-09T09:00:00Z", "end": "2026-03-09T10:00:00Z"}
    ]
    assert people["carol@example.org"]["working"] == [
        {"start": "2026-03-09T08:00:00Z", "end": "2026-03-09T16:00:00Z"}
    ]
    assert people["bruno@example.org"]["known"] is True
    assert people["ada@example.org"]["known"] is True
    # The organiser sees his invitees, Carol sees Ada; find a time avoids Carol's meeting.
    assert (await freebusy(bruno, "carol@example.org"))["carol@example.org"]["known"] is True
    assert (await freebusy(carol, "ada@example.org"))["ada@example.org"]["known"] is True
    slots = await find_time(ada, "carol@example.org")
    assert ("2026-03-09T09:00:00Z", "2026-03-09T10:00:00Z", []) not in slots
    assert slots != await find_time(ada, "nobody@elsewhere.net")


@pytest.mark.parametrize(
    "overrides", [{"scheduling": {"availability_per_minute": 3}}], ids=["3_per_minute"]
)
async def test_freebusy_and_find_a_time_are_limited_per_user(
    browsers: Callable[[], Api],
) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bruno = await person(browsers, "bruno@example.org", "Bruno")
    await freebusy(ada, "nobody@elsewhere.net")
    await freebusy(ada, "nobody@elsewhere.net")
    await find_time(ada, "nobody@elsewhere.net")
    for path, body in (
        ("/freebusy", {**WINDOW, "attendees": ["nobody@elsewhere.net"]}),
        ("/find-time", {**WINDOW, "attendees": [], "duration_minutes": 30}),
    ):
        refused = await ada.post(path, json=body)
        assert_error(refused, ErrorCode.RATE_LIMITED, 429)
        retry_after = refused.json()["error"]["details"]["retry_after"]
        assert isinstance(retry_after, int)
        assert retry_after >= 1
        assert refused.headers["Retry-After"] == str(retry_after)
    # Another user has a budget of their own.
    await freebusy(bruno, "nobody@elsewhere.net")


async def test_an_unverified_account_does_not_share_its_addresses_meetings(
    tmp_path: Path, db_url: str
) -> None:
    async with scenario(tmp_path, database_url=db_url, **VERIFYING) as s:
        alice = await verified_user(s, "alice@example.org", "Alice")
        carol = await verified_user(s, "carol@example.org", "Carol")
        invite = {
            "title": "Board meeting",
            "timezone": PARIS,
            "start": "2026-04-06T10:00",
            "duration_minutes": 60,
            "attendees": [{"email": "bob@example.org"}, {"email": "carol@example.org"}],
        }
        created = await alice.post("/api/v1/schedules", invite)
        assert created.status_code == 201, created.text
        assert (await seen_by(carol, "alice@example.org"))["known"] is True

        # Someone who is not Bob signs up with his address: Alice and Carol stay strangers.
        mallory = await s.user("bob@example.org", "Bob")
        for email in ("alice@example.org", "carol@example.org"):
            seen = await seen_by(mallory, email)
            assert seen == {**STRANGER, "email": email, "display_name": email}

        # Once the address is verified, its invitation is the account's.
        token = await link_token(s, "bob@example.org")
        followed = await s.server.guest().post("/api/v1/auth/verify", {"token": token})
        assert followed.status_code == 200, followed.text
        assert (await seen_by(mallory, "carol@example.org"))["known"] is True


STRANGER: dict[str, Any] = {
    "user_id": None,
    "known": False,
    "timezone": None,
    "busy": [],
    "working": [],
}


async def seen_by(who: Person, email: str) -> dict[str, Any]:
    response = await who.post("/api/v1/freebusy", {**WINDOW, "attendees": [email]})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["people"][0]
    return found
