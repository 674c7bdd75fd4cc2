"""Run Janus as a supervised child process, with a configuration folder Convene writes itself.

:func:`write_config` writes ``janus.jcfg``, ``janus.plugin.videoroom.jcfg`` and
``janus.transport.websockets.jcfg`` into a folder; nothing of the Debian samples is reused (their
demo secrets and rooms, the Streaming mountpoints and the other transports stay off). Only the
VideoRoom plugin and the WebSocket transport are loaded, and both WebSocket APIs listen on
127.0.0.1 only.

:class:`JanusProcess` starts ``janus -F <folder>``, waits until its WebSocket API answers, restarts
it with a backoff when it exits on its own, and stops it with SIGINT (SIGKILL after a timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import websockets
from websockets.asyncio.client import connect

from convene.config import JanusSettings, Secrets

__all__ = [
    "DEBIAN_LIB_DIR",
    "JanusConfig",
    "JanusProcess",
    "free_loopback_port",
    "write_config",
]

logger = logging.getLogger("convene.media.janus")


def _debian_lib_dir() -> Path:
    """Where Debian's janus package keeps its plugins: /usr/lib/<multiarch triplet>/janus."""
    found = sorted(Path("/usr/lib").glob("*-linux-gnu*/janus"))
    return found[0] if found else Path("/usr/lib/x86_64-linux-gnu/janus")


DEBIAN_LIB_DIR = _debian_lib_dir()
LOOPBACK = "127.0.0.1"
KEEP_PLUGINS = ("libjanus_videoroom.so",)
KEEP_TRANSPORTS = ("libjanus_websockets.so",)
# Restart backoff: doubles from the first delay up to the last; reset after a stable run.
RESTART_DELAYS = (0.5, 30.0)
STABLE_RUN_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class JanusConfig:
    """What :func:`write_config` wrote: where, and the ports the APIs listen on."""

    folder: Path
    ws_port: int
    admin_port: int
    log_file: Path

    @property
    def url(self) -> str:
        return f"ws://{LOOPBACK}:{self.ws_port}"


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


# ------------------------------------------------------------------------------------------------
# Configuration files (libconfig syntax)
# ------------------------------------------------------------------------------------------------

Value = str | int | bool | Sequence[str]


def _value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a libconfig string literal escapes like JSON
    return "[" + ", ".join(json.dumps(item) for item in value) + "]"


def _render(sections: Mapping[str, Mapping[str, Value]], header: str) -> str:
    lines = [f"# {header}", "# Written by Convene at each start; edits are overwritten.", ""]
    for name, entries in sections.items():
        lines.append(f"{name}: {{")
        lines.extend(f"\t{key} = {_value(value)}" for key, value in entries.items())
        lines.append("}")
        lines.append("")
    return "\n".join(lines)


def _libraries(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".so"))


def _disable_all_but(folder: Path, keep: Sequence[str]) -> dict[str, Value]:
    disabled = [name for name in _libraries(folder) if name not in keep]
    return {"disable": ",".join(disabled)} if disabled else {}


def _host_port(value: str, default_port: int) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit() and host:
        return host.strip("[]"), int(port)
    return value, default_port


