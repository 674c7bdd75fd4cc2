"""Invitations by email (iMIP, RFC 6047) and answers: the ``invitations`` journal consumer.

For each schedule change (:mod:`convene.storage.journal`) it writes emails to the outbox:

=======================  ======================================================================
change                   emails
=======================  ======================================================================
created, updated,        METHOD:REQUEST of the schedule as it is now, to every invitee who has
occurrence_updated       not had this version yet; METHOD:CANCEL to the invitees removed
cancelled                METHOD:CANCEL of the series to every invitee
occurrence_cancelled     METHOD:CANCEL of that occurrence (RECURRENCE-ID) to every invitee
reply                    a note to the organiser ("Bob accepted"), by email and in the app
=======================  ======================================================================

"This version" is the highest SEQUENCE of the series and its changed occurrences, with a digest
of the titles and agendas (which change without a new SEQUENCE): it is part of each email's
dedupe key, so a change handled twice (a crash, another node) sends nothing twice, inviting one
more person sends nothing to the others, and a real update reaches everyone again. Emails always
describe the schedule as it is when they are written, so a backlog of changes never sends
outdated times.

Convene users among the invitees are also told in the app (a ``notification`` event on
``user.<id>``). Answers come in by the link in the email (:mod:`convene.api.rsvp`), by an iMIP
REPLY uploaded by the organiser or received by :mod:`convene.mail.inbound`, all applied by
:func:`apply_reply` / :meth:`ScheduleStore.respond`, whose journal entry comes back here as a
``reply`` change.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any, cast, get_args
from urllib.parse import urlsplit

from fastapi import FastAPI

from convene.background import Background
from convene.bus.base import Bus, BusError, user_subject
from convene.clock import Clock
from convene.config import Settings, load_secrets
from convene.i18n import Texts, pick, texts_for
from convene.mail.inbound import InboundMail
from convene.mail.message import html_from_text
from convene.mail.outbox import JOB_NAME as MAIL_JOB
from convene.mail.outbox import DeliveryStatus, MailOutbox
from convene.protocol.codec import encode_event
from convene.protocol.ids import UserId
from convene.protocol.messages import Notification
from convene.scheduling import ical
from convene.scheduling.journal import drain
from convene.scheduling.recurrence import is_occurrence, occurrences
from convene.scheduling.tokens import invite_token, rsvp_token
from convene.scheduling.wording import (
    answer_sentence,
    answer_sentence_for,
    answer_words,
    describe_rule,
)
from convene.storage.db import Database
from convene.storage.journal import ChangeRecord
from convene.storage.outbox import NewEmail, OutboxRecord
from convene.storage.schedules import AttendeeRecord, EmailStatus, PartStat, ScheduleRecord

__all__ = [
    "CONSUMER",
    "INVITATION_KINDS",
    "Context",
    "Invitations",
    "accounts_of",
    "apply_reply",
    "format_when",
    "install",
    "invite_url",
    "languages_of",
    "notify_user",
    "rsvp_url",
    "version_of",
]

log = logging.getLogger(__name__)

CONSUMER = "invitations"
INBOUND_JOB = "mail-inbound"
INTERVAL_SECONDS = 10.0
# Outbox kinds whose delivery is reported on the attendee (what the organiser sees).
INVITATION_KINDS = frozenset({"invitation", "update", "cancel"})
# Outbox kinds sent on the organiser's behalf (their email quota), with a dedupe key
# "<prefix>:<schedule id>:...".
_ORGANISER_KINDS = frozenset({"invitation", "update", "cancel", "uninvite"})
_ORGANISERS_KEPT = 1000
_EMAIL_STATUSES = frozenset(get_args(EmailStatus))


def version_of(schedule: ScheduleRecord) -> int:
    """The version invitees have to be told about: the highest SEQUENCE of the series and of
    its changed occurrences."""
    return max([schedule.sequence, *(e.sequence for e in schedule.exceptions)])


def content_of(schedule: ScheduleRecord) -> str:
    """A short digest of what invitees read that does not change the SEQUENCE (titles and
    agendas): part of the dedupe key, so renaming a meeting sends an update, while inviting one
    more person sends nothing to those who already have this version."""
    parts: list[str] = [schedule.title, schedule.agenda]
    for exc in sorted(schedule.exceptions, key=lambda e: e.recurrence_id):
        parts += [exc.recurrence_id.isoformat(), exc.title or "", exc.agenda or ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def rsvp_url(base_url: str, attendee_id: str, token: str, answer: str | None = None) -> str:
    """The answer page of an invitee (the web client's route; it calls the RSVP API). The page
    asks before answering: mail scanners open links, so a GET never answers by itself."""
    url = f"{base_url.rstrip('/')}/rsvp/{attendee_id}/{token}"
    return f"{url}?answer={answer.lower()}" if answer else url


def invite_url(schedule: ScheduleRecord, base_url: str, attendee_id: str, key: str) -> str:
    """An invitee's personal join link: the meeting's, with ``invite=<attendee>.<token>``, by
    which the meeting knows them as the invited address when they join as a guest."""
    token = invite_token(key, attendee_id)
    return f"{ical.join_url(schedule, base_url)}?invite={attendee_id}.{token}"


def format_when(start: datetime, end: datetime, zone_name: str, texts: Texts | None = None) -> str:
    """``Monday 2 March 2026, 09:00 to 09:30 (Europe/Paris)``: a time people read, in their
    zone and language (English by default)."""
    return (texts or texts_for(None)).when(start, end, zone_name)


def notification_bytes(note: Notification) -> bytes:
    return encode_event("notification", note).encode()


async def notify_user(bus: Bus, user_id: str, note: Notification) -> bool:
    """Publish an in-app notification; False (logged) when the bus is down: an in-app note is
    a courtesy, never a reason to stop the caller's work."""
    try:
        await bus.publish(user_subject(user_id), notification_bytes(note))
    except (BusError, OSError, TimeoutError):
        log.warning("could not publish a notification for user %s", user_id, exc_info=True)
        return False
    return True


async def accounts_of(db: Database, schedule: ScheduleRecord) -> dict[str, UserId]:
    """The Convene account of each invitee who has one (attendee id -> user id): the one the
    attendee row names, or the account with the invitee's address."""
    found = {a.id: a.user_id for a in schedule.attendees if a.user_id is not None}
    unlinked = [a for a in schedule.attendees if a.user_id is None]
    if unlinked:
        accounts = await db.schedules.resolve_accounts(a.email for a in unlinked)
        for attendee in unlinked:
            account = accounts.get(attendee.email)
            if account is not None:
                found[attendee.id] = account[0]
    return found


async def languages_of(
    db: Database, organizer_id: UserId, accounts: dict[str, UserId]
) -> tuple[str, dict[str, str]]:
    """The organiser's language and each account holder's (key -> language) for mail about the
    organiser's schedule: the language a person chose in their settings, else the organiser's
    choice, else English (docs/scheduling.md, "Languages of emails")."""
    users = list(dict.fromkeys([organizer_id, *accounts.values()]))
    settings = await db.user_settings.get_many(users)
    organizer = settings.get(organizer_id)
    organizer_language = pick(organizer.language if organizer else None)
    found: dict[str, str] = {}
    for key, user_id in accounts.items():
        record = settings.get(user_id)
        found[key] = pick(record.language if record else None, organizer_language)
    return organizer_language, found


@dataclass(frozen=True, slots=True)
class Context:
    """What the invitation and reminder jobs work with (from ``app.state``)."""

    db: Database
    bus: Bus
    settings: Settings
    clock: Clock
    token_key: str
    background: Background | None = None

    @classmethod
    def of(cls, app: FastAPI) -> Context:
        settings: Settings = app.state.settings
        return cls(
            db=app.state.db,
            bus=app.state.bus,
            settings=settings,
            clock=app.state.clock,
            token_key=load_secrets(settings).token_key,
            background=app.state.background,
        )

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def organizer_address(self) -> str:
        """Where calendar programs send answers: the reply address (routed to Convene's inbound
        SMTP) or the from address."""
        mail = self.settings.mail
        return parseaddr(mail.reply_address or mail.from_address)[1] or "convene@localhost"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _emails(value: Any) -> list[str]:
    """Addresses from a journal detail: a list of addresses, or of objects with ``email``."""
    found: list[str] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                found.append(item)
            elif isinstance(item, dict) and isinstance(item.get("email"), str):
                found.append(item["email"])
    return found


class Invitations:
    """The journal consumer (``name`` is its cursor's key); one per app."""

    name = CONSUMER

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._organisers: dict[str, UserId] = {}

    async def handle(self, change: ChangeRecord) -> None:
        schedule = await self._ctx.db.schedules.get(change.schedule_id)
        if schedule is None:
            return  # deleted since: nobody left to tell
        details = change.details
        match change.kind:
            case "created" | "updated" | "occurrence_updated":
                if change.kind != "created":
                    # (A series split by "this and following" is created with a new UID: those
                    # left out of it never had that event.)
                    removed = _emails(details.get("attendees_removed"))
                    await self._uninvite(schedule, removed, change)
                if schedule.status == "cancelled":
                    await self._cancel(schedule, None)
                else:
                    added = _emails(details.get("attendees_added"))
                    await self._request(schedule, new=None if change.kind == "created" else added)
            case "cancelled":
                await self._cancel(schedule, None)
            case "occurrence_cancelled":
                rid = _parse_time(details.get("recurrence_id"))
                if rid is not None:
                    await self._cancel(schedule, rid)
            case "reply":
                await self._reply(schedule, change)
            case _:
                log.debug("invitations: nothing to do for %s", change.kind)

    # -- emails --------------------------------------------------------------------------------

    async def _people(
        self, schedule: ScheduleRecord
    ) -> tuple[dict[str, UserId], dict[str, str], dict[str, Texts]]:
        """Each invitee's account (when they have one), time zone (their own setting when they
        are a Convene user, else the organiser's) and language (:func:`languages_of`)."""
        db = self._ctx.db
        accounts = await accounts_of(db, schedule)
        users = list(dict.fromkeys(accounts.values()))
        settings = await db.user_settings.get_many(users) if users else {}
        organizer_language, languages = await languages_of(db, schedule.organizer_id, accounts)
        zones: dict[str, str] = {}
        texts: dict[str, Texts] = {}
        for attendee in schedule.attendees:
            account = accounts.get(attendee.id)
            record = settings.get(account) if account else None
            zones[attendee.id] = record.timezone if record else schedule.timezone
            texts[attendee.id] = texts_for(languages.get(attendee.id, organizer_language))
        return accounts, zones, texts

    def _next_occurrence(self, schedule: ScheduleRecord) -> tuple[datetime, datetime] | None:
        now = self._ctx.clock.now()
        found = occurrences(schedule, now, now + timedelta(days=3660), limit=1)
        if not found:
            found = occurrences(schedule, schedule.first_start, now + timedelta(days=1), limit=1)
        if not found:
            return None
        return found[0].start_utc, found[0].end_utc

    def _body(
        self,
        schedule: ScheduleRecord,
        attendee: AttendeeRecord,
        zone_name: str,
        t: Texts,
        *,
        intro: str,
        answer_links: bool,
        when: tuple[datetime, datetime] | None,
    ) -> str:
        ctx = self._ctx
        lines = [intro, ""]
        if when is not None:
            moment = t.when(when[0], when[1], zone_name)
            if schedule.rrule:
                lines.append(t.gettext("Next: {when}", when=moment))
            else:
                lines.append(t.gettext("When: {when}", when=moment))
        if schedule.rrule:
            lines.append(describe_rule(t, schedule.rrule, schedule.timezone))
            if zone_name != schedule.timezone:
                lines.append(t.gettext("(Organiser's time zone: {zone})", zone=schedule.timezone))
        join = invite_url(schedule, ctx.base_url, attendee.id, ctx.token_key)
        lines += ["", ical.describe(schedule, ctx.base_url, agenda="", texts=t, join=join)]
        if answer_links:
            token = rsvp_token(ctx.token_key, attendee.id)
            answers = [
                (t.gettext("Yes"), "accepted"),
                (t.gettext("Maybe"), "tentative"),
                (t.gettext("No"), "declined"),
            ]
            width = max(len(label) for label, _ in answers) + 1
            lines += ["", t.gettext("Will you attend? Answer here, or from your calendar program:")]
            for label, answer in answers:
                url = rsvp_url(ctx.base_url, attendee.id, token, answer)
                lines.append(f"  {label + ':':<{width}} {url}")
        if schedule.agenda.strip():
            lines += ["", t.gettext("Agenda:"), schedule.agenda.strip()]
        organiser = t.gettext(
            "Organiser: {name} <{email}>",
            name=schedule.organizer_name,
            email=schedule.organizer_email,
        )
        lines += ["", organiser]
        return "\n".join(lines) + "\n"

    def _calendar(
        self,
        schedule: ScheduleRecord,
        t: Texts,
        *,
        method: ical.Method,
        recurrence_id: datetime | None = None,
        for_attendee: AttendeeRecord | None = None,
        join: str | None = None,
    ) -> str:
        """The iMIP calendar in the reader's language (its join lines and label), with the
        reader's personal join link when ``join`` is given."""
        ctx = self._ctx
        calendar = ical.calendar_for(
            schedule,
            method=method,
            base_url=ctx.base_url,
            recurrence_id=recurrence_id,
            for_attendee=for_attendee,
            organizer_address=ctx.organizer_address,
            texts=t,
            join=join,
        )
        data: bytes = calendar.to_ical()
        return data.decode()

    async def _enqueue(self, emails: list[NewEmail]) -> None:
        ctx = self._ctx
        if not emails or not ctx.settings.mail.enabled:
            return
        added = await ctx.db.outbox.enqueue(emails, now=ctx.clock.now())
        if added and ctx.background is not None:
            ctx.background.wake(MAIL_JOB)

    async def _request(self, schedule: ScheduleRecord, *, new: list[str] | None) -> None:
        """REQUEST to every invitee not yet sent this version; ``new``: the addresses invited
        by this change (None: everyone is new)."""
        ctx = self._ctx
        version, content = version_of(schedule), content_of(schedule)
        when = self._next_occurrence(schedule)
        accounts, zones, texts = await self._people(schedule)
        emails: list[NewEmail] = []
        new_invitees: list[AttendeeRecord] = []
        for attendee in schedule.attendees:
            key = f"request:{schedule.id}:{version}:{content}:{attendee.email}"
            if await ctx.db.outbox.get_by_key(key) is not None:
                continue  # this version already went to this person
            is_new = new is None or attendee.email in new
            if is_new:
                new_invitees.append(attendee)
            t = texts[attendee.id]
            names = {"organiser": schedule.organizer_name, "title": schedule.title}
            if is_new:
                subject = t.gettext("Invitation: {title}", title=schedule.title)
                intro = t.gettext('{organiser} invites you to "{title}".', **names)
            else:
                subject = t.gettext("Updated invitation: {title}", title=schedule.title)
                intro = t.gettext('{organiser} updated "{title}".', **names)
            if when is not None:
                subject += f" @ {t.when(when[0], when[1], zones[attendee.id])}"
            body = self._body(
                schedule,
                attendee,
                zones[attendee.id],
                t,
                intro=intro,
                answer_links=True,
                when=when,
            )
            # Each invitee's own calendar: its join link is their personal one.
            join = invite_url(schedule, ctx.base_url, attendee.id, ctx.token_key)
            ics = self._calendar(schedule, t, method="REQUEST", join=join)
            emails.append(
                NewEmail(
                    dedupe_key=key,
                    kind="invitation" if is_new else "update",
                    to_email=attendee.email,
                    subject=subject,
                    body_text=body,
                    body_html=html_from_text(body, language=t.language),
                    ics=ics,
                    ics_method="REQUEST",
                    attendee_id=attendee.id,
                )
            )
        await self._enqueue(emails)
        for attendee in new_invitees:
            if attendee.id in accounts:
                t = texts[attendee.id]
                await notify_user(
                    ctx.bus,
                    accounts[attendee.id],
                    Notification(
                        id=f"invitation-{schedule.id}-{attendee.id}",
                        kind="invitation",
                        title=t.gettext(
                            "{organiser} invited you: {title}",
                            organiser=schedule.organizer_name,
                            title=schedule.title,
                        ),
                        schedule_id=schedule.id,
                        starts_at=when[0] if when else None,
                        url=rsvp_url(
                            ctx.base_url, attendee.id, rsvp_token(ctx.token_key, attendee.id)
                        ),
                    ),
                )

    async def _cancel(self, schedule: ScheduleRecord, recurrence_id: datetime | None) -> None:
        ctx = self._ctx
        accounts, zones, texts = await self._people(schedule)
        calendars: dict[str, str] = {}
        which = "series" if recurrence_id is None else recurrence_id.strftime("%Y%m%dT%H%M%SZ")
        emails: list[NewEmail] = []
        for attendee in schedule.attendees:
            key = f"cancel:{schedule.id}:{which}:{attendee.email}"
            if await ctx.db.outbox.get_by_key(key) is not None:
                continue  # told already (this change is being handled again)
            t = texts[attendee.id]
            if recurrence_id is None:
                what = t.gettext('"{title}" is cancelled.', title=schedule.title)
                when = None
            else:
                end = recurrence_id + timedelta(minutes=schedule.duration_minutes)
                when = (recurrence_id, end)
                what = t.gettext(
                    'The meeting "{title}" of {when} is cancelled.',
                    title=schedule.title,
                    when=t.when(recurrence_id, end, zones[attendee.id]),
                )
            if t.language not in calendars:
                calendars[t.language] = self._calendar(
                    schedule, t, method="CANCEL", recurrence_id=recurrence_id
                )
            subject = t.gettext("Cancelled: {title}", title=schedule.title)
            told = t.gettext("{organiser} cancelled a meeting.", organiser=schedule.organizer_name)
            emails.append(
                NewEmail(
                    dedupe_key=key,
                    kind="cancel",
                    to_email=attendee.email,
                    subject=subject,
                    body_text=f"{told}\n\n{what}\n",
                    body_html=html_from_text(f"{told}\n\n{what}\n", language=t.language),
                    ics=calendars[t.language],
                    ics_method="CANCEL",
                    attendee_id=attendee.id,
                )
            )
            if attendee.id in accounts:
                await notify_user(
                    ctx.bus,
                    accounts[attendee.id],
                    Notification(
                        id=f"cancelled-{schedule.id}-{which}",
                        kind="cancelled",
                        title=subject,
                        body=what,
                        schedule_id=schedule.id,
                        starts_at=when[0] if when else None,
                    ),
                )
        await self._enqueue(emails)

    async def _uninvite(
        self, schedule: ScheduleRecord, emails: list[str], change: ChangeRecord
    ) -> None:
        """METHOD:CANCEL to people taken off the invitation (they are no longer attendees, so
        a stand-in record names them in the CANCEL)."""
        ctx = self._ctx
        current = {a.email for a in schedule.attendees}
        gone = [e for e in emails if e not in current]
        if not gone:
            return
        found = await ctx.db.schedules.resolve_accounts(gone)
        accounts = {email: found[email][0] for email in gone if email in found}
        organizer_language, languages = await languages_of(ctx.db, schedule.organizer_id, accounts)
        messages: list[NewEmail] = []
        for email in gone:
            t = texts_for(languages.get(email, organizer_language))
            stand_in = AttendeeRecord(
                id="",
                schedule_id=schedule.id,
                email=email,
                user_id=None,
                display_name=email,
                required=True,
                cohost=False,
                partstat="NEEDS-ACTION",
                responded_at=None,
                email_status="pending",
                email_error=None,
            )
            cancelled = replace(schedule, status="cancelled")
            body = t.gettext(
                '{organiser} took you off the invitation to "{title}". '
                "It is no longer in your calendar.",
                organiser=schedule.organizer_name,
                title=schedule.title,
            )
            messages.append(
                NewEmail(
                    dedupe_key=f"uninvite:{schedule.id}:{change.id}:{email}",
                    kind="uninvite",
                    to_email=email,
                    subject=t.gettext("Cancelled: {title}", title=schedule.title),
                    body_text=body + "\n",
                    body_html=html_from_text(body, language=t.language),
                    ics=self._calendar(cancelled, t, method="CANCEL", for_attendee=stand_in),
                    ics_method="CANCEL",
                )
            )
        await self._enqueue(messages)

    async def _reply(self, schedule: ScheduleRecord, change: ChangeRecord) -> None:
        ctx = self._ctx
        details = change.details
        attendee_id = details.get("attendee_id")
        attendee = None
        if isinstance(attendee_id, str):
            attendee = next((a for a in schedule.attendees if a.id == attendee_id), None)
        if attendee is None and isinstance(details.get("email"), str):
            attendee = schedule.attendee_for(email=details["email"])
        if attendee is None:
            return
        key = f"reply:{change.id}"
        if await ctx.db.outbox.get_by_key(key) is not None:
            return  # told already (this change is being handled again)
        rid = _parse_time(details.get("recurrence_id"))
        partstat = str(details.get("partstat") or attendee.partstat_for(rid))
        who = attendee.display_name or attendee.email
        # The organiser reads it: in their own language.
        organizer_language, _ = await languages_of(ctx.db, schedule.organizer_id, {})
        t = texts_for(organizer_language)
        title = answer_words(t, partstat, who=who, title=schedule.title)
        names = {"who": who, "email": attendee.email, "title": schedule.title}
        if rid is None:
            body = answer_sentence(t, partstat, **names)
        else:
            end = rid + timedelta(minutes=schedule.duration_minutes)
            moment = t.when(rid, end, schedule.timezone)
            body = answer_sentence_for(t, partstat, when=moment, **names)
        await notify_user(
            ctx.bus,
            schedule.organizer_id,
            Notification(
                id=f"reply-{change.id}",
                kind="reply",
                title=title,
                body=body,
                schedule_id=schedule.id,
                starts_at=rid,
            ),
        )
        await self._enqueue(
            [
                NewEmail(
                    dedupe_key=key,
                    kind="reply",
                    to_email=schedule.organizer_email,
                    subject=title,
                    body_text=body + "\n",
                    body_html=html_from_text(body, language=t.language),
                )
            ]
        )

    # -- quotas and delivery reports ------------------------------------------------------------

    async def account_of(self, email: OutboxRecord) -> str | None:
        """For the outbox's quotas: invitations, updates and cancellations are sent on behalf
        of the schedule's organiser."""
        if email.kind not in _ORGANISER_KINDS:
            return None
        parts = email.dedupe_key.split(":")
        if len(parts) < 2:
            return None
        schedule_id = parts[1]
        # A schedule's organiser never changes: remembered, so a batch reads each schedule once.
        if schedule_id not in self._organisers:
            schedule = await self._ctx.db.schedules.get(schedule_id)
            if schedule is None:
                return None
            if len(self._organisers) >= _ORGANISERS_KEPT:
                self._organisers.clear()
            self._organisers[schedule_id] = schedule.organizer_id
        return self._organisers[schedule_id]

    async def on_delivery(
        self, email: OutboxRecord, status: DeliveryStatus, detail: str | None
    ) -> None:
        """Show the organiser how delivering the invitation went (on the attendee)."""
        if email.attendee_id is None or email.kind not in INVITATION_KINDS:
            return
        value: EmailStatus
        match status:
            case "sent":
                value, detail = "ok", None
            case "bounced":
                value = "bounced"
            case "failed":
                # Given up (out of attempts, or the message refused): the organiser must see it
                # as undelivered. The attendee row knows "bounced" for that where it has no
                # "failed"; the server's words tell the two apart.
                value = cast(EmailStatus, "failed" if "failed" in _EMAIL_STATUSES else "bounced")
            case _:
                # Still trying: pending, with the reason (SMTP server unreachable...) to show.
                value = "pending"
        await self._ctx.db.schedules.set_email_status(email.attendee_id, value, detail)


async def apply_reply(
    db: Database,
    data: bytes | str,
    *,
    at: datetime,
    schedule_id: str | None = None,
    sender: str | None = None,
) -> tuple[ScheduleRecord, AttendeeRecord, list[tuple[datetime | None, PartStat]]]:
    """Apply an iMIP REPLY: parse it strictly, find its schedule (``schedule_id`` when uploaded
    for one, else by UID), check the answers are an invitee's about real occurrences, and record
    them (each becomes a ``reply`` journal entry). ``sender``: the address the email came from,
    which must be the answering attendee's (for replies received by mail).

    Raises :class:`~convene.scheduling.ical.ReplyError` (``invalid_request``) with the reason.
    """
    reply = ical.parse_reply(data)
    if schedule_id is not None:
        schedule = await db.schedules.get(schedule_id)
    else:
        schedule = await db.schedules.get_by_uid(reply.uid)
    if schedule is None:
        raise ical.ReplyError("the reply is about an event Convene does not know")
    if sender is not None and sender.strip().lower() != reply.attendee_email:
        raise ical.ReplyError("the reply was not sent by the attendee it answers for")
    attendee, answers = ical.match_reply(reply, schedule)
    for rid, _ in answers:
        if rid is not None and not is_occurrence(
            schedule.rrule, schedule.start_local, schedule.timezone, rid
        ):
            raise ical.ReplyError("the reply answers an occurrence the meeting does not have")
    result: tuple[ScheduleRecord, AttendeeRecord] | None = None
    # The series' answer first, so that occurrence answers override it.
    for rid, partstat in sorted(answers, key=lambda a: a[0] is not None):
        result = await db.schedules.respond(attendee.id, partstat, rid, at)
        if result is None:
            raise ical.ReplyError("the invitee is no longer invited")
    assert result is not None
    return result[0], result[1], answers


def install(app: FastAPI) -> None:
    """Register the ``invitations`` job (journal consumer) and the delivery listener."""
    ctx = Context.of(app)
    consumer = Invitations(ctx)
    app.state.invitations = consumer
    outbox: MailOutbox = app.state.mail_outbox
    outbox.on_delivery(consumer.on_delivery)
    outbox.charge_to(consumer.account_of)

    # One drain at a time in this process (the loop and a woken run may overlap): the journal
    # lease keeps nodes apart, not two tasks of the same node.
    lock = asyncio.Lock()

    async def job() -> None:
        async with lock:
            await drain(app.state.db.journal, consumer, owner=app.state.node_id, clock=ctx.clock)

    app.state.background.add(CONSUMER, job, interval=INTERVAL_SECONDS)

    mail = ctx.settings.mail
    if mail.inbound_port:

        async def apply(data: bytes, sender: str | None) -> None:
            if sender is None:
                raise ical.ReplyError("the reply has no single From address")
            await apply_reply(ctx.db, data, at=ctx.clock.now(), sender=sender)
            app.state.background.wake(CONSUMER)

        inbound = InboundMail(
            apply,
            recipients=[ctx.organizer_address, *mail.inbound_recipients],
            host=mail.inbound_host,
            port=mail.inbound_port,
            hostname=urlsplit(ctx.settings.base_url).hostname or "localhost",
        )
        app.state.mail_inbound = inbound
        # Runs until the app stops; if the port is taken, it is retried with back-off.
        app.state.background.add(
            INBOUND_JOB, inbound.serve, interval=INTERVAL_SECONDS, service=True
        )
