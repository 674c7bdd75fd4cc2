"""Serving the built web client (a single-page app) and its assets.

:class:`WebClient` answers every request that no API route matched:

- ``/assets/...``: Vite's content-hashed files, cached for a year (``immutable``);
- other files at the top of the build (``favicon.ico``...) as they are, revalidated on each use;
- any other GET (``/``, ``/j/<ref>``, ``/signin``...): ``index.html``, so that the client's router
  handles the path; never cached, so that a new deployment is picked up at once;
- unknown ``/api/...`` paths: ``404 not_found`` in the error shape, never the app's HTML.

A file with a pre-compressed copy next to it (``app.js.br``, ``app.js.gz``, made at build time)
is served as that copy when the request's ``Accept-Encoding`` allows it (Brotli first), with
``Content-Encoding``, the original's ``Content-Type`` and ``Vary: Accept-Encoding``.

When the client is not built, the pages say how to build it.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketClose

import convene

__all__ = ["PACKAGED_WEB_DIR", "WebClient"]

PACKAGED_WEB_DIR = Path(convene.__file__).resolve().parent / "static"
ASSETS_PREFIX = "assets/"
_LONG_CACHE = "public, max-age=31536000, immutable"
_NO_CACHE = "no-cache"
# Pre-compressed copies, best first: (Accept-Encoding token, file suffix).
_ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def accepted_encodings(header: str) -> set[str]:
    """The content codings an ``Accept-Encoding`` header accepts (those with q=0 left out)."""
    accepted: set[str] = set()
    for part in header.split(","):
        token, _, params = part.strip().partition(";")
        token = token.strip().lower()
        if not token:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            accepted.add(token)
    return accepted


_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Convene</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>Convene is running</h1>
<p>The web client has not been built yet. From a source checkout, build it with</p>
<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>and reload this page (or point the <code>web_dir</code> setting at a built client).
The REST API is described at <a href="/api/v1/docs">/api/v1/docs</a>.</p>
</body></html>
"""


class WebClient:
    """ASGI app for the web client; used as the router's fallback for unmatched paths."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files = StaticFiles(directory=directory, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await WebSocketClose()(scope, receive, send)
            return
        path: str = scope["path"]
        if path == "/api" or path.startswith("/api/"):
            raise HTTPException(404, "No such API endpoint")
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(405, "Method not allowed", headers={"Allow": "GET, HEAD"})
        response = await self._response(path.lstrip("/"), scope)
        await response(scope, receive, send)

    def _precompressed(self, relative: str, scope: Scope) -> Response | None:
        """The pre-compressed copy of a file the client accepts, or None."""
        if relative.endswith((".br", ".gz")) or ".." in relative.split("/"):
            return None
        original = (self.directory / relative).resolve()
        try:
            original.relative_to(self.directory.resolve())
        except ValueError:
            return None
        if not original.is_file():
            return None
        header = ""
        for name, value in scope.get("headers", []):
            if name == b"accept-encoding":
                header += value.decode("latin-1") + ","
        accepted = accepted_encodings(header)
        for coding, suffix in _ENCODINGS:
            copy = original.with_name(original.name + suffix)
            if coding in accepted and copy.is_file():
                media_type = mimetypes.guess_type(original.name)[0] or "application/octet-stream"
                return FileResponse(
                    copy,
                    media_type=media_type,
                    headers={"Content-Encoding": coding, "Vary": "Accept-Encoding"},
                )
        return None

    async def _response(self, relative: str, scope: Scope) -> Response:
        if relative and not relative.endswith("/"):
            compressed = self._precompressed(relative, scope)
            if compressed is not None:
                long_lived = relative.startswith(ASSETS_PREFIX)
                compressed.headers["Cache-Control"] = _LONG_CACHE if long_lived else _NO_CACHE
                return compressed
            try:
                response = await self._files.get_response(self._files.get_path(scope), scope)
            except HTTPException as exc:
                if exc.status_code != 404:
                    raise
            else:
                long_lived = relative.startswith(ASSETS_PREFIX)
                response.headers["Cache-Control"] = _LONG_CACHE if long_lived else _NO_CACHE
                return response
            if relative.startswith(ASSETS_PREFIX):
                # A missing script must fail as a 404, not load the HTML page as JavaScript.
                raise HTTPException(404, "No such file")
        index = self.directory / "index.html"
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": _NO_CACHE})
        return HTMLResponse(_NOT_BUILT, headers={"Cache-Control": _NO_CACHE})
