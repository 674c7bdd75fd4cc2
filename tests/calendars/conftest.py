"""Calendar tests: databases on both engines, the calendar service over them, a real HTTP
server for ICS files and a real CalDAV server (Radicale).

The service is built the way :func:`convene.calendars.sync.install` builds it, with a
settable clock and private addresses allowed (every test server listens on loopback).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from convene.calendars.crypto import Credentials
from convene.calendars.sync import CalendarService
from convene.clock import FixedClock
from convene.config import Settings
from convene.storage.db import Database
from convene.storage.users import UserRecord
from tests.calendars.ics_server import IcsServer
from tests.support.radicale import RadicaleServer, running_radicale

# A fixed "now" for the service; calendar data in tests is placed relative to it.
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def calendar_settings(tmp_path: Path, **calendars: Any) -> Settings:
    values: dict[str, Any] = {"allow_private_addresses": True, "fetch_timeout": 5.0}
    values.update(calendars)
    return Settings(data_dir=tmp_path, calendars=values, public_url="https://meet.example.org")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return calendar_settings(tmp_path)


@pytest.fixture
def service(db: Database, settings: Settings, clock: FixedClock) -> Iterator[CalendarService]:
    db.schedules.configure(settings.scheduling)
    db.user_settings.configure(settings.scheduling)
    calendars = CalendarService(
        db=db,
        settings=settings,
        clock=clock,
        credentials=Credentials(new_key()),
        node_id="node-a",
    )
    yield calendars
    calendars.close()


@pytest.fixture
async def ada(db: Database) -> UserRecord:
    return await db.users.create(
        email="ada@example.org", display_name="Ada", password_hash="h", verified=True
    )


@pytest.fixture
async def bob(db: Database) -> UserRecord:
    return await db.users.create(
        email="bob@example.org", display_name="Bob", password_hash="h", verified=True
    )


@pytest.fixture
async def web() -> AsyncIterator[IcsServer]:
    async with IcsServer() as server:
        yield server


@pytest.fixture
async def radicale(tmp_path: Path) -> AsyncIterator[RadicaleServer]:
    async with running_radicale(tmp_path / "radicale") as server:
        yield server


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def vcalendar(*events: str, head: str = "") -> str:
    """A VCALENDAR around some components (CRLF line ends, as on the wire)."""
    text = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Test//Test//EN\n" + head
    text += "".join(events) + "END:VCALENDAR\n"
    return text.replace("\n", "\r\n")


def vevent(uid: str, start: datetime, minutes: int = 60, extra: str = "") -> str:
    """A timed event in UTC."""
    end = start + timedelta(minutes=minutes)
    return (
        f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20260101T000000Z\nSUMMARY:Busy {uid}\n"
        f"DTSTART:{stamp(start)}\nDTEND:{stamp(end)}\n{extra}END:VEVENT\n"
    )
