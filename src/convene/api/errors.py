"""Every REST error has one shape: ``{"error": {"code", "message", "details"}}``.

- :class:`ConveneError` -> its code with the status from ``HTTP_STATUS`` (429 adds ``Retry-After``);
- request validation (FastAPI/Pydantic) -> ``422 invalid_request`` with ``details.errors``
  (location, message and type of each problem; never the submitted values, which may be secrets);
- HTTP errors raised by routing (404, 405, 413...) -> the same status with a matching code;
- anything else -> ``500 internal_error`` with a generic message; the traceback goes to the log
  only (:class:`ErrorMiddleware`).

``message`` is in the caller's language (:func:`error_language`): the signed-in user's choice,
else the best of ``Accept-Language`` among the six, else English. In English it is the error's
own words; in another language, their translation when the catalogues have it, else the
translated sentence of the code (the specifics stay in ``details``). ``code`` never changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from convene.auth.sessions import SESSION_COOKIE, resolve_session
from convene.i18n import N_, Texts, from_accept_language, pick, texts_for, use_request_language
from convene.protocol.errors import HTTP_STATUS, ConveneError, ErrorCode

__all__ = [
    "ERROR_RESPONSES",
    "MAX_BODY_BYTES",
    "BodyLimitMiddleware",
    "ErrorBody",
    "ErrorMiddleware",
    "ErrorResponse",
    "RequestLanguageMiddleware",
    "error_language",
    "error_response",
    "install_error_handlers",
    "localized_message",
]

log = logging.getLogger(__name__)

# REST bodies are small JSON documents; anything bigger is a mistake or an attack.
MAX_BODY_BYTES = 64 * 1024
_MAX_REPORTED_ERRORS = 20
# Finding the signed-in user's language is one indexed read; an error answer never waits longer.
_LANGUAGE_LOOKUP_SECONDS = 2.0

# The sentence of each code, for a language the error's own words are not translated into.
CODE_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.INVALID_MESSAGE: N_("The message could not be read."),
    ErrorCode.UNKNOWN_TYPE: N_("This kind of message is not known."),
    ErrorCode.INVALID_REQUEST: N_("The request is not valid."),
    ErrorCode.AUTH_REQUIRED: N_("Sign in first."),
    ErrorCode.INVALID_CREDENTIALS: N_("Wrong email address or password."),
    ErrorCode.CSRF_FAILED: N_("The request could not be checked; reload the page and try again."),
    ErrorCode.FORBIDDEN: N_("You are not allowed to do this."),
    ErrorCode.RATE_LIMITED: N_("Too many attempts; wait a moment and try again."),
    ErrorCode.EMAIL_TAKEN: N_("An account with this email address already exists."),
    ErrorCode.EMAIL_NOT_VERIFIED: N_("Confirm your email address first."),
    ErrorCode.VERIFICATION_INVALID: N_(
        "This confirmation link is not valid (used, expired or mistyped); ask for a new one."
    ),
    ErrorCode.RESET_INVALID: N_(
        "This password reset link is not valid (used, expired or mistyped); ask for a new one."
    ),
    ErrorCode.QUOTA_EXCEEDED: N_("A usage limit of this server was reached; try again later."),
    ErrorCode.NOT_FOUND: N_("Not found."),
    ErrorCode.MEETING_NOT_FOUND: N_("There is no meeting with this code."),
    ErrorCode.MEETING_ENDED: N_("This meeting has ended."),
    ErrorCode.MEETING_LOCKED: N_("The meeting is locked; nobody else can join now."),
    ErrorCode.MEETING_FULL: N_("The meeting is full."),
    ErrorCode.PASSCODE_REQUIRED: N_("This meeting needs a passcode."),
    ErrorCode.PASSCODE_INVALID: N_("Wrong passcode."),
    ErrorCode.GUESTS_NOT_ALLOWED: N_("Only signed-in users can join this meeting."),
    ErrorCode.REMOVED: N_("You were removed from this meeting."),
    ErrorCode.DENIED: N_("The host did not let you in."),
    ErrorCode.NOT_JOINED: N_("Join the meeting first."),
    ErrorCode.ALREADY_JOINED: N_("You are already in this meeting."),
    ErrorCode.RESUME_INVALID: N_("This session cannot be resumed; join again."),
    ErrorCode.PARTICIPANT_NOT_FOUND: N_("This participant is not in the meeting."),
    ErrorCode.NAME_TAKEN: N_("This name is already taken."),
    ErrorCode.FEED_NOT_FOUND: N_("This stream is not available."),
    ErrorCode.MUTED_BY_HOST: N_("The host muted you."),
    ErrorCode.CHAT_DISABLED: N_("Chat is turned off in this meeting."),
    ErrorCode.SCREEN_SHARE_DISABLED: N_("Screen sharing is turned off in this meeting."),
    ErrorCode.INVALID_STATE: N_("This cannot be done now."),
    ErrorCode.CAPTIONS_UNAVAILABLE: N_("Captions are not available on this server."),
    ErrorCode.CAPTIONS_FORBIDDEN: N_("Captions are turned off for this meeting."),
    ErrorCode.NOT_INTERPRETER: N_("Only this booth's interpreters can do that."),
    ErrorCode.INTERPRETATION_UNAVAILABLE: N_("No machine voice is available for that language."),
    ErrorCode.LIVESTREAM_UNAVAILABLE: N_("Livestreaming is not available on this server now."),
    ErrorCode.AUDIENCE_FULL: N_("Every live viewer seat is taken; watch the livestream instead."),
    ErrorCode.COMMENTS_DISABLED: N_("Comments are turned off in this meeting."),
    ErrorCode.COMMENT_FILTERED: N_("This comment contains a word the host does not allow."),
    ErrorCode.REGISTRATION_REQUIRED: N_(
        "This event asks its audience to register: join with the link from your registration email."
    ),
    ErrorCode.MEDIA_ERROR: N_("The media server reported an error."),
    ErrorCode.MEDIA_UNAVAILABLE: N_("The media server is not available; try again in a moment."),
    ErrorCode.INTERNAL_ERROR: N_("Internal server error"),
}
_FAILED = N_("The request failed.")
# Errors raised elsewhere in these exact words are translated as they are.
_KNOWN_MESSAGES = frozenset(
    [
        *CODE_MESSAGES.values(),
        N_("Confirm your email address before sending invitations."),
        N_("A confirmation email was sent a moment ago; check your inbox or try again later."),
        N_("The organiser does not answer their own meeting."),
        N_("This meeting belongs to a schedule: cancel the scheduled meeting instead."),
        N_("The window ends before it starts."),
        N_("Request failed"),
    ]
)


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str
    details: dict[str, Any] = {}


class ErrorResponse(BaseModel):
    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorResponse, "description": "Client error"},
    422: {"model": ErrorResponse, "description": "Invalid request (`invalid_request`)"},
}

_CODE_FOR_STATUS = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.AUTH_REQUIRED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    429: ErrorCode.RATE_LIMITED,
}


def error_response(
    code: ErrorCode,
    message: str,
    details: dict[str, Any] | None = None,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The JSON response for an error (status from ``HTTP_STATUS`` unless given)."""
    body = {"error": {"code": code.value, "message": message, "details": details or {}}}
    return JSONResponse(body, status_code=status or HTTP_STATUS[code], headers=headers)


