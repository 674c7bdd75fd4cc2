"""Configuration: defaults for one laptop, overridable by a TOML file and ``CONVENE_*`` variables.

Precedence (highest first): environment variables (``CONVENE_JANUS__NAT_1_1_MAPPING=...``, nested
fields joined by ``__``), the TOML file named by ``CONVENE_CONFIG`` (or ``--config``), defaults.
Secrets that are not configured are generated once per install into ``<data_dir>/secrets.json``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

__all__ = [
    "AuthSettings",
    "CalendarSettings",
    "CaptionsSettings",
    "ConnectionSettings",
    "IceSettings",
    "JanusSettings",
    "LimitSettings",
    "MailSettings",
    "MeetingSettings",
    "QuotaSettings",
    "SchedulingSettings",
    "Secrets",
    "Settings",
    "SpeechSettings",
    "TranscriptSettings",
    "TranslationSettings",
    "WorkerSettings",
    "load_secrets",
    "load_settings",
    "make_private_dir",
    "make_private_file",
]


class JanusSettings(BaseModel):
    """How Convene reaches Janus, and the settings it writes into a child Janus's configuration."""

    mode: Literal["child", "external"] = "child"
    # external: Janus WebSocket API URLs (ws://host:8188); each is one server of the pool.
    urls: list[str] = []
    binary: str = "janus"
    # child: loopback ports for the WebSocket API and admin API; 0 picks free ports at start.
    ws_port: int = 0
    admin_port: int = 0
    # Media addresses: the interface or IP Janus gathers ICE candidates on (all non-loopback ones
    # when empty), the public address announced behind 1:1 NAT, and the UDP port range.
    interface: str | None = None
    nat_1_1_mapping: str | None = None
    ignore_mdns: bool = False
    rtp_port_range: str = "20000-40000"
    stun_server: str | None = None  # host:port
    turn_server: str | None = None  # host:port, used by Janus itself
    turn_type: Literal["udp", "tcp", "tls"] = "udp"
    turn_user: str | None = None
    turn_password: str | None = None
    debug_level: int = Field(default=4, ge=0, le=7)
    event_loops: int = 0  # 0: one thread per handle
    request_timeout: float = Field(default=10.0, gt=0)
    keepalive_interval: float = Field(default=25.0, gt=0)
    # Secrets; generated per install when left empty.
    api_secret: str | None = None
    admin_secret: str | None = None
    admin_key: str | None = None


class MeetingSettings(BaseModel):
    max_participants: int = Field(default=300, ge=2, le=10_000)
    # How long a participant whose connection dropped keeps their seat, role and admission.
    reconnect_grace_seconds: float = Field(default=30.0, ge=0)
    chat_history_limit: int = Field(default=500, ge=0)
    code_digits: int = Field(default=9, ge=6, le=12)
    # -- live meeting hardening (invariants, succession) --
    # How often the reaper checks every live meeting's invariants (seats without a connection
    # past the grace period, empty meetings, media rooms of closed meetings); 0 turns it off.
    reaper_interval_seconds: float = Field(default=15.0, ge=0)
    # When the host leaves a meeting owned by a signed-in user and only guests remain, may a
    # guest become host? Off: the meeting goes on without a host until a signed-in person joins.
    guest_succession: bool = False


class IceSettings(BaseModel):
    """ICE servers handed to browsers (Janus is the peer; browsers may need TURN to reach it)."""

    stun_urls: list[str] = []
    turn_urls: list[str] = []
    # coturn ``use-auth-secret``: short-lived credentials (TURN REST API); or a fixed pair.
    turn_secret: str | None = None
    turn_username: str | None = None
    turn_credential: str | None = None
    turn_ttl_seconds: int = 86_400


