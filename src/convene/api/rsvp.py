"""(Being written: see docs/scheduling.md.)"""

from __future__ import annotations

from fastapi import APIRouter

from convene.api.deps import API_PREFIX
from convene.api.errors import ERROR_RESPONSES

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, tags=["rsvp"], responses=ERROR_RESPONSES)
