"""Starting the scheduling features: their background jobs, registered on the app's owner."""

from __future__ import annotations

from fastapi import FastAPI

from convene.calendars import sync as calendar_sync
from convene.mail import outbox
from convene.scheduling import invitations, reminders
from convene.scheduling.service import SchedulingService

__all__ = ["JOURNAL_CONSUMERS", "install", "schedules_changed", "shutdown"]

# The jobs that act on the schedule-change journal.
JOURNAL_CONSUMERS = (invitations.CONSUMER, reminders.CONSUMER, calendar_sync.PUBLISH_JOB)


def install(app: FastAPI) -> None:
    """Register every scheduling job on ``app.state.background`` (called at start-up, once the
    database, the bus and the clock are on ``app.state``)."""
    # One service per app: it configures the repositories' defaults from the settings (which
    # the jobs below rely on) and owns the busy-time cache that conflict checks reuse.
    app.state.scheduling = SchedulingService(app.state.db, app.state.settings, app.state.clock)
    outbox.install(app)
    invitations.install(app)
    reminders.install(app)
    calendar_sync.install(app)


def shutdown(app: FastAPI) -> None:
    """Release what the scheduling features hold (called after the background jobs stopped)."""
    calendars = getattr(app.state, "calendars", None)
    if calendars is not None:
        calendars.close()


def schedules_changed(app: FastAPI) -> None:
    """A schedule changed (the journal has a new entry): let its consumers act now rather than
    at their next poll."""
    background = app.state.background
    for job in JOURNAL_CONSUMERS:
        background.wake(job)