class AuthSettings(BaseModel):
    allow_signup: bool = True
    session_days: int = Field(default=14, ge=1)
    # Secure cookies: None means "when the public URL is https".
    cookie_secure: bool | None = None
    # argon2id costs for new password hashes (RFC 9106's second recommended option); existing
    # hashes are upgraded at the next sign-in when these change.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=64 * 1024, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    # Email verification (docs/operations.md, "Email verification and quotas"). Off only for
    # closed servers (accounts made by the operator, or behind SSO): with it off, whoever signs
    # up with an address receives the invitations sent to it.
    require_email_verification: bool = True
    verification_link_hours: int = Field(default=48, ge=1)
    verification_emails_per_hour: int = Field(default=3, ge=1)
    # Password reset by email (docs/operations.md, "Password reset"): how long a link works.
    password_reset_link_minutes: int = Field(default=60, ge=5, le=1440)


class MailSettings(BaseModel):
    """Outgoing mail (invitations, reminders) through an SMTP server, and incoming iMIP replies."""

    enabled: bool = True
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    # "starttls": upgrade a plain connection; "tls": TLS from the start (port 465); "none".
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    timeout: float = Field(default=20.0, gt=0)
    from_address: str = "Convene <convene@localhost>"
    # Where calendar programs send their replies (ORGANIZER/Reply-To); None: the from address.
    reply_address: str | None = None
    # Receive iMIP replies on this SMTP port (an inbound address routed to Convene); 0: off.
    inbound_port: int = Field(default=0, ge=0, le=65535)
    inbound_host: str = "127.0.0.1"
    # Recipients received besides the reply address (e.g. the address a forwarding mail server
    # rewrites it to); mail for any other recipient is refused at RCPT.
    inbound_recipients: list[str] = []
    max_attempts: int = Field(default=8, ge=1)


class SchedulingSettings(BaseModel):
    default_timezone: str = "UTC"
    default_reminder_minutes: int = Field(default=10, ge=0, le=10_080)
    # A reminder found overdue (e.g. after downtime) is still sent up to this late; after that
    # it is recorded as missed, never sent.
    reminder_grace_minutes: int = Field(default=5, ge=0)
    # How far ahead conflicts are checked for open-ended series, and reminders planned.
    horizon_days: int = Field(default=366, ge=7, le=3660)
    max_occurrences: int = Field(default=1000, ge=1, le=100_000)
    max_invitees: int = Field(default=500, ge=1)
    # Free/busy and find-a-time requests per user per minute (together): each may name up to
    # 500 addresses, so this bounds how fast calendars can be looked through.
    availability_per_minute: int = Field(default=30, ge=1)
    # Conflict checks of a draft schedule per user per minute (the scheduling dialog checks
    # again as the draft changes); each may name up to 1,000 addresses.
    conflict_checks_per_minute: int = Field(default=60, ge=1)


class CalendarSettings(BaseModel):
    """Connected calendars (busy times read from ICS URLs or CalDAV) and CalDAV publishing."""

    sync_interval_seconds: float = Field(default=600.0, ge=10)
    fetch_timeout: float = Field(default=20.0, gt=0)
    max_calendar_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_connections_per_user: int = Field(default=10, ge=1)
    # Calendar servers on loopback or private networks (a Nextcloud next to Convene). Off by
    # default: users choose the URLs, and must not reach the server's own network through them.
    # Link-local addresses (cloud metadata services) stay refused either way.
    allow_private_addresses: bool = False
    # Busy times kept per connected calendar (a year of a daily meeting is 366).
    max_busy_blocks: int = Field(default=5000, ge=10)


