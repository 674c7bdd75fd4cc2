"""The database schema as SQLAlchemy 2 typed ORM classes.

Only the repositories in this package use these classes; everything outside ``convene.storage``
gets frozen records instead, so no caller ever holds an object tied to a session.

Portability rules (the same tests run on SQLite and PostgreSQL):

- ids are :class:`~sqlalchemy.Uuid` (native ``uuid`` on PostgreSQL, ``CHAR(32)`` on SQLite), or an
  integer sequence where the order of insertion matters (chat, participation log);
- times are :class:`UTCDateTime`: always timezone-aware UTC in Python, whatever the engine stores;
- constraint names come from a naming convention, so later migrations (batch mode on SQLite) can
  refer to them by name on both engines.

Changing anything here needs a new migration in ``convene/migrations/versions``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AttendeeOccurrenceRow",
    "AttendeeRow",
    "AuthSessionRow",
    "BanRow",
    "Base",
    "BusyBlockRow",
    "CalendarConnectionRow",
    "CalendarPushRow",
    "CaptionLeaseRow",
    "CaptionWorkerRow",
    "ChatMessageRow",
    "ConsumerCursorRow",
    "EmailOutboxRow",
    "EmailVerificationRow",
    "EventRegistrationRow",
    "InterpreterRow",
    "MeetingRow",
    "ParticipationRow",
    "PasswordResetRow",
    "PollRow",
    "PollVoteRow",
    "QuestionRow",
    "QuestionVoteRow",
    "QuotaUsageRow",
    "ReminderRow",
    "ScheduleChangeRow",
    "ScheduleExceptionRow",
    "ScheduleRow",
    "TranscriptSegmentRow",
    "UTCDateTime",
    "UserRow",
    "UserSettingsRow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only gives INTEGER PRIMARY KEY columns an automatic rowid; BIGINT would stay NULL there.
SequenceId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is timezone-aware UTC in Python on every engine.

    SQLite has no timezone type: SQLAlchemy would hand back naive datetimes there and aware ones
    on PostgreSQL, so comparisons would behave differently. Naive input is refused outright.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # Normalised (trimmed, lower case) before it gets here, so a plain unique index is enough.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the owner of the address proved it (followed the confirmation link; or the account
    # was made by the operator, or existed before verification did). NULL: not verified.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailVerificationRow(Base):
    """A confirmation link sent to an account's address: single use, expiring."""

    __tablename__ = "email_verifications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # SHA-256 of the token in the link: a leaked database verifies no one.
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The address the link was sent to: a link confirms that address only.
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordResetRow(Base):
    """A link sent by email to set a new password: single use, expiring."""

    __tablename__ = "password_resets"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # SHA-256 of the token in the link, as for email verifications.
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QuotaUsageRow(Base):
    """One use of a quota (a meeting created, emails sent), counted in a sliding window."""

    __tablename__ = "quota_usage"

    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    # meetings, schedules, emails
    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    amount: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_quota_usage_kind_created_at", "kind", "created_at"),
        Index("ix_quota_usage_user_id_kind_created_at", "user_id", "kind", "created_at"),
    )


