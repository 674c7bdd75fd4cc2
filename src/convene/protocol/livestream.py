"""The livestream feature's messages (docs/protocol.md, "Livestream").

A host or co-host starts the livestream (``livestream.start``) and stops it
(``livestream.stop``). A worker composes the program (a screen share first, else the spotlight,
else the active speaker) into HLS: one audio rendition per language channel (the floor first,
then each interpretation channel) and one WebVTT subtitle track per caption language, and
optionally pushes it to an RTMP(S) URL. Everyone admitted gets the state in the snapshot
(``livestream``) and in ``livestream.updated``, with the master playlist's URL: it carries a
signed token that expires (``expires_at``); a fresh URL comes with every ``livestream.updated``.

The RTMP URL holds the platform's stream key: it is never sent back nor logged, only its masked
form (:func:`mask_rtmp_url`: scheme and host).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, StringConstraints

from convene.protocol.base import Model, Out

__all__ = [
    "MAX_RTMP_URL",
    "LivestreamHealth",
    "LivestreamInfo",
    "LivestreamPerson",
    "LivestreamStart",
    "LivestreamState",
    "RtmpState",
    "RtmpUrl",
    "check_rtmp_url",
    "mask_rtmp_url",
]

MAX_RTMP_URL = 1000

# off: not streaming; starting: a worker is being found or ffmpeg is starting; live: segments are
# being written; failed: no worker could stream it, or ffmpeg keeps failing; stopping: being torn
# down.
LivestreamState = Literal["off", "starting", "live", "failed", "stopping"]
RtmpState = Literal["off", "connecting", "live", "failed"]

_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]{2,45}\]$")


def check_rtmp_url(value: str) -> str:
    """An ``rtmp://`` or ``rtmps://`` URL with a host and no whitespace or control characters."""
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("rtmp_url must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError("rtmp_url is not a valid URL") from None
    if parts.scheme not in ("rtmp", "rtmps"):
        raise ValueError("rtmp_url must start with rtmp:// or rtmps://")
    host = parts.netloc.rsplit("@", 1)[-1]
    if port is not None:
        host = host.rsplit(":", 1)[0]
    if not host or not _HOST.match(host):
        raise ValueError("rtmp_url must name a host")
    return value


def mask_rtmp_url(value: str) -> str:
    """What may be shown or logged of an RTMP URL: its scheme and host (the path holds the
    stream key, the user part a password)."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or "?"
    except ValueError:
        return "rtmp://?/…"
    return f"{parts.scheme}://{host}/…"


RtmpUrl = Annotated[
    str,
    StringConstraints(min_length=10, max_length=MAX_RTMP_URL),
    AfterValidator(check_rtmp_url),
]


class LivestreamPerson(Out):
    id: str
    display_name: str


class LivestreamHealth(Out):
    """How the composer is doing (no secrets: errors never carry the RTMP URL)."""

    # Times ffmpeg was restarted since the livestream started.
    restarts: int = 0
    # Seconds since the newest segment was written (None: none yet).
    segment_age_seconds: float | None = None
    last_error: str | None = None


class LivestreamInfo(Out):
    """The meeting's livestream, as everyone sees it (snapshot ``livestream`` and
    ``livestream.updated``)."""

    state: LivestreamState = "off"
    # A worker that can stream is connected (ffmpeg installed): a host may start it.
    available: bool = False
    started_at: datetime | None = None
    by: LivestreamPerson | None = None
    # The master playlist, with a signed token (None while off).
    url: str | None = None
    # When the token in ``url`` expires: a later ``livestream.updated`` brings a fresh one.
    expires_at: datetime | None = None
    # The audio renditions in order: the floor first (None), then each channel's language.
    audio: list[str | None] = []
    # The WebVTT subtitle tracks' languages.
    subtitles: list[str] = []
    rtmp: RtmpState = "off"
    # The RTMP target's scheme and host (never its stream key); None when there is none.
    rtmp_target: str | None = None
    health: LivestreamHealth = LivestreamHealth()


# -- requests -----------------------------------------------------------------------------


class LivestreamStart(Model):
    """Start the livestream; ``rtmp_url`` also pushes it to a streaming platform."""

    rtmp_url: RtmpUrl | None = None

    def __repr__(self) -> str:  # never show the stream key in logs or tracebacks
        masked = None if self.rtmp_url is None else mask_rtmp_url(self.rtmp_url)
        return f"LivestreamStart(rtmp_url={masked!r})"

    __str__ = __repr__
