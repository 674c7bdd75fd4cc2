"""The retention purge: transcripts older than ``transcripts.retention_days`` are deleted.

A background job (``transcripts-purge``) on the app's :class:`~convene.background.Background`,
hourly; ``retention_days = 0`` keeps transcripts until their meeting or its host deletes them.
Every node may run it: the purge is one DELETE, harmless to repeat.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI

from convene.clock import Clock
from convene.config import Settings
from convene.storage.db import Database
from convene.storage.transcripts import TranscriptStore

__all__ = ["INTERVAL_SECONDS", "JOB_NAME", "install", "purge"]

log = logging.getLogger(__name__)

JOB_NAME = "transcripts-purge"
INTERVAL_SECONDS = 3600.0


async def purge(db: Database, settings: Settings, clock: Clock) -> int:
    """Delete the segments past the retention period; how many (0 when transcripts are kept)."""
    days = settings.transcripts.retention_days
    if days <= 0:
        return 0
    removed = await TranscriptStore(db).purge_before(clock.now() - timedelta(days=days))
    if removed:
        log.info("removed %d transcript segments older than %d days", removed, days)
    return removed


def install(app: FastAPI) -> None:
    """Register the purge on ``app.state.background`` (once the database is on ``app.state``)."""
    state = app.state

    async def job() -> None:
        await purge(state.db, state.settings, state.clock)

    state.background.add(JOB_NAME, job, interval=INTERVAL_SECONDS)