class AuthSessionRow(Base):
    __tablename__ = "auth_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # SHA-256 of the cookie token: a leaked database does not let anyone sign in.
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class MeetingRow(Base):
    __tablename__ = "meetings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    link_token: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    host_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    # NULL: the meeting has no passcode.
    passcode: Mapped[str | None] = mapped_column(String(32))
    waiting_room: Mapped[bool] = mapped_column(Boolean)
    allow_guests: Mapped[bool] = mapped_column(Boolean)
    mute_on_entry: Mapped[bool] = mapped_column(Boolean)
    allow_self_unmute: Mapped[bool] = mapped_column(Boolean)
    locked: Mapped[bool] = mapped_column(Boolean)
    chat: Mapped[str] = mapped_column(String(16))
    screen_share: Mapped[str] = mapped_column(String(16))
    max_participants: Mapped[int] = mapped_column(Integer)
    # May a guest become host when only guests remain? Off: the meeting waits for a signed-in
    # host or co-host instead.
    guest_succession: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # May a host turn captions on (allowed), are they on from the start (auto), or never
    # (forbidden)? New meetings get the server's captions.default_policy.
    captions: Mapped[str] = mapped_column(String(16), default="allowed", server_default="allowed")
    # meeting (everyone interactive), event (a panel and a view-only audience) or lecture.
    mode: Mapped[str] = mapped_column(String(16), default="meeting", server_default="meeting")
    # The second link: joining an event with it makes one a panelist.
    panelist_token: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    # Must an event's audience register first: off, open (confirming the address is enough) or
    # approval (a host approves each registrant); see convene.storage.registrations.
    registration: Mapped[str] = mapped_column(String(16), default="off", server_default="off")
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("chat IN ('everyone', 'hosts', 'none')", name="chat"),
        CheckConstraint("screen_share IN ('everyone', 'hosts')", name="screen_share"),
        CheckConstraint("status IN ('open', 'live', 'ended')", name="status"),
        CheckConstraint("max_participants >= 2", name="max_participants"),
        CheckConstraint("captions IN ('forbidden', 'allowed', 'auto')", name="captions"),
        CheckConstraint("mode IN ('meeting', 'event', 'lecture')", name="mode"),
        CheckConstraint("registration IN ('off', 'open', 'approval')", name="registration"),
        Index("ix_meetings_host_id_created_at", "host_id", "created_at"),
    )


class InterpreterRow(Base):
    """An interpreter named for a meeting ahead of time (convene.storage.interpreters): an
    account, or an invitee by email, with one target language or a bidirectional pair."""

    __tablename__ = "meeting_interpreters"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE")
    )
    # Exactly one of the two: the account named, or the address (normalised, lower case).
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    display_name: Mapped[str | None] = mapped_column(String(64))
    # The target language, or the first of a pair in sorted order (then `second_language`).
    language: Mapped[str] = mapped_column(String(16))
    second_language: Mapped[str | None] = mapped_column(String(16))
    # The order the host listed them in.
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id"),
        UniqueConstraint("meeting_id", "email"),
        CheckConstraint("(user_id IS NULL) <> (email IS NULL)", name="person"),
        CheckConstraint("second_language IS NULL OR language < second_language", name="languages"),
    )


class PanelistRow(Base):
    """A panelist named for an event ahead of time (convene.storage.panelists): an account, or an
    invitee by email."""

    __tablename__ = "meeting_panelists"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE")
    )
    # Exactly one of the two: the account named, or the address (normalised, lower case).
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    display_name: Mapped[str | None] = mapped_column(String(64))
    # The order the host listed them in.
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id"),
        UniqueConstraint("meeting_id", "email"),
        CheckConstraint("(user_id IS NULL) <> (email IS NULL)", name="person"),
    )


class EventRegistrationRow(Base):
    """Someone who registered for an event (convene.storage.registrations): a name and an
    address, confirmed from a mail, approved by a host when the event asks for it."""

    __tablename__ = "event_registrations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE")
    )
    # Normalised (lower case); each address registers once per event.
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(64))
    # unconfirmed, pending (confirmed, waiting for a host), registered (may join) or denied.
    state: Mapped[str] = mapped_column(String(16))
    # The language of the mails (the registration page's).
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When a mail last went to the address (a repeated registration within minutes sends none).
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first time they joined the event with their link.
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("meeting_id", "email"),
        CheckConstraint(
            "state IN ('unconfirmed', 'pending', 'registered', 'denied')", name="state"
        ),
        Index("ix_event_registrations_meeting_id_created_at", "meeting_id", "created_at"),
    )


class BanRow(Base):
    """Someone removed from a meeting, known by their account, their guest cookie, or both."""

    __tablename__ = "meeting_bans"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE")
    )
    guest_key: Mapped[str | None] = mapped_column(String(64))
    # The network address they were removed from, hashed with the meeting id: a guest coming
    # from it again waits for a host, who is told (see rooms.room).
    address_hash: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(
            "user_id IS NOT NULL OR guest_key IS NOT NULL OR address_hash IS NOT NULL", name="who"
        ),
        # NULLs are distinct in unique indexes on both engines, so a guest-only ban and a
        # user-only ban never collide.
        UniqueConstraint("meeting_id", "user_id"),
        UniqueConstraint("meeting_id", "guest_key"),
    )


