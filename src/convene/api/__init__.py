"""The REST API (``/api/v1``): thin handlers over :mod:`convene.auth` and :mod:`convene.storage`.

:data:`api_router` holds every versioned endpoint; :mod:`convene.api.health` holds ``/healthz``
and ``/metrics``, which live outside the prefix.
"""

from fastapi import APIRouter

from convene.api import auth, meetings, users
from convene.api.deps import API_PREFIX

__all__ = ["API_PREFIX", "api_router"]

api_router = APIRouter()
api_router.include_router(auth.router)
api_router.include_router(users.router)
api_router.include_router(meetings.router)