class LimitSettings(BaseModel):
    """Per-address budgets against guessing and flooding. Whole organisations often reach
    Convene from one address (a hospital's or a company's NAT): keep joins and lookups generous;
    passcode and password guessing are limited per meeting / per account as well."""

    signin_per_5_minutes: int = Field(default=10, ge=1)
    # Sign-in guessing across addresses and accounts (docs/operations.md, "Sign-in, passcode
    # and code-guessing limits"): per account from any address, per address (IPv6 by /64).
    signin_per_account_per_hour: int = Field(default=30, ge=1)
    signin_per_address_per_hour: int = Field(default=60, ge=1)
    # After this many wrong passwords in a row for one account, each attempt waits twice as
    # long as the last, up to the maximum; browsers that signed in to it before are exempt.
    signin_free_failures: int = Field(default=10, ge=1)
    signin_max_backoff_seconds: int = Field(default=900, ge=1)
    # argon2 hashes in flight at once for one address (IPv6 by /64).
    signin_hashing_per_address: int = Field(default=2, ge=1)
    signup_per_hour: int = Field(default=10, ge=1)
    # Password-reset requests per email asked about (the same answer with or without an
    # account), and per address (IPv6 by /64) whatever emails they name.
    password_reset_per_email_per_hour: int = Field(default=3, ge=1)
    password_reset_per_address_per_hour: int = Field(default=20, ge=1)
    passcode_per_10_minutes: int = Field(default=10, ge=1)
    join_per_minute: int = Field(default=600, ge=1)
    lookup_per_minute: int = Field(default=600, ge=1)
    # Passcode and code guessing (docs/operations.md, "Sign-in, passcode and code-guessing
    # limits"). passcode_per_10_minutes above counts wrong passcodes per person and meeting.
    passcode_failures_per_meeting_per_hour: int = Field(default=100, ge=1)
    passcode_failures_per_address_per_hour: int = Field(default=300, ge=1)
    unknown_codes_per_minute: int = Field(default=10, ge=1)
    unknown_codes_burst: int = Field(default=20, ge=1)
    server_unknown_codes_per_minute: int = Field(default=600, ge=1)


class QuotaSettings(BaseModel):
    """What one account, and the whole server, may create and send (docs/operations.md,
    "Email verification and quotas"). Counted in the database, so they hold across nodes.
    0 means no limit."""

    meetings_per_day: int = Field(default=200, ge=0)
    meetings_existing: int = Field(default=2000, ge=0)
    schedules_per_day: int = Field(default=200, ge=0)
    invitees_per_schedule: int = Field(default=200, ge=0)
    emails_per_hour: int = Field(default=300, ge=0)
    server_meetings_per_day: int = Field(default=20_000, ge=0)
    server_emails_per_hour: int = Field(default=5000, ge=0)
    # Accounts whose address is not verified yet (they send no invitation emails at all).
    unverified_meetings_per_day: int = Field(default=20, ge=0)
    unverified_meetings_existing: int = Field(default=20, ge=0)
    unverified_schedules_per_day: int = Field(default=20, ge=0)


class ConnectionSettings(BaseModel):
    """HTTP and signaling connection limits (see docs/operations.md, "Connections")."""

    # Seconds a client has to send a request's headers (slow-header clients are dropped).
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    # Seconds an idle HTTP keep-alive connection is kept open between requests.
    keep_alive_seconds: float = Field(default=5.0, gt=0)
    # Open connections and tasks at most; beyond, new requests get HTTP 503. 0: no limit.
    max_concurrency: int = Field(default=0, ge=0)
    # Bytes of an unfinished request head buffered at most (h11).
    max_incomplete_event_bytes: int = Field(default=16 * 1024, ge=1024)
    # Signaling WebSockets open at once per client address (IPv6 grouped by /64). 0: no cap.
    websockets_per_address: int = Field(default=20, ge=0)
    # Seconds a signaling connection has to send `join` (or `notifications.subscribe`).
    join_timeout_seconds: float = Field(default=10.0, gt=0)


class CaptionsSettings(BaseModel):
    """Live captions in meetings (docs/operations.md, "Captions")."""

    # Off: no meeting can turn captions on (the UI says the server does not offer them).
    enabled: bool = True
    # The languages offered to speak and to read, in this order (BCP 47 tags).
    languages: list[str] = ["ar", "zh", "en", "fr", "ru", "es"]
    # What a new meeting's captions setting is (forbidden, allowed, auto).
    default_policy: Literal["forbidden", "allowed", "auto"] = "allowed"