class ChatMessageRow(Base):
    __tablename__ = "chat_messages"

    # A sequence, not a random id: it orders messages sent within the same clock tick.
    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE")
    )
    sender_id: Mapped[str] = mapped_column(String(32))
    sender_name: Mapped[str] = mapped_column(String(64))
    sender_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    # NULL: a message to everyone.
    to_id: Mapped[str | None] = mapped_column(String(32))
    to_name: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client_msg_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        # Idempotency: a client that resends after a dropped connection gets the first row back.
        UniqueConstraint("meeting_id", "sender_id", "client_msg_id"),
        Index("ix_chat_messages_meeting_id_id", "meeting_id", "id"),
    )


class ParticipationRow(Base):
    """One stay of one participant in a meeting, for attendance reports."""

    __tablename__ = "participation_log"

    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE")
    )
    participant_id: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    guest_key: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leave_reason: Mapped[str | None] = mapped_column(String(16))
    # When they were let in; NULL while waiting, and for good when they only waited.
    admitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_participation_log_meeting_id_id", "meeting_id", "id"),)


# ------------------------------------------------------------------------------------------------
# Scheduling and calendars (see docs/scheduling.md)
# ------------------------------------------------------------------------------------------------


class UserSettingsRow(Base):
    """A user's calendar preferences; a missing row means the defaults."""

    __tablename__ = "user_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    timezone: Mapped[str] = mapped_column(String(64))
    # JSON: {"mon": [["09:00", "17:00"]], ..., "sun": []}, local times in `timezone`.
    working_hours: Mapped[str] = mapped_column(Text)
    # Minutes before each occurrence; NULL: no reminders.
    reminder_minutes: Mapped[int | None] = mapped_column(Integer)
    email_reminders: Mapped[bool] = mapped_column(Boolean)
    # The private calendar feed: its token is derived from the install's token key, the user id
    # and this version (convene.scheduling.tokens); revoking bumps the version. 0: no feed yet.
    feed_version: Mapped[int] = mapped_column(Integer)
    feed_enabled: Mapped[bool] = mapped_column(Boolean)
    # The web client's language (a code of convene.storage.user_settings.LANGUAGES); NULL: the
    # browser's.
    language: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduleRow(Base):
    """One scheduled event or recurring series: one iCalendar UID, one meeting room to join."""

    __tablename__ = "schedules"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    uid: Mapped[str] = mapped_column(String(255), unique=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    organizer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(String(200))
    agenda: Mapped[str] = mapped_column(Text)
    # The organiser's wall-clock start in `timezone` (naive), as iCalendar's DTSTART;TZID=.
    timezone: Mapped[str] = mapped_column(String(64))
    start_local: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    # RRULE value without DTSTART (e.g. "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"); NULL: one event.
    rrule: Mapped[str | None] = mapped_column(String(500))
    # Derived for queries: first start, and the end of the last occurrence (NULL: no end).
    first_start: Mapped[datetime] = mapped_column(UTCDateTime)
    last_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sequence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    # A series split by "this and following" points at the one it came from.
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("schedules.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('confirmed', 'cancelled')", name="status"),
        CheckConstraint("duration_minutes > 0", name="duration"),
        Index("ix_schedules_organizer_id_first_start", "organizer_id", "first_start"),
    )


class ScheduleExceptionRow(Base):
    """One occurrence of a series cancelled or changed (iCalendar RECURRENCE-ID / EXDATE)."""

    __tablename__ = "schedule_exceptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    schedule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("schedules.id", ondelete="CASCADE")
    )
    # The occurrence's original start, UTC.
    recurrence_id: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled: Mapped[bool] = mapped_column(Boolean)
    # The changed occurrence (NULLs: as in the series).
    timezone: Mapped[str | None] = mapped_column(String(64))
    start_local: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(200))
    agenda: Mapped[str | None] = mapped_column(Text)
    sequence: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("schedule_id", "recurrence_id"),)


