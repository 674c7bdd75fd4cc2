"""FastAPI dependencies: the services on ``app.state``, the caller's identity, CSRF checks.

Identity comes only from the ``convene_session`` cookie. Whenever a session is resolved for a
write (POST, PATCH, DELETE...), the CSRF token and the origin are checked too, so no route can
forget them.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from convene.auth.csrf import check_csrf, check_origin
from convene.auth.passwords import Passwords
from convene.auth.ratelimit import RateLimits, client_ip
from convene.auth.sessions import (
    GUEST_COOKIE,
    SESSION_COOKIE,
    guest_key_from_cookie,
    resolve_session,
)
from convene.config import Settings
from convene.protocol.errors import ConveneError, ErrorCode
from convene.storage.auth_sessions import SessionRecord
from convene.storage.db import Database
from convene.storage.users import UserRecord

__all__ = [
    "API_PREFIX",
    "DB",
    "ClientIP",
    "CurrentSession",
    "CurrentUser",
    "GuestKey",
    "Limits",
    "OptionalSession",
    "OptionalUser",
    "OriginChecked",
    "PasswordService",
    "SettingsDep",
]

# Every versioned endpoint lives under this prefix. Each router carries the full prefix itself so
# that a route's path is the whole template (metrics label requests with it).
API_PREFIX = "/api/v1"


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def get_db(request: Request) -> Database:
    return cast(Database, request.app.state.db)


def get_passwords(request: Request) -> Passwords:
    return cast(Passwords, request.app.state.passwords)


def get_limits(request: Request) -> RateLimits:
    return cast(RateLimits, request.app.state.limits)


SettingsDep = Annotated[Settings, Depends(get_settings)]
DB = Annotated[Database, Depends(get_db)]
PasswordService = Annotated[Passwords, Depends(get_passwords)]
Limits = Annotated[RateLimits, Depends(get_limits)]


def get_client_ip(request: Request, settings: SettingsDep) -> str:
    """The caller's address (``X-Forwarded-For`` only from trusted proxies)."""
    return client_ip(request, settings.trusted_proxies)


def get_guest_key(request: Request) -> str | None:
    """The ``convene_guest`` cookie's key, when well formed."""
    return guest_key_from_cookie(request.cookies.get(GUEST_COOKIE))


async def optional_session(request: Request, db: DB, settings: SettingsDep) -> SessionRecord | None:
    """The caller's sign-in session, or None; writes made with it must pass the CSRF check."""
    session = await resolve_session(db, request.cookies.get(SESSION_COOKIE))
    if session is not None:
        check_csrf(request, session, settings)
    return session


async def current_session(
    session: Annotated[SessionRecord | None, Depends(optional_session)],
) -> SessionRecord:
    """The caller's session; ``401 auth_required`` when not signed in."""
    if session is None:
        raise ConveneError(ErrorCode.AUTH_REQUIRED, "Sign in first.")
    return session


def current_user(session: Annotated[SessionRecord, Depends(current_session)]) -> UserRecord:
    return session.user


def optional_user(
    session: Annotated[SessionRecord | None, Depends(optional_session)],
) -> UserRecord | None:
    return session.user if session else None


def origin_checked(request: Request, settings: SettingsDep) -> None:
    """For sign-up and sign-in, which have no session yet: the origin check alone."""
    check_origin(request, settings)


ClientIP = Annotated[str, Depends(get_client_ip)]
GuestKey = Annotated[str | None, Depends(get_guest_key)]
OptionalSession = Annotated[SessionRecord | None, Depends(optional_session)]
CurrentSession = Annotated[SessionRecord, Depends(current_session)]
CurrentUser = Annotated[UserRecord, Depends(current_user)]
OptionalUser = Annotated[UserRecord | None, Depends(optional_user)]
OriginChecked = Annotated[None, Depends(origin_checked)]
