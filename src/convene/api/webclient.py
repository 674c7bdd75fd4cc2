"""Serving the built web client (a single-page app) and its assets.

:class:`WebClient` answers every request that no API route matched:

- ``/assets/...``: Vite's content-hashed files, cached for a year (``immutable``);
- other files at the top of the build (``favicon.ico``...) as they are, revalidated on each use;
- any other GET (``/``, ``/j/<ref>``, ``/signin``...): ``index.html``, so that the client's router
  handles the path; never cached, so that a new deployment is picked up at once;
- unknown ``/api/...`` paths: ``404 not_found`` in the error shape, never the app's HTML.

When the client is not built, the pages say how to build it.
"""

from __future__ import annotations

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

    async def _response(self, relative: str, scope: Scope) -> Response:
        if relative and not relative.endswith("/"):
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
