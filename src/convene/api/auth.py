"""``/auth``: sign-up, sign-in, sign-out, the current session, email verification and password
reset."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, BackgroundTasks, Request, Response, status
from pydantic import StringConstraints

from convene.api.deps import (
    API_PREFIX,
    DB,
    ClientIP,
    CurrentSession,
    Limits,
    OptionalSession,
    OriginChecked,
    PasswordService,
    SettingsDep,
)
from convene.api.errors import ERROR_RESPONSES
from convene.api.schemas import (
    Email,
    NewPassword,
    RequestModel,
    SessionOut,
    SignIn,
    SignUp,
    UserOut,
    VerifyEmail,
)
from convene.auth.guard import DEVICE_COOKIE, DeviceKeys, SignInGuard
from convene.auth.password_reset import TOKEN_MAX, request_reset, reset_password
from convene.auth.ratelimit import address_group
from convene.auth.sessions import (
    SESSION_COOKIE,
    IssuedSession,
    announce_signed_out,
    clear_session_cookie,
    create_session,
    end_session,
    end_user_sessions,
    set_session_cookie,
)
from convene.auth.verification import send_confirmation, verify
from convene.config import Settings, load_secrets
from convene.mail.outbox import JOB_NAME as MAIL_JOB
from convene.protocol.errors import ConveneError, ErrorCode
from convene.storage.db import Database

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"], responses=ERROR_RESPONSES)


_DEVICE_MAX_AGE = 400 * 24 * 3600  # browsers cap cookies at 400 days


class ForgotPassword(RequestModel):
    email: Email


class ResetPassword(RequestModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=TOKEN_MAX)]
    password: NewPassword


def _device_keys(request: Request) -> DeviceKeys:
    keys = getattr(request.app.state, "device_keys", None)
    if keys is None:
        keys = DeviceKeys(load_secrets(request.app.state.settings).token_key)
        request.app.state.device_keys = keys
    return cast(DeviceKeys, keys)


def _remember_device(
    request: Request, response: Response, settings: SettingsDep, email: str
) -> None:
    """Mark this browser as one that signed in to ``email``'s account (convene.auth.guard)."""
    devices = _device_keys(request)
    response.set_cookie(
        DEVICE_COOKIE,
        devices.merge(request.cookies.get(DEVICE_COOKIE), devices.issue(email)),
        max_age=_DEVICE_MAX_AGE,
        path=f"{API_PREFIX}/auth",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock.now()
    return now


def _wake_mail(request: Request) -> Callable[[], None]:
    background = request.app.state.background
    return lambda: background.wake(MAIL_JOB) if background is not None else None


def _signed_in(response: Response, issued: IssuedSession, settings: SettingsDep) -> SessionOut:
    set_session_cookie(response, issued, settings)
    return SessionOut(user=UserOut.of(issued.session.user), csrf_token=issued.session.csrf_token)


@router.post("/signup", status_code=status.HTTP_201_CREATED)
async def sign_up(
    request: Request,
    body: SignUp,
    response: Response,
    _origin: OriginChecked,
    db: DB,
    settings: SettingsDep,
    passwords: PasswordService,
    limits: Limits,
    ip: ClientIP,
) -> SessionOut:
    """Create an account and sign in to it."""
    if not settings.auth.allow_signup:
        raise ConveneError(ErrorCode.FORBIDDEN, "Sign-up is disabled on this server.")
    limits.signup.hit(ip)
    password_hash = await passwords.hash_async(body.password)
    verifying = settings.auth.require_email_verification
    user = await db.users.create(
        email=body.email,
        display_name=body.display_name,
        password_hash=password_hash,
        verified=not verifying,
    )
    if verifying:
        await send_confirmation(db, settings, user, now=_now(request), wake=_wake_mail(request))
    _remember_device(request, response, settings, user.email)
    return _signed_in(response, await create_session(db, user.id, settings), settings)


@router.post("/signin")
async def sign_in(
    request: Request,
    body: SignIn,
    response: Response,
    _origin: OriginChecked,
    db: DB,
    settings: SettingsDep,
    passwords: PasswordService,
    limits: Limits,
    ip: ClientIP,
) -> SessionOut:
    """Sign in with email and password. Attempts are limited per address and email, per
    account from any address (with a growing wait after repeated failures), and per address
    (IPv6 by /64) across accounts; a browser that signed in to the account before is exempt
    from the per-account limits (docs/operations.md, "Sign-in, passcode and code-guessing
    limits")."""
    email = body.email.strip().lower()
    guard: SignInGuard = request.app.state.signin_guard
    devices = _device_keys(request)
    known = devices.knows(request.cookies.get(DEVICE_COOKIE), email)
    group = address_group(ip)
    key = f"{ip}|{email}"
    limits.signin.hit(key)
    if not known:
        guard.check(email)
        limits.signin_account.hit(email)
    limits.signin_address.hit(group)
    with guard.hashing(group):
        found = await db.users.get_credentials(body.email)
        check = await passwords.check(found[1] if found else None, body.password)
    if found is None or not check.ok:
        if not known:
            guard.failed(email)
        raise ConveneError(ErrorCode.INVALID_CREDENTIALS, "Email or password is wrong.")
    user = found[0]
    limits.signin.reset(key)
    guard.succeeded(email)
    _remember_device(request, response, settings, email)
    if check.new_hash is not None:
        await db.users.set_password_hash(user.id, check.new_hash)
    return _signed_in(response, await create_session(db, user.id, settings), settings)


@router.post("/signout", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(
    request: Request, _session: CurrentSession, db: DB, settings: SettingsDep
) -> Response:
    """End the current session and clear its cookie; the signaling connections opened with it
    leave their meetings."""
    await end_session(db, request.cookies.get(SESSION_COOKIE))
    await announce_signed_out(getattr(request.app.state, "bus", None), _session.user.id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, settings)
    return response


@router.get("/session")
async def get_session(session: OptionalSession) -> SessionOut:
    """The signed-in user and the CSRF token to send with writes; 401 when signed out."""
    if session is None:
        raise ConveneError(ErrorCode.AUTH_REQUIRED, "Not signed in.")
    return SessionOut(user=UserOut.of(session.user), csrf_token=session.csrf_token)


@router.post("/verify")
async def verify_email(
    request: Request,
    body: VerifyEmail,
    _origin: OriginChecked,
    db: DB,
    limits: Limits,
    ip: ClientIP,
) -> UserOut:
    """Follow a confirmation link: the token from ``/verify?token=...``. Works signed out (the
    link may be opened in another browser); single use. Attempts are limited per address."""
    limits.signin.hit(f"verify|{ip}")
    return UserOut.of(await verify(db, body.token, now=_now(request)))


@router.post("/verify/resend", status_code=status.HTTP_202_ACCEPTED)
async def resend_verification(
    request: Request, session: CurrentSession, db: DB, settings: SettingsDep
) -> UserOut:
    """Send the signed-in user a new confirmation link (a few per hour at most)."""
    user = session.user
    if user.email_verified:
        return UserOut.of(user)
    await send_confirmation(db, settings, user, now=_now(request), wake=_wake_mail(request))
    return UserOut.of(user)


async def _mail_reset_link(
    db: Database, settings: Settings, email: str, now: datetime, wake: Callable[[], None]
) -> None:
    try:
        await request_reset(db, settings, email, now=now, wake=wake)
    except Exception:
        log.exception("could not mail a password reset link")


@router.post("/password/forgot", status_code=status.HTTP_202_ACCEPTED)
async def forgot_password(
    request: Request,
    body: ForgotPassword,
    background: BackgroundTasks,
    _origin: OriginChecked,
    db: DB,
    settings: SettingsDep,
    limits: Limits,
    ip: ClientIP,
) -> Response:
    """Ask for a password reset link. The answer is ``202`` with no body whether or not the
    address has an account (a link is mailed only to a verified one); limited per email asked
    about and per address (IPv6 by /64), the same way for every email."""
    email = body.email
    group = address_group(ip)
    # A refused request spends neither budget, so waiting always helps.
    if limits.reset_address.retry_after(group) is None:
        limits.reset_email.hit(email)
    limits.reset_address.hit(group)
    # Looked up and mailed after the answer is sent: an address with an account costs a few
    # more database writes, and the time to answer must not tell which addresses have one.
    background.add_task(_mail_reset_link, db, settings, email, _now(request), _wake_mail(request))
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post("/password/reset")
async def reset_with_link(
    request: Request,
    body: ResetPassword,
    response: Response,
    _origin: OriginChecked,
    db: DB,
    settings: SettingsDep,
    passwords: PasswordService,
    limits: Limits,
    ip: ClientIP,
) -> SessionOut:
    """Follow a reset link: the token from ``/reset?token=...`` and the new password. Signs
    out every session of the account, lifts the sign-in backoff of the account, and signs
    this browser in. Single use; attempts are limited per address."""
    limits.signin.hit(f"reset|{ip}")
    user = await reset_password(db, passwords, body.token, body.password, now=_now(request))
    await end_user_sessions(db, getattr(request.app.state, "bus", None), user.id)
    guard: SignInGuard = request.app.state.signin_guard
    guard.succeeded(user.email)
    limits.signin_account.reset(user.email)
    _remember_device(request, response, settings, user.email)
    return _signed_in(response, await create_session(db, user.id, settings), settings)