class SpeechSettings(BaseModel):
    """Speech recognition for captions (docs/operations.md, "Speech models")."""

    # Where `convene models` installs models; default: <data_dir>/models.
    models_dir: Path | None = None
    # The model for each spoken language; "*" for the languages not named.
    default_models: dict[str, str] = {"en": "tiny.en", "*": "base"}
    # "auto": a GPU (CUDA) when CTranslate2 finds one, else the CPU.
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # "auto": int8 on a CPU, float16 on a GPU.
    compute_type: str = "auto"
    # CPU threads per loaded model; 0: CTranslate2's default (all cores).
    cpu_threads: int = Field(default=0, ge=0)
    # Seconds of new speech between two recognitions of a speaker's growing buffer.
    step_seconds: float = Field(default=0.6, ge=0.2, le=5.0)
    # The pause that ends a caption segment; a longer monologue is cut after this many seconds.
    pause_seconds: float = Field(default=0.5, ge=0.1, le=5.0)
    max_segment_seconds: float = Field(default=15.0, ge=5.0, le=28.0)
    # Caption events waiting per speaker; beyond, partials are dropped first, finals never.
    queue_size: int = Field(default=32, ge=1)

    def effective_models_dir(self, data_dir: Path) -> Path:
        return self.models_dir if self.models_dir is not None else data_dir / "models"


class TranslationSettings(BaseModel):
    """Machine translation of captions (docs/operations.md, "Translation")."""

    enabled: bool = True
    # Apertium (en, es, fr, ...): "child" starts apertium-apy, when installed, on a loopback
    # port; "external" uses the apertium-apy at apertium_url; "off".
    apertium: Literal["child", "external", "off"] = "child"
    apertium_url: str | None = None
    apertium_binary: str = "apertium-apy"
    apertium_modes_dir: Path = Path("/usr/share/apertium/modes")
    apertium_port: int = Field(default=0, ge=0, le=65535)  # child: 0 picks a free port
    # CTranslate2 models (OPUS-MT pairs, M2M100), one folder each; default: the translation
    # folder in the speech models folder (<data_dir>/models/translation).
    models_dir: Path | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = "auto"  # int8 on a CPU, float16 on a GPU
    cpu_threads: int = Field(default=0, ge=0)
    beam_size: int = Field(default=2, ge=1, le=8)
    # A pair no engine has is translated through these languages, in this order of preference.
    pivot_languages: list[str] = ["en", "es"]
    max_hops: int = Field(default=2, ge=1, le=3)
    # Seconds one engine call may take; starting a child apertium-apy may take longer.
    timeout_seconds: float = Field(default=5.0, gt=0)
    start_timeout_seconds: float = Field(default=30.0, gt=0)
    cache_size: int = Field(default=4096, ge=0)  # translated segments kept
    max_batch: int = Field(default=32, ge=1)  # segments per engine call


class TranscriptSettings(BaseModel):
    """Stored transcripts of captioned meetings (docs/operations.md, "Transcripts")."""

    # Days a transcript is kept after it was recorded; 0: until the host or the meeting
    # deletes it.
    retention_days: int = Field(default=30, ge=0, le=36_500)


