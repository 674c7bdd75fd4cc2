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
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AuthSessionRow",
    "BanRow",
    "Base",
    "ChatMessageRow",
    "MeetingRow",
    "ParticipationRow",
    "UTCDateTime",
    "UserRow",
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
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("chat IN ('everyone', 'hosts', 'none')", name="chat"),
        CheckConstraint("screen_share IN ('everyone', 'hosts')", name="screen_share"),
        CheckConstraint("status IN ('open', 'live', 'ended')", name="status"),
        CheckConstraint("max_participants >= 2", name="max_participants"),
        Index("ix_meetings_host_id_created_at", "host_id", "created_at"),
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
    display_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("user_id IS NOT NULL OR guest_key IS NOT NULL", name="who"),
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

    __table_args__ = (Index("ix_participation_log_meeting_id_id", "meeting_id", "id"),)