def _header_language(headers: Headers) -> str:
    return pick(from_accept_language(headers.get("accept-language")))


async def error_language(request: Request) -> str:
    """The language of an error answer: the signed-in user's choice (their settings), else the
    best of ``Accept-Language`` among the six, else English."""
    chosen: str | None = None
    cookie = request.cookies.get(SESSION_COOKIE)
    db = getattr(request.app.state, "db", None)
    if cookie and db is not None:
        try:
            async with asyncio.timeout(_LANGUAGE_LOOKUP_SECONDS):
                session = await resolve_session(db, cookie)
                if session is not None:
                    chosen = (await db.user_settings.get(session.user.id)).language
        except Exception:
            # The answer still goes out, in the header's language.
            log.warning("could not read the language of the signed-in user", exc_info=True)
    return pick(chosen, from_accept_language(request.headers.get("accept-language")))


def _quota_message(t: Texts, details: Mapping[str, Any]) -> str | None:
    quota, limit, resets = details.get("quota"), details.get("limit"), details.get("resets_at")
    if not isinstance(quota, str) or not isinstance(limit, int):
        return None
    if isinstance(resets, str):
        return t.gettext(
            "Quota {quota} reached ({limit}); try again after {time}.",
            quota=quota,
            limit=limit,
            time=resets,
        )
    return t.gettext("Quota {quota} reached ({limit}).", quota=quota, limit=limit)


