"""Initial schema: users, sign-in sessions, meetings, bans, chat and the participation log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
# SQLite only auto-numbers INTEGER PRIMARY KEY columns.
SEQUENCE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_sessions_token_hash")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_auth_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"])
    op.create_index(op.f("ix_auth_sessions_expires_at"), "auth_sessions", ["expires_at"])

    op.create_table(
        "meetings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("link_token", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("host_id", sa.Uuid(), nullable=False),
        sa.Column("passcode", sa.String(32), nullable=True),
        sa.Column("waiting_room", sa.Boolean(), nullable=False),
        sa.Column("allow_guests", sa.Boolean(), nullable=False),
        sa.Column("mute_on_entry", sa.Boolean(), nullable=False),
        sa.Column("allow_self_unmute", sa.Boolean(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("chat", sa.String(16), nullable=False),
        sa.Column("screen_share", sa.String(16), nullable=False),
        sa.Column("max_participants", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        sa.UniqueConstraint("code", name=op.f("uq_meetings_code")),
        sa.UniqueConstraint("link_token", name=op.f("uq_meetings_link_token")),
        sa.ForeignKeyConstraint(
            ["host_id"], ["users.id"], name=op.f("fk_meetings_host_id_users"), ondelete="CASCADE"
        ),
        sa.CheckConstraint("chat IN ('everyone', 'hosts', 'none')", name=op.f("ck_meetings_chat")),
        sa.CheckConstraint(
            "screen_share IN ('everyone', 'hosts')", name=op.f("ck_meetings_screen_share")
        ),
        sa.CheckConstraint("status IN ('open', 'live', 'ended')", name=op.f("ck_meetings_status")),
        sa.CheckConstraint("max_participants >= 2", name=op.f("ck_meetings_max_participants")),
    )
    op.create_index("ix_meetings_host_id_created_at", "meetings", ["host_id", "created_at"])

    op.create_table(
        "meeting_bans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("guest_key", sa.String(64), nullable=True),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_bans")),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_bans_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_meeting_bans_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "user_id IS NOT NULL OR guest_key IS NOT NULL", name=op.f("ck_meeting_bans_who")
        ),
        sa.UniqueConstraint(
            "meeting_id", "user_id", name=op.f("uq_meeting_bans_meeting_id_user_id")
        ),
        sa.UniqueConstraint(
            "meeting_id", "guest_key", name=op.f("uq_meeting_bans_meeting_id_guest_key")
        ),
    )

    op.create_table(
        "chat_messages",
        sa.Column("id", SEQUENCE_ID, autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("sender_id", sa.String(32), nullable=False),
        sa.Column("sender_name", sa.String(64), nullable=False),
        sa.Column("sender_user_id", sa.Uuid(), nullable=True),
        sa.Column("to_id", sa.String(32), nullable=True),
        sa.Column("to_name", sa.String(64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=False),
        sa.Column("client_msg_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_chat_messages_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_user_id"],
            ["users.id"],
            name=op.f("fk_chat_messages_sender_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint(
            "meeting_id",
            "sender_id",
            "client_msg_id",
            name=op.f("uq_chat_messages_meeting_id_sender_id_client_msg_id"),
        ),
    )
    op.create_index("ix_chat_messages_meeting_id_id", "chat_messages", ["meeting_id", "id"])

    op.create_table(
        "participation_log",
        sa.Column("id", SEQUENCE_ID, autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("participant_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("guest_key", sa.String(64), nullable=True),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("joined_at", TIMESTAMP, nullable=False),
        sa.Column("left_at", TIMESTAMP, nullable=True),
        sa.Column("leave_reason", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation_log")),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_participation_log_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_participation_log_user_id_users"),
            ondelete="SET NULL",
        ),
    )
    op.create_index(
        op.f("ix_participation_log_participant_id"), "participation_log", ["participant_id"]
    )
    op.create_index("ix_participation_log_meeting_id_id", "participation_log", ["meeting_id", "id"])


def downgrade() -> None:
    op.drop_table("participation_log")
    op.drop_table("chat_messages")
    op.drop_table("meeting_bans")
    op.drop_table("meetings")
    op.drop_table("auth_sessions")
    op.drop_table("users")
