"""Writing people's Convene meetings into their own CalDAV calendars, and keeping them there.

Who gets a schedule: its organiser and every invitee with a Convene account (linked, or by the
account's address) who has not declined the series, in each of their ``publish`` connections.
What they get: the schedule as one stored calendar object (:func:`convene.scheduling.ical.
calendar_for` with no METHOD: master event, changed occurrences, cancelled ones as EXDATE;
``SCHEDULE-AGENT=CLIENT`` so the calendar server sends no invitations of its own), at
``<collection>/convene-<schedule id>.ics``.

Two paths keep calendars right:

- :class:`Publisher` is the ``caldav-publish`` consumer of the schedule-change journal: for
  each change it writes the schedule again to every target connection in good health, and
  deletes it from connections whose owner is no longer a target (uninvited, declined) or
  everywhere when the schedule is cancelled. A push record (href, ETag, SEQUENCE) is kept per
  connection and schedule: updates are conditional on the ETag, so an event the user edited in
  their calendar program is noticed (and overwritten: the meeting is Convene's), and deletes go
  to the same href. Writing the same schedule twice has one effect, as the journal requires.
- :meth:`Publisher.resync` is the repair path, for a new connection (status ``pending``) and
  for one in ``error`` (after the sync interval): it writes every current schedule of the user
  and removes the events of schedules they no longer have.

A connection whose server fails is marked ``error`` with the reason and skipped by the journal
path until a resync succeeds; no other connection waits for it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import TYPE_CHECKING

from convene.calendars.dav import DavAccount, PreconditionFailed
from convene.calendars.net import RemoteCalendarError
from convene.i18n import Texts, pick, texts_for
from convene.protocol.ids import UserId
from convene.scheduling.ical import calendar_for
from convene.storage.calendars import ConnectionRecord, PushRecord
from convene.storage.journal import ChangeRecord
from convene.storage.schedules import ScheduleRecord

if TYPE_CHECKING:
    from convene.calendars.sync import CalendarService

__all__ = ["CONSUMER", "Publisher", "event_href"]

log = logging.getLogger(__name__)

CONSUMER = "caldav-publish"
# A resync rewrites meetings from this far back, so the recent past stays in calendars too.
_RESYNC_PAST = timedelta(days=31)
_RESYNC_LIMIT = 2000


def event_href(collection_url: str, schedule_id: str) -> str:
    """Where a schedule's event lives in a collection (the same on every write)."""
    return collection_url.rstrip("/") + f"/convene-{schedule_id}.ics"