class WorkerSettings(BaseModel):
    """Captions workers and their link to the server (docs/operations.md, "Captions workers")."""

    # The server starts one worker as a child process when a meeting first needs captions.
    # Off when workers run apart (`convene worker` on this host or others).
    embedded: bool = True
    # Worker side: the server's worker endpoint (default: this server's own address).
    server_url: str | None = None
    # Worker side: the address its UDP ports are bound on and Janus forwards RTP to; the
    # advertised one (what Janus sends to) when it differs, e.g. behind NAT.
    media_host: str = "127.0.0.1"
    advertise_host: str | None = None
    # Worker side: the UDP ports speakers' audio may be bound on, "40000-40999" (one per
    # publisher listened to), so that a firewall can open just that range; empty: any free port.
    udp_ports: str = Field(default="", pattern=r"^(\d{1,5}-\d{1,5})?$")
    worker_id: str | None = None  # default: host name and process id
    capacity: int = Field(default=20, ge=1, le=10_000)  # meetings at once
    heartbeat_seconds: float = Field(default=2.0, gt=0, le=30)
    # A worker not heard from for this long loses its meetings to another.
    lease_seconds: float = Field(default=8.0, gt=0, le=120)
    # Server side: addresses workers may link from (IPs or networks).
    allowed_addresses: list[str] = ["127.0.0.1/32", "::1/128"]
    # Seconds a call between server and worker may take (connect, answer a listen).
    request_timeout: float = Field(default=10.0, gt=0)
    # The shared secret workers present; generated per install (secrets.json) when empty.
    secret: str | None = None

    @model_validator(mode="after")
    def _lease_outlasts_heartbeats(self) -> WorkerSettings:
        # A worker stops a meeting 1 s before its lease ends; two heartbeats must fit before.
        if self.lease_seconds < 2 * self.heartbeat_seconds + 1:
            raise ValueError("worker.lease_seconds must be at least 2 * heartbeat_seconds + 1")
        if self.udp_ports:
            low, high = (int(p) for p in self.udp_ports.split("-"))
            if not 1 <= low <= high <= 65535:
                raise ValueError("worker.udp_ports must be a range low-high within 1-65535")
        return self

    @property
    def udp_port_range(self) -> tuple[int, int] | None:
        """``udp_ports`` as (lowest, highest), both included; None: any free port."""
        if not self.udp_ports:
            return None
        low, high = (int(p) for p in self.udp_ports.split("-"))
        return low, high


class VoiceSettings(BaseModel):
    """Machine interpretation: translated captions spoken by a worker (docs/operations.md)."""

    enabled: bool = True
    # Worker side: the espeak-ng program, and how long one utterance may take to synthesise.
    espeak_binary: str = "espeak-ng"
    synthesis_timeout: float = Field(default=10.0, gt=0, le=120)
    # Worker side: Piper voices where installed (the packaged English one, and <name>.onnx +
    # <name>.onnx.json files in piper_dir); a language without one is spoken by espeak-ng.
    piper: bool = True
    piper_dir: Path | None = None


class EventSettings(BaseModel):
    """Large events: a panel and a view-only audience (docs/events.md)."""

    # Attendees one meeting may have (beyond it, joining is meeting_full).
    max_attendees: int = Field(default=10_000, ge=0, le=1_000_000)
    # Attendees who may watch one meeting over WebRTC (view-only subscribers at the media
    # server); the others are refused a subscription (audience_full) and watch the livestream.
    webrtc_viewers: int = Field(default=1000, ge=0, le=100_000)