def write_config(
    folder: Path,
    settings: JanusSettings,
    secrets: Secrets,
    *,
    ws_port: int | None = None,
    admin_port: int | None = None,
    session_timeout: int = 60,
    lib_dir: Path = DEBIAN_LIB_DIR,
) -> JanusConfig:
    """Write a complete Janus configuration into ``folder`` (created if needed, mode 0700).

    Ports default to the settings; a port of 0 picks a free loopback port now. The files hold
    secrets, so they are written with mode 0600.
    """
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    folder = folder.resolve()
    ws = ws_port if ws_port is not None else settings.ws_port
    admin = admin_port if admin_port is not None else settings.admin_port
    ws = ws or free_loopback_port()
    admin = admin or free_loopback_port()
    while admin == ws:
        admin = free_loopback_port()
    log_file = folder / "janus.log"

    general: dict[str, Value] = {
        "configs_folder": str(folder),
        "plugins_folder": str(lib_dir / "plugins"),
        "transports_folder": str(lib_dir / "transports"),
        "events_folder": str(lib_dir / "events"),
        "loggers_folder": str(lib_dir / "loggers"),
        "debug_level": settings.debug_level,
        "debug_timestamps": True,
        "debug_colors": False,
        "server_name": "convene",
        "session_timeout": session_timeout,
        # Closing the WebSocket ends its sessions at once: Convene creates a new one when it
        # reconnects, it never reclaims an old one.
        "reclaim_session_timeout": 0,
        "api_secret": secrets.janus_api_secret,
        "admin_secret": secrets.janus_admin_secret,
        "hide_dependencies": True,
        "exit_on_dl_error": False,
        "protected_folders": [
            "/bin",
            "/boot",
            "/dev",
            "/etc",
            "/initrd",
            "/lib",
            "/lib32",
            "/lib64",
            "/proc",
            "/sbin",
            "/sys",
            "/usr",
            "/var",
        ],
    }
    if settings.event_loops > 0:
        general["event_loops"] = settings.event_loops

    media: dict[str, Value] = {"rtp_port_range": settings.rtp_port_range, "ipv6": False}

    nat: dict[str, Value] = {"nice_debug": False, "ignore_mdns": settings.ignore_mdns}
    if settings.interface:
        nat["ice_enforce_list"] = settings.interface
    else:
        # Virtual bridges of local VMs and containers are never reachable from browsers.
        nat["ice_ignore_list"] = "vmnet,docker,veth,virbr"
    if settings.nat_1_1_mapping:
        nat["nat_1_1_mapping"] = settings.nat_1_1_mapping
    if settings.stun_server:
        host, port = _host_port(settings.stun_server, 3478)
        nat["stun_server"] = host
        nat["stun_port"] = port
    if settings.turn_server:
        host, port = _host_port(settings.turn_server, 3478)
        nat["turn_server"] = host
        nat["turn_port"] = port
        nat["turn_type"] = settings.turn_type
        if settings.turn_user:
            nat["turn_user"] = settings.turn_user
        if settings.turn_password:
            nat["turn_pwd"] = settings.turn_password

    janus_cfg = _render(
        {
            "general": general,
            "certificates": {},
            "media": media,
            "nat": nat,
            "plugins": _disable_all_but(lib_dir / "plugins", KEEP_PLUGINS),
            "transports": _disable_all_but(lib_dir / "transports", KEEP_TRANSPORTS),
            "loggers": _disable_all_but(lib_dir / "loggers", ()),
            "events": {"broadcast": False, **_disable_all_but(lib_dir / "events", ())},
        },
        "Janus core",
    )
    videoroom_cfg = _render(
        {
            "general": {
                # Rooms (and RTP forwarders) can only be created with this key.
                "admin_key": secrets.janus_admin_key,
                "lock_rtp_forward": True,
                "events": False,
                "string_ids": False,
            }
        },
        "VideoRoom plugin: no static rooms, Convene creates one per meeting",
    )
    websockets_cfg = _render(
        {
            "general": {
                "json": "compact",
                "events": False,
                "ws": True,
                "ws_port": ws,
                "ws_ip": LOOPBACK,
                "ws_acl": "127.0.0.1",
                "wss": False,
                "ws_logging": "err,warn",
            },
            "admin": {
                "admin_ws": True,
                "admin_ws_port": admin,
                "admin_ws_ip": LOOPBACK,
                "admin_ws_acl": "127.0.0.1",
                "admin_wss": False,
            },
        },
        "WebSocket transport: Janus API and Admin API on loopback only",
    )
    files = {
        "janus.jcfg": janus_cfg,
        "janus.plugin.videoroom.jcfg": videoroom_cfg,
        "janus.transport.websockets.jcfg": websockets_cfg,
    }
    for name, text in files.items():
        path = folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
    return JanusConfig(folder=folder, ws_port=ws, admin_port=admin, log_file=log_file)


# ------------------------------------------------------------------------------------------------
# The child process
# ------------------------------------------------------------------------------------------------


async def wait_until_answering(url: str, api_secret: str, within: float) -> None:
    """Return once the Janus WebSocket API at ``url`` answers ``info``; raise TimeoutError."""
    deadline = time.monotonic() + within
    while True:
        try:
            async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                async with connect(
                    url,
                    subprotocols=[websockets.Subprotocol("janus-protocol")],
                    compression=None,
                    proxy=None,
                    open_timeout=None,
                ) as ws:
                    await ws.send(
                        json.dumps(
                            {"janus": "info", "transaction": "ready", "apisecret": api_secret}
                        )
                    )
                    reply = json.loads(await ws.recv())
                    if reply.get("janus") == "server_info":
                        return
        except (OSError, websockets.WebSocketException, TimeoutError, ValueError):
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"Janus did not answer on {url}")
        await asyncio.sleep(0.05)


