"""Scheduling and calendars: schedules, exceptions, attendees, the change journal, email
outbox, reminders, calendar connections, busy blocks and CalDAV pushes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
# SQLite only auto-numbers INTEGER PRIMARY KEY columns.
SEQUENCE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "consumer_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_consumer_cursors")),
    )
    op.create_table(
        "calendar_connections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("username", sa.String(length=254), nullable=True),
        sa.Column("secret", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_sync_at", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("kind IN ('ics', 'caldav')", name=op.f("ck_calendar_connections_kind")),
        sa.CheckConstraint(
            "purpose IN ('busy', 'publish')", name=op.f("ck_calendar_connections_purpose")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_connections_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_connections")),
    )
    with op.batch_alter_table("calendar_connections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_connections_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "user_settings",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("working_hours", sa.Text(), nullable=False),
        sa.Column("reminder_minutes", sa.Integer(), nullable=True),
        sa.Column("email_reminders", sa.Boolean(), nullable=False),
        sa.Column("feed_version", sa.Integer(), nullable=False),
        sa.Column("feed_enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_settings")),
    )
    op.create_table(
        "busy_blocks",
        sa.Column("id", SEQUENCE_ID, autoincrement=True, nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", TIMESTAMP, nullable=False),
        sa.Column("ends_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["calendar_connections.id"],
            name=op.f("fk_busy_blocks_connection_id_calendar_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_busy_blocks_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_busy_blocks")),
        # Ids never reused on SQLite either: a cache tells a re-synced calendar by its newest id.
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("busy_blocks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_busy_blocks_connection_id"), ["connection_id"], unique=False
        )
        batch_op.create_index(
            "ix_busy_blocks_user_id_starts_at", ["user_id", "starts_at"], unique=False
        )

    op.create_table(
        "schedules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("organizer_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("agenda", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("start_local", sa.DateTime(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("rrule", sa.String(length=500), nullable=True),
        sa.Column("first_start", TIMESTAMP, nullable=False),
        sa.Column("last_end", TIMESTAMP, nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "status IN ('confirmed', 'cancelled')", name=op.f("ck_schedules_status")
        ),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_schedules_duration")),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_schedules_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["users.id"],
            name=op.f("fk_schedules_organizer_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["schedules.id"],
            name=op.f("fk_schedules_parent_id_schedules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("uid", name=op.f("uq_schedules_uid")),
    )
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schedules_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(
            "ix_schedules_organizer_id_first_start", ["organizer_id", "first_start"], unique=False
        )

    op.create_table(
        "attendees",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("cohost", sa.Boolean(), nullable=False),
        sa.Column("partstat", sa.String(length=16), nullable=False),
        sa.Column("responded_at", TIMESTAMP, nullable=True),
        sa.Column("email_status", sa.String(length=16), nullable=False),
        sa.Column("email_error", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "partstat IN ('NEEDS-ACTION', 'ACCEPTED', 'TENTATIVE', 'DECLINED')",
            name=op.f("ck_attendees_partstat"),
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_attendees_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_attendees_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendees")),
        sa.UniqueConstraint("schedule_id", "email", name=op.f("uq_attendees_schedule_id_email")),
    )
    with op.batch_alter_table("attendees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendees_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_attendees_user_id"), ["user_id"], unique=False)

    op.create_table(
        "calendar_pushes",
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("href", sa.String(length=2000), nullable=False),
        sa.Column("etag", sa.String(length=200), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("pushed_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["calendar_connections.id"],
            name=op.f("fk_calendar_pushes_connection_id_calendar_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_calendar_pushes_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", "schedule_id", name=op.f("pk_calendar_pushes")),
    )
    op.create_table(
        "reminders",
        sa.Column("id", SEQUENCE_ID, autoincrement=True, nullable=False),
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("occurrence_start", TIMESTAMP, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", TIMESTAMP, nullable=True),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint("channel IN ('app', 'email')", name=op.f("ck_reminders_channel")),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'missed', 'cancelled')", name=op.f("ck_reminders_status")
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_reminders_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reminders_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint(
            "schedule_id",
            "occurrence_start",
            "user_id",
            "channel",
            name=op.f("uq_reminders_schedule_id_occurrence_start_user_id_channel"),
        ),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index("ix_reminders_status_due_at", ["status", "due_at"], unique=False)

    op.create_table(
        "schedule_changes",
        sa.Column("id", SEQUENCE_ID, autoincrement=True, nullable=False),
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_changes_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_changes")),
    )
    with op.batch_alter_table("schedule_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_changes_schedule_id"), ["schedule_id"], unique=False
        )

    op.create_table(
        "schedule_exceptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("recurrence_id", TIMESTAMP, nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("start_local", sa.DateTime(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("agenda", sa.Text(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_exceptions_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_exceptions")),
        sa.UniqueConstraint(
            "schedule_id",
            "recurrence_id",
            name=op.f("uq_schedule_exceptions_schedule_id_recurrence_id"),
        ),
    )
    op.create_table(
        "attendee_occurrences",
        sa.Column("attendee_id", sa.Uuid(), nullable=False),
        sa.Column("recurrence_id", TIMESTAMP, nullable=False),
        sa.Column("partstat", sa.String(length=16), nullable=False),
        sa.Column("responded_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["attendee_id"],
            ["attendees.id"],
            name=op.f("fk_attendee_occurrences_attendee_id_attendees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "attendee_id", "recurrence_id", name=op.f("pk_attendee_occurrences")
        ),
    )
    op.create_table(
        "email_outbox",
        sa.Column("id", SEQUENCE_ID, autoincrement=True, nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("to_email", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("ics", sa.Text(), nullable=True),
        sa.Column("ics_method", sa.String(length=16), nullable=True),
        sa.Column("attendee_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'bounced', 'dropped')",
            name=op.f("ck_email_outbox_status"),
        ),
        sa.ForeignKeyConstraint(
            ["attendee_id"],
            ["attendees.id"],
            name=op.f("fk_email_outbox_attendee_id_attendees"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_email_outbox_dedupe_key")),
    )
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_email_outbox_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_email_outbox_status_next_attempt_at")

    op.drop_table("email_outbox")
    op.drop_table("attendee_occurrences")
    op.drop_table("schedule_exceptions")
    with op.batch_alter_table("schedule_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_changes_schedule_id"))

    op.drop_table("schedule_changes")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_status_due_at")

    op.drop_table("reminders")
    op.drop_table("calendar_pushes")
    with op.batch_alter_table("attendees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attendees_user_id"))
        batch_op.drop_index(batch_op.f("ix_attendees_email"))

    op.drop_table("attendees")
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_schedules_organizer_id_first_start")
        batch_op.drop_index(batch_op.f("ix_schedules_meeting_id"))

    op.drop_table("schedules")
    with op.batch_alter_table("busy_blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_busy_blocks_user_id_starts_at")
        batch_op.drop_index(batch_op.f("ix_busy_blocks_connection_id"))

    op.drop_table("busy_blocks")
    op.drop_table("user_settings")
    with op.batch_alter_table("calendar_connections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_connections_user_id"))

    op.drop_table("calendar_connections")
    op.drop_table("consumer_cursors")
