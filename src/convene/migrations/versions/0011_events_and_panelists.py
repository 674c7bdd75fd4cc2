"""Events: the meeting's mode, its panelist link, and panelists named ahead of time.

`meetings.mode`: `meeting` (everyone interactive), `event` (a panel and a view-only audience) or
`lecture` (an event preset for classes). Every existing meeting gets `meeting`.

`meetings.panelist_token`: the second link of a meeting; joining with it makes one a panelist of
an event. Every existing meeting gets one (random, as for new meetings).

`meeting_panelists`: one row per panelist of a meeting, named by account (`user_id`) or by
address (`email`, lower case; the account with that verified address is found when the meeting
reads them), exactly one of the two, each person once per meeting. Deleting the meeting or the
account deletes the row.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
_MODE_CHECK = "mode IN ('meeting', 'event', 'lecture')"
# As convene.storage.meetings.LINK_TOKEN_BYTES.
_TOKEN_BYTES = 18


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if _sqlite():
        # In place, not batch mode: copying `meetings` into a new table would drop the old one,
        # and with foreign keys on that deletes every row referring to it (see 0009).
        op.execute(
            "ALTER TABLE meetings ADD COLUMN mode VARCHAR(16) DEFAULT 'meeting' NOT NULL "
            f"CONSTRAINT ck_meetings_mode CHECK ({_MODE_CHECK})"
        )
        op.execute("ALTER TABLE meetings ADD COLUMN panelist_token VARCHAR(64)")
    else:
        op.add_column(
            "meetings",
            sa.Column("mode", sa.String(length=16), nullable=False, server_default="meeting"),
        )
        op.create_check_constraint(op.f("ck_meetings_mode"), "meetings", _MODE_CHECK)
        op.add_column("meetings", sa.Column("panelist_token", sa.String(length=64), nullable=True))
    meetings = sa.table("meetings", sa.column("id", sa.Uuid()), sa.column("panelist_token"))
    bind = op.get_bind()
    for (meeting_id,) in bind.execute(sa.select(meetings.c.id)).all():
        bind.execute(
            meetings.update()
            .where(meetings.c.id == meeting_id)
            .values(panelist_token=secrets.token_urlsafe(_TOKEN_BYTES))
        )
    op.create_index(op.f("ix_meetings_panelist_token"), "meetings", ["panelist_token"], unique=True)

    op.create_table(
        "meeting_panelists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("display_name", sa.String(length=64), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (email IS NULL)", name=op.f("ck_meeting_panelists_person")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_panelists_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_meeting_panelists_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_panelists")),
        sa.UniqueConstraint(
            "meeting_id", "user_id", name=op.f("uq_meeting_panelists_meeting_id_user_id")
        ),
        sa.UniqueConstraint(
            "meeting_id", "email", name=op.f("uq_meeting_panelists_meeting_id_email")
        ),
    )
    with op.batch_alter_table("meeting_panelists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_panelists_user_id"), ["user_id"])
        batch_op.create_index(batch_op.f("ix_meeting_panelists_email"), ["email"])


def downgrade() -> None:
    with op.batch_alter_table("meeting_panelists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_panelists_email"))
        batch_op.drop_index(batch_op.f("ix_meeting_panelists_user_id"))
    op.drop_table("meeting_panelists")
    op.drop_index(op.f("ix_meetings_panelist_token"), "meetings")
    if _sqlite():
        # In place, as they were added (SQLite 3.35 drops a column whose CHECK is its own).
        op.execute("ALTER TABLE meetings DROP COLUMN panelist_token")
        op.execute("ALTER TABLE meetings DROP COLUMN mode")
    else:
        op.drop_column("meetings", "panelist_token")
        op.drop_constraint(op.f("ck_meetings_mode"), "meetings", type_="check")
        op.drop_column("meetings", "mode")
