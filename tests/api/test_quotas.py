"""Quotas: meetings, schedules, invitees and invitation emails, per account and per server,
counted in the database; a refusal says which quota and when it frees room."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from convene.protocol.errors import ErrorCode
from tests.api.client import Api, assert_error
from tests.api.conftest import emptied, make_app, make_settings
from tests.support.smtp import smtp_server

TIMING = {"timezone": "UTC", "start": "2026-03-02T09:00", "duration_minutes": 30}


@asynccontextmanager
async def browsers(tmp_path: Path, db_url: str, **settings: Any) -> AsyncIterator[Any]:
    await emptied(db_url)
    app = make_app(make_settings(tmp_path, db_url, **settings))
    clients: list[httpx.AsyncClient] = []

    def new() -> Api:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 41000 + len(clients)))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(client)
        return Api(client)

    async with app.router.lifespan_context(app):
        try:
            yield app, new
        finally:
            for client in clients:
                await client.aclose()


def quota_of(response: httpx.Response, name: str) -> dict[str, Any]:
    assert_error(response, ErrorCode.QUOTA_EXCEEDED, 429)
    details: dict[str, Any] = response.json()["error"]["details"]
    assert details["quota"] == name
    return details


async def test_meetings_per_day_per_account_then_the_window_moves(
    tmp_path: Path, db_url: str
) -> None:
    async with browsers(tmp_path, db_url, quotas={"meetings_per_day": 3}) as (app, new):
        ada: Api = new()
        await ada.signup()
        for _ in range(3):
            assert (await ada.post("/meetings", json={})).status_code == 201
        details = quota_of(await ada.post("/meetings", json={}), "meetings_per_day")
        assert details["limit"] == 3
        assert details["resets_at"]
        # Deleting a meeting does not give the day's quota back.
        first = (await ada.get("/meetings")).json()["meetings"][0]
        assert (await ada.delete(f"/meetings/{first['id']}")).status_code == 204
        quota_of(await ada.post("/meetings", json={}), "meetings_per_day")
        # Another account has its own.
        bob: Api = new()
        await bob.signup("bob@example.org", "Bob")
        assert (await bob.post("/meetings", json={})).status_code == 201
        # A day later there is room again.
        app.state.clock = _Later(app.state.clock, timedelta(days=1, seconds=1))
        assert (await ada.post("/meetings", json={})).status_code == 201


class _Later:
    """The app's clock, moved on (the app reads ``app.state.clock`` at each request)."""

    def __init__(self, clock: Any, by: timedelta) -> None:
        self._clock, self._by = clock, by

    def now(self) -> Any:
        return self._clock.now() + self._by

    def __getattr__(self, name: str) -> Any:
        return getattr(self._clock, name)


async def test_existing_meetings_and_the_server_wide_quota(tmp_path: Path, db_url: str) -> None:
    quotas = {"meetings_existing": 2, "server_meetings_per_day": 3}
    async with browsers(tmp_path, db_url, quotas=quotas) as (_app, new):
        ada: Api = new()
        await ada.signup()
        for _ in range(2):
            assert (await ada.post("/meetings", json={})).status_code == 201
        details = quota_of(await ada.post("/meetings", json={}), "meetings_existing")
        assert details["resets_at"] is None
        # Deleting one makes room.
        first = (await ada.get("/meetings")).json()["meetings"][0]
        assert (await ada.delete(f"/meetings/{first['id']}")).status_code == 204
        assert (await ada.post("/meetings", json={})).status_code == 201
        bob: Api = new()
        await bob.signup("bob@example.org", "Bob")
        quota_of(await bob.post("/meetings", json={}), "server_meetings_per_day")


async def test_schedules_invitees_and_emails(tmp_path: Path, db_url: str) -> None:
    quotas = {"invitees_per_schedule": 3, "emails_per_hour": 5, "schedules_per_day": 10}
    async with (
        smtp_server() as smtp,
        browsers(tmp_path, db_url, quotas=quotas, mail=smtp.mail_settings()) as (app, new),
    ):
        ada: Api = new()
        await ada.signup()

        def invite(*names: str) -> dict[str, Any]:
            people = [{"email": f"{n}@example.org"} for n in names]
            return {"title": "Sync", **TIMING, "attendees": people}

        quota_of(
            await ada.post("/schedules", json=invite("a", "b", "c", "d")), "invitees_per_schedule"
        )
        assert (await ada.post("/schedules", json=invite("a", "b", "c"))).status_code == 201
        assert (await ada.post("/schedules", json=invite("d", "e"))).status_code == 201
        # Emails count when they are sent: the five invitations fill Ada's hour.
        for job in ("invitations", "mail-outbox"):
            await app.state.background.run_once(job)
        assert len(smtp.received) == 5
        details = quota_of(await ada.post("/schedules", json=invite("f")), "emails_per_hour")
        assert details["limit"] == 5
        # A refused schedule leaves no room behind.
        assert len((await ada.get("/meetings")).json()["meetings"]) == 2
        # Alone, without invitees, still fine.
        assert (await ada.post("/schedules", json=invite())).status_code == 201


async def test_unverified_accounts_have_the_smaller_quotas(tmp_path: Path, db_url: str) -> None:
    settings = {
        "auth": {"require_email_verification": True},
        "mail": {"enabled": False},
        "quotas": {"unverified_meetings_per_day": 2, "meetings_per_day": 50},
    }
    async with browsers(tmp_path, db_url, **settings) as (_app, new):
        ada: Api = new()
        body = await ada.signup()
        assert body["user"]["email_verified"] is False
        for _ in range(2):
            assert (await ada.post("/meetings", json={})).status_code == 201
        quota_of(await ada.post("/meetings", json={}), "meetings_per_day")
