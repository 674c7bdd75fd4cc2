"""Transcripts: the final caption segments of a meeting, per language.

`transcript_segments`: one row per settled caption segment (the speaker's words, or their
translation into one language), attributed to the speaker, placed in the day (UTC) and in the
transcript (milliseconds since it began). Read per meeting and language in time order.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "transcript_segments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("speaker_id", sa.String(length=32), nullable=False),
        sa.Column("speaker_name", sa.String(length=64), nullable=False),
        sa.Column("speaker_user_id", sa.Uuid(), nullable=True),
        sa.Column("start_at", TIMESTAMP, nullable=False),
        sa.Column("end_at", TIMESTAMP, nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_language", sa.String(length=16), nullable=True),
        sa.Column("translated", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "start_ms >= 0 AND end_ms >= start_ms", name=op.f("ck_transcript_segments_times")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_transcript_segments_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["speaker_user_id"],
            ["users.id"],
            name=op.f("fk_transcript_segments_speaker_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_segments")),
    )
    with op.batch_alter_table("transcript_segments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_transcript_segments_meeting_id_language_start_at",
            ["meeting_id", "language", "start_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_transcript_segments_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("transcript_segments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transcript_segments_created_at"))
        batch_op.drop_index("ix_transcript_segments_meeting_id_language_start_at")
    op.drop_table("transcript_segments")
