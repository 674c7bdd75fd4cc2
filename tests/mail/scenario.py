"""Scheduling scenarios against a real Convene server and a real SMTP server.

    async with scenario(tmp_path) as s:
        alice = await s.user("alice@example.org", "Alice")
        sync = await s.schedule(alice, title="Sync", start=..., invitees=[("bob@x.org", "Bob")])
        await s.deliver()                       # journal consumers, then the outbox
        [mail] = s.smtp.to("bob@x.org")

The server's clock is a :class:`FixedClock` the test moves; background jobs are run with
:meth:`Scenario.run` (exactly when the test says) on top of their own intervals, which the
jobs' leases make harmless. :meth:`Scenario.restart` stops the server and starts a new one on
the same data folder and database, like an operator restarting Convene.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from convene.clock import FixedClock
from convene.config import load_secrets
from convene.protocol.ids import UserId
from convene.scheduling.tokens import rsvp_token
from convene.storage.db import Database
from convene.storage.schedules import AttendeeDraft, ScheduleDraft, ScheduleRecord
from tests.storage.databases import clear_tables
from tests.support.server import Person, RunningServer, running_server
from tests.support.smtp import SmtpServer, smtp_server

__all__ = ["T0", "Scenario", "scenario"]

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday 2 March 2026, 08:00 in Paris


@dataclass
class Scenario:
    tmp_path: Path
    smtp: SmtpServer
    clock: FixedClock
    settings: dict[str, Any]
    server: RunningServer
    _stack: AsyncExitStack
    people: dict[str, Person] = field(default_factory=dict)

    @property
    def app(self) -> FastAPI:
        return self.server.app

    @property
    def db(self) -> Database:
        db: Database = self.app.state.db
        return db

    def token(self, attendee_id: str) -> str:
        return rsvp_token(load_secrets(self.server.settings).token_key, attendee_id)

    async def user(self, email: str, name: str) -> Person:
        person = await self.server.sign_up(email, name)
        self.people[email] = person
        return person

    async def schedule(
        self,
        organizer: Person,
        *,
        start: datetime,
        title: str = "Weekly sync",
        timezone: str = "Europe/Paris",
        duration: int = 30,
        rrule: str | None = None,
        agenda: str = "",
        invitees: Sequence[tuple[str, str]] = (),
        passcode: str = "",
    ) -> ScheduleRecord:
        """A schedule made as the scheduling API makes it: a meeting room, then the schedule
        (``start`` is the organiser's wall-clock time in ``timezone``)."""
        meeting = await organizer.create_meeting(title=title, passcode=passcode)
        assert organizer.user is not None
        accounts = await self.db.schedules.resolve_accounts(email for email, _ in invitees)
        draft = ScheduleDraft(
            organizer_id=UserId(organizer.user["id"]),
            meeting_id=meeting["id"],
            title=title,
            agenda=agenda,
            timezone=timezone,
            start_local=start.replace(tzinfo=None),
            duration_minutes=duration,
            rrule=rrule,
            attendees=tuple(
                AttendeeDraft(
                    email=email,
                    display_name=name,
                    user_id=accounts[email][0] if email in accounts else None,
                )
                for email, name in invitees
            ),
        )
        record = await self.db.schedules.create(draft, at=self.clock.now())
        return record

    async def run(self, *jobs: str) -> None:
        for job in jobs:
            await self.app.state.background.run_once(job)

    async def deliver(self) -> None:
        """Let every consumer act on the journal, then send what the outbox holds."""
        await self.run("invitations", "reminders", "mail-outbox")

    async def restart(self) -> None:
        """Stop the server and start it again on the same data (a new node id, same clock)."""
        await self._stack.aclose()
        self._stack = AsyncExitStack()
        self.server = await self._stack.enter_async_context(
            running_server(self.tmp_path, clock=self.clock, **self.settings)
        )
        self.people = {}


@asynccontextmanager
async def scenario(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    start: datetime = T0,
    mail: dict[str, Any] | None = None,
    **settings: Any,
) -> AsyncIterator[Scenario]:
    """A scenario on ``database_url`` (emptied first; default: SQLite in ``tmp_path``)."""
    if database_url is not None:
        db = Database(database_url)
        try:
            await clear_tables(db)
        finally:
            await db.close()
        settings["database_url"] = database_url
    async with smtp_server() as smtp:
        clock = FixedClock(start)
        values: dict[str, Any] = {"mail": smtp.mail_settings(**(mail or {})), **settings}
        stack = AsyncExitStack()
        server = await stack.enter_async_context(running_server(tmp_path, clock=clock, **values))
        state = Scenario(tmp_path, smtp, clock, values, server, stack)
        try:
            yield state
        finally:
            await state._stack.aclose()