def localized_message(
    code: ErrorCode, message: str, language: str, details: Mapping[str, Any] | None = None
) -> str:
    """``message`` for a reader of ``language``: itself in English; else its translation when
    the catalogues have one, else the sentence of ``code`` (with the figures of a quota)."""
    if language == "en":
        return message
    t = texts_for(language)
    if message in _KNOWN_MESSAGES:
        return t.gettext(message)
    if code is ErrorCode.QUOTA_EXCEEDED:
        quota = _quota_message(t, details or {})
        if quota is not None:
            return quota
    field = (details or {}).get("field")
    if code is ErrorCode.INVALID_REQUEST and isinstance(field, str) and field:
        return t.gettext("Invalid request: {field}", field=field)
    if code is ErrorCode.RATE_LIMITED and isinstance((details or {}).get("retry_after"), int):
        seconds = int((details or {})["retry_after"])
        return t.ngettext(
            "Too many attempts; try again in {n} second.",
            "Too many attempts; try again in {n} seconds.",
            seconds,
        )
    return t.gettext(CODE_MESSAGES.get(code, _FAILED))


async def _convene_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConveneError)
    headers = None
    retry_after = exc.details.get("retry_after")
    if exc.code is ErrorCode.RATE_LIMITED and isinstance(retry_after, int):
        headers = {"Retry-After": str(retry_after)}
    message = localized_message(exc.code, exc.message, await error_language(request), exc.details)
    return error_response(exc.code, message, exc.details, headers=headers)


def _loc(part: Any) -> str | int:
    return part if isinstance(part, int) else str(part)[:64]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [_loc(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", ""))[:200],
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()[:_MAX_REPORTED_ERRORS]
    ]
    first = errors[0] if errors else None
    language = await error_language(request)
    t = texts_for(language)
    # Pydantic's own words (in ``details.errors``) are English; the sentence around them is not.
    message = t.gettext("Invalid request")
    if first:
        where = ".".join(str(p) for p in first["loc"] if p not in ("body",)) or "body"
        if language == "en":
            message = f"Invalid request: {where}: {first['msg']}"
        else:
            message = t.gettext("Invalid request: {field}", field=where)
    return error_response(ErrorCode.INVALID_REQUEST, message, {"errors": errors})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODE_FOR_STATUS.get(exc.status_code, ErrorCode.INVALID_REQUEST)
    if exc.status_code >= 500:
        code = ErrorCode.INTERNAL_ERROR
    message = exc.detail if isinstance(exc.detail, str) else "Request failed"
    message = localized_message(code, message, await error_language(request))
    return error_response(code, message, status=exc.status_code, headers=exc.headers)


class RequestLanguageMiddleware:
    """Keep the ``Accept-Language`` choice of each HTTP request for the texts written while it
    is handled (:func:`convene.i18n.request_language`: e.g. the confirmation email of a
    sign-up)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        language = from_accept_language(Headers(scope=scope).get("accept-language"))
        with use_request_language(language):
            await self.app(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Make every handled error use the Convene error shape, in the caller's language."""
    app.add_exception_handler(ConveneError, _convene_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(RequestLanguageMiddleware)


class ErrorMiddleware:
    """Turn an unexpected exception into ``500 internal_error`` without leaking anything.

    Starlette's outermost error middleware would also answer 500, but then re-raises, which
    aborts the request in test clients and logs twice under uvicorn; this one logs once and
    answers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # Too late for an error response; the server closes the connection.
            language = _header_language(Headers(scope=scope))
            message = texts_for(language).gettext(CODE_MESSAGES[ErrorCode.INTERNAL_ERROR])
            response = error_response(ErrorCode.INTERNAL_ERROR, message)
            await response(scope, receive, send)


class _BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive``; FastAPI re-raises HTTP exceptions met while reading a body."""

    def __init__(self) -> None:
        super().__init__(413, f"Request body larger than {MAX_BODY_BYTES} bytes")


class BodyLimitMiddleware:
    """Refuse request bodies over :data:`MAX_BODY_BYTES` with ``413`` in the error shape."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            exc = _BodyTooLarge()
            message = str(exc.detail)
            language = _header_language(headers)
            if language != "en":
                message = texts_for(language).gettext(
                    "Request body larger than {n} bytes", n=self.max_bytes
                )
            await error_response(ErrorCode.INVALID_REQUEST, message, status=413)(
                scope, receive, send
            )
            return
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        await self.app(scope, receive_limited, send)
