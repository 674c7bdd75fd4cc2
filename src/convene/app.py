"""The composition root: :func:`create_app` builds one Convene server from its settings.

Services live on ``app.state`` for the lifetime of the app:

==========================  =============================================================
``app.state.settings``      :class:`~convene.config.Settings`
``app.state.db``            :class:`~convene.storage.db.Database` (set while running)
``app.state.passwords``     :class:`~convene.auth.passwords.Passwords`
``app.state.limits``        :class:`~convene.auth.ratelimit.RateLimits`
``app.state.bus``           the event bus (set while running)
``app.state.sfu``           the media server (set while running; ``/healthz`` reports it)
``app.state.live_meetings`` the :class:`~convene.signaling.registry.Registry` of live
                            meetings (REST changes to live meetings are passed to it)
``app.state.signaling``     what the signaling WebSocket endpoint needs
``app.state.clock``         the :class:`~convene.clock.Clock` every time-based decision uses
``app.state.background``    the :class:`~convene.background.Background` owner of periodic jobs
``app.state.node_id``       this process's name in database leases (random per start)
``app.state.calendars``     connected calendars: busy sync and CalDAV publishing (while running)
``app.state.captions``      the :class:`~convene.captions.service.CaptionsService` (while
                            running); workers link at ``/internal/worker``
``app.state.embedded_worker`` the child captions worker, started on first demand (or None)
``app.state.voices``        the machine voices (:class:`~convene.voice.service.WorkerVoices`)
``app.state.livestream``    the :class:`~convene.livestream.service.LivestreamService` (while
                            running)
==========================  =============================================================

The live meetings' features are handed what captions need: the captions service, the
transcripts and the translation engines (started by the first captions of any meeting, as
they may start an apertium-apy child; closed at shutdown).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from convene.api import API_PREFIX, api_router, health
from convene.api.errors import BodyLimitMiddleware, ErrorMiddleware, install_error_handlers
from convene.api.middleware import DOCS_PATH, MetricsMiddleware, SecurityHeadersMiddleware
from convene.api.webclient import PACKAGED_WEB_DIR, WebClient
from convene.auth.guard import SignInGuard
from convene.auth.passwords import Argon2Params, Passwords
from convene.auth.ratelimit import RateLimits
from convene.background import Background
from convene.bus import create_bus
from convene.bus.base import Bus
from convene.captions.embedded import EmbeddedWorker
from convene.captions.languages import speech_checker
from convene.captions.link import worker_endpoint
from convene.captions.service import CaptionsService
from convene.clock import Clock, SystemClock
from convene.config import Settings, load_secrets
from convene.livestream.service import LivestreamService
from convene.logs import install_log_redaction
from convene.media.base import SFU
from convene.media.janus import JanusSFU
from convene.scheduling.setup import install as install_scheduling
from convene.scheduling.setup import shutdown as shutdown_scheduling
from convene.signaling import features
from convene.signaling.endpoint import SignalingService, signaling_endpoint
from convene.signaling.features.captions import CaptionServices, LazyTranslation
from convene.signaling.registry import Registry
from convene.storage.db import Database
from convene.storage.transcripts import TranscriptStore
from convene.transcripts.retention import install as install_transcript_retention
from convene.translation.setup import build_registry
from convene.voice.service import WorkerVoices
from convene.worker.wire import WORKER_PATH

__all__ = ["SchemaOutdatedError", "create_app"]

log = logging.getLogger(__name__)


class SchemaOutdatedError(RuntimeError):
    """The database is not at this version's schema and migrations were not requested."""