class AttendeeRow(Base):
    """An invitee of a schedule: a Convene user, or a plain email address."""

    __tablename__ = "attendees"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    schedule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("schedules.id", ondelete="CASCADE")
    )
    email: Mapped[str] = mapped_column(String(254), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    display_name: Mapped[str] = mapped_column(String(64))
    required: Mapped[bool] = mapped_column(Boolean)
    cohost: Mapped[bool] = mapped_column(Boolean)
    # iCalendar PARTSTAT for the whole series: NEEDS-ACTION, ACCEPTED, TENTATIVE, DECLINED.
    partstat: Mapped[str] = mapped_column(String(16))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Delivery of the last invitation: ok, pending, bounced (with the server's words).
    email_status: Mapped[str] = mapped_column(String(16))
    email_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        UniqueConstraint("schedule_id", "email"),
        CheckConstraint(
            "partstat IN ('NEEDS-ACTION', 'ACCEPTED', 'TENTATIVE', 'DECLINED')", name="partstat"
        ),
    )


class AttendeeOccurrenceRow(Base):
    """An invitee's answer for one occurrence, overriding their answer for the series."""

    __tablename__ = "attendee_occurrences"

    attendee_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True
    )
    recurrence_id: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    partstat: Mapped[str] = mapped_column(String(16))
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduleChangeRow(Base):
    """The journal of schedule changes, written in the same transaction as the change.

    Consumers (invitation mail, CalDAV publishing, reminder planning) each keep a cursor
    (:class:`ConsumerCursorRow`), so a change is acted on once even across restarts and nodes.
    """

    __tablename__ = "schedule_changes"

    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    schedule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("schedules.id", ondelete="CASCADE"), index=True
    )
    # created, updated, cancelled, occurrence_updated, occurrence_cancelled, reply
    kind: Mapped[str] = mapped_column(String(32))
    sequence: Mapped[int] = mapped_column(Integer)
    # JSON details: recurrence_id, attendees added/removed (emails), who replied.
    details: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsumerCursorRow(Base):
    """How far one consumer of a journal got, and which node holds it (a lease)."""

    __tablename__ = "consumer_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailOutboxRow(Base):
    """An email to send: written with what caused it, sent by whichever node holds its lease."""

    __tablename__ = "email_outbox"

    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    # Never twice: the same key is one email (e.g. "invite:<schedule>:<seq>:<email>").
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    to_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # An iCalendar attachment (iMIP), and its METHOD.
    ics: Mapped[str | None] = mapped_column(Text)
    ics_method: Mapped[str | None] = mapped_column(String(16))
    # What the email is about, to report delivery back (e.g. the attendee row).
    attendee_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("attendees.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'bounced', 'dropped')", name="status"
        ),
        Index("ix_email_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )


class ReminderRow(Base):
    """One reminder of one occurrence for one person on one channel: sent at most once."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    schedule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("schedules.id", ondelete="CASCADE")
    )
    occurrence_start: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # pending, sent, missed (due during downtime and too late to be useful), cancelled
    status: Mapped[str] = mapped_column(String(16))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("schedule_id", "occurrence_start", "user_id", "channel"),
        CheckConstraint("channel IN ('app', 'email')", name="channel"),
        CheckConstraint("status IN ('pending', 'sent', 'missed', 'cancelled')", name="status"),
        Index("ix_reminders_status_due_at", "status", "due_at"),
        Index("ix_reminders_user_id_occurrence_start", "user_id", "occurrence_start"),
    )


class CalendarConnectionRow(Base):
    """A calendar of the user's elsewhere: read for busy times, or written with their meetings."""

    __tablename__ = "calendar_connections"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # ics, caldav
    purpose: Mapped[str] = mapped_column(String(16))  # busy, publish
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(2000))
    username: Mapped[str | None] = mapped_column(String(254))
    # The password or token, encrypted with the install's credentials key (Fernet).
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))  # pending, ok, error
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("kind IN ('ics', 'caldav')", name="kind"),
        CheckConstraint("purpose IN ('busy', 'publish')", name="purpose"),
    )


class BusyBlockRow(Base):
    """A busy time read from a connected calendar (no titles: only when)."""

    __tablename__ = "busy_blocks"

    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    connection_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("calendar_connections.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_busy_blocks_user_id_starts_at", "user_id", "starts_at"),
        # Ids never reused on SQLite either: a cache tells a re-synced calendar by its newest id.
        {"sqlite_autoincrement": True},
    )


