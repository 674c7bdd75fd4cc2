"""The private calendar feed: its URL, what it holds, and revoking it.

The feed is read as a calendar program reads it: parsed by ``icalendar`` and expanded by
``recurring-ical-events``, which must give the occurrences Convene shows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import recurring_ical_events
from icalendar import Calendar

from convene.protocol.ids import UserId
from convene.scheduling.recurrence import occurrences
from tests.mail.scenario import Scenario, scenario
from tests.support.server import Person

LOW = datetime(2026, 1, 1, tzinfo=UTC)
HIGH = datetime(2027, 1, 1, tzinfo=UTC)


async def feed_url(person: Person, method: str = "GET") -> dict[str, object]:
    headers = {"X-CSRF-Token": person.csrf or ""}
    response = await person.http.request(method, "/api/v1/users/me/feed", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def path_of(url: object) -> str:
    assert isinstance(url, str)
    return urlsplit(url).path


async def calendars(s: Scenario) -> tuple[Person, list[str]]:
    """Bob organises a weekly meeting across the change to summer time (one occurrence moved,
    one cancelled), is invited to a single meeting in New York, and declined a third."""
    alice = await s.user("alice@example.org", "Alice")
    bob = await s.user("bob@example.org", "Bob")
    weekly = await s.schedule(
        bob,
        title="Team sync",
        start=datetime(2026, 3, 16, 9, 30),
        timezone="Europe/Berlin",
        rrule="FREQ=WEEKLY;BYDAY=MO,TH;COUNT=8",
    )
    await s.db.schedules.update(
        weekly.id,
        {"start_local": datetime(2026, 3, 19, 15, 0), "title": "Team sync (moved)"},
        scope="this",
        recurrence_id=datetime(2026, 3, 19, 8, 30, tzinfo=UTC),
        at=s.clock.now(),
    )
    await s.db.schedules.cancel(
        weekly.id,
        scope="this",
        recurrence_id=datetime(2026, 3, 23, 8, 30, tzinfo=UTC),
        at=s.clock.now(),
    )
    invited = await s.schedule(
        alice,
        title="Quarterly review",
        start=datetime(2026, 3, 20, 11, 0),
        timezone="America/New_York",
        duration=90,
        invitees=[("bob@example.org", "Bob")],
    )
    declined = await s.schedule(
        alice,
        title="Optional social",
        start=datetime(2026, 3, 21, 18, 0),
        invitees=[("bob@example.org", "Bob")],
    )
    answer = declined.attendee_for(email="bob@example.org")
    assert answer is not None
    await s.db.schedules.respond(answer.id, "DECLINED", None, s.clock.now())
    return bob, [weekly.id, invited.id]


async def test_the_feed_matches_what_convene_shows(tmp_path: Path, db_url: str) -> None:
    async with scenario(tmp_path, database_url=db_url) as s:
        bob, shown = await calendars(s)
        assert await feed_url(bob) == {"enabled": False, "url": None, "webcal_url": None}
        urls = await feed_url(bob, "POST")
        assert urls["enabled"] is True
        assert isinstance(urls["url"], str)
        assert urls["url"].startswith(s.server.settings.base_url + "/api/v1/feeds/")
        assert urls["webcal_url"] == "webcal://" + urls["url"].split("://", 1)[1]
        assert await feed_url(bob) == urls

        # A calendar program fetches it, without any cookie.
        reader = s.server.guest()
        response = await reader.http.get(path_of(urls["url"]))
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/calendar; charset=utf-8"
        assert response.headers["cache-control"] == "private, no-cache"
        calendar = Calendar.from_ical(response.content)
        assert calendar["METHOD"] == "PUBLISH"
        assert {tz.tz_name for tz in calendar.timezones} == {"Europe/Berlin", "America/New_York"}
        schedules = [await s.db.schedules.get(i) for i in shown]
        assert {str(e["UID"]) for e in calendar.events} == {x.uid for x in schedules if x}

        expanded = sorted(
            (e.start.astimezone(UTC), e.end.astimezone(UTC), str(e["SUMMARY"]))
            for e in recurring_ical_events.of(calendar).between(LOW, HIGH)
        )
        convene = sorted(
            (o.start_utc, o.end_utc, o.title)
            for x in schedules
            if x is not None
            for o in occurrences(x, LOW, HIGH, limit=100)
        )
        assert expanded == convene
        assert len(convene) == 8  # seven of the series (one cancelled) and the review
        assert (
            datetime(2026, 3, 19, 14, 0, tzinfo=UTC),
            datetime(2026, 3, 19, 14, 30, tzinfo=UTC),
            "Team sync (moved)",
        ) in convene
        # Summer time in Berlin from 29 March: 09:30 local is 07:30 UTC.
        assert convene[-1][0] == datetime(2026, 4, 9, 7, 30, tzinfo=UTC)

        # Unchanged: the ETag says so.
        again = await reader.http.get(
            path_of(urls["url"]), headers={"If-None-Match": response.headers["etag"]}
        )
        assert again.status_code == 304
        assert again.content == b""


async def test_revoking_the_feed(tmp_path: Path) -> None:
    async with scenario(tmp_path) as s:
        bob, _ = await calendars(s)
        first = await feed_url(bob, "POST")
        reader = s.server.guest()
        assert (await reader.http.get(path_of(first["url"]))).status_code == 200

        # A new URL voids the old one.
        second = await feed_url(bob, "POST")
        assert second["url"] != first["url"]
        gone = await reader.http.get(path_of(first["url"]))
        assert gone.status_code == 404
        assert gone.json()["error"]["code"] == "not_found"
        assert (await reader.http.get(path_of(second["url"]))).status_code == 200

        # Turned off: no URL works.
        off = await feed_url(bob, "DELETE")
        assert off == {"enabled": False, "url": None, "webcal_url": None}
        assert (await reader.http.get(path_of(second["url"]))).status_code == 404


async def test_a_feed_is_only_its_owners(tmp_path: Path) -> None:
    async with scenario(tmp_path) as s:
        bob, _ = await calendars(s)
        alice = s.people["alice@example.org"]
        assert bob.user is not None
        assert alice.user is not None
        urls = await feed_url(bob, "POST")
        token = path_of(urls["url"]).rsplit("/", 1)[1]
        reader = s.server.guest()
        # Bob's token with Alice's id, a made-up token, garbage ids: all unknown.
        for path in (
            f"/api/v1/feeds/{alice.user['id']}/{token}",
            f"/api/v1/feeds/{bob.user['id']}/{'A' * 32}.ics",
            f"/api/v1/feeds/not-a-user/{token}",
            f"/api/v1/feeds/{'9' * 100}/{token}",
        ):
            response = await reader.http.get(path)
            assert response.status_code == 404, path
        # Signing in is needed to see or change one's feed URL.
        response = await reader.http.get("/api/v1/users/me/feed")
        assert response.status_code == 401
        response = await reader.http.post("/api/v1/users/me/feed")
        assert response.status_code == 401
        # Other users' feeds are not affected by Bob's.
        await s.db.user_settings.bump_feed(UserId(alice.user["id"]))
        assert (await reader.http.get(path_of(urls["url"]))).status_code == 200


async def test_an_empty_feed_is_a_valid_calendar(tmp_path: Path) -> None:
    async with scenario(tmp_path, start=datetime(2026, 3, 2, tzinfo=UTC) + timedelta(hours=1)) as s:
        carol = await s.user("carol@example.org", "Carol")
        urls = await feed_url(carol, "POST")
        response = await s.server.guest().http.get(path_of(urls["url"]))
        assert response.status_code == 200
        calendar = Calendar.from_ical(response.content)
        assert calendar.events == []
        assert "Last-Modified" not in response.headers
