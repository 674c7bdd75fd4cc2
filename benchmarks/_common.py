"""What the benchmarks share: a Convene server in its own process, CPU counters, aiortc peers.

The server is the real ``convene serve`` (so its CPU and its child Janus's CPU can be read apart
from the peers'), configured through ``CONVENE_*`` variables to keep ICE on 127.0.0.2: run the
benchmarks inside the network namespace made by ``scripts/netns``. The signaling client, the
tone and the ICE restriction are the test suite's (:mod:`tests.support`); :class:`Sender`
publishes a video the encoder cannot shrink below its target bitrate, and :class:`Viewer`
receives, decodes, and notes when its first frame was decoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiortc.codecs.vpx
import httpx
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame
from tests.support.peer import ICE_ADDRESS, ToneAudioTrack, restrict_ice_to
from tests.support.signal import SignalClient
from websockets.asyncio.client import connect

__all__ = [
    "CLOCK_TICKS",
    "ConveneProcess",
    "CpuSample",
    "Host",
    "NoiseVideoTrack",
    "Sender",
    "Viewer",
    "cap_vp8_bitrate",
    "cpu_seconds",
    "in_namespace",
    "machine_cpu_seconds",
    "run_benchmark",
    "running_convene",
    "subscribe",
]

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
PASSWORD = "correct horse battery staple"


def in_namespace() -> bool:
    """True inside the namespace made by ``scripts/netns`` (127.0.0.2 on the veth ``cvn0``)."""
    return Path("/sys/class/net/cvn0").exists()


# ------------------------------------------------------------------------------------------------
# CPU counters
# ------------------------------------------------------------------------------------------------


def run_benchmark(
    script: str,
    run: Callable[[], Coroutine[Any, Any, dict[str, Any]]],
    json_file: Path | None,
    print_line: Callable[[str], None] = print,
) -> None:
    """A benchmark's ``main``: inside the media namespace only, its figures also written to
    ``json_file`` when given."""
    if not in_namespace():
        print_line(
            "Run this inside the media network namespace: sudo scripts/netns up && "
            f"sudo ip netns exec convene-test .venv/bin/python benchmarks/{script}"
        )
        raise SystemExit(2)
    results = asyncio.run(run())
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(json.dumps(results, indent=2, default=str))
        print_line(f"figures written to {json_file}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time that process ``pid`` (all its threads) has used, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS


def machine_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (every core, every process), in seconds."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    busy = sum(values[:8]) - values[3] - values[4]
    return busy / CLOCK_TICKS


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far by each process of interest, at one instant."""

    at: float
    convene: float
    janus: float
    benchmark: float
    machine: float

    @classmethod
    def take(cls, server: ConveneProcess) -> CpuSample:
        return cls(
            at=time.monotonic(),
            convene=cpu_seconds(server.pid),
            janus=cpu_seconds(server.janus_pid),
            benchmark=cpu_seconds(os.getpid()),
            machine=machine_cpu_seconds(),
        )

    def percent_since(self, earlier: CpuSample) -> dict[str, float]:
        """CPU use between two samples, in percent of one core (as ``top`` shows it)."""
        wall = self.at - earlier.at
        return {
            name: 100.0 * (getattr(self, name) - getattr(earlier, name)) / wall
            for name in ("convene", "janus", "benchmark", "machine")
        }


# ------------------------------------------------------------------------------------------------
# Convene in its own process
# ------------------------------------------------------------------------------------------------


@dataclass
class Host:
    """A signed-in account (its cookie jar), as a browser would hold it."""

    http: httpx.AsyncClient
    csrf: str

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies.jar if c.value)

    async def create_meeting(self, **settings: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/api/v1/meetings", json=settings, headers={"X-CSRF-Token": self.csrf}
        )
        response.raise_for_status()
        meeting: dict[str, Any] = response.json()
        return meeting


@dataclass
class ConveneProcess:
    """A running ``convene serve`` and its child Janus."""

    process: asyncio.subprocess.Process
    data_dir: Path
    log_file: Path
    base_url: str
    janus_pid: int
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def sign_up(self, email: str, name: str) -> Host:
        http = httpx.AsyncClient(base_url=self.base_url, timeout=15.0)
        self._clients.append(http)
        response = await http.post(
            "/api/v1/auth/signup", json={"email": email, "password": PASSWORD, "display_name": name}
        )
        response.raise_for_status()
        return Host(http, response.json()["csrf_token"])

    async def signal(self, host: Host | None = None) -> SignalClient:
        """A new signaling connection: the host's (with its cookie), or a guest's."""
        headers = {"Cookie": host.cookie_header()} if host is not None else {}
        ws_url = self.base_url.replace("http://", "ws://") + "/api/v1/signaling"
        return SignalClient(await connect(ws_url, additional_headers=headers, open_timeout=10))

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _convene_command() -> list[str]:
    script = Path(sys.executable).with_name("convene")
    if script.exists():
        return [str(script)]
    found = shutil.which("convene")
    if found is None:
        raise RuntimeError("the convene command is not installed (pip install -e .)")
    return [found]