def create_app(
    settings: Settings,
    *,
    migrate: bool = False,
    passwords: Passwords | None = None,
    sfu: SFU | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the server.

    ``migrate``: bring the database schema up to date at start-up (``convene serve`` does);
    otherwise start-up fails when the schema is not current. ``passwords``: the hasher to use
    (default: argon2id with the standard costs). ``sfu``: the media server (default: Janus as
    the settings describe it, a child process unless external URLs are given). ``clock``: the
    time source (default: the system clock; tests pass a settable one).
    """

    install_log_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Again: uvicorn (re)configures its loggers after the app is built.
        install_log_redaction()
        db = Database.from_settings(settings)
        try:
            await _prepare_database(db, migrate=migrate)
            app.state.db = db
            bus = create_bus(settings.bus_url)
            await bus.start()
            if not bus.shared:
                # Alone: a meeting still marked live was left so by a crash (none is held yet).
                reopened = await db.meetings.reopen_live()
                if reopened:
                    log.info("%d meetings left live by an earlier run marked open", reopened)
            media = sfu or JanusSFU.from_settings(settings)
            try:
                await media.start()
                captions = _captions_service(app, settings, db=db, bus=bus)
                await captions.open()
                app.state.captions = captions
                translation = _translation(settings)
                voices = WorkerVoices(captions, settings, translation=translation)
                await voices.open()
                app.state.voices = voices
                livestream = _livestream_service(
                    app, settings, db=db, captions=captions, translation=translation
                )
                await livestream.open()
                app.state.livestream = livestream
                registry = Registry(
                    sfu=media,
                    bus=bus,
                    db=db,
                    settings=settings,
                    features=features.factory(
                        CaptionServices(
                            service=captions,
                            speech_installed=speech_checker(settings),
                            transcripts=TranscriptStore(db),
                            translation=translation,
                        ),
                        voices,
                        livestream,
                    ),
                )
                app.state.bus, app.state.sfu, app.state.live_meetings = bus, media, registry
                app.state.signaling = SignalingService(
                    registry=registry, db=db, limits=app.state.limits, settings=settings
                )
                background = app.state.background
                install_scheduling(app)
                install_transcript_retention(app)
                background.start()
                try:
                    yield
                finally:
                    await background.stop()
                    shutdown_scheduling(app)
                    # Forwards and machine feeds end while the media rooms still exist.
                    await voices.close()
                    await livestream.close()
                    await captions.close()
                    if app.state.embedded_worker is not None:
                        await app.state.embedded_worker.close()
                    await registry.close()
                    if translation is not None:
                        await translation.close()
            finally:
                await media.close()
                await bus.close()
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
    auth = settings.auth
    app.state.passwords = passwords or Passwords(
        Argon2Params(
            time_cost=auth.argon2_time_cost,
            memory_kib=auth.argon2_memory_kib,
            parallelism=auth.argon2_parallelism,
        )
    )
    app.state.limits = RateLimits.from_settings(settings.limits, settings.scheduling)
    app.state.signin_guard = SignInGuard(
        free_failures=settings.limits.signin_free_failures,
        max_backoff=settings.limits.signin_max_backoff_seconds,
        max_hashing=settings.limits.signin_hashing_per_address,
    )
    app.state.sfu = None
    app.state.live_meetings = None
    app.state.clock = clock or SystemClock()
    app.state.background = Background()
    app.state.node_id = secrets.token_hex(8)

    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(health.router)
    app.add_api_websocket_route(f"{API_PREFIX}/signaling", signaling_endpoint)
    app.add_api_websocket_route(WORKER_PATH, worker_endpoint)
    app.state.captions = None
    app.state.embedded_worker = None
    app.state.voices = None
    app.state.livestream = None

    # Anything no route matched: the web client, or a JSON 404 under /api. Being the router's
    # fallback rather than a catch-all route, it never shadows routes added after it.
    app.router.default = WebClient(settings.web_dir or PACKAGED_WEB_DIR)

    # Middleware added last runs first: metrics see every response, including errors.
    app.add_middleware(ErrorMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    app.add_middleware(MetricsMiddleware)
    return app


def _captions_service(
    app: FastAPI, settings: Settings, *, db: Database, bus: Bus
) -> CaptionsService:
    """The captions service, with the embedded worker started on first demand when configured."""
    secret = load_secrets(settings).worker_secret
    on_demand = None
    if settings.worker.embedded:
        embedded = EmbeddedWorker(settings, secret=secret)
        app.state.embedded_worker = embedded
        on_demand = embedded.demand
    return CaptionsService(
        db=db,
        bus=bus,
        settings=settings,
        node_id=app.state.node_id,
        secret=secret,
        on_demand=on_demand,
    )


def _livestream_service(
    app: FastAPI,
    settings: Settings,
    *,
    db: Database,
    captions: CaptionsService,
    translation: LazyTranslation | None,
) -> LivestreamService:
    """The livestream service, over the captions service's worker links."""
    embedded: EmbeddedWorker | None = app.state.embedded_worker
    service = LivestreamService(
        db=db,
        settings=settings,
        token_key=load_secrets(settings).token_key,
        captions=captions,
        translation=translation,
        on_demand=embedded.demand if embedded is not None else None,
    )
    captions.add_peer(service)
    return service


def _translation(settings: Settings) -> LazyTranslation | None:
    """The translation engines, started by the first meeting that turns captions on (an
    apertium-apy child must not hold the server's start up); None when turned off."""
    if not settings.translation.enabled:
        return None
    return LazyTranslation(build_registry(settings))


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