class Publisher:
    """The journal consumer and the resync, over the service's database and settings."""

    def __init__(self, service: CalendarService) -> None:
        self._service = service

    @property
    def name(self) -> str:
        return CONSUMER

    # --- journal ------------------------------------------------------------------------

    async def handle(self, change: ChangeRecord) -> None:
        """Bring every publish connection concerned up to date with one schedule. Calendar
        server failures mark that connection in error; they never stop the journal."""
        db = self._service.db
        schedule = await db.schedules.get(change.schedule_id)
        if schedule is None:
            # Deleted together with its push records: nothing left to act on.
            return
        targets = await self.targets(schedule)
        connections = await db.calendars.publish_targets(targets)
        pushes = {p.connection_id: p for p in await db.calendars.pushes_for_schedule(schedule.id)}
        wanted = {c.id for c in connections}
        leaving = [
            holder
            for holder in [await db.calendars.get(i) for i in pushes if i not in wanted]
            if holder is not None
        ]

        async def write(connection: ConnectionRecord) -> None:
            await self._guarded(
                connection, self._write(connection, schedule, pushes.get(connection.id))
            )

        async def remove(connection: ConnectionRecord) -> None:
            await self._guarded(connection, self._remove(connection, pushes[connection.id]))

        # Connections not "ok" are left to their resync, which writes everything once their
        # server is back. The others in parallel: one slow server delays no one else's.
        await self._service.each([c for c in connections if c.status == "ok"], write)
        await self._service.each([c for c in leaving if c.status == "ok"], remove)

    async def targets(self, schedule: ScheduleRecord) -> set[UserId]:
        """The users whose calendars should show the schedule (none once it is cancelled)."""
        if schedule.status == "cancelled":
            return set()
        users: set[UserId] = {schedule.organizer_id}
        unlinked: list[str] = []
        for attendee in schedule.attendees:
            if attendee.partstat == "DECLINED":
                continue
            if attendee.user_id is not None:
                users.add(attendee.user_id)
            else:
                unlinked.append(attendee.email)
        if unlinked:
            accounts = await self._service.db.schedules.resolve_accounts(unlinked)
            users.update(user_id for user_id, _name in accounts.values())
        return users

    async def _guarded(self, connection: ConnectionRecord, action: Awaitable[None]) -> None:
        """Run one write or delete; a failure marks the connection, never propagates."""
        try:
            await action
        except RemoteCalendarError as exc:
            log.info(
                "calendar %s of user %s: publishing failed: %s",
                connection.id,
                connection.user_id,
                exc.message,
            )
            await self._service.db.calendars.set_status(connection.id, "error", exc.message)
        except Exception:
            # Whatever it was, a resync (which an error status schedules) puts it right.
            log.exception("calendar %s: publishing failed", connection.id)
            await self._service.db.calendars.set_status(
                connection.id, "error", "Writing to this calendar failed; it will be retried."
            )

    # --- one schedule, one connection -----------------------------------------------------

    async def _texts(self, user_id: UserId) -> Texts:
        """Convene's own words in the events (the join lines) in the language the calendar's
        owner chose, else English: as in their private feed."""
        return texts_for(pick((await self._service.db.user_settings.get(user_id)).language))

    def _body(self, schedule: ScheduleRecord, texts: Texts) -> str:
        calendar = calendar_for(
            schedule, method=None, base_url=self._service.settings.base_url, texts=texts
        )
        data: bytes = calendar.to_ical()
        return data.decode("utf-8")

    async def _write(
        self,
        connection: ConnectionRecord,
        schedule: ScheduleRecord,
        push: PushRecord | None,
        account: DavAccount | None = None,
        texts: Texts | None = None,
    ) -> None:
        href = push.href if push else event_href(connection.url, schedule.id)
        if texts is None:
            texts = await self._texts(connection.user_id)
        body = self._body(schedule, texts)
        etag = push.etag if push else None

        def write(account: DavAccount) -> str | None:
            try:
                return account.put(href, body, etag=etag)
            except PreconditionFailed:
                # Changed or deleted in the calendar program since our last write: the meeting
                # is Convene's, so its current state goes back in.
                log.info("calendar %s: event %s was changed remotely", connection.id, href)
                return account.put(href, body, etag=None)

        new_etag = await self._service.with_account(connection, write, account=account)
        await self._service.db.calendars.save_push(
            connection.id,
            schedule.id,
            href=href,
            etag=new_etag,
            sequence=schedule.sequence,
            at=self._service.clock.now(),
        )

    async def _remove(
        self, connection: ConnectionRecord, push: PushRecord, account: DavAccount | None = None
    ) -> None:
        def delete(account: DavAccount) -> None:
            try:
                account.delete(push.href, etag=push.etag)
            except PreconditionFailed:
                account.delete(push.href, etag=None)

        await self._service.with_account(connection, delete, account=account)
        await self._service.db.calendars.delete_push(connection.id, push.schedule_id)

    # --- resync -------------------------------------------------------------------------

    async def resync(self, connection: ConnectionRecord) -> None:
        """Write all of the user's current schedules into the connection and remove what no
        longer belongs there; the connection ends ``ok``, or ``error`` with the reason."""
        service = self._service
        db = service.db
        now = service.clock.now()
        try:
            with service.open_account(connection) as account:
                schedules = await db.schedules.for_user(
                    connection.user_id,
                    now - _RESYNC_PAST,
                    now + timedelta(days=service.settings.scheduling.horizon_days),
                    limit=_RESYNC_LIMIT,
                )
                pushes = {
                    p.schedule_id: p
                    for p in await db.calendars.pushes_for_connection(connection.id)
                }
                texts = await self._texts(connection.user_id)
                for schedule in schedules:
                    await self._write(connection, schedule, pushes.get(schedule.id), account, texts)
                current = {s.id for s in schedules}
                for schedule_id, push in pushes.items():
                    if schedule_id in current:
                        continue
                    if await self._still_wanted(schedule_id, connection.user_id):
                        continue  # in the past or far ahead: outside the window, not gone
                    await self._remove(connection, push, account)
        except RemoteCalendarError as exc:
            log.info(
                "calendar %s of user %s: resync failed: %s",
                connection.id,
                connection.user_id,
                exc.message,
            )
            await db.calendars.set_status(connection.id, "error", exc.message)
            return
        await db.calendars.set_status(connection.id, "ok")

    async def _still_wanted(self, schedule_id: str, user_id: UserId) -> bool:
        schedule = await self._service.db.schedules.get(schedule_id)
        if schedule is None:
            return False
        return user_id in await self.targets(schedule)
