"""``/users``: the signed-in user's own account."""

from __future__ import annotations

from fastapi import APIRouter

from convene.api.deps import API_PREFIX, DB, CurrentUser
from convene.api.errors import ERROR_RESPONSES
from convene.api.schemas import UserOut, UserUpdate
from convene.protocol.errors import ConveneError, ErrorCode

__all__ = ["router"]

router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["users"], responses=ERROR_RESPONSES)


@router.get("/me")
async def get_me(user: CurrentUser) -> UserOut:
    """The signed-in user."""
    return UserOut.of(user)


@router.patch("/me")
async def update_me(body: UserUpdate, user: CurrentUser, db: DB) -> UserOut:
    """Change the signed-in user's display name."""
    if body.display_name is None:
        return UserOut.of(user)
    updated = await db.users.update(user.id, display_name=body.display_name)
    if updated is None:  # Deleted while signed in.
        raise ConveneError(ErrorCode.AUTH_REQUIRED, "Sign in first.")
    return UserOut.of(updated)
