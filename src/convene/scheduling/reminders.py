"""Reminders before each occurrence: planning them, and sending each at most once.

**Who and when.** The organiser and every invitee who is a Convene user and has not declined
(that occurrence, or the series) get a reminder ``reminder_minutes`` before each occurrence
(their own setting; none when it is off), in the app and, if they keep email reminders on, by
email.

**Planning** runs on one node at a time (the node holding the ``reminders`` journal consumer's
lease): each schedule change is re-planned (new rows, moved due times, and rows no longer wanted
cancelled), and every :data:`TOP_UP_SECONDS` (and at start-up) every active schedule is planned
again for the next :data:`PLAN_AHEAD`, which catches the moving window and changed settings.

**Sending** runs on every node: due rows are claimed with a lease (so each is taken by one node).
The rule for a reminder found late (the server was down at its time):

- at most ``scheduling.reminder_grace_minutes`` late: sent now;
- later than that: recorded ``missed`` and never sent (a reminder after the meeting began is
  noise). A reminder planned after its time already passed the grace is written ``missed`` too.

An in-app reminder is recorded ``sent`` *before* it is published, so it is never published twice;
a client that connects later (none was connected then, or a crash came in between) is sent the
reminders of meetings that have not begun yet when it subscribes, and shows each once. An
email reminder is enqueued in the outbox under the reminder's id (a dedupe key) before it is
recorded, so it is sent exactly once. The outbox drops a reminder email whose meeting already
began (the SMTP server was down).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from fastapi import FastAPI

from convene.i18n import Texts, pick, texts_for
from convene.mail.message import html_from_text
from convene.mail.outbox import JOB_NAME as MAIL_JOB
from convene.mail.outbox import MailOutbox
from convene.protocol.ids import UserId
from convene.protocol.messages import Notification
from convene.scheduling.ical import join_url
from convene.scheduling.invitations import Context, accounts_of, notify_user
from convene.scheduling.journal import LEASE, drain
from convene.scheduling.recurrence import occurrences
from convene.scheduling.wording import quoted, starts_in
from convene.storage.journal import ChangeRecord
from convene.storage.outbox import NewEmail, OutboxRecord
from convene.storage.reminders import PlannedReminder, ReminderRecord
from convene.storage.schedules import ScheduleRecord

__all__ = ["CONSUMER", "PLAN_AHEAD", "TOP_UP_SECONDS", "Reminders", "install"]

log = logging.getLogger(__name__)

CONSUMER = "reminders"
INTERVAL_SECONDS = 15.0
TOP_UP_SECONDS = 600.0
# Reminders are planned this far ahead: a week (the longest reminder) and a day of margin.
PLAN_AHEAD = timedelta(days=8)
_MAX_OCCURRENCES = 500
_CLAIM_LEASE = timedelta(minutes=2)


class Reminders:
    """The ``reminders`` journal consumer, the periodic top-up, and the sender."""

    name = CONSUMER

    def __init__(self, ctx: Context, *, owner: str) -> None:
        self._ctx = ctx
        self._owner = owner
        self._plan_lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()
        self._run_lock = asyncio.Lock()
        self._last_top_up: datetime | None = None

    @property
    def _grace(self) -> timedelta:
        return timedelta(minutes=self._ctx.settings.scheduling.reminder_grace_minutes)

    # -- planning ------------------------------------------------------------------------------

    async def handle(self, change: ChangeRecord) -> None:
        await self.plan(change.schedule_id)

    async def plan(self, schedule_id: str) -> None:
        """Bring one schedule's reminders in line with the schedule and people's settings."""
        async with self._plan_lock:
            await self._plan(schedule_id)

    async def _plan(self, schedule_id: str) -> None:
        db, now = self._ctx.db, self._ctx.clock.now()
        schedule = await db.schedules.get(schedule_id)
        if schedule is None:
            return
        if schedule.status == "cancelled":
            await db.reminders.cancel_pending(schedule_id)
            return
        wanted = await self._wanted(schedule, now)
        await db.reminders.plan(schedule_id, wanted, missed_before=now - self._grace)
        # Occurrences that began are left to the sender (it records them sent or missed).
        await db.reminders.cancel_pending(
            schedule_id, keep={r.key for r in wanted}, starting_from=now
        )

    async def _wanted(self, schedule: ScheduleRecord, now: datetime) -> list[PlannedReminder]:
        db = self._ctx.db
        upcoming = occurrences(schedule, now, now + PLAN_AHEAD, limit=_MAX_OCCURRENCES)
        if not upcoming:
            return []
        accounts = await accounts_of(db, schedule)
        people = [schedule.organizer_id, *accounts.values()]
        settings = await db.user_settings.get_many(list(dict.fromkeys(people)))
        email_on = self._ctx.settings.mail.enabled
        wanted: list[PlannedReminder] = []
        for occurrence in upcoming:
            if occurrence.start_utc < now:
                continue  # already begun
            going = [schedule.organizer_id] + [
                accounts[a.id]
                for a in schedule.attendees
                if a.id in accounts and a.partstat_for(occurrence.recurrence_id_utc) != "DECLINED"
            ]
            for user_id in dict.fromkeys(going):
                prefs = settings.get(user_id)
                if prefs is None or prefs.reminder_minutes is None:
                    continue
                due = occurrence.start_utc - timedelta(minutes=prefs.reminder_minutes)
                wanted.append(PlannedReminder(occurrence.start_utc, user_id, "app", due))
                if email_on and prefs.email_reminders:
                    wanted.append(PlannedReminder(occurrence.start_utc, user_id, "email", due))
        return wanted

    async def top_up(self, *, force: bool = False) -> int:
        """Plan every active schedule again (every :data:`TOP_UP_SECONDS`, or when forced);
        returns how many schedules were planned."""
        now = self._ctx.clock.now()
        last = self._last_top_up
        if not force and last is not None and now - last < timedelta(seconds=TOP_UP_SECONDS):
            return 0
        db = self._ctx.db
        active = await db.reminders.active_schedule_ids(now - self._grace, now + PLAN_AHEAD)
        pending = await db.reminders.pending_schedule_ids()
        ids = list(dict.fromkeys([*active, *pending]))
        for schedule_id in ids:
            try:
                await self.plan(schedule_id)
            except Exception:
                # One broken schedule must not keep everyone else's reminders from being planned.
                log.exception("planning reminders of schedule %s failed", schedule_id)
        self._last_top_up = now
        return len(ids)

    # -- sending -------------------------------------------------------------------------------

    async def send_due(self) -> int:
        """Send (or record missed) every reminder due now; returns how many were handled."""
        handled = 0
        async with self._send_lock:
            while True:
                now = self._ctx.clock.now()
                due = await self._ctx.db.reminders.claim_due(
                    owner=self._owner, now=now, lease=_CLAIM_LEASE, limit=100
                )
                if not due:
                    return handled
                for reminder in due:
                    try:
                        await self._send(reminder, now)
                    except Exception:
                        log.exception("reminder %d failed", reminder.id)
                        await self._ctx.db.reminders.release(reminder.id, owner=self._owner)
                        return handled
                    handled += 1

    async def _send(self, reminder: ReminderRecord, now: datetime) -> None:
        db, owner = self._ctx.db, self._owner
        if now - reminder.due_at > self._grace:
            await db.reminders.mark_missed(reminder.id, owner=owner)
            log.info(
                "reminder %d of schedule %s missed (due %s, %s late)",
                reminder.id,
                reminder.schedule_id,
                reminder.due_at.isoformat(),
                now - reminder.due_at,
            )
            return
        schedule = await db.schedules.get(reminder.schedule_id)
        if schedule is None or not await self._still_wanted(schedule, reminder):
            await db.reminders.mark_cancelled(reminder.id, owner=owner)
            return
        prefs = await db.user_settings.get(reminder.user_id)
        user = await db.users.get(reminder.user_id)
        if user is None:
            await db.reminders.mark_cancelled(reminder.id, owner=owner)
            return
        t = await self._texts(schedule, prefs.language)
        if reminder.channel == "app":
            # Recorded first: never published twice, even if this node dies right after (the
            # person's clients are then sent it when they connect again: see ``backlog``).
            if await db.reminders.mark_sent(reminder.id, owner=owner, now=now):
                note = self._notification(schedule, reminder, prefs.timezone, now, t)
                await notify_user(self._ctx.bus, reminder.user_id, note)
            return
        lead = max(0, round((reminder.occurrence_start - now).total_seconds() / 60))
        title = self._title_of(schedule, reminder)
        url = join_url(schedule, self._ctx.settings.base_url)
        when = t.when(
            reminder.occurrence_start,
            reminder.occurrence_start + self._length(schedule, reminder),
            prefs.timezone,
        )
        lines = [
            t.gettext("{what}.", what=starts_in(t, quoted(t, title), lead)),
            "",
            when,
            "",
            t.gettext("Join: {url}", url=url),
            t.gettext("Meeting code: {code}", code=schedule.meeting.display_code),
        ]
        if schedule.meeting.passcode:
            lines.append(t.gettext("Passcode: {passcode}", passcode=schedule.meeting.passcode))
        body = "\n".join(lines) + "\n"
        # Enqueued before it is recorded: the dedupe key makes a second enqueue (after a crash
        # in between) a no-op, so the email goes exactly once.
        await db.outbox.enqueue(
            [
                NewEmail(
                    dedupe_key=f"reminder:{reminder.id}",
                    kind="reminder",
                    to_email=user.email,
                    subject=t.gettext("Reminder: {what}", what=starts_in(t, title, lead)),
                    body_text=body,
                    body_html=html_from_text(body, language=t.language),
                )
            ],
            now=now,
        )
        await db.reminders.mark_sent(reminder.id, owner=owner, now=now)
        if self._ctx.background is not None:
            self._ctx.background.wake(MAIL_JOB)

    async def _texts(self, schedule: ScheduleRecord, language: str | None) -> Texts:
        """The reader's language: their own choice, else the organiser's, else English."""
        if language is not None:
            return texts_for(pick(language))
        organizer = await self._ctx.db.user_settings.get(schedule.organizer_id)
        return texts_for(pick(organizer.language))

    def _notification(
        self,
        schedule: ScheduleRecord,
        reminder: ReminderRecord,
        timezone: str,
        now: datetime,
        t: Texts,
    ) -> Notification:
        lead = max(0, round((reminder.occurrence_start - now).total_seconds() / 60))
        return Notification(
            id=f"reminder-{reminder.id}",
            kind="reminder",
            title=starts_in(t, self._title_of(schedule, reminder), lead),
            body=t.when(
                reminder.occurrence_start,
                reminder.occurrence_start + self._length(schedule, reminder),
                timezone,
            ),
            schedule_id=schedule.id,
            starts_at=reminder.occurrence_start,
            url=join_url(schedule, self._ctx.settings.base_url),
        )

    async def backlog(self, user_id: UserId) -> list[Notification]:
        """The in-app reminders already sent to ``user_id`` whose meeting has not begun yet
        (or began within the grace period), for a client that connects now: a reminder sent
        while none of their clients was connected (or lost to a crash just after it was
        recorded) still shows. Clients show each notification id once."""
        db, now = self._ctx.db, self._ctx.clock.now()
        sent = await db.reminders.sent_in_app(user_id, starting_from=now - self._grace)
        if not sent:
            return []
        prefs = await db.user_settings.get(user_id)
        notes: list[Notification] = []
        for reminder in sent:
            schedule = await db.schedules.get(reminder.schedule_id)
            if schedule is None or not await self._still_wanted(schedule, reminder):
                continue
            t = await self._texts(schedule, prefs.language)
            notes.append(self._notification(schedule, reminder, prefs.timezone, now, t))
        return notes

    async def _still_wanted(self, schedule: ScheduleRecord, reminder: ReminderRecord) -> bool:
        """The occurrence still starts then and the person has not declined it (a change the
        planner has not seen yet must not produce a wrong reminder)."""
        if schedule.status == "cancelled":
            return False
        start = reminder.occurrence_start
        found = occurrences(schedule, start, start + timedelta(seconds=1), limit=50)
        occurrence = next((o for o in found if o.start_utc == start), None)
        if occurrence is None:
            return False
        if reminder.user_id == schedule.organizer_id:
            return True
        accounts = await accounts_of(self._ctx.db, schedule)
        return any(
            accounts.get(a.id) == reminder.user_id
            and a.partstat_for(occurrence.recurrence_id_utc) != "DECLINED"
            for a in schedule.attendees
        )

    @staticmethod
    def _length(schedule: ScheduleRecord, reminder: ReminderRecord) -> timedelta:
        start = reminder.occurrence_start
        found = occurrences(schedule, start, start + timedelta(seconds=1), limit=50)
        for occurrence in found:
            if occurrence.start_utc == start:
                return occurrence.end_utc - occurrence.start_utc
        return timedelta(minutes=schedule.duration_minutes)

    @staticmethod
    def _title_of(schedule: ScheduleRecord, reminder: ReminderRecord) -> str:
        start = reminder.occurrence_start
        found = occurrences(schedule, start, start + timedelta(seconds=1), limit=50)
        return next((o.title for o in found if o.start_utc == start), schedule.title)

    async def drop_stale_email(self, email: OutboxRecord) -> str | None:
        """For the outbox: a reminder email whose meeting already began is not sent."""
        if email.kind != "reminder" or not email.dedupe_key.startswith("reminder:"):
            return None
        try:
            reminder_id = int(email.dedupe_key.partition(":")[2])
        except ValueError:
            return None
        reminder = await self._ctx.db.reminders.get(reminder_id)
        if reminder is not None and reminder.occurrence_start <= self._ctx.clock.now():
            return "the meeting began before the reminder could be sent"
        return None

    # -- the job -------------------------------------------------------------------------------

    async def run(self) -> None:
        """One run of the job: plan (if this node is the planner), then send what is due."""
        ctx = self._ctx
        journal = ctx.db.journal
        async with self._run_lock:
            await drain(journal, self, owner=self._owner, clock=ctx.clock)
            # ``drain`` returns 0 both when idle and when another node plans: ask the lease.
            if await journal.claim(CONSUMER, self._owner, ctx.clock.now(), LEASE) is not None:
                await self.top_up(force=False)
            await self.send_due()


def install(app: FastAPI) -> None:
    """Register the ``reminders`` job (planning and sending) and the outbox's stale check."""
    reminders = Reminders(Context.of(app), owner=app.state.node_id)
    app.state.reminders = reminders
    outbox: MailOutbox = app.state.mail_outbox
    outbox.before_send(reminders.drop_stale_email)
    app.state.signaling.backlog = reminders.backlog
    app.state.background.add(CONSUMER, reminders.run, interval=INTERVAL_SECONDS)
