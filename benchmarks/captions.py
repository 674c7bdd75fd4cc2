"""Live captions end to end: caption latency, word error rate and CPU per speaker.

Through the whole path, as a meeting runs it: aiortc peers publish the LibriVox clips of
Debian's pocketsphinx-testdata (with a pause after each) into a Janus room made by a real
Convene server (its default settings: the embedded worker, started on first demand); Janus
``rtp_forward``s each publisher's Opus to the worker; the worker's captions come back over its
link and reach the meeting's bus subject, which the benchmark reads. Per model it measures:

- **final after speech**: from the end of a clip's speech (its last sample above the noise
  floor, as sent by the peer) to the arrival on the bus of the final that closes its segment;
- **first partial**: from the start of a clip's speech to its first partial on the bus;
- **WER** of all finals against the transcripts;
- side by side in the same run, the **baseline** of fixed 5-second chunks sent to the same model
  (``benchmarks/speech.py``'s, on the same clips, simulated from measured transcriptions);

then **CPU per speaker**: the worker process's CPU seconds per second of audio while 1, 2 and 4
peers speak at once, the worst lag its heartbeats reported, and their finals' latency. With
``--through-signaling`` the captions are read as a participant reads them instead (``join``,
``captions.start``, ``captions.read``; the English original and Spanish through Apertium), once
the captions feature is in the server. Prints figures, asserts nothing; run it in the media
namespace like the media tests:

    sudo ip netns exec convene-test .venv/bin/python benchmarks/captions.py [--models tiny.en base]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `tests` and `benchmarks` importable
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models come from packages, never from a hub

from benchmarks._common import cpu_seconds, in_namespace  # noqa: E402
from benchmarks.speech import TimedRecognizer, fixed_chunks, pct  # noqa: E402
from tests.speech._wer import word_errors  # noqa: E402
from tests.speech.conftest import _read_clips  # noqa: E402
from tests.support.janus import EventLog, media_settings  # noqa: E402
from tests.support.peer import TestPeer  # noqa: E402
from tests.support.server import RunningServer, running_server  # noqa: E402
from tests.support.signal import SignalClient  # noqa: E402
from tests.worker.audio import (  # noqa: E402
    OPUS_RATE,
    SpeechTrack,
    clip_path,
    read_48k_stereo,
    silence_48k,
    transcripts,
)

from convene.captions.results import CaptionResult, captions_subject  # noqa: E402
from convene.captions.service import CaptionsService  # noqa: E402
from convene.media.base import MediaRoom, RoomOptions, WebRTCUp  # noqa: E402
from convene.protocol.ids import MeetingId, ParticipantId, new_feed_id  # noqa: E402
from convene.speech.models import ModelManager  # noqa: E402
from convene.speech.recognizer import WhisperRecognizer  # noqa: E402

PAUSE = 1.5  # seconds of silence after each clip
START = 120.0  # bound on the worker's start and the forwards (not a measurement)
AFTER = 60.0  # bound on the wait for the last finals after the speech
LOUD = 0.02 * 32768  # a sample above this is speech (benchmarks/speech.py's noise floor)


@dataclass(frozen=True)
class Spoken:
    """One clip in a speaker's audio: where its speech starts and ends (seconds from play)."""

    name: str
    start: float
    end: float


def program(names: list[str]) -> tuple[np.ndarray, list[Spoken]]:
    """The clips one after another with a pause after each (48 kHz mono s16), and where the
    speech of each lies."""
    parts, spoken, at = [], [], 0
    for name in names:
        mono = read_48k_stereo(clip_path(name)).reshape(-1, 2)[:, 0].copy()
        loud = np.flatnonzero(np.abs(mono.astype(np.int32)) > LOUD)
        spoken.append(Spoken(name, (at + loud[0]) / OPUS_RATE, (at + loud[-1]) / OPUS_RATE))
        parts += [mono, silence_48k(PAUSE)[::2]]
        at += len(mono) + len(parts[-1])
    return np.concatenate(parts).astype(np.int16), spoken


