"""Interpreters named for a meeting ahead of time.

`meeting_interpreters`: one row per interpreter of a meeting, named by account (`user_id`) or by
address (`email`, lower case; the account with that verified address is found when the meeting
reads them), exactly one of the two, each person once per meeting. `language` is the target
language, or with `second_language` the two languages of a bidirectional booth, sorted.
Deleting the meeting or the account deletes the row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "meeting_interpreters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("display_name", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("second_language", sa.String(length=16), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (email IS NULL)", name=op.f("ck_meeting_interpreters_person")
        ),
        sa.CheckConstraint(
            "second_language IS NULL OR language < second_language",
            name=op.f("ck_meeting_interpreters_languages"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_interpreters_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_meeting_interpreters_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_interpreters")),
        sa.UniqueConstraint(
            "meeting_id", "user_id", name=op.f("uq_meeting_interpreters_meeting_id_user_id")
        ),
        sa.UniqueConstraint(
            "meeting_id", "email", name=op.f("uq_meeting_interpreters_meeting_id_email")
        ),
    )
    with op.batch_alter_table("meeting_interpreters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_interpreters_user_id"), ["user_id"])
        batch_op.create_index(batch_op.f("ix_meeting_interpreters_email"), ["email"])


def downgrade() -> None:
    with op.batch_alter_table("meeting_interpreters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_interpreters_email"))
        batch_op.drop_index(batch_op.f("ix_meeting_interpreters_user_id"))
    op.drop_table("meeting_interpreters")
