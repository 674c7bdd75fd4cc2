"""The meeting's captions setting, and when each participant was let in.

`meetings.captions`: may a host turn captions on (`allowed`), are they on from the start
(`auto`), or never (`forbidden`). Every existing meeting gets `allowed`, the server-wide default.

`participation_log.admitted_at`: when the participant was let into the meeting; NULL while
waiting, and for good when they only waited (sent away, or left before a host let them in).
Who may read a meeting's transcript is decided by it. Stays logged before this revision can no
longer be told apart: all but those turned away (`denied`) count as admitted, as they did.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
_CAPTIONS_CHECK = "captions IN ('forbidden', 'allowed', 'auto')"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if _sqlite():
        # Not batch mode: copying `meetings` into a new table would drop the old one, and with
        # foreign keys on that deletes every row referring to it (chat, the participation log,
        # schedules). SQLite adds a column with its own CHECK in place.
        op.execute(
            "ALTER TABLE meetings ADD COLUMN captions VARCHAR(16) DEFAULT 'allowed' NOT NULL "
            f"CONSTRAINT ck_meetings_captions CHECK ({_CAPTIONS_CHECK})"
        )
    else:
        op.add_column(
            "meetings",
            sa.Column("captions", sa.String(length=16), nullable=False, server_default="allowed"),
        )
        op.create_check_constraint(op.f("ck_meetings_captions"), "meetings", _CAPTIONS_CHECK)
    with op.batch_alter_table("participation_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admitted_at", TIMESTAMP, nullable=True))
    op.execute(
        "UPDATE participation_log SET admitted_at = joined_at "
        "WHERE leave_reason IS NULL OR leave_reason <> 'denied'"
    )


def downgrade() -> None:
    with op.batch_alter_table("participation_log", schema=None) as batch_op:
        batch_op.drop_column("admitted_at")
    if _sqlite():
        # In place, as it was added (SQLite 3.35 drops a column whose CHECK is its own).
        op.execute("ALTER TABLE meetings DROP COLUMN captions")
    else:
        op.drop_constraint(op.f("ck_meetings_captions"), "meetings", type_="check")
        op.drop_column("meetings", "captions")