class LivestreamSettings(BaseModel):
    """Livestreaming a meeting as HLS (docs/operations.md, "Livestream")."""

    enabled: bool = True
    # Where the HLS files are written, one folder per meeting (default: data_dir/livestream).
    # A web server or CDN may serve it; a worker on another host must write to the same
    # folder (shared storage mounted at the same path).
    output_dir: Path | None = None
    # Hours a playlist URL's signed token is valid.
    token_hours: float = Field(default=6.0, gt=0, le=168)
    # Worker side: the ffmpeg program, and how many meetings one worker streams at once.
    ffmpeg: str = "ffmpeg"
    capacity: int = Field(default=2, ge=0, le=64)
    video_kbps: int = Field(default=2500, ge=200, le=20_000)

    def folder(self, data_dir: Path) -> Path:
        """The folder the meetings' HLS folders are in."""
        return self.output_dir or data_dir / "livestream"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONVENE_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    database_url: str | None = None  # default: SQLite file in data_dir
    bus_url: str = "memory://"  # or redis://host:6379/0
    # Origins allowed to open the signaling WebSocket and send cookie-authenticated writes;
    # the public URL's origin and the listening address are always allowed.
    allowed_origins: list[str] = []
    # Addresses of reverse proxies whose X-Forwarded-For is believed (for rate limits).
    trusted_proxies: list[str] = ["127.0.0.1", "::1"]
    web_dir: Path | None = None  # built web client; default: the one packaged with convene
    log_level: str = "info"
    janus: JanusSettings = JanusSettings()
    meetings: MeetingSettings = MeetingSettings()
    ice: IceSettings = IceSettings()
    auth: AuthSettings = AuthSettings()
    mail: MailSettings = MailSettings()
    scheduling: SchedulingSettings = SchedulingSettings()
    calendars: CalendarSettings = CalendarSettings()
    limits: LimitSettings = LimitSettings()
    connections: ConnectionSettings = ConnectionSettings()
    quotas: QuotaSettings = QuotaSettings()
    captions: CaptionsSettings = CaptionsSettings()
    translation: TranslationSettings = TranslationSettings()
    speech: SpeechSettings = SpeechSettings()
    worker: WorkerSettings = WorkerSettings()
    voices: VoiceSettings = VoiceSettings()
    transcripts: TranscriptSettings = TranscriptSettings()
    livestream: LivestreamSettings = LivestreamSettings()
    events: EventSettings = EventSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'convene.db').resolve()}"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.tls_cert else "http"
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"{scheme}://{host}:{self.port}"

    @property
    def secure_cookies(self) -> bool:
        if self.auth.cookie_secure is not None:
            return self.auth.cookie_secure
        return self.base_url.startswith("https://")


class Secrets(BaseModel):
    janus_api_secret: str
    janus_admin_secret: str
    janus_admin_key: str
    # Encrypts stored credentials (connected calendars): a Fernet key (32 bytes, base64url).
    credentials_key: str
    # Signs the tokens in links (invitation answers, calendar feeds) with HMAC-SHA256.
    token_key: str
    # Captions workers present it to link to the server.
    worker_secret: str = ""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (if any), then let environment variables and ``overrides`` win."""
    path = config_file or (Path(p) if (p := os.environ.get("CONVENE_CONFIG")) else None)
    file_values: dict[str, Any] = {}
    if path is not None:
        with path.open("rb") as fh:
            file_values = tomllib.load(fh)
    env_settings = Settings()  # environment only, to learn which fields it sets
    merged = {**file_values, **env_settings.model_dump(exclude_unset=True), **overrides}
    return Settings.model_validate(merged)


# --- Private files: the data folder 0700, secrets and database files 0600 ----------------------


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) readable by this user only; an existing folder is
    left as the operator made it, with a warning when others may read it."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            logging.getLogger(__name__).warning(
                "data folder %s is accessible to other users; chmod 700 it", path
            )
        return
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)  # mkdir's mode is masked by the umask, and parents get the default


def make_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 when missing, or narrow an existing one to 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def load_secrets(settings: Settings) -> Secrets:
    """Return the install's secrets, creating ``secrets.json`` (mode 0600) on first use."""
    path = settings.data_dir / "secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        # Written 0600, but a copy or an older version may have left it readable by others.
        make_private_file(path)
        stored = json.loads(path.read_text())
    changed = False
    for key in Secrets.model_fields:
        if not stored.get(key):
            if key == "credentials_key":
                stored[key] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
            else:
                stored[key] = secrets.token_urlsafe(32)
            changed = True
    if changed:
        make_private_dir(settings.data_dir)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(stored, fh, indent=2)
        tmp.replace(path)
    janus = settings.janus
    return Secrets(
        janus_api_secret=janus.api_secret or stored["janus_api_secret"],
        janus_admin_secret=janus.admin_secret or stored["janus_admin_secret"],
        janus_admin_key=janus.admin_key or stored["janus_admin_key"],
        credentials_key=stored["credentials_key"],
        token_key=stored["token_key"],
        worker_secret=settings.worker.secret or stored["worker_secret"],
    )
