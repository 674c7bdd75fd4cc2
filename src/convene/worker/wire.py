"""The link between a server node and a captions worker: typed JSON messages on a WebSocket.

The worker dials the server (``/internal/worker``, a bearer secret in the ``Authorization``
header) and speaks first. One conversation::

    worker  hello {worker_id, capacity, media_host}       server  welcome {node_id, ...}
    server  offer {meeting}                               worker  claim {meeting}
    server  granted {meeting, epoch}   (or denied)
    server  listen {meeting, participant, language}       worker  listening {..., port}
                                          (the server then has Janus forward that publisher's
                                           Opus to media_host:port)
    worker  caption {meeting, participant, epoch, ...}    (partials and finals)
    worker  audio_quality {meeting, participant, epoch, rating, issues}   (when it changes)
    worker  heartbeat {meetings}  every heartbeat_seconds server  renewed {meetings}
    server  unlisten / revoke {meeting}                   worker  released {meeting}
    server  speak_open {meeting, language, host, port, ssrc}   (a machine voice: Opus RTP to
    server  speak {meeting, language, text}                     host:port, a remote publisher
    server  speak_close {meeting, language}                     of the meeting's media room)

Every message is validated into one of these models at the edge; an invalid one closes the
link (it is a bug or an attack, never a user error).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from convene.protocol.audio_quality import AudioIssue, AudioRating

if TYPE_CHECKING:
    from convene.config import Settings

__all__ = [
    "CLOSE_BAD_MESSAGE",
    "CLOSE_REFUSED",
    "WORKER_PATH",
    "AudioQuality",
    "Caption",
    "Claim",
    "Denied",
    "FromServer",
    "FromWorker",
    "Granted",
    "Heartbeat",
    "Hello",
    "Listen",
    "ListenFailed",
    "Listening",
    "Offer",
    "Released",
    "Renewed",
    "Revoke",
    "Speak",
    "SpeakClose",
    "SpeakOpen",
    "Unlisten",
    "Welcome",
    "decode_from_server",
    "decode_from_worker",
    "default_server_url",
    "encode",
]

WORKER_PATH = "/internal/worker"
CLOSE_REFUSED = 4403  # wrong secret, or a worker from an address that is not allowed
CLOSE_BAD_MESSAGE = 4400  # a message that is not one of the models below

_Id = Annotated[str, Field(min_length=1, max_length=64)]
_Language = Annotated[str, Field(min_length=2, max_length=16)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- worker -> server -------------------------------------------------------------------------


class Hello(_Message):
    type: Literal["hello"] = "hello"
    worker_id: _Id
    capacity: int = Field(ge=1, le=10_000)  # meetings at once
    media_host: str = Field(min_length=1, max_length=255)  # where Janus sends RTP
    languages: list[_Language] = []  # the spoken languages it has a model for ([]: unknown)
    voices: list[_Language] = Field(default=[], max_length=64)  # languages it can speak
    # The engine that speaks each of ``voices`` ({}: not said, an older worker).
    engines: dict[_Language, Literal["espeak-ng", "piper"]] = Field(default={}, max_length=64)


class Claim(_Message):
    type: Literal["claim"] = "claim"
    meeting: _Id


class Heartbeat(_Message):
    type: Literal["heartbeat"] = "heartbeat"
    seq: int = Field(default=0, ge=0)  # echoed by the renewal that answers it
    meetings: list[_Id] = Field(default=[], max_length=10_000)
    lag: float = 0.0  # seconds of audio waiting, the worst of its streams
    dropped_partials: int = 0


class Listening(_Message):
    type: Literal["listening"] = "listening"
    meeting: _Id
    participant: _Id
    port: int = Field(ge=1, le=65535)


class ListenFailed(_Message):
    type: Literal["listen_failed"] = "listen_failed"
    meeting: _Id
    participant: _Id
    code: str = Field(max_length=64)  # e.g. model_not_installed
    message: str = Field(max_length=500)


class Caption(_Message):
    type: Literal["caption"] = "caption"
    meeting: _Id
    participant: _Id
    epoch: int
    final: bool
    text: str = Field(max_length=10_000)
    start: float  # seconds since the speaker's stream started
    end: float
    ends_segment: bool = False
    language: _Language | None = None


class Released(_Message):
    type: Literal["released"] = "released"
    meeting: _Id


class AudioQuality(_Message):
    """The rating of a publisher's audio as the worker hears it changed."""

    type: Literal["audio_quality"] = "audio_quality"
    meeting: _Id
    participant: _Id
    epoch: int
    rating: AudioRating
    issues: list[AudioIssue] = Field(default=[], max_length=4)


FromWorker = Annotated[
    Hello | Claim | Heartbeat | Listening | ListenFailed | Caption | AudioQuality | Released,
    Field(discriminator="type"),
]

# -- server -> worker -------------------------------------------------------------------------


class Welcome(_Message):
    type: Literal["welcome"] = "welcome"
    node_id: str
    heartbeat_seconds: float
    lease_seconds: float


class Offer(_Message):
    type: Literal["offer"] = "offer"
    meeting: _Id


class Granted(_Message):
    type: Literal["granted"] = "granted"
    meeting: _Id
    epoch: int


class Denied(_Message):
    type: Literal["denied"] = "denied"
    meeting: _Id


class Renewed(_Message):
    type: Literal["renewed"] = "renewed"
    seq: int  # the heartbeat it answers
    meetings: dict[str, int]  # meeting -> epoch, the leases the worker still holds


class Revoke(_Message):
    type: Literal["revoke"] = "revoke"
    meeting: _Id


class Listen(_Message):
    type: Literal["listen"] = "listen"
    meeting: _Id
    participant: _Id
    language: _Language | None = None


class Unlisten(_Message):
    type: Literal["unlisten"] = "unlisten"
    meeting: _Id
    participant: _Id


class SpeakOpen(_Message):
    type: Literal["speak_open"] = "speak_open"
    meeting: _Id
    language: _Language
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(ge=1, le=65535)
    ssrc: int = Field(ge=1, lt=1 << 32)


class Speak(_Message):
    type: Literal["speak"] = "speak"
    meeting: _Id
    language: _Language
    text: str = Field(min_length=1, max_length=10_000)


class SpeakClose(_Message):
    type: Literal["speak_close"] = "speak_close"
    meeting: _Id
    language: _Language


FromServer = Annotated[
    Welcome
    | Offer
    | Granted
    | Denied
    | Renewed
    | Revoke
    | Listen
    | Unlisten
    | SpeakOpen
    | Speak
    | SpeakClose,
    Field(discriminator="type"),
]

_from_worker: TypeAdapter[FromWorker] = TypeAdapter(FromWorker)
_from_server: TypeAdapter[FromServer] = TypeAdapter(FromServer)


def decode_from_worker(text: str | bytes) -> FromWorker:
    """Validate one message a worker sent (raises pydantic.ValidationError)."""
    return _from_worker.validate_json(text)


def decode_from_server(text: str | bytes) -> FromServer:
    """Validate one message a server sent (raises pydantic.ValidationError)."""
    return _from_server.validate_json(text)


def encode(message: _Message) -> str:
    return message.model_dump_json()


def default_server_url(settings: Settings) -> str:
    """This install's own server, as the worker endpoint (for a worker on the same host)."""
    host = settings.host
    if host in ("0.0.0.0", "", "::"):  # noqa: S104 - the wildcard means: reach it on loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    scheme = "wss" if settings.tls_cert else "ws"
    return f"{scheme}://{host}:{settings.port}{WORKER_PATH}"
