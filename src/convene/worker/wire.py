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

The livestream (:mod:`convene.livestream.service`, :mod:`convene.worker.livestream`) has a lease
of its own, so another worker than the captions holder may stream a meeting::

    worker  stream_hello {capacity}                       (after hello: streams it can run)
    server  stream_start {meeting, epoch, out_dir, ...}   worker  stream_status {...}
    server  stream_source {meeting, key, kind, channel}   worker  stream_port {meeting, key, port}
                                          (the server then has Janus forward there)
    server  stream_drop / stream_program / stream_cue     worker  stream_keyframe {meeting, key}
    worker  stream_beat {seq, meetings}                   server  stream_renewed {seq, meetings}
    server  stream_stop {meeting}                         worker  stream_released {meeting}

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
    "StreamBeat",
    "StreamCue",
    "StreamDrop",
    "StreamHello",
    "StreamKeyframe",
    "StreamPort",
    "StreamProgram",
    "StreamReleased",
    "StreamRenewed",
    "StreamSource",
    "StreamStart",
    "StreamStatus",
    "StreamStop",
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


# -- livestream, worker -> server ------------------------------------------------------------

_Key = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9:_-]+$")]


class StreamHello(_Message):
    """How many livestreams the worker can run at once (0: none, e.g. no ffmpeg)."""

    type: Literal["stream_hello"] = "stream_hello"
    capacity: int = Field(ge=0, le=64)


class StreamBeat(_Message):
    type: Literal["stream_beat"] = "stream_beat"
    seq: int = Field(ge=0)  # echoed by the renewal that answers it
    meetings: dict[_Id, int] = Field(default={}, max_length=64)  # meeting -> epoch


class StreamPort(_Message):
    """The UDP port a source's RTP is to be forwarded to (0: the source was refused)."""

    type: Literal["stream_port"] = "stream_port"
    meeting: _Id
    epoch: int
    key: _Key
    port: int = Field(ge=0, le=65535)


class StreamStatus(_Message):
    type: Literal["stream_status"] = "stream_status"
    meeting: _Id
    epoch: int
    state: Literal["starting", "live", "restarting", "failed", "stopped"]
    restarts: int = Field(default=0, ge=0)
    last_error: str | None = Field(default=None, max_length=500)
    segment_age_seconds: float | None = None
    rtmp: Literal["off", "connecting", "live", "failed"] = "off"


class StreamKeyframe(_Message):
    """The program's decoder needs a keyframe of this source."""

    type: Literal["stream_keyframe"] = "stream_keyframe"
    meeting: _Id
    epoch: int
    key: _Key


class StreamReleased(_Message):
    type: Literal["stream_released"] = "stream_released"
    meeting: _Id


FromWorker = Annotated[
    Hello
    | Claim
    | Heartbeat
    | Listening
    | ListenFailed
    | Caption
    | AudioQuality
    | Released
    | StreamHello
    | StreamBeat
    | StreamPort
    | StreamStatus
    | StreamKeyframe
    | StreamReleased,
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


# -- livestream, server -> worker ------------------------------------------------------------


class StreamStart(_Message):
    """Compose the meeting's livestream into ``out_dir`` (the lease's ``epoch``)."""

    type: Literal["stream_start"] = "stream_start"
    meeting: _Id
    epoch: int
    out_dir: str = Field(min_length=1, max_length=4096)
    channels: list[_Language] = Field(default=[], max_length=32)
    subtitles: list[_Language] = Field(default=[], max_length=32)
    floor_language: _Language | None = None
    # A secret (the platform's stream key is in it): never logged.
    rtmp_url: str | None = Field(default=None, max_length=1000, repr=False)
    video_kbps: int = Field(default=2500, ge=200, le=20_000)


class StreamRenewed(_Message):
    type: Literal["stream_renewed"] = "stream_renewed"
    seq: int
    meetings: dict[str, int]  # the livestream leases the worker still holds, with epochs


class StreamSource(_Message):
    """Receive a source: video (VP8) or audio (Opus) of the floor (``channel`` None) or of a
    channel's voice; answered by ``stream_port``."""

    type: Literal["stream_source"] = "stream_source"
    meeting: _Id
    key: _Key
    kind: Literal["audio", "video"]
    channel: _Language | None = None


class StreamDrop(_Message):
    type: Literal["stream_drop"] = "stream_drop"
    meeting: _Id
    key: _Key


class StreamProgram(_Message):
    type: Literal["stream_program"] = "stream_program"
    meeting: _Id
    key: _Key | None = None  # None: a slate


class StreamCue(_Message):
    type: Literal["stream_cue"] = "stream_cue"
    meeting: _Id
    language: _Language
    start_ms: int = Field(ge=0)  # wall clock, Unix milliseconds
    end_ms: int = Field(ge=0)
    text: str = Field(min_length=1, max_length=2000)


class StreamStop(_Message):
    type: Literal["stream_stop"] = "stream_stop"
    meeting: _Id


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
    | SpeakClose
    | StreamStart
    | StreamRenewed
    | StreamSource
    | StreamDrop
    | StreamProgram
    | StreamCue
    | StreamStop,
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
