"""The REST API (``/api/v1``): thin handlers over :mod:`convene.auth` and :mod:`convene.storage`.

:data:`api_router` holds every versioned endpoint; :mod:`convene.api.health` holds ``/healthz``
and ``/metrics``, which live outside the prefix.
"""

from fastapi import APIRouter

from convene.api import (
    attendance,
    auth,
    calendars,
    interpreters,
    live,
    meetings,
    panelists,
    polls,
    registrations,
    rsvp,
    scheduling,
    transcripts,
    users,
)
from convene.api.deps import API_PREFIX

__all__ = ["API_PREFIX", "api_router"]

api_router = APIRouter()
api_router.include_router(auth.router)
api_router.include_router(users.router)
api_router.include_router(meetings.router)
api_router.include_router(interpreters.router)
api_router.include_router(panelists.router)
api_router.include_router(scheduling.router)
api_router.include_router(rsvp.router)
api_router.include_router(registrations.router)
api_router.include_router(attendance.router)
api_router.include_router(polls.router)
api_router.include_router(calendars.router)
api_router.include_router(transcripts.router)
api_router.include_router(live.router)
