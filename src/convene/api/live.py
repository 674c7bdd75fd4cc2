"""A meeting's livestream as HLS: ``GET /api/v1/live/{meeting}/{token}/{file}``.

No session: players cannot send one, so the signed token in the path is the credential
(:mod:`convene.livestream.tokens`). Only the composer's own kinds of file are served from the
meeting's folder under ``[livestream] output_dir``: playlists (``*.m3u8``), media segments
(``*.ts``, ``*.m4s``, ``*.mp4``, ``*.aac``) and WebVTT segments (``*.vtt``), by names of a
strict pattern (at most one folder deep, no ``..``, nothing absolute), checked again once the
path is resolved. A wrong or expired token, a name outside the pattern and a missing file are
all the same ``404``, so a stranger learns nothing.

Playlists change every segment: ``Cache-Control: no-cache``. A segment never changes once
written (files are renamed into place whole): cached for a day, ``immutable``. Any origin may
read them (a player embedded in another site), since the token alone grants access.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG

import anyio
from fastapi import APIRouter, Request, Response
from starlette.responses import FileResponse

from convene.api.deps import API_PREFIX
from convene.config import Settings, load_secrets
from convene.livestream.tokens import LIVE_PATH, check_token
from convene.protocol.errors import ConveneError, ErrorCode

__all__ = ["FILE_PATTERN", "LIVE_PATH", "live_folder", "router"]

assert f"{API_PREFIX}/live" == LIVE_PATH

router = APIRouter(prefix=LIVE_PATH, tags=["livestream"])

_MEETING = re.compile(r"^[A-Za-z0-9-]{1,64}$")
FILE_PATTERN = re.compile(
    r"^(?:[A-Za-z0-9_-]{1,64}/)?[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\.(m3u8|ts|m4s|mp4|aac|vtt)$"
)
_TYPES = {
    "m3u8": "application/vnd.apple.mpegurl",
    "ts": "video/mp2t",
    "m4s": "video/iso.segment",
    "mp4": "video/mp4",
    "aac": "audio/aac",
    "vtt": "text/vtt; charset=utf-8",
}
_PLAYLIST_CACHE = "no-cache"
_SEGMENT_CACHE = "public, max-age=86400, immutable"


def live_folder(settings: Settings, meeting: str) -> Path:
    """The folder a meeting's livestream is written to."""
    return settings.livestream.folder(settings.data_dir) / meeting


def _not_found() -> ConveneError:
    return ConveneError(ErrorCode.NOT_FOUND, "not found")


def _token_key(request: Request) -> str:
    key: str | None = getattr(request.app.state, "live_token_key", None)
    if key is None:
        key = load_secrets(request.app.state.settings).token_key
        request.app.state.live_token_key = key
    return key


@router.get("/{meeting}/{token}/{file:path}", operation_id="live_file")
@router.head("/{meeting}/{token}/{file:path}", operation_id="live_file_head")
async def live_file(meeting: str, token: str, file: str, request: Request) -> Response:
    """One file of the meeting's livestream (see the module docstring)."""
    settings: Settings = request.app.state.settings
    match = FILE_PATTERN.fullmatch(file)
    if (
        not _MEETING.fullmatch(meeting)
        or match is None
        or ".." in file
        or not check_token(_token_key(request), meeting, token, now=datetime.now(UTC))
    ):
        raise _not_found()
    base = live_folder(settings, meeting).resolve()
    path = (base / file).resolve()
    if not path.is_relative_to(base):
        raise _not_found()
    kind = match.group(1)
    headers = {
        "Cache-Control": _PLAYLIST_CACHE if kind == "m3u8" else _SEGMENT_CACHE,
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
    }
    try:
        if kind == "m3u8":
            # Small, and replaced whole every segment: read now, never half a file later.
            body = await anyio.Path(path).read_bytes()
            return Response(body, media_type=_TYPES[kind], headers=headers)
        stat = await anyio.Path(path).stat()
    except OSError:
        raise _not_found() from None
    if not S_ISREG(stat.st_mode):
        raise _not_found()
    return FileResponse(path, media_type=_TYPES[kind], headers=headers, stat_result=stat)
