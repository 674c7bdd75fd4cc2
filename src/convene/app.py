"""The composition root: :func:`create_app` builds one Convene server from its settings.

Services live on ``app.state`` for the lifetime of the app:

==========================  =============================================================
``app.state.settings``      :class:`~convene.config.Settings`
``app.state.db``            :class:`~convene.storage.db.Database` (set while running)
``app.state.passwords``     :class:`~convene.auth.passwords.Passwords`
``app.state.limits``        :class:`~convene.auth.ratelimit.RateLimits`
``app.state.sfu``           the media server, or None (``/healthz`` reports it)
``app.state.live_meetings`` the signaling layer's :class:`~convene.api.meetings.LiveMeetings`,
                            or None (REST changes to live meetings are passed to it)
==========================  =============================================================
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from convene.api import API_PREFIX, api_router, health
from convene.api.errors import BodyLimitMiddleware, ErrorMiddleware, install_error_handlers
from convene.api.middleware import DOCS_PATH, MetricsMiddleware, SecurityHeadersMiddleware
from convene.api.webclient import PACKAGED_WEB_DIR, WebClient
from convene.auth.passwords import Passwords
from convene.auth.ratelimit import RateLimits
from convene.config import Settings
from convene.storage.db import Database

__all__ = ["SchemaOutdatedError", "create_app"]

log = logging.getLogger(__name__)


class SchemaOutdatedError(RuntimeError):
    """The database is not at this version's schema and migrations were not requested."""


def create_app(
    settings: Settings, *, migrate: bool = False, passwords: Passwords | None = None
) -> FastAPI:
    """Build the server.

    ``migrate``: bring the database schema up to date at start-up (``convene serve`` does);
    otherwise start-up fails when the schema is not current. ``passwords``: the hasher to use
    (default: argon2id with the standard costs).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database.from_settings(settings)
        try:
            await _prepare_database(db, migrate=migrate)
            app.state.db = db
            # ---- Start the bus, the media server (app.state.sfu) and the signaling layer
            # ---- (app.state.live_meetings) here, after the database and before serving.
            yield
            # ---- Stop them here, in reverse order, before the database closes.
        finally:
            await db.close()

    app = FastAPI(
        title="Convene",
        summary="Self-hostable online meetings",
        version="1",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=DOCS_PATH,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.passwords = passwords or Passwords()
    app.state.limits = RateLimits()
    app.state.sfu = None
    app.state.live_meetings = None

    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(health.router)
    # ---- Signaling WebSocket route goes here (e.g. app.add_api_websocket_route(...)).

    # Anything no route matched: the web client, or a JSON 404 under /api. Being the router's
    # fallback rather than a catch-all route, it never shadows routes added after it.
    app.router.default = WebClient(settings.web_dir or PACKAGED_WEB_DIR)

    # Middleware added last runs first: metrics see every response, including errors.
    app.add_middleware(ErrorMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    app.add_middleware(MetricsMiddleware)
    return app


async def _prepare_database(db: Database, *, migrate: bool) -> None:
    if migrate:
        await db.migrate()
    else:
        current, head = await db.current_revision(), db.head_revision()
        if current != head:
            raise SchemaOutdatedError(
                f"database schema is at {current or 'nothing'}, this version needs {head}: "
                "run `convene migrate`"
            )
    expired = await db.auth_sessions.delete_expired()
    if expired:
        log.info("removed %d expired sign-in sessions", expired)
