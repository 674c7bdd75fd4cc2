"""Event registration: the meeting's registration policy and its registrants.

`meetings.registration`: `off` (anyone with the link may watch), `open` (an attendee registers
and confirms their address first) or `approval` (a host also approves each registrant). Every
existing meeting gets `off`.

`event_registrations`: one row per registrant of a meeting (an address once per meeting, lower
case), with their name, state (`unconfirmed`, `pending`, `registered`, `denied`), the language of
their mails and when they registered, were last mailed, confirmed, were decided on and first
joined. Deleting the meeting deletes its registrations.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
_POLICY_CHECK = "registration IN ('off', 'open', 'approval')"
_STATE_CHECK = "state IN ('unconfirmed', 'pending', 'registered', 'denied')"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if _sqlite():
        # In place, not batch mode: copying `meetings` into a new table would drop the old one,
        # and with foreign keys on that deletes every row referring to it (see 0009).
        op.execute(
            "ALTER TABLE meetings ADD COLUMN registration VARCHAR(16) DEFAULT 'off' NOT NULL "
            f"CONSTRAINT ck_meetings_registration CHECK ({_POLICY_CHECK})"
        )
    else:
        op.add_column(
            "meetings",
            sa.Column("registration", sa.String(length=16), nullable=False, server_default="off"),
        )
        op.create_check_constraint(op.f("ck_meetings_registration"), "meetings", _POLICY_CHECK)

    op.create_table(
        "event_registrations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("mailed_at", TIMESTAMP, nullable=True),
        sa.Column("confirmed_at", TIMESTAMP, nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("joined_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(_STATE_CHECK, name=op.f("ck_event_registrations_state")),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_event_registrations_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_registrations")),
        sa.UniqueConstraint(
            "meeting_id", "email", name=op.f("uq_event_registrations_meeting_id_email")
        ),
    )
    op.create_index(
        "ix_event_registrations_meeting_id_created_at",
        "event_registrations",
        ["meeting_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_event_registrations_meeting_id_created_at", "event_registrations")
    op.drop_table("event_registrations")
    if _sqlite():
        # In place, as it was added (SQLite 3.35 drops a column whose CHECK is its own).
        op.execute("ALTER TABLE meetings DROP COLUMN registration")
    else:
        op.drop_constraint(op.f("ck_meetings_registration"), "meetings", type_="check")
        op.drop_column("meetings", "registration")
