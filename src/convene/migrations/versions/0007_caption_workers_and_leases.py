"""Captions workers and the leases that assign live meetings to them.

`caption_workers`: one row per worker linked to a server node (its RTP address, capacity and
last heartbeat). `caption_leases`: one row per captioned live meeting naming the worker that
transcribes it until `expires_at`; taken and renewed with conditional UPDATEs (and an INSERT
guarded by the primary key), so two workers never hold one meeting on either engine.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "caption_workers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("heartbeat_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caption_workers")),
    )
    op.create_table(
        "caption_leases",
        sa.Column("meeting_id", sa.String(length=64), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("acquired_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_caption_leases")),
    )
    with op.batch_alter_table("caption_leases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_caption_leases_worker_id"), ["worker_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("caption_leases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_caption_leases_worker_id"))
    op.drop_table("caption_leases")
    op.drop_table("caption_workers")