class JanusProcess:
    """A Janus child process: configured, started, supervised (restarted) and stopped.

    The configuration (and the chosen ports) is written once by :meth:`start`; restarts reuse it,
    so the WebSocket URL stays the same for the life of this object.
    """

    def __init__(
        self,
        settings: JanusSettings,
        secrets: Secrets,
        data_dir: Path,
        *,
        session_timeout: int = 60,
        start_timeout: float = 15.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self._settings = settings
        self._secrets = secrets
        self._folder = (data_dir / "janus").resolve()
        self._session_timeout = session_timeout
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._config: JanusConfig | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self.restarts = 0
        # Called after each restart, once the API answers (the SFU reconnects at once).
        self.on_ready: Callable[[], None] | None = None

    @property
    def config(self) -> JanusConfig:
        if self._config is None:
            raise RuntimeError("JanusProcess not started")
        return self._config

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    def running(self) -> bool:
        return self.pid is not None

    async def start(self) -> None:
        """Write the configuration, launch Janus and wait until its API answers.

        Raises :class:`RuntimeError` if Janus exits or does not answer within the start timeout.
        """
        if self._supervisor is not None:
            return
        self._stopping = False
        self._config = write_config(
            self._folder, self._settings, self._secrets, session_timeout=self._session_timeout
        )
        await self._launch()
        try:
            await self._wait_ready()
        except BaseException:
            await self._terminate()
            raise
        self._supervisor = asyncio.create_task(self._supervise(), name="janus-supervisor")

    async def stop(self) -> None:
        """Stop supervising and stop Janus (SIGINT, then SIGKILL after the stop timeout)."""
        self._stopping = True
        task, self._supervisor = self._supervisor, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._terminate()

    async def _launch(self) -> None:
        config = self.config
        await self._reap_stale()
        if config.log_file.exists():  # keep the previous run's log, for post-mortems
            config.log_file.replace(config.log_file.with_suffix(".log.1"))
        # -N/-L: log to a file only (no stdout to drain), -o: no colour codes in it.
        args = [
            self._settings.binary,
            "-F", str(config.folder),
            "-C", str(config.folder / "janus.jcfg"),
            "-o", "-N", "-D",
            "-L", str(config.log_file),
        ]  # fmt: skip
        self._proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in Convene's terminal is Convene's to forward
        )
        self._pid_file.write_text(str(self._proc.pid))
        logger.info("janus started pid=%s ws_port=%s", self._proc.pid, config.ws_port)

    @property
    def _pid_file(self) -> Path:
        return self._folder / "janus.pid"

    def _stale_pid(self) -> int | None:
        """The pid of a Janus still running on this folder (per the pid file), if any."""
        try:
            pid = int(self._pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        if str(self._folder).encode() not in cmdline or Path(cmdline[0].decode()).name != "janus":
            return None  # the pid now belongs to some other process
        return pid

    async def _reap_stale(self) -> None:
        """Kill a Janus left running on this folder by a Convene that died without stopping it."""
        pid = self._stale_pid()
        if pid is None:
            return
        logger.warning("killing a stale janus pid=%s left on %s", pid, self._folder)
        try:
            os.kill(pid, signal.SIGKILL)
            for _ in range(100):  # not our child: poll until it is gone (and its ports are free)
                await asyncio.sleep(0.01)
                os.kill(pid, 0)
        except ProcessLookupError:
            return

    async def _wait_ready(self) -> None:
        proc = self._proc
        assert proc is not None
        ready = asyncio.create_task(
            wait_until_answering(
                self.url, self._secrets.janus_api_secret, within=self._start_timeout
            )
        )
        exited = asyncio.create_task(proc.wait())
        try:
            done, _ = await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (ready, exited):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await task
        if exited in done:
            raise RuntimeError(
                f"janus exited with status {proc.returncode} at start; see {self.config.log_file}"
            )
        if ready.exception() is not None:
            raise RuntimeError(f"janus did not answer within {self._start_timeout} s")

    async def _supervise(self) -> None:
        delay = RESTART_DELAYS[0]
        while True:
            proc = self._proc
            assert proc is not None
            started = time.monotonic()
            code = await proc.wait()
            if self._stopping:
                return
            if time.monotonic() - started > STABLE_RUN_SECONDS:
                delay = RESTART_DELAYS[0]
            logger.warning("janus exited with status %s; restarting in %.1f s", code, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_DELAYS[1])
            try:
                await self._launch()
                await self._wait_ready()
            except (OSError, RuntimeError) as exc:
                logger.error("janus restart failed: %s", exc)
                await self._terminate()
                # The failed process is gone: loop on a finished one to back off and try again.
                continue
            self.restarts += 1
            logger.info("janus restarted (restart %d)", self.restarts)
            if self.on_ready is not None:
                self.on_ready()

    async def _terminate(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        try:
            await self._stop(proc)
        finally:
            self._pid_file.unlink(missing_ok=True)

    async def _stop(self, proc: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(self._stop_timeout):
                await proc.wait()
        except TimeoutError:
            logger.warning("janus did not stop on SIGINT; killing it")
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