class CalendarPushRow(Base):
    """A schedule as written into a user's CalDAV calendar (to update or delete it later)."""

    __tablename__ = "calendar_pushes"

    connection_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("calendar_connections.id", ondelete="CASCADE"), primary_key=True
    )
    schedule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True
    )
    href: Mapped[str] = mapped_column(String(2000))
    etag: Mapped[str | None] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(Integer)
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TranscriptSegmentRow(Base):
    """One settled caption segment of a meeting in one language (the speaker's words, or their
    translation), for the transcript (convene.storage.transcripts)."""

    __tablename__ = "transcript_segments"

    id: Mapped[int] = mapped_column(SequenceId, primary_key=True, autoincrement=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE")
    )
    language: Mapped[str] = mapped_column(String(16))
    speaker_id: Mapped[str] = mapped_column(String(32))
    speaker_name: Mapped[str] = mapped_column(String(64))
    speaker_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    # When it was said (UTC), and where it is in the transcript: milliseconds since it began.
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    # The language the speaker spoke (NULL: unknown); ``translated``: ``text`` is a translation.
    source_language: Mapped[str | None] = mapped_column(String(16))
    translated: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (
        CheckConstraint("start_ms >= 0 AND end_ms >= start_ms", name="times"),
        Index(
            "ix_transcript_segments_meeting_id_language_start_at",
            "meeting_id",
            "language",
            "start_at",
        ),
    )


class CaptionWorkerRow(Base):
    """A captions worker connected to a server node, and when it was last heard from."""

    __tablename__ = "caption_workers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Where the worker receives RTP (the host Janus forwards to) and the node it is linked to.
    address: Mapped[str] = mapped_column(String(255))
    node_id: Mapped[str] = mapped_column(String(64))
    capacity: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaptionLeaseRow(Base):
    """Which worker transcribes a live meeting, until when (renewed by its heartbeats).

    ``epoch`` grows each time the lease changes hands: results tagged with an older epoch come
    from a worker that lost the meeting and are dropped."""

    __tablename__ = "caption_leases"

    meeting_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(64), index=True)
    epoch: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QuestionRow(Base):
    """A Q&A question of a meeting (convene.storage.qa). An anonymous one names nobody: only
    ``asker_hash``, an opaque digest of the asker's account or guest cookie with the meeting's
    id, tells the asker it is theirs when the meeting opens again."""

    __tablename__ = "meeting_questions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    asker_hash: Mapped[str] = mapped_column(String(64))
    # The participant who asked (null for an anonymous question).
    asker_id: Mapped[str | None] = mapped_column(String(32))
    asker_name: Mapped[str | None] = mapped_column(String(64))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    votes: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    live: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Answered: when and by whom; the text is null for a question answered live.
    answer_text: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[str | None] = mapped_column(String(32))
    answered_by_name: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("state IN ('open', 'answered', 'dismissed')", name="state"),)


class QuestionVoteRow(Base):
    """One person's vote for a question (the voter as an opaque digest, like ``asker_hash``)."""

    __tablename__ = "meeting_question_votes"

    question_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("meeting_questions.id", ondelete="CASCADE"), primary_key=True
    )
    voter_hash: Mapped[str] = mapped_column(String(64), primary_key=True)


class PollRow(Base):
    """A poll of a meeting (convene.storage.polls); ``options`` is a JSON list of strings."""

    __tablename__ = "meeting_polls"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(String(300))
    options: Mapped[str] = mapped_column(Text)
    multiple: Mapped[bool] = mapped_column(Boolean)
    anonymous: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))
    shared: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("state IN ('draft', 'open', 'closed')", name="state"),)


class PollVoteRow(Base):
    """One person's answer to a poll: the voter as an opaque digest, named (participant id and
    name as they voted) only on a poll that is not anonymous; ``choices`` the option indexes,
    comma-separated ("0,2")."""

    __tablename__ = "meeting_poll_votes"

    poll_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("meeting_polls.id", ondelete="CASCADE"), primary_key=True
    )
    voter_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    voter_id: Mapped[str | None] = mapped_column(String(32))
    voter_name: Mapped[str | None] = mapped_column(String(64))
    choices: Mapped[str] = mapped_column(String(64))
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime)