def _child_pids(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            children += [int(c) for c in (task / "children").read_text().split()]
    return children


def _process_name(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip()
    return ""


async def _wait_ready(base_url: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as http:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"convene serve exited with status {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                response = await http.get("/healthz")
                if response.status_code == 200 and response.json().get("media") == "ok":
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"convene serve not ready within {START_TIMEOUT:.0f} s")
            await asyncio.sleep(0.1)


async def _find_janus(pid: int) -> int:
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        for child in _child_pids(pid):
            if _process_name(child) == "janus":
                return child
        await asyncio.sleep(0.1)
    raise RuntimeError("convene serve has no janus child process")


async def _stop(process: asyncio.subprocess.Process, janus_pid: int | None) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)  # Convene stops its Janus on the way out
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
    if janus_pid is not None and _process_name(janus_pid) == "janus":
        with contextlib.suppress(ProcessLookupError):
            os.kill(janus_pid, signal.SIGKILL)  # orphaned by a Convene that had to be killed


@asynccontextmanager
async def running_convene(
    *, keep_dir: bool = False, web_dir: Path | None = None
) -> AsyncIterator[ConveneProcess]:
    """Start ``convene serve`` on a free port with a temporary data folder; stop it on exit.

    Janus gathers ICE on 127.0.0.2 only. Other ``CONVENE_*`` variables of the caller's
    environment pass through (``CONVENE_JANUS__EVENT_LOOPS=2``, say). ``web_dir``: a built web
    client to serve (a copy is served, so rebuilding it meanwhile changes nothing); none by
    default, the API is enough.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="convene-bench-"))
    if web_dir is not None:
        shutil.copytree(web_dir, data_dir / "web")
    port = _free_port()
    env = {
        **os.environ,
        "CONVENE_DATA_DIR": str(data_dir),
        "CONVENE_HOST": "127.0.0.1",
        "CONVENE_PORT": str(port),
        "CONVENE_WEB_DIR": str(data_dir / "web"),
        "CONVENE_JANUS__INTERFACE": ICE_ADDRESS,
        "CONVENE_JANUS__IGNORE_MDNS": "true",
    }
    env.pop("CONVENE_CONFIG", None)
    log_file = data_dir / "convene.log"
    janus_pid: int | None = None
    with log_file.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *_convene_command(),
            "serve",
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    server: ConveneProcess | None = None
    try:
        try:
            await _wait_ready(base_url, process)
            janus_pid = await _find_janus(process.pid)
        except RuntimeError as exc:
            tail = log_file.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{exc}\n--- convene log ---\n{tail}") from None
        server = ConveneProcess(process, data_dir, log_file, base_url, janus_pid)
        yield server
    finally:
        if server is not None:
            await server.aclose()
        await _stop(process, janus_pid)
        if not keep_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# A publishing peer
# ------------------------------------------------------------------------------------------------

# Maps a random byte to a luma value in 112..143: faint noise that VP8 cannot predict.
_NOISE = bytes(112 + (b & 31) for b in range(256))


class NoiseVideoTrack(MediaStreamTrack):
    """Grey frames with fresh faint noise in each, paced at ``fps``.

    The test suite's counter video is so predictable that aiortc's VP8 encoder sends about
    0.5 Mbit/s whatever its target; noise lets the encoder reach its target bitrate, so that the
    packet rate Janus forwards is that of a real camera at that bitrate.
    """

    kind = "video"

    def __init__(self, width: int, height: int, fps: int) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.frames_sent = 0
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        else:
            delay = self._start + self.frames_sent / self.fps - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        frame = VideoFrame(width=self.width, height=self.height, format="yuv420p")
        luma, cb, cr = frame.planes
        luma.update(os.urandom(luma.buffer_size).translate(_NOISE))
        cb.update(b"\x80" * cb.buffer_size)
        cr.update(b"\x80" * cr.buffer_size)
        frame.pts = self.frames_sent * 90_000 // self.fps
        frame.time_base = fractions.Fraction(1, 90_000)
        self.frames_sent += 1
        return frame


def cap_vp8_bitrate(bits_per_second: int) -> None:
    """Start aiortc's VP8 encoder at, and keep it under, ``bits_per_second`` (process-wide).

    Janus's REMB asks publishers for the room's cap (1.5 Mbit/s); a lower cap here gives a
    publisher like a browser's camera at a chosen bitrate.
    """
    aiortc.codecs.vpx.DEFAULT_BITRATE = bits_per_second
    aiortc.codecs.vpx.MAX_BITRATE = bits_per_second


class Sender:
    """One publishing peer connection: a 400 Hz tone and :class:`NoiseVideoTrack`, send-only."""

    def __init__(self, width: int, height: int, fps: int) -> None:
        restrict_ice_to(ICE_ADDRESS)
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.audio = ToneAudioTrack()
        self.video = NoiseVideoTrack(width, height, fps)
        self.pc.addTransceiver(self.audio, direction="sendonly")
        self.pc.addTransceiver(self.video, direction="sendonly")

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())  # ICE gathered
        return str(self.pc.localDescription.sdp)

    async def apply_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def close(self) -> None:
        await self.pc.close()
        self.audio.stop()
        self.video.stop()


# ------------------------------------------------------------------------------------------------
# A viewing peer
# ------------------------------------------------------------------------------------------------


@dataclass
class _Stream:
    kind: str
    count: int = 0  # decoded video frames, or audio frames (one per Opus packet)
    first_at: float | None = None  # time.perf_counter() of the first decoded one
    first: asyncio.Event = field(default_factory=asyncio.Event)


class Viewer:
    """One receiving peer connection (a subscriber), decoding and counting what it gets."""

    def __init__(self, name: str) -> None:
        restrict_ice_to(ICE_ADDRESS)
        self.name = name
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no public STUN server
        self.ice_connected_at: float | None = None  # ICE checks done
        self.connected_at: float | None = None  # ICE and DTLS done: media may flow
        self.dtls_server = True  # answer a=setup:passive (False: aiortc's own active)
        self._streams: dict[str, _Stream] = {}
        self._readers: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)
        self.pc.on("iceconnectionstatechange", self._on_ice_state)
        self.pc.on("connectionstatechange", self._on_state)

    def _on_ice_state(self) -> None:
        if self.pc.iceConnectionState == "completed" and self.ice_connected_at is None:
            self.ice_connected_at = time.perf_counter()

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected" and self.connected_at is None:
            self.connected_at = time.perf_counter()

    def _on_track(self, track: MediaStreamTrack) -> None:
        mid = next(
            (str(t.mid) for t in self.pc.getTransceivers() if t.receiver.track is track), None
        )
        if mid is None:
            return
        stream = self._streams.setdefault(mid, _Stream(kind=str(track.kind)))
        self._readers.append(asyncio.create_task(self._read(stream, track)))

    @staticmethod
    async def _read(stream: _Stream, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                if stream.first_at is None:
                    stream.first_at = time.perf_counter()
                    stream.first.set()
                stream.count += 1

    async def answer(self, offer_sdp: str) -> str:
        """Apply Janus's offer (relayed by Convene) and return the answer, ICE candidates in it."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        answer = await self.pc.createAnswer()
        if self.dtls_server:  # as the clients do: Janus starts the DTLS handshake
            answer = RTCSessionDescription(
                sdp=answer.sdp.replace("a=setup:active", "a=setup:passive"), type="answer"
            )
        await self.pc.setLocalDescription(answer)
        return str(self.pc.localDescription.sdp)

    async def first_decoded(self, mid: str, timeout: float) -> float:  # noqa: ASYNC109
        """The ``perf_counter`` time of the first frame decoded on ``mid``, waiting for it."""
        stream = self._streams.get(mid)
        deadline = time.monotonic() + timeout
        while stream is None:  # the track event fires during setRemoteDescription; be lenient
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: no track with mid {mid}")
            await asyncio.sleep(0.01)
            stream = self._streams.get(mid)
        await asyncio.wait_for(stream.first.wait(), max(deadline - time.monotonic(), 0.01))
        assert stream.first_at is not None
        return stream.first_at

    def decoded(self, kind: str) -> int:
        """Frames of this kind decoded so far, over every stream."""
        return sum(s.count for s in self._streams.values() if s.kind == kind)

    async def bytes_received(self) -> int:
        """Bytes received on the connection's transport (RTP, RTCP, DTLS)."""
        report = await self.pc.getStats()
        return sum(int(s.bytesReceived) for s in report.values() if s.type == "transport")

    async def packets_lost(self) -> int:
        report = await self.pc.getStats()
        return sum(int(s.packetsLost) for s in report.values() if s.type == "inbound-rtp")

    async def close(self) -> None:
        await self.pc.close()
        for task in self._readers:
            task.cancel()
        for task in self._readers:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def subscribe(signal_client: SignalClient, viewer: Viewer, feed: int) -> dict[str, Any]:
    """``subscribe`` to one feed, then answer Janus's offer; return the subscribe reply."""
    reply: dict[str, Any] = await signal_client.request("subscribe", {"add": [{"feed": feed}]})
    if reply["jsep"] is None:
        raise RuntimeError("subscribe returned no offer")
    answer = await viewer.answer(reply["jsep"]["sdp"])
    await signal_client.request("subscriber.answer", {"jsep": {"type": "answer", "sdp": answer}})
    return reply
