"""A user's settings: time zone, working hours, reminders, the private feed, and the language of
the web client.

A user without a row has the defaults (the install's default time zone, Monday to Friday 09:00 to
17:00, the default reminder, email reminders on, no feed, the browser's language); the first change
writes the row.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from convene.config import SchedulingSettings
from convene.protocol.ids import UserId
from convene.scheduling.recurrence import check_timezone
from convene.storage._common import invalid, parse_uuid, utcnow
from convene.storage.models import UserRow, UserSettingsRow

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = [
    "DAY_KEYS",
    "DEFAULT_WORKING_HOURS",
    "LANGUAGES",
    "SettingsChanges",
    "UserSettingsRecord",
    "UserSettingsStore",
    "WorkingHours",
    "parse_working_hours",
    "working_hours_json",
]

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Up to this many ranges a day: enough for split shifts and a lunch break, little to validate.
_MAX_RANGES_PER_DAY = 4
_MAX_REMINDER_MINUTES = 10_080  # a week
# The languages the web client is translated into: the six official languages of the UN.
LANGUAGES = ("ar", "en", "es", "fr", "ru", "zh")

# Weekday key ("mon".."sun", Monday first like ``date.weekday()``) -> local (from, to) ranges,
# sorted and not overlapping; an empty tuple: not working that day. ``time(0)`` as ``to``
# means midnight at the end of the day.
WorkingHours = Mapping[str, tuple[tuple[time, time], ...]]

_NINE_TO_FIVE = ((time(9), time(17)),)
DEFAULT_WORKING_HOURS: WorkingHours = {
    day: (_NINE_TO_FIVE if day not in ("sat", "sun") else ()) for day in DAY_KEYS
}


@dataclass(frozen=True, slots=True)
class UserSettingsRecord:
    user_id: UserId
    timezone: str
    working_hours: WorkingHours
    # Minutes before each occurrence; None: no reminders.
    reminder_minutes: int | None
    email_reminders: bool
    # The private feed's version (its token covers it; 0: never enabled) and whether it is on.
    feed_version: int
    feed_enabled: bool
    # One of LANGUAGES; None: the browser's.
    language: str | None = None


class SettingsChanges(TypedDict, total=False):
    """Settings to change; keys left out stay as they are."""

    timezone: str
    working_hours: Mapping[str, Sequence[tuple[time, time]]]
    reminder_minutes: int | None
    email_reminders: bool
    language: str | None


def _parse_time(value: object, where: str) -> time:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise invalid(f"{where}: times are HH:MM", field="working_hours")
    try:
        hour, minute = int(value[:2]), int(value[3:])
    except ValueError:
        raise invalid(f"{where}: times are HH:MM", field="working_hours") from None
    if hour == 24 and minute == 0:
        return time(0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise invalid(f"{where}: times are HH:MM", field="working_hours")
    return time(hour, minute)


def _minutes(value: time, *, end: bool) -> int:
    # Midnight as the end of a range is the end of the day, not its start.
    if end and value == time(0):
        return 24 * 60
    return value.hour * 60 + value.minute


def validate_working_hours(value: Mapping[str, Sequence[tuple[time, time]]]) -> WorkingHours:
    """Check working hours (every day present, ranges ascending, not overlapping, whole minutes)
    and return them in canonical form."""
    if not isinstance(value, Mapping) or set(value) != set(DAY_KEYS):
        raise invalid("working_hours needs exactly the days mon..sun", field="working_hours")
    result: dict[str, tuple[tuple[time, time], ...]] = {}
    for day in DAY_KEYS:
        ranges = value[day]
        if len(ranges) > _MAX_RANGES_PER_DAY:
            raise invalid(
                f"{day}: at most {_MAX_RANGES_PER_DAY} ranges a day", field="working_hours"
            )
        previous_end = -1
        clean: list[tuple[time, time]] = []
        for start, stop in ranges:
            if start.second or start.microsecond or stop.second or stop.microsecond:
                raise invalid(f"{day}: times are whole minutes", field="working_hours")
            if start.tzinfo is not None or stop.tzinfo is not None:
                raise invalid(f"{day}: times are local, without offset", field="working_hours")
            low, high = _minutes(start, end=False), _minutes(stop, end=True)
            if high <= low:
                raise invalid(f"{day}: a range must end after it starts", field="working_hours")
            if low < previous_end:
                raise invalid(
                    f"{day}: ranges must be in order and not overlap", field="working_hours"
                )
            previous_end = high
            clean.append((start, stop))
        result[day] = tuple(clean)
    return result


def parse_working_hours(text: str) -> WorkingHours:
    """Working hours from their stored JSON (``{"mon": [["09:00", "17:00"]], ...}``)."""
    raw: Any = json.loads(text)
    if not isinstance(raw, dict):
        raise invalid("working_hours must be an object", field="working_hours")
    parsed: dict[str, list[tuple[time, time]]] = {}
    for day, ranges in raw.items():
        if not isinstance(ranges, list):
            raise invalid(f"{day}: a list of ranges", field="working_hours")
        day_ranges: list[tuple[time, time]] = []
        for pair in ranges:
            if not isinstance(pair, list) or len(pair) != 2:
                raise invalid(f"{day}: ranges are [from, to]", field="working_hours")
            day_ranges.append((_parse_time(pair[0], day), _parse_time(pair[1], day)))
        parsed[str(day)] = day_ranges
    return validate_working_hours(parsed)


def _hhmm(value: time, *, end: bool) -> str:
    if end and value == time(0):
        return "24:00"
    return f"{value.hour:02d}:{value.minute:02d}"


def working_hours_json(hours: WorkingHours) -> str:
    """The stored form of (validated) working hours."""
    return json.dumps(
        {
            day: [[_hhmm(a, end=False), _hhmm(b, end=True)] for a, b in hours[day]]
            for day in DAY_KEYS
        },
        separators=(",", ":"),
    )


class UserSettingsStore:
    """Read and change users' calendar settings."""

    def __init__(self, db: Database) -> None:
        self._db = db
        defaults = SchedulingSettings()
        self.default_timezone = defaults.default_timezone
        self.default_reminder: int | None = defaults.default_reminder_minutes

    def configure(self, settings: SchedulingSettings) -> None:
        """Use the install's defaults (the database is made before the settings are known)."""
        self.default_timezone = check_timezone(settings.default_timezone)
        self.default_reminder = settings.default_reminder_minutes

    def defaults(self, user_id: UserId) -> UserSettingsRecord:
        """The settings of a user who never changed them."""
        return UserSettingsRecord(
            user_id=user_id,
            timezone=self.default_timezone,
            working_hours=DEFAULT_WORKING_HOURS,
            reminder_minutes=self.default_reminder,
            email_reminders=True,
            feed_version=0,
            feed_enabled=False,
        )

    def _record(self, row: UserSettingsRow) -> UserSettingsRecord:
        return UserSettingsRecord(
            user_id=UserId(str(row.user_id)),
            timezone=row.timezone,
            working_hours=parse_working_hours(row.working_hours),
            reminder_minutes=row.reminder_minutes,
            email_reminders=row.email_reminders,
            feed_version=row.feed_version,
            feed_enabled=row.feed_enabled,
            language=row.language,
        )

    async def get(self, user_id: UserId) -> UserSettingsRecord:
        """The user's settings (the defaults when they never changed any)."""
        return (await self.get_many([user_id])).get(user_id) or self.defaults(user_id)

    async def get_many(self, user_ids: Sequence[UserId]) -> dict[UserId, UserSettingsRecord]:
        """Settings of many users at once (defaults for those without a row)."""
        keys = {k for k in (parse_uuid(u) for u in user_ids) if k is not None}
        found: dict[UserId, UserSettingsRecord] = {}
        if keys:
            async with self._db.session() as session:
                rows = await session.scalars(
                    select(UserSettingsRow).where(UserSettingsRow.user_id.in_(keys))
                )
                for row in rows:
                    record = self._record(row)
                    found[record.user_id] = record
        return {u: found.get(u) or self.defaults(u) for u in user_ids if parse_uuid(u)}

    async def update(self, user_id: UserId, changes: SettingsChanges) -> UserSettingsRecord:
        """Apply changes (all validated first); the new settings."""
        unknown = set(changes) - set(SettingsChanges.__annotations__)
        if unknown:
            raise invalid("unknown calendar settings", fields=sorted(unknown))
        key = parse_uuid(user_id)
        if key is None:
            raise invalid("no such user")
        values: dict[str, object] = {}
        if "timezone" in changes:
            values["timezone"] = check_timezone(changes["timezone"])
        if "working_hours" in changes:
            values["working_hours"] = working_hours_json(
                validate_working_hours(changes["working_hours"])
            )
        if "reminder_minutes" in changes:
            minutes = changes["reminder_minutes"]
            if minutes is not None and (
                isinstance(minutes, bool)
                or not isinstance(minutes, int)
                or not 0 <= minutes <= _MAX_REMINDER_MINUTES
            ):
                raise invalid(
                    f"reminder_minutes must be 0 to {_MAX_REMINDER_MINUTES}, or null",
                    field="reminder_minutes",
                )
            values["reminder_minutes"] = minutes
        if "email_reminders" in changes:
            if not isinstance(changes["email_reminders"], bool):
                raise invalid("email_reminders must be true or false", field="email_reminders")
            values["email_reminders"] = changes["email_reminders"]
        if "language" in changes:
            language = changes["language"]
            if language is not None and language not in LANGUAGES:
                raise invalid(
                    f"language must be one of {', '.join(LANGUAGES)}, or null", field="language"
                )
            values["language"] = language
        await self._ensure_row(key)
        async with self._db.session() as session:
            row = await self._row_for_update(session, key)
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            return self._record(row)

    async def bump_feed(self, user_id: UserId, *, enabled: bool = True) -> int:
        """Give the user a new feed version, voiding every earlier feed URL, and turn the feed
        on (or off, to revoke it). Returns the new version."""
        key = parse_uuid(user_id)
        if key is None:
            raise invalid("no such user")
        await self._ensure_row(key)
        async with self._db.session() as session:
            row = await self._row_for_update(session, key)
            # One UPDATE, so two concurrent bumps both count.
            await session.execute(
                update(UserSettingsRow)
                .where(UserSettingsRow.user_id == key)
                .values(
                    feed_version=UserSettingsRow.feed_version + 1,
                    feed_enabled=enabled,
                    updated_at=utcnow(),
                )
            )
            await session.refresh(row)
            return row.feed_version

    async def _ensure_row(self, key: uuid.UUID) -> None:
        """Write the defaults as a row when there is none yet, in a transaction of its own: two
        first changes at once then both find the row (one insert loses, harmlessly)."""
        async with self._db.session() as session:
            if await session.get(UserSettingsRow, key) is not None:
                return
            if await session.get(UserRow, key) is None:
                raise invalid("no such user")
        defaults = self.defaults(UserId(str(key)))
        try:
            async with self._db.session() as session:
                session.add(
                    UserSettingsRow(
                        user_id=key,
                        timezone=defaults.timezone,
                        working_hours=working_hours_json(defaults.working_hours),
                        reminder_minutes=defaults.reminder_minutes,
                        email_reminders=defaults.email_reminders,
                        feed_version=0,
                        feed_enabled=False,
                        updated_at=utcnow(),
                    )
                )
        except IntegrityError:
            return  # written by a concurrent first change

    async def _row_for_update(self, session: AsyncSession, key: uuid.UUID) -> UserSettingsRow:
        row = await session.scalar(
            select(UserSettingsRow).where(UserSettingsRow.user_id == key).with_for_update()
        )
        if row is None:
            raise invalid("no such user")
        return row
