"""``/healthz`` and ``/metrics`` (outside the versioned API prefix)."""

from __future__ import annotations

import ipaddress
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from convene.api.deps import DB, ClientIP, SettingsDep
from convene.metrics import (
    CAPTIONS_MEETINGS,
    CAPTIONS_WORKERS,
    CAPTIONS_WORST_LAG,
    REGISTRY,
)
from convene.protocol.errors import ConveneError, ErrorCode

__all__ = ["Health", "router"]

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "down"]
    media: Literal["ok", "down", "none"]


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(request: Request, db: DB) -> JSONResponse:
    """Whether the database and the media server answer; 503 when either does not."""
    database = "ok" if await db.healthy() else "down"
    sfu = getattr(request.app.state, "sfu", None)
    media = "none" if sfu is None else ("ok" if sfu.healthy() else "down")
    degraded = database == "down" or media == "down"
    health = Health(
        status="degraded" if degraded else "ok",
        database=database,
        media=media,
    )
    return JSONResponse(health.model_dump(), status_code=503 if degraded else 200)


def _may_scrape(ip: str, trusted: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if address.is_loopback:
        return True
    return any(address in ipaddress.ip_network(t, strict=False) for t in trusted)


def _read_captions(request: Request) -> None:
    """Set the captions gauges from the service's figures (while it runs)."""
    captions = getattr(request.app.state, "captions", None)
    if captions is None:
        return
    figures = captions.figures()
    CAPTIONS_WORKERS.set(figures.workers)
    CAPTIONS_MEETINGS.labels(state="assigned").set(figures.meetings_assigned)
    CAPTIONS_MEETINGS.labels(state="waiting").set(figures.meetings_waiting)
    CAPTIONS_WORST_LAG.set(figures.worst_lag)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request, ip: ClientIP, settings: SettingsDep) -> Response:
    """Prometheus metrics, for the local machine and the trusted proxies' network only."""
    if not _may_scrape(ip, settings.trusted_proxies):
        raise ConveneError(ErrorCode.FORBIDDEN, "Metrics are only served to trusted addresses.")
    _read_captions(request)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