class TimedSpeechTrack(SpeechTrack):
    """A :class:`SpeechTrack` that notes the wall time its speech starts being sent."""

    def __init__(self, samples: np.ndarray) -> None:
        super().__init__(samples)
        self.started_at: float | None = None

    async def recv(self) -> Any:
        frame = await super().recv()
        if self.playing and self.started_at is None:
            # This frame carries the first samples: its 20 ms began just now.
            self.started_at = time.time() - 0.020
        return frame


@dataclass
class Speaker:
    participant: ParticipantId
    peer: TestPeer
    track: TimedSpeechTrack
    spoken: list[Spoken]


@dataclass
class Meeting:
    server: RunningServer
    captions: CaptionsService
    room: MediaRoom
    meeting: MeetingId
    speakers: list[Speaker] = field(default_factory=list)
    results: list[CaptionResult] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)

    def worker_pid(self) -> int:
        pid = self.server.app.state.embedded_worker.pid
        assert pid is not None, "the embedded worker is not running"
        return int(pid)

    def forwarded(self) -> bool:
        status = self.captions.status(self.meeting)
        return status is not None and all(
            (p := status.publishers.get(s.participant)) is not None and p.port is not None
            for s in self.speakers
        )


async def until(predicate: Any, bound: float, what: str) -> None:
    end = time.monotonic() + bound
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {bound:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def captioned_meeting(data_dir: Path, model: str) -> AsyncIterator[Meeting]:
    """A server on its default captions settings (``model`` for English), a captioned room,
    the worker holding it, and the bus subject read into ``results``."""
    speech = {"default_models": {"en": model, "*": "base"}}
    async with running_server(data_dir, janus=media_settings(), speech=speech) as server:
        captions = server.app.state.captions
        assert isinstance(captions, CaptionsService)
        room = await server.app.state.sfu.create_room(RoomOptions(), EventLog())
        meeting = Meeting(server, captions, room, MeetingId("m-bench"))
        subscription = await server.app.state.bus.subscribe(
            captions_subject(meeting.meeting),
            lambda data: meeting.results.append(CaptionResult.from_json(data)),
        )
        try:
            await captions.start(meeting.meeting, room)
            await until(
                lambda: (s := captions.status(meeting.meeting)) is not None and s.worker_id,
                START,
                "the embedded worker to take the meeting",
            )
            yield meeting
        finally:
            for speaker in meeting.speakers:
                await speaker.peer.close()
            await captions.stop(meeting.meeting)
            await subscription.close()
            await room.destroy()


async def add_speakers(meeting: Meeting, count: int, names: list[str]) -> list[Speaker]:
    """``count`` more publishers, each to say ``names``, forwarded to the worker, silent yet."""
    added = []
    for _ in range(count):
        index = len(meeting.speakers)
        samples, spoken = program(names)
        track = TimedSpeechTrack(samples)
        peer = TestPeer(f"speaker-{index}", video=False)
        peer.audio_track = track  # type: ignore[assignment]
        participant = ParticipantId(f"p_speaker{index}")
        token = f"token-{index}"
        await meeting.room.allow(token)
        events = EventLog()
        feed = new_feed_id()
        publisher = await meeting.room.publisher(
            feed=feed, display=f"Speaker {index}", token=token, listener=events
        )
        answer = await publisher.publish(await peer.create_offer(), video=False)
        await peer.apply_answer(answer.answer_sdp)
        await events.wait_for(WebRTCUp, timeout=20)
        await meeting.captions.publisher_added(meeting.meeting, participant, feed, "en")
        speaker = Speaker(participant, peer, track, spoken)
        meeting.speakers.append(speaker)
        added.append(speaker)
    await until(meeting.forwarded, START, "the forwards to the worker")
    return added


async def speak(meeting: Meeting, speakers: list[Speaker]) -> float:
    """All of them speak at once; returns when each clip's closing final came (or the bound
    ran out). The worst lag the worker's heartbeats reported is noted meanwhile."""
    for speaker in speakers:
        speaker.track.play()
    started = time.monotonic()

    def done() -> bool:
        return all(len(closing(meeting, s)) >= len(s.spoken) for s in speakers)

    total = max(s.spoken[-1].end for s in speakers) + PAUSE
    while not done() and time.monotonic() - started < total + AFTER:
        meeting.lags.append(meeting.captions.figures().worst_lag)
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def closing(meeting: Meeting, speaker: Speaker) -> list[CaptionResult]:
    return [
        r
        for r in meeting.results
        if r.participant == speaker.participant and r.final and r.ends_segment
    ]


def latencies(meeting: Meeting, speaker: Speaker) -> dict[str, list[float]]:
    """Per clip: end of speech → its closing final, start of speech → first partial."""
    t0 = speaker.track.started_at
    assert t0 is not None
    mine = [r for r in meeting.results if r.participant == speaker.participant]
    finals = [r.received_at for r in mine if r.final and r.ends_segment]
    partials = [r.received_at for r in mine if not r.final and r.text]
    out: dict[str, list[float]] = {"final": [], "partial": []}
    used = 0
    for clip in speaker.spoken:
        start, end = t0 + clip.start, t0 + clip.end
        # The first closing final after this clip's speech ended (a final ending a segment
        # early, mid-clip, belongs to it too: the segment's last one counts).
        after = [t for t in finals[used:] if t > end - 0.3]
        out["final"].append(after[0] - end if after else float("nan"))
        if after:
            used = finals.index(after[0]) + 1
        first = [t for t in partials if t >= start]
        out["partial"].append(first[0] - start if first else float("nan"))
    return out


def text_of(meeting: Meeting, speaker: Speaker) -> str:
    return " ".join(
        r.text for r in meeting.results if r.participant == speaker.participant and r.final
    )


def baseline(model: str, threads: int) -> dict[str, float]:
    """Fixed 5-second chunks through the same model (``benchmarks/speech.py``'s baseline)."""
    clips = _read_clips()
    with tempfile.TemporaryDirectory() as tmp:
        path = ModelManager(Path(tmp)).ensure(model)
        # As deployments run it: faster-whisper's whole 30 s window.
        whole = WhisperRecognizer(path, device="cpu", cpu_threads=threads, window_padding=None)
        rec = TimedRecognizer(whole)
        figures = fixed_chunks(rec, clips)
    return {
        "final_p50": pct(figures["final"], 0.5),
        "final_p95": pct(figures["final"], 0.95),
        "wer": figures["wer_all"][0],
    }


async def measure_model(model: str, names: list[str], threads: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with captioned_meeting(Path(tmp) / "server", model) as meeting:
            (speaker,) = await add_speakers(meeting, 1, names)
            await asyncio.sleep(1.0)  # the forward's first packets reach the worker
            await speak(meeting, [speaker])
            found = latencies(meeting, speaker)
            reference = " ".join(transcripts()[n] for n in names)
            errors, words = word_errors(reference, text_of(meeting, speaker))
    streaming = {
        "final": found["final"],
        "final_p50": pct(found["final"], 0.5),
        "final_p95": pct(found["final"], 0.95),
        "partial_p50": pct(found["partial"], 0.5),
        "partial_p95": pct(found["partial"], 0.95),
        "wer": errors / words,
    }
    return {"model": model, "streaming": streaming, "baseline": baseline(model, threads)}


async def measure_cpu(model: str, names: list[str], counts: list[int]) -> list[dict[str, Any]]:
    rows = []
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            async with captioned_meeting(Path(tmp) / "server", model) as meeting:
                speakers = await add_speakers(meeting, count, names)
                await asyncio.sleep(1.0)
                pid = meeting.worker_pid()
                before, wall_before = cpu_seconds(pid), time.monotonic()
                await speak(meeting, speakers)
                cpu, wall = cpu_seconds(pid) - before, time.monotonic() - wall_before
                audio = sum(s.spoken[-1].end + PAUSE for s in speakers)
                finals = [v for s in speakers for v in latencies(meeting, s)["final"]]
                missing = sum(len(s.spoken) - len(closing(meeting, s)) for s in speakers)
        rows.append(
            {
                "speakers": count,
                "cpu_seconds": cpu,
                "wall_seconds": wall,
                "cpu_per_audio_second": cpu / audio,
                "worst_lag": max(meeting.lags, default=0.0),
                "final_p50": pct(finals, 0.5),
                "final_p95": pct(finals, 0.95),
                "segments_missing": missing,
            }
        )
    return rows


class TimedEvents(list[dict[str, Any]]):
    """A signaling client's event list that notes each event's arrival (wall time)."""

    def append(self, item: dict[str, Any]) -> None:
        item["_at"] = time.time()
        super().append(item)


async def measure_signaling(model: str, names: list[str]) -> dict[str, Any]:
    """As participants read them: Alice (host) speaks English and publishes through signaling;
    Bob reads the original and Carol Spanish."""
    speech = {"default_models": {"en": model, "*": "base"}}
    samples, spoken = program(names)
    track = TimedSpeechTrack(samples)
    peer = TestPeer("alice", video=False)
    peer.audio_track = track  # type: ignore[assignment]
    clients: list[SignalClient] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with running_server(Path(tmp), janus=media_settings(), speech=speech) as server:
            try:
                alice = await server.sign_up("alice@example.org", "Alice")
                info = await alice.create_meeting(waiting_room=False)
                readers = []
                for name, reading in (("Bob", "original"), ("Carol", "es")):
                    person = server.guest()
                    await person.meeting_info(info["link_token"])
                    client = await SignalClient.connect(server, person)
                    client.events = TimedEvents()
                    await client.join(info["link_token"], display_name=name)
                    await client.request("captions.read", {"reading": reading})
                    clients.append(client)
                    readers.append(client)
                host = await SignalClient.connect(server, alice)
                clients.append(host)
                await host.join(info["link_token"], spoken_language="en")
                reply = await host.request(
                    "publish",
                    {
                        "jsep": {"type": "offer", "sdp": await peer.create_offer()},
                        "audio": True,
                        "video": False,
                    },
                )
                await peer.apply_answer(reply["jsep"]["sdp"])
                await host.wait_event("feed.added", timeout=20)
                await host.request("captions.start")
                await host.wait_event(
                    "captions.updated", lambda d: d["active"] and d["transcribing"], timeout=START
                )
                captions = server.app.state.captions
                meeting = MeetingId(str(info["id"]))

                def forwarded() -> bool:
                    status = captions.status(meeting)
                    return status is not None and any(
                        p.port is not None for p in status.publishers.values()
                    )

                await until(forwarded, START, "the forward to the worker")
                await asyncio.sleep(1.0)
                track.play()
                original, spanish = readers

                def finals(client: SignalClient) -> list[dict[str, Any]]:
                    return [
                        e for e in client.events if e["type"] == "caption" and e["data"]["final"]
                    ]

                with contextlib.suppress(TimeoutError):
                    await until(
                        lambda: min(len(finals(original)), len(finals(spanish))) >= len(spoken),
                        spoken[-1].end + PAUSE + AFTER,
                        "every final",
                    )
                t0 = track.started_at
                assert t0 is not None
                out: dict[str, Any] = {}
                for label, client in (("original", original), ("es", spanish)):
                    arrivals = [e["_at"] for e in finals(client)]
                    latency = []
                    used = 0
                    for clip in spoken:
                        after = [t for t in arrivals[used:] if t > t0 + clip.end - 0.3]
                        latency.append(after[0] - (t0 + clip.end) if after else float("nan"))
                        if after:
                            used = arrivals.index(after[0]) + 1
                    out[label] = {
                        "final": latency,
                        "final_p50": pct(latency, 0.5),
                        "final_p95": pct(latency, 0.95),
                        "translated": sum(1 for e in finals(client) if e["data"]["translated"]),
                        "texts": [e["data"]["stable"] for e in finals(client)],
                    }
                reference = " ".join(transcripts()[n] for n in names)
                errors, words = word_errors(reference, " ".join(out["original"]["texts"]))
                out["wer"] = errors / words
                return out
            finally:
                for client in clients:
                    await client.close()
                await peer.close()


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} CPUs, {model}"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    names = sorted(transcripts())
    loads = [os.getloadavg()[0]]
    print(f"{machine()}; load {loads[0]:.2f}; {len(names)} LibriVox clips, {PAUSE} s pauses")
    out: dict[str, Any] = {"machine": machine(), "models": [], "cpu": []}
    for model in args.models:
        figures = await measure_model(model, names, args.threads)
        loads.append(os.getloadavg()[0])
        s, b = figures["streaming"], figures["baseline"]
        print(
            f"\n{model}, through Janus and the worker (load {loads[-1]:.2f}):\n"
            f"  final after speech p50 {s['final_p50']:.2f} s, p95 {s['final_p95']:.2f} s "
            f"(each: {', '.join(f'{v:.2f}' for v in s['final'])}); "
            f"first partial p50 {s['partial_p50']:.2f} s; WER {s['wer']:.1%}\n"
            f"  baseline, fixed 5 s chunks: final after speech p50 {b['final_p50']:.2f} s, "
            f"p95 {b['final_p95']:.2f} s; WER {b['wer']:.1%}\n"
            f"  baseline / streaming: p50 x{b['final_p50'] / s['final_p50']:.1f}, "
            f"p95 x{b['final_p95'] / s['final_p95']:.1f}"
        )
        out["models"].append(figures)
    if args.through_signaling:
        for model in args.models:
            got = await measure_signaling(model, names)
            loads.append(os.getloadavg()[0])
            o, e = got["original"], got["es"]
            print(
                f"\n{model}, read through signaling (load {loads[-1]:.2f}):\n"
                f"  original final p50 {o['final_p50']:.2f} s, p95 {o['final_p95']:.2f} s; "
                f"WER {got['wer']:.1%}\n"
                f"  Spanish (Apertium) final p50 {e['final_p50']:.2f} s, p95 {e['final_p95']:.2f} s"
                f" ({e['translated']} of {len(e['texts'])} translated)"
            )
            out.setdefault("signaling", []).append({"model": model, **got})
    if args.speakers:
        print(f"\nCPU per speaker ({args.cpu_model}, worker process):")
        rows = await measure_cpu(args.cpu_model, names, args.speakers)
        loads.append(os.getloadavg()[0])
        for row in rows:
            print(
                f"  {row['speakers']} at once: {row['cpu_per_audio_second']:.3f} CPU s per "
                f"audio s ({row['cpu_seconds']:.1f} CPU s in {row['wall_seconds']:.1f} s); "
                f"worst lag {row['worst_lag']:.2f} s; final after speech "
                f"p50 {row['final_p50']:.2f} s, p95 {row['final_p95']:.2f} s; "
                f"segments missing {row['segments_missing']}"
            )
        # Recognition re-reads a turn's growing buffer as often as the CPU allows, so the cost
        # per audio second falls as speakers share it: what one machine holds is where the
        # lag stays small, not 1 / CPU per speaker.
        kept = [r["speakers"] for r in rows if r["worst_lag"] < 3.0 and not r["segments_missing"]]
        cores = max(r["cpu_seconds"] / r["wall_seconds"] for r in rows)
        print(
            f"  the worker used up to {cores:.2f} cores; speakers kept up with (worst lag "
            f"< 3 s): {max(kept) if kept else 0} of {', '.join(str(c) for c in args.speakers)}"
        )
        out["cpu"] = rows
    out["load"] = loads
    print(f"\nload averages during the run: {', '.join(f'{v:.2f}' for v in loads)}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--speakers", nargs="*", type=int, default=[1, 2, 4])
    parser.add_argument("--cpu-model", default="tiny.en")
    parser.add_argument("--threads", type=int, default=2, help="baseline's CTranslate2 threads")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--through-signaling",
        action="store_true",
        help="also read the captions as participants do (original and Spanish)",
    )
    args = parser.parse_args()
    if not in_namespace():
        print(
            "Run this inside the media network namespace: sudo scripts/netns up && "
            "sudo ip netns exec convene-test .venv/bin/python benchmarks/captions.py"
        )
        raise SystemExit(2)
    figures = asyncio.run(run(args))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
