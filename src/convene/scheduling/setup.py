"""Starting the scheduling features: their background jobs, registered on the app's owner."""

from __future__ import annotations

from fastapi import FastAPI

from convene.calendars import sync as calendar_sync
from convene.mail import outbox
from convene.scheduling import invitations, reminders

__all__ = ["install", "shutdown"]


def install(app: FastAPI) -> None:
    """Register every scheduling job on ``app.state.background`` (called at start-up, once the
    database, the bus and the clock are on ``app.state``)."""
    outbox.install(app)
    invitations.install(app)
    reminders.install(app)
    calendar_sync.install(app)


def shutdown(app: FastAPI) -> None:
    """Release what the scheduling features hold (called after the background jobs stopped)."""
    calendars = getattr(app.state, "calendars", None)
    if calendars is not None:
        calendars.close()
