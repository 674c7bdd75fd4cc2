"""HTTP middleware: security headers on every response, and request metrics.

Both are plain ASGI middleware (no per-request task or body buffering) and leave WebSocket
connections alone.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from convene.config import Settings
from convene.metrics import HTTP_REQUESTS

__all__ = ["DOCS_PATH", "MetricsMiddleware", "SecurityHeadersMiddleware", "content_security_policy"]

DOCS_PATH = "/api/v1/docs"


def _ws_origin(base_url: str) -> str:
    if base_url.startswith("https://"):
        return "wss://" + base_url.removeprefix("https://")
    return "ws://" + base_url.removeprefix("http://")


def content_security_policy(settings: Settings) -> str:
    """The CSP for the web client: a Vite-built SPA using getUserMedia and WebSockets.

    Scripts only from our origin ('wasm-unsafe-eval' lets in-browser effects such as background
    blur compile WebAssembly; no eval of JavaScript); inline styles are allowed because UI
    libraries set them; media from our origin and from local streams (``blob:``,
    ``mediastream:``); connections to our origin over https and WebSockets. 'self' covers
    same-origin WebSockets in current browsers; the public URL's ws origin is listed for older
    ones. Nobody may frame Convene.
    """
    ws = _ws_origin(settings.base_url)
    directives = {
        "default-src": "'self'",
        "script-src": "'self' 'wasm-unsafe-eval'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: blob:",
        "media-src": "'self' blob: mediastream:",
        "font-src": "'self' data:",
        "connect-src": f"'self' {ws}",
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


# Swagger UI is served from a CDN with an inline bootstrap script; only its page gets this.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    """Add CSP, nosniff, referrer, framing and permission headers to every HTTP response."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        headers = {
            "Content-Security-Policy": content_security_policy(settings),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "X-Frame-Options": "DENY",
            "Cross-Origin-Opener-Policy": "same-origin",
            # Camera, microphone and screen capture for our own pages only.
            "Permissions-Policy": (
                "camera=(self), microphone=(self), display-capture=(self), "
                "geolocation=(), payment=(), usb=()"
            ),
        }
        if settings.base_url.startswith("https://"):
            headers["Strict-Transport-Security"] = "max-age=31536000"
        self._headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self._docs_csp = _DOCS_CSP.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_docs = scope.get("path") == DOCS_PATH

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self._headers:
                    if name == b"content-security-policy" and is_docs:
                        value = self._docs_csp
                    headers.raw.append((name, value))
            await send(message)

        await self.app(scope, receive, send_with_headers)


class MetricsMiddleware:
    """Count requests by method, route template (not raw path: bounded labels) and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            HTTP_REQUESTS.labels(
                method=_method(scope.get("method", "")), route=_route(scope), status=str(status)
            ).inc()


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(method: str) -> str:
    return method if method in _METHODS else "other"


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if str(scope.get("path", "")).startswith("/api/"):
        return "unmatched"
    return "web"
