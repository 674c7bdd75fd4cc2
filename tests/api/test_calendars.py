"""``/users/me/calendars`` over REST: connecting ICS and CalDAV calendars (a real HTTP server and
a real Radicale), listing, syncing, disconnecting; secrets never in an answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from convene.protocol.errors import ErrorCode
from convene.storage.db import Database
from convene.storage.schedules import ScheduleDraft
from tests.api.client import Api, assert_error
from tests.api.conftest import emptied, make_app, make_settings
from tests.calendars.conftest import vcalendar, vevent
from tests.calendars.ics_server import IcsServer, Route
from tests.support.radicale import RadicaleServer, running_radicale

SECRET = "ada-password"


@pytest.fixture
async def app(tmp_path: Path, db_url: str) -> AsyncIterator[FastAPI]:
    """The app, allowed to reach calendar servers on loopback (where the test servers are)."""
    await emptied(db_url)
    settings = make_settings(
        tmp_path, db_url, calendars={"allow_private_addresses": True, "fetch_timeout": 5.0}
    )
    application = make_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def web() -> AsyncIterator[IcsServer]:
    async with IcsServer() as server:
        yield server


@pytest.fixture
async def radicale(tmp_path: Path) -> AsyncIterator[RadicaleServer]:
    async with running_radicale(tmp_path / "radicale", users={"ada": SECRET}) as server:
        yield server


def soon(days: int = 1, hour: int = 9) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=days, hours=hour)


async def wait_for_status(
    api: Api, app: FastAPI, connection_id: str, wanted: str
) -> dict[str, Any]:
    """Poll the listing until the connection has ``wanted`` status (background work)."""
    async with asyncio.timeout(30):
        while True:
            # See test_meetings_are_published_to_the_chosen_caldav_calendar on waking.
            app.state.background.wake("calendar-publish")
            listing = (await api.get("/users/me/calendars")).json()["calendars"]
            found: dict[str, Any] = next(c for c in listing if c["id"] == connection_id)
            if found["status"] == wanted:
                return found
            await asyncio.sleep(0.05)


def assert_no_secret(response: httpx.Response, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in response.text


async def test_an_ics_calendar_is_connected_listed_synced_and_removed(
    api: Api, app: FastAPI, web: IcsServer
) -> None:
    await api.signup("ada@example.org", "Ada")
    web.calendar("/feeds/s3cr3t-token/basic.ics", vcalendar(vevent("a", soon(), 60)))
    added = await api.post(
        "/users/me/calendars",
        json={"kind": "ics", "url": web.url("/feeds/s3cr3t-token/basic.ics"), "name": "Team"},
    )
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["kind"] == "ics"
    assert body["purpose"] == "busy"
    assert body["name"] == "Team"
    assert body["status"] == "ok"
    assert body["message"] is None
    assert body["has_password"] is False
    assert body["url"] == f"http://127.0.0.1:{web.port}/…"
    assert set(body) == {
        "id",
        "kind",
        "purpose",
        "name",
        "url",
        "username",
        "has_password",
        "status",
        "message",
        "last_sync_at",
        "created_at",
    }
    assert_no_secret(added, "s3cr3t-token")

    db: Database = app.state.db
    blocks = await db.calendars.busy_for_connection(body["id"])
    assert [(b.starts_at, b.ends_at) for b in blocks] == [(soon(), soon() + timedelta(hours=1))]

    listing = await api.get("/users/me/calendars")
    assert listing.json() == {"calendars": [body]}
    assert_no_secret(listing, "s3cr3t-token")

    web.calendar("/feeds/s3cr3t-token/basic.ics", vcalendar(vevent("b", soon(2), 30)))
    synced = await api.post(f"/users/me/calendars/{body['id']}/sync")
    assert synced.status_code == 200
    assert synced.json()["status"] == "ok"
    blocks = await db.calendars.busy_for_connection(body["id"])
    assert [(b.starts_at, b.ends_at) for b in blocks] == [
        (soon(2), soon(2) + timedelta(minutes=30))
    ]

    removed = await api.delete(f"/users/me/calendars/{body['id']}")
    assert removed.status_code == 204
    assert (await api.get("/users/me/calendars")).json() == {"calendars": []}
    assert await db.calendars.busy_for_connection(body["id"]) == []
    assert_error(await api.delete(f"/users/me/calendars/{body['id']}"), ErrorCode.NOT_FOUND, 404)


async def test_a_calendar_that_cannot_be_read_is_refused_with_the_reason(
    api: Api, web: IcsServer
) -> None:
    await api.signup("ada@example.org", "Ada")
    cases = {
        "/html.ics": (Route(body=b"<html>Sign in</html>"), "not_calendar"),
        "/broken.ics": (
            Route(body=b"BEGIN:VCALENDAR\r\nnonsense\r\nEND:VCALENDAR\r\n"),
            "malformed",
        ),
        "/gone.ics": (Route(status=404), "http"),
        "/locked.ics": (Route(body=b"", auth=("ada", "pw")), "auth"),
    }
    for path, (route, reason) in cases.items():
        web.routes[path] = route
        response = await api.post("/users/me/calendars", json={"kind": "ics", "url": web.url(path)})
        assert_error(response, ErrorCode.INVALID_REQUEST, 422)
        assert response.json()["error"]["details"] == {"field": "url", "reason": reason}
    wrong = await api.post(
        "/users/me/calendars",
        json={"kind": "ics", "url": web.url("/locked.ics"), "username": "ada", "password": "nope"},
    )
    assert wrong.json()["error"]["details"]["reason"] == "auth"
    assert_no_secret(wrong, "nope")
    assert (await api.get("/users/me/calendars")).json() == {"calendars": []}


async def test_requests_are_validated_and_need_a_signed_in_user_with_csrf(
    api: Api, new_api: Any, web: IcsServer
) -> None:
    assert_error(await api.get("/users/me/calendars"), ErrorCode.AUTH_REQUIRED, 401)
    await api.signup("ada@example.org", "Ada")
    for bad in (
        {"kind": "ical", "url": "https://example.org/a.ics"},
        {"kind": "ics"},
        {"kind": "ics", "url": "https://example.org/a.ics", "secret": "x"},
        {"kind": "ics", "url": "https://example.org/a.ics", "name": ""},
        {"kind": "ics", "url": "x" * 2001},
        {"kind": "ics", "url": 5},
    ):
        response = await api.post("/users/me/calendars", json=bad)
        assert_error(response, ErrorCode.INVALID_REQUEST, 422)
    for url in ("file:///etc/passwd", "ftp://example.org/x.ics", "https://a:b@example.org/"):
        response = await api.post("/users/me/calendars", json={"kind": "ics", "url": url})
        assert_error(response, ErrorCode.INVALID_REQUEST, 422)
    ics_publish = await api.post(
        "/users/me/calendars",
        json={"kind": "ics", "purpose": "publish", "url": web.url("/a.ics")},
    )
    assert_error(ics_publish, ErrorCode.INVALID_REQUEST, 422)
    forged = await api.http.post(
        "/api/v1/users/me/calendars", json={"kind": "ics", "url": web.url("/a.ics")}
    )
    assert_error(forged, ErrorCode.CSRF_FAILED, 403)
    assert web.seen == []


async def test_one_users_calendars_are_invisible_to_another(
    api: Api, new_api: Any, web: IcsServer
) -> None:
    await api.signup("ada@example.org", "Ada")
    web.calendar("/ada.ics", vcalendar(vevent("a", soon())))
    mine = (
        await api.post("/users/me/calendars", json={"kind": "ics", "url": web.url("/ada.ics")})
    ).json()
    bob: Api = new_api()
    await bob.signup("bob@example.org", "Bob")
    assert (await bob.get("/users/me/calendars")).json() == {"calendars": []}
    assert_error(await bob.delete(f"/users/me/calendars/{mine['id']}"), ErrorCode.NOT_FOUND, 404)
    assert_error(await bob.post(f"/users/me/calendars/{mine['id']}/sync"), ErrorCode.NOT_FOUND, 404)
    assert_error(await bob.delete("/users/me/calendars/not-an-id"), ErrorCode.NOT_FOUND, 404)
    assert len((await api.get("/users/me/calendars")).json()["calendars"]) == 1


async def test_a_caldav_account_is_connected_for_busy_times_and_its_password_kept_secret(
    api: Api, app: FastAPI, radicale: RadicaleServer
) -> None:
    await api.signup("ada@example.org", "Ada")
    work = radicale.make_calendar("ada", "work")
    radicale.put_event("ada", work, vcalendar(vevent("w", soon(3), 45)))
    wrong = await api.post(
        "/users/me/calendars",
        json={"kind": "caldav", "url": radicale.url + "/", "username": "ada", "password": "wrong!"},
    )
    assert_error(wrong, ErrorCode.INVALID_REQUEST, 422)
    assert wrong.json()["error"]["details"]["reason"] == "auth"
    assert_no_secret(wrong, "wrong!")

    added = await api.post(
        "/users/me/calendars",
        json={"kind": "caldav", "url": radicale.url + "/", "username": "ada", "password": SECRET},
    )
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["status"] == "ok"
    assert body["username"] == "ada"
    assert body["has_password"] is True
    assert body["url"] == radicale.url + "/"
    assert_no_secret(added, SECRET)
    assert_no_secret(await api.get("/users/me/calendars"), SECRET)
    db: Database = app.state.db
    stored = await db.calendars.get(body["id"])
    assert stored is not None
    assert stored.secret is not None
    assert SECRET.encode() not in stored.secret
    blocks = await db.calendars.busy_for_connection(body["id"])
    assert [(b.starts_at, b.ends_at) for b in blocks] == [
        (soon(3), soon(3) + timedelta(minutes=45))
    ]


async def test_meetings_are_published_to_the_chosen_caldav_calendar(
    api: Api, app: FastAPI, radicale: RadicaleServer
) -> None:
    user = (await api.signup("ada@example.org", "Ada"))["user"]
    work = radicale.make_calendar("ada", "work")
    radicale.make_calendar("ada", "home")
    account = {"url": radicale.url + "/", "username": "ada", "password": SECRET}

    listed = await api.post("/users/me/calendars/discover", json=account)
    assert listed.status_code == 200
    assert sorted(c["name"] for c in listed.json()["calendars"]) == ["home", "work"]
    assert all(c["events"] for c in listed.json()["calendars"])
    assert_no_secret(listed, SECRET)

    unchosen = await api.post(
        "/users/me/calendars", json={"kind": "caldav", "purpose": "publish", **account}
    )
    assert_error(unchosen, ErrorCode.INVALID_REQUEST, 422)
    details = unchosen.json()["error"]["details"]
    assert details["field"] == "calendar_url"
    assert {c["url"] for c in details["calendars"]} == {
        c["url"] for c in listed.json()["calendars"]
    }

    added = await api.post(
        "/users/me/calendars",
        json={"kind": "caldav", "purpose": "publish", "calendar_url": work, **account},
    )
    assert added.status_code == 201, added.text
    connection = added.json()
    assert connection["purpose"] == "publish"
    assert connection["url"] == work
    assert connection["name"] == "work"
    assert (await wait_for_status(api, app, connection["id"], "ok"))["message"] is None

    db: Database = app.state.db
    meeting = await db.meetings.create(host_id=user["id"], title="Planning", passcode=None)
    start = soon(5).replace(tzinfo=None)
    schedule = await db.schedules.create(
        ScheduleDraft(
            organizer_id=user["id"],
            meeting_id=meeting.id,
            title="Planning",
            agenda="",
            timezone="UTC",
            start_local=start,
            duration_minutes=30,
            rrule=None,
        ),
        at=datetime.now(UTC),
    )
    async with asyncio.timeout(30):
        while True:
            # Asked again each time: a wake-up that arrives while the job is still finishing
            # its previous run is dropped by Background (it clears the flag after a run).
            app.state.background.wake("calendar-publish")
            if radicale.objects("ada", work):
                break
            await asyncio.sleep(0.05)
    (text,) = radicale.objects("ada", work).values()
    assert f"UID:{schedule.uid}" in text
    assert "SUMMARY:Planning" in text

    again = await api.post(f"/users/me/calendars/{connection['id']}/sync")
    assert again.status_code == 202
    assert again.json()["status"] == "pending"
    await wait_for_status(api, app, connection["id"], "ok")
    assert len(radicale.objects("ada", work)) == 1


async def test_private_addresses_are_refused_by_a_server_that_does_not_allow_them(
    tmp_path: Path, db_url: str, web: IcsServer
) -> None:
    await emptied(db_url)
    strict = make_app(make_settings(tmp_path, db_url))
    web.calendar("/cal.ics", vcalendar(vevent("a", soon())))
    async with strict.router.lifespan_context(strict):
        transport = httpx.ASGITransport(app=strict, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            api = Api(client)
            await api.signup("ada@example.org", "Ada")
            for host in ("127.0.0.1", "localhost"):
                response = await api.post(
                    "/users/me/calendars", json={"kind": "ics", "url": web.url("/cal.ics", host)}
                )
                assert_error(response, ErrorCode.INVALID_REQUEST, 422)
                assert response.json()["error"]["details"]["reason"] == "address"
    assert web.seen == []


async def test_the_number_of_calendars_per_user_is_limited(
    tmp_path: Path, db_url: str, web: IcsServer
) -> None:
    await emptied(db_url)
    limited = make_app(
        make_settings(
            tmp_path,
            db_url,
            calendars={"allow_private_addresses": True, "max_connections_per_user": 2},
        )
    )
    web.calendar("/cal.ics", vcalendar(vevent("a", soon())))
    async with limited.router.lifespan_context(limited):
        transport = httpx.ASGITransport(app=limited, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            api = Api(client)
            await api.signup("ada@example.org", "Ada")
            for _ in range(2):
                response = await api.post(
                    "/users/me/calendars", json={"kind": "ics", "url": web.url("/cal.ics")}
                )
                assert response.status_code == 201
            third = await api.post(
                "/users/me/calendars", json={"kind": "ics", "url": web.url("/cal.ics")}
            )
            assert_error(third, ErrorCode.INVALID_REQUEST, 422)
            assert third.json()["error"]["details"] == {"limit": 2}
