"""Every REST error has one shape: ``{"error": {"code", "message", "details"}}``.

- :class:`ConveneError` -> its code with the status from ``HTTP_STATUS`` (429 adds ``Retry-After``);
- request validation (FastAPI/Pydantic) -> ``422 invalid_request`` with ``details.errors``
  (location, message and type of each problem; never the submitted values, which may be secrets);
- HTTP errors raised by routing (404, 405, 413...) -> the same status with a matching code;
- anything else -> ``500 internal_error`` with a generic message; the traceback goes to the log
  only (:class:`ErrorMiddleware`).
"""

from __future__ import annotations

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

from convene.protocol.errors import HTTP_STATUS, ConveneError, ErrorCode

__all__ = [
    "ERROR_RESPONSES",
    "MAX_BODY_BYTES",
    "BodyLimitMiddleware",
    "ErrorBody",
    "ErrorMiddleware",
    "ErrorResponse",
    "error_response",
    "install_error_handlers",
]

log = logging.getLogger(__name__)

# REST bodies are small JSON documents; anything bigger is a mistake or an attack.
MAX_BODY_BYTES = 64 * 1024
_MAX_REPORTED_ERRORS = 20


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


async def _convene_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConveneError)
    headers = None
    retry_after = exc.details.get("retry_after")
    if exc.code is ErrorCode.RATE_LIMITED and isinstance(retry_after, int):
        headers = {"Retry-After": str(retry_after)}
    return error_response(exc.code, exc.message, exc.details, headers=headers)


def _loc(part: Any) -> str | int:
    return part if isinstance(part, int) else str(part)[:64]


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
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
    message = "Invalid request"
    if first:
        where = ".".join(str(p) for p in first["loc"] if p not in ("body",)) or "body"
        message = f"Invalid request: {where}: {first['msg']}"
    return error_response(ErrorCode.INVALID_REQUEST, message, {"errors": errors})


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODE_FOR_STATUS.get(exc.status_code, ErrorCode.INVALID_REQUEST)
    if exc.status_code >= 500:
        code = ErrorCode.INTERNAL_ERROR
    message = exc.detail if isinstance(exc.detail, str) else "Request failed"
    return error_response(code, message, status=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Make every handled error use the Convene error shape."""
    app.add_exception_handler(ConveneError, _convene_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


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
            response = error_response(ErrorCode.INTERNAL_ERROR, "Internal server error")
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
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            exc = _BodyTooLarge()
            await error_response(ErrorCode.INVALID_REQUEST, str(exc.detail), status=413)(
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
