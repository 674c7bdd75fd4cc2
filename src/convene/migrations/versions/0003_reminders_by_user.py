"""Reminders by person (the in-app reminders a user was sent are looked up when they connect),
and the network address a removed participant was removed from.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reminders_user_id_occurrence_start", ["user_id", "occurrence_start"], unique=False
        )
    with op.batch_alter_table("meeting_bans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address_hash", sa.String(length=64), nullable=True))
        # A guest without a cookie is known by their address alone.
        batch_op.drop_constraint(op.f("ck_meeting_bans_who"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_meeting_bans_who"),
            "user_id IS NOT NULL OR guest_key IS NOT NULL OR address_hash IS NOT NULL",
        )


def downgrade() -> None:
    op.execute("DELETE FROM meeting_bans WHERE user_id IS NULL AND guest_key IS NULL")
    with op.batch_alter_table("meeting_bans", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_meeting_bans_who"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_meeting_bans_who"), "user_id IS NOT NULL OR guest_key IS NOT NULL"
        )
        batch_op.drop_column("address_hash")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_user_id_occurrence_start")
