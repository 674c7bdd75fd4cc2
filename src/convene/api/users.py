"""``/users``: the signed-in user's own account (display name, password)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import StringConstraints

from convene.api.deps import (
    API_PREFIX,
    DB,
    ClientIP,
    CurrentSession,
    CurrentUser,
    Limits,
    PasswordService,
    SettingsDep,
)
from convene.api.errors import ERROR_RESPONSES
from convene.api.schemas import NewPassword, RequestModel, SessionOut, UserOut, UserUpdate
from convene.auth.passwords import PASSWORD_MAX
from convene.auth.sessions import create_session, end_user_sessions, set_session_cookie
from convene.protocol.errors import ConveneError, ErrorCode

__all__ = ["router"]

router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["users"], responses=ERROR_RESPONSES)


class PasswordChange(RequestModel):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX)]
    new_password: NewPassword


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


@router.post("/me/password")
async def change_password(
    request: Request,
    body: PasswordChange,
    response: Response,
    session: CurrentSession,
    db: DB,
    settings: SettingsDep,
    passwords: PasswordService,
    limits: Limits,
    ip: ClientIP,
) -> SessionOut:
    """Change the password, given the current one. Every session of the account ends, this
    one included, and this browser gets a new one (a new cookie and CSRF token); outstanding
    password-reset links are spent. Wrong current passwords count like wrong sign-ins."""
    user = session.user
    limits.signin.hit(f"{ip}|{user.email}")
    found = await db.users.get_credentials(user.email)
    check = await passwords.check(found[1] if found else None, body.current_password)
    if found is None or not check.ok:
        raise ConveneError(ErrorCode.INVALID_CREDENTIALS, "The current password is wrong.")
    await db.users.set_password_hash(user.id, await passwords.hash_async(body.new_password))
    await db.users.cancel_password_resets(user.id, now=request.app.state.clock.now())
    await end_user_sessions(db, getattr(request.app.state, "bus", None), user.id)
    issued = await create_session(db, user.id, settings)
    set_session_cookie(response, issued, settings)
    return SessionOut(user=UserOut.of(issued.session.user), csrf_token=issued.session.csrf_token)
