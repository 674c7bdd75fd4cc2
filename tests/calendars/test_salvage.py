"""A calendar file with a broken event: the good events are kept, the skips are told by count."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from convene.calendars.busy import read_busy
from convene.calendars.net import RemoteCalendarError
from convene.calendars.sync import CalendarService, NewConnection
from convene.storage.db import Database
from convene.storage.users import UserRecord
from tests.calendars.conftest import NOW, vcalendar, vevent
from tests.calendars.ics_server import IcsServer

NINE = NOW + timedelta(days=1, hours=1)
SECRET_TITLE = "Salary review with Bob"
# As Outlook sometimes exports: an event cut off where the next one begins.
TRUNCATED = f"BEGIN:VEVENT\r\nUID:cut\r\nSUMMARY:{SECRET_TITLE}\r\nDTSTART:20301010T100000Z\r\n"


def _read(text: str) -> tuple[list[tuple[datetime, datetime]], list[str]]:
    read = read_busy(
        [text], start=NOW, end=NOW + timedelta(days=30), zone=ZoneInfo("Europe/Berlin")
    )
    return [(b.starts_at, b.ends_at) for b in read.blocks], read.warnings


def test_a_truncated_event_costs_only_itself() -> None:
    text = vcalendar(vevent("a", NINE, 60), TRUNCATED, vevent("b", NINE + timedelta(days=1), 30))
    blocks, warnings = _read(text)
    assert blocks == [
        (NINE, NINE + timedelta(hours=1)),
        (NINE + timedelta(days=1), NINE + timedelta(days=1, minutes=30)),
    ]
    assert warnings == ["1 event(s) cut off (a BEGIN without its END) were skipped"]


def test_a_file_cut_off_inside_its_last_event_keeps_the_others() -> None:
    text = vcalendar(vevent("a", NINE, 60)).removesuffix("END:VCALENDAR\r\n") + TRUNCATED
    blocks, warnings = _read(text)
    assert blocks == [(NINE, NINE + timedelta(hours=1))]
    assert warnings == ["1 event(s) cut off (a BEGIN without its END) were skipped"]


def test_a_file_with_nothing_readable_is_still_malformed() -> None:
    with pytest.raises(RemoteCalendarError) as refused:
        _read(vcalendar(TRUNCATED))
    assert refused.value.reason == "malformed"


async def test_the_connection_status_tells_what_was_skipped_and_the_log_counts_only(
    service: CalendarService,
    db: Database,
    ada: UserRecord,
    web: IcsServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    web.calendar(
        "/ada.ics",
        vcalendar(vevent("a", NINE, 60), TRUNCATED, vevent("b", NINE + timedelta(hours=3), 30)),
    )
    with caplog.at_level(logging.DEBUG):
        connection = await service.connect(
            ada, NewConnection(kind="ics", purpose="busy", url=web.url("/ada.ics"))
        )
    assert connection.status == "ok"
    assert len(await db.calendars.busy_for_connection(connection.id)) == 2
    found = await db.calendars.get(connection.id)
    assert found is not None
    assert found.last_error == "1 event(s) cut off (a BEGIN without its END) were skipped."
    assert "cut off" in caplog.text
    assert SECRET_TITLE not in caplog.text
