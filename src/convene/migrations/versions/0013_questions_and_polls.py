"""Q&A questions and polls, kept for the host after the meeting.

`meeting_questions`: one row per question of a meeting (its text, its asker named unless the
question is anonymous, its state, answer and vote count); `meeting_question_votes`: who voted
for which question, as opaque digests. `meeting_polls`: one row per poll (question, options as
a JSON list, state, whether its results are shared); `meeting_poll_votes`: each person's answer,
named only on a poll that is not anonymous. Deleting the meeting deletes them all.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "meeting_questions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("asker_hash", sa.String(length=64), nullable=False),
        sa.Column("asker_id", sa.String(length=32), nullable=True),
        sa.Column("asker_name", sa.String(length=64), nullable=True),
        sa.Column("asked_at", TIMESTAMP, nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("live", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("answered_by_id", sa.String(length=32), nullable=True),
        sa.Column("answered_by_name", sa.String(length=64), nullable=True),
        sa.Column("answered_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'answered', 'dismissed')", name=op.f("ck_meeting_questions_state")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_questions_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_questions")),
    )
    with op.batch_alter_table("meeting_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_questions_meeting_id"), ["meeting_id"])
    op.create_table(
        "meeting_question_votes",
        sa.Column("question_id", sa.String(length=32), nullable=False),
        sa.Column("voter_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["meeting_questions.id"],
            name=op.f("fk_meeting_question_votes_question_id_meeting_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "question_id", "voter_hash", name=op.f("pk_meeting_question_votes")
        ),
    )
    op.create_table(
        "meeting_polls",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("multiple", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("opened_at", TIMESTAMP, nullable=True),
        sa.Column("closed_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "state IN ('draft', 'open', 'closed')", name=op.f("ck_meeting_polls_state")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_polls_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_polls")),
    )
    with op.batch_alter_table("meeting_polls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_polls_meeting_id"), ["meeting_id"])
    op.create_table(
        "meeting_poll_votes",
        sa.Column("poll_id", sa.String(length=32), nullable=False),
        sa.Column("voter_hash", sa.String(length=64), nullable=False),
        sa.Column("voter_id", sa.String(length=32), nullable=True),
        sa.Column("voter_name", sa.String(length=64), nullable=True),
        sa.Column("choices", sa.String(length=64), nullable=False),
        sa.Column("voted_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["meeting_polls.id"],
            name=op.f("fk_meeting_poll_votes_poll_id_meeting_polls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("poll_id", "voter_hash", name=op.f("pk_meeting_poll_votes")),
    )


def downgrade() -> None:
    op.drop_table("meeting_poll_votes")
    with op.batch_alter_table("meeting_polls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_polls_meeting_id"))
    op.drop_table("meeting_polls")
    op.drop_table("meeting_question_votes")
    with op.batch_alter_table("meeting_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_questions_meeting_id"))
    op.drop_table("meeting_questions")
