"""Busy times read by the calendar service from a real HTTP server and a real CalDAV server."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from convene.auth.ratelimit import RateLimiter
from convene.calendars.sync import CalendarService, NewConnection
from convene.clock import FixedClock
from convene.protocol.errors import ConveneError, ErrorCode
from convene.storage.calendars import ConnectionRecord
from convene.storage.db import Database
from convene.storage.users import UserRecord
from tests.calendars.conftest import NOW, vcalendar, vevent
from tests.calendars.ics_server import IcsServer, Route
from tests.support.radicale import RadicaleServer

NINE = NOW + timedelta(days=1, hours=1)  # 09:00 UTC tomorrow


def spans(blocks: list[object]) -> list[tuple[datetime, datetime]]:
    return [(b.starts_at, b.ends_at) for b in blocks]  # type: ignore[attr-defined]


async def stored(db: Database, connection: ConnectionRecord) -> ConnectionRecord:
    found = await db.calendars.get(connection.id)
    assert found is not None
    return found


async def failure(
    service: CalendarService, user: UserRecord, request: NewConnection
) -> ConveneError:
    with pytest.raises(ConveneError) as caught:
        await service.connect(user, request)
    assert caught.value.code is ErrorCode.INVALID_REQUEST
    return caught.value


# --- ICS addresses ---------------------------------------------------------------------------


async def test_an_ics_address_is_read_into_busy_blocks_when_connected(
    service: CalendarService, db: Database, ada: UserRecord, web: IcsServer
) -> None:
    web.calendar(
        "/private/key123/basic.ics",
        vcalendar(
            vevent("a", NINE, 60),
            vevent("b", NINE + timedelta(days=1), 30, extra="RRULE:FREQ=DAILY;COUNT=2\n"),
        ),
    )
    connection = await service.connect(
        ada, NewConnection(kind="ics", purpose="busy", url=web.url("/private/key123/basic.ics"))
    )
    assert connection.status == "ok"
    assert connection.last_error is None
    assert connection.last_sync_at == NOW
    # The address's path is as secret as a password: only its origin is stored in clear.
    assert connection.url == f"http://127.0.0.1:{web.port}/…"
    assert connection.secret is not None
    assert b"key123" not in connection.secret
    assert connection.name == "127.0.0.1"
    assert spans(await db.calendars.busy_for_connection(connection.id)) == [
        (NINE, NINE + timedelta(hours=1)),
        (NINE + timedelta(days=1), NINE + timedelta(days=1, minutes=30)),
        (NINE + timedelta(days=2), NINE + timedelta(days=2, minutes=30)),
    ]


async def test_a_calendar_that_changes_is_read_again_after_the_interval(
    service: CalendarService,
    db: Database,
    ada: UserRecord,
    web: IcsServer,
    clock: FixedClock,
) -> None:
    web.calendar("/cal.ics", vcalendar(vevent("a", NINE)))
    connection = await service.connect(
        ada, NewConnection(kind="ics", purpose="busy", url=web.url("/cal.ics"), name="Team")
    )
    assert connection.name == "Team"
    web.calendar("/cal.ics", vcalendar(vevent("b", NINE + timedelta(hours=3))))
    await service.run_busy()  # not due yet
    assert spans(await db.calendars.busy_for_connection(connection.id)) == [
        (NINE, NINE + timedelta(hours=1))
    ]
    clock.advance(timedelta(seconds=service.settings.calendars.sync_interval_seconds + 1))
    await service.run_busy()
    assert spans(await db.calendars.busy_for_connection(connection.id)) == [
        (NINE + timedelta(hours=3), NINE + timedelta(hours=4))
    ]
    assert (await stored(db, connection)).last_sync_at == clock.now()


async def test_a_calendar_behind_a_password_is_read_with_it(
    service: CalendarService, db: Database, ada: UserRecord, web: IcsServer
) -> None:
    web.routes["/cal.ics"] = Route(
        body=vcalendar(vevent("a", NINE)).encode(), auth=("ada", "pw-for-feed")
    )
    error = await failure(
        service, ada, NewConnection(kind="ics", purpose="busy", url=web.url("/cal.ics"))
    )
    assert error.details["reason"] == "auth"
    connection = await service.connect(
        ada,
        NewConnection(
            kind="ics",
            purpose="busy",
            url=web.url("/cal.ics"),
            username="ada",
            password="pw-for-feed",
        ),
    )
    assert connection.status == "ok"
    assert connection.secret is not None
    assert b"pw-for-feed" not in connection.secret
    assert len(await db.calendars.busy_for_connection(connection.id)) == 1


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(body=b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:x\r\n"), "malformed"),
        (Route(body=b"<html>Please sign in</html>"), "not_calendar"),
        (Route(status=404), "http"),
        (Route(body=b"BEGIN:VCALENDAR\r\n", endless=2 * 1024 * 1024), "too_large"),
    ],
)
async def test_a_calendar_that_cannot_be_used_is_refused_when_connecting(
    service: CalendarService,
    db: Database,
    ada: UserRecord,
    web: IcsServer,
    route: Route,
    reason: str,
) -> None:
    service.settings.calendars.max_calendar_bytes = 1024 * 1024
    web.routes["/cal.ics"] = route
    error = await failure(
        service, ada, NewConnection(kind="ics", purpose="busy", url=web.url("/cal.ics"))
    )
    assert error.details == {"field": "url", "reason": reason}
    assert await db.calendars.for_user(ada.id) == []


async def test_a_failing_calendar_shows_why_keeps_its_blocks_and_recovers_later(
    service: CalendarService,
    db: Database,
    ada: UserRecord,
    bob: UserRecord,
    web: IcsServer,
    clock: FixedClock,
) -> None:
    web.calendar("/ada.ics", vcalendar(vevent("a", NINE)))
    web.calendar("/bob.ics", vcalendar(vevent("b", NINE)))
    adas = await service.connect(
        ada, NewConnection(kind="ics", purpose="busy", url=web.url("/ada.ics"))
    )
    bobs = await service.connect(
        bob, NewConnection(kind="ics", purpose="busy", url=web.url("/bob.ics"))
    )

    # Ada's server now hangs, and then serves garbage; Bob's keeps working and changes.
    service.settings.calendars.fetch_timeout = 2.0  # enough for the working one when busy
    web.routes["/ada.ics"] = Route(hang=True)
    web.calendar("/bob.ics", vcalendar(vevent("b2", NINE + timedelta(hours=2))))
    clock.advance(timedelta(hours=1))
    await service.run_busy()
    failed = await stored(db, adas)
    assert failed.status == "error"
    assert failed.last_error is not None
    assert "did not answer" in failed.last_error
    assert len(await db.calendars.busy_for_connection(adas.id)) == 1  # the last good read
    assert (await stored(db, bobs)).status == "ok"
    assert spans(await db.calendars.busy_for_connection(bobs.id)) == [
        (NINE + timedelta(hours=2), NINE + timedelta(hours=3))
    ]

    web.calendar("/ada.ics", "BEGIN:VCALENDAR\r\nthis is not iCalendar\r\nEND:VCALENDAR\r\n")
    clock.advance(timedelta(hours=1))
    await service.run_busy()
    failed = await stored(db, adas)
    assert failed.status == "error"
    assert failed.last_error is not None
    assert failed.last_error.startswith("The calendar file could not be read")

    web.calendar(
        "/ada.ics",
        vcalendar(
            vevent("c", NINE + timedelta(hours=5)),
            "BEGIN:VEVENT\nUID:tz\nDTSTAMP:20260101T000000Z\nDTSTART;TZID=Nowhere/Land:20260303T090000\n"
            "DURATION:PT1H\nEND:VEVENT\n",
        ),
    )
    clock.advance(timedelta(hours=1))
    await service.run_busy()
    recovered = await stored(db, adas)
    assert recovered.status == "ok"
    assert recovered.last_error == "1 event(s) in an unknown time zone (Nowhere/Land) were skipped."
    assert spans(await db.calendars.busy_for_connection(adas.id)) == [
        (NINE + timedelta(hours=5), NINE + timedelta(hours=6))
    ]


async def test_all_day_events_follow_the_users_zone(
    service: CalendarService, db: Database, ada: UserRecord, web: IcsServer
) -> None:
    await db.user_settings.update(ada.id, {"timezone": "Asia/Tokyo"})
    web.calendar(
        "/holiday.ics",
        vcalendar(
            "BEGIN:VEVENT\nUID:h\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20260305\n"
            "END:VEVENT\n"
        ),
    )
    connection = await service.connect(
        ada, NewConnection(kind="ics", purpose="busy", url=web.url("/holiday.ics"))
    )
    start = datetime.fromisoformat("2026-03-04T15:00:00+00:00")
    assert spans(await db.calendars.busy_for_connection(connection.id)) == [
        (start, start + timedelta(days=1))
    ]


async def test_private_addresses_are_refused_unless_the_server_allows_them(
    service: CalendarService, db: Database, ada: UserRecord, web: IcsServer
) -> None:
    web.calendar("/cal.ics", vcalendar(vevent("a", NINE)))
    service.settings.calendars.allow_private_addresses = False
    error = await failure(
        service, ada, NewConnection(kind="ics", purpose="busy", url=web.url("/cal.ics"))
    )
    assert error.details["reason"] == "address"
    assert web.seen == []


async def test_nonsense_requests_are_refused_before_anything_is_fetched(
    service: CalendarService, ada: UserRecord
) -> None:
    publish_ics = await failure(
        service, ada, NewConnection(kind="ics", purpose="publish", url="https://example.org/a.ics")
    )
    assert publish_ics.details["field"] == "kind"
    half = await failure(
        service,
        ada,
        NewConnection(kind="caldav", purpose="busy", url="https://example.org/", username="ada"),
    )
    assert half.details["field"] == "username"
    scheme = await failure(
        service, ada, NewConnection(kind="ics", purpose="busy", url="file:///etc/passwd")
    )
    assert scheme.details == {"field": "url", "reason": "malformed"}


# --- CalDAV ----------------------------------------------------------------------------------


async def test_busy_times_are_read_from_every_calendar_of_a_caldav_account(
    service: CalendarService, db: Database, ada: UserRecord, radicale: RadicaleServer
) -> None:
    work = radicale.make_calendar("ada", "work")
    home = radicale.make_calendar("ada", "home")
    radicale.put_event("ada", work, vcalendar(vevent("w1", NINE, 60)))
    radicale.put_event(
        "ada",
        work,
        vcalendar(vevent("w2", NINE + timedelta(days=1), 30, extra="RRULE:FREQ=WEEKLY;COUNT=2\n")),
    )
    radicale.put_event("ada", home, vcalendar(vevent("h1", NINE + timedelta(hours=4), 60)))
    radicale.put_event(
        "ada",
        home,
        vcalendar(vevent("free", NINE + timedelta(hours=6), extra="TRANSP:TRANSPARENT\n")),
    )
    radicale.put_event("ada", home, vcalendar(vevent("old", NOW - timedelta(days=30))))

    connection = await service.connect(
        ada,
        NewConnection(
            kind="caldav",
            purpose="busy",
            url=radicale.url + "/",
            username="ada",
            password=radicale.users["ada"],
        ),
    )
    assert connection.status == "ok", connection.last_error
    assert connection.url == radicale.url + "/"
    assert spans(await db.calendars.busy_for_connection(connection.id)) == [
        (NINE, NINE + timedelta(hours=1)),
        (NINE + timedelta(hours=4), NINE + timedelta(hours=5)),
        (NINE + timedelta(days=1), NINE + timedelta(days=1, minutes=30)),
        (NINE + timedelta(days=8), NINE + timedelta(days=8, minutes=30)),
    ]

    only_home = await service.connect(
        ada,
        NewConnection(
            kind="caldav",
            purpose="busy",
            url=home,
            username="ada",
            password=radicale.users["ada"],
        ),
    )
    assert only_home.name == "home"
    assert spans(await db.calendars.busy_for_connection(only_home.id)) == [
        (NINE + timedelta(hours=4), NINE + timedelta(hours=5))
    ]


async def test_a_wrong_caldav_password_is_refused_and_never_shown(
    service: CalendarService, db: Database, ada: UserRecord, radicale: RadicaleServer
) -> None:
    radicale.make_calendar("ada", "work")
    error = await failure(
        service,
        ada,
        NewConnection(
            kind="caldav",
            purpose="busy",
            url=radicale.url + "/",
            username="ada",
            password="guessed-wrong",
        ),
    )
    assert error.details["reason"] == "auth"
    assert "guessed-wrong" not in error.message
    assert await db.calendars.for_user(ada.id) == []


async def test_an_unreachable_caldav_server_marks_its_connection_and_no_other(
    service: CalendarService,
    db: Database,
    ada: UserRecord,
    bob: UserRecord,
    radicale: RadicaleServer,
    web: IcsServer,
    clock: FixedClock,
) -> None:
    radicale.make_calendar("ada", "work")
    caldav = await service.connect(
        ada,
        NewConnection(
            kind="caldav",
            purpose="busy",
            url=radicale.url + "/",
            username="ada",
            password=radicale.users["ada"],
        ),
    )
    web.calendar("/bob.ics", vcalendar(vevent("b", NINE)))
    ics = await service.connect(
        bob, NewConnection(kind="ics", purpose="busy", url=web.url("/bob.ics"))
    )
    await radicale.stop()
    clock.advance(timedelta(days=1))
    await service.run_busy()
    failed = await stored(db, caldav)
    assert failed.status == "error"
    assert failed.last_error is not None
    assert failed.last_error.startswith("The calendar server could not be reached")
    assert (await stored(db, ics)).status == "ok"
    assert (await stored(db, ics)).last_sync_at == clock.now()


async def test_checks_that_reach_calendar_servers_are_rate_limited_per_user(
    service: CalendarService, ada: UserRecord, bob: UserRecord, web: IcsServer
) -> None:
    service.checks = RateLimiter(rate=2, per=600.0)
    web.calendar("/cal.ics", vcalendar(vevent("a", NINE)))
    request = NewConnection(kind="ics", purpose="busy", url=web.url("/cal.ics"))
    await service.connect(ada, request)
    await service.connect(ada, request)
    with pytest.raises(ConveneError) as caught:
        await service.connect(ada, request)
    assert caught.value.code is ErrorCode.RATE_LIMITED
    await service.connect(bob, request)


async def test_a_caldav_server_on_a_private_address_or_answering_too_much_is_refused(
    service: CalendarService, db: Database, ada: UserRecord, radicale: RadicaleServer
) -> None:
    work = radicale.make_calendar("ada", "work")
    radicale.put_event(
        "ada", work, vcalendar(vevent("a", NINE, extra="DESCRIPTION:" + "x" * 4000 + "\n"))
    )
    request = NewConnection(
        kind="caldav",
        purpose="busy",
        url=work,
        username="ada",
        password=radicale.users["ada"],
    )
    service.settings.calendars.allow_private_addresses = False
    refused = await failure(service, ada, request)
    assert refused.details["reason"] == "address"

    service.settings.calendars.allow_private_addresses = True
    service.settings.calendars.max_calendar_bytes = 2048
    too_much = await failure(service, ada, request)
    assert too_much.details["reason"] == "too_large"
    assert "larger than this server accepts" in too_much.message
    assert await db.calendars.for_user(ada.id) == []
