"""Streaming speech recognition on the LibriVox clips, against fixed 5-second chunks.

For each model (tiny.en and base by default, installed from their packages into a temporary
models folder), the five clips of Debian's pocketsphinx-testdata are played in real time, with a
pause after each, into a :class:`convene.speech.stream.SpeechStream`; the script notes when each
caption event arrives. Per clip it prints:

- **final after speech**: from the end of the clip's speech (its last sample above the noise
  floor) to the arrival of the final that closes its segment;
- **first partial**: from the start of its speech to the first partial;
- **WER** of the finals against the transcript.

Then, per model, the real-time factor (recogniser time / audio time) and the baseline many
deployments use: the same audio cut into fixed 5-second chunks, each transcribed once when it is
complete. Its latency is simulated from the measured time of each chunk's transcription: the
chunk holding a clip's last word ends at a multiple of 5 s, and its text arrives after that plus
the transcription. Prints figures, asserts nothing.

    .venv/bin/python benchmarks/speech.py [--models tiny.en base] [--threads 2] [--step 0.6]
        [--pause 0.5] [--window-padding 2.0] [--compare] [--same-buffers]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `tests` importable
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models come from packages, never from a hub

from tests.speech._wer import word_errors  # noqa: E402
from tests.speech.conftest import Clip, _read_clips  # noqa: E402

from convene.speech.audio import SAMPLE_RATE, Pcm, chunks  # noqa: E402
from convene.speech.models import ModelManager  # noqa: E402
from convene.speech.recognizer import WhisperRecognizer  # noqa: E402
from convene.speech.stream import SpeechStream  # noqa: E402
from convene.speech.transcriber import Final, Partial, StreamConfig, Transcriber  # noqa: E402

GAP = 1.5  # seconds of silence after each clip
CHUNK = 0.02  # seconds per fed chunk: one Opus packet


@dataclass
class TimedRecognizer:
    """Wraps a recogniser to add up the time spent in it."""

    inner: WhisperRecognizer
    busy: float = 0.0
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def multilingual(self) -> bool:
        return self.inner.multilingual

    def transcribe(self, audio: Pcm, *, offset: float, language: str | None, prompt: str = ""):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return self.inner.transcribe(audio, offset=offset, language=language, prompt=prompt)
        finally:
            with self.lock:
                self.busy += time.perf_counter() - started
                self.calls += 1


def speech_bounds(pcm: Pcm) -> tuple[float, float]:
    loud = np.flatnonzero(np.abs(pcm) > 0.02)
    return loud[0] / SAMPLE_RATE, loud[-1] / SAMPLE_RATE


def streaming(
    rec: TimedRecognizer, clips: list[Clip], config: StreamConfig
) -> dict[str, list[float]]:
    gap = np.zeros(round(GAP * SAMPLE_RATE), dtype=np.float32)
    layout = []  # (clip, speech start, speech end) in stream seconds
    at = 0.0
    for clip in clips:
        start, end = speech_bounds(clip.pcm)
        layout.append((clip, at + start, at + end))
        at += clip.seconds + GAP
    pcm = np.concatenate([p for clip in clips for p in (clip.pcm, gap)])
    stream = SpeechStream(rec, config, queue_size=256).start()
    arrivals: list[tuple[float, object]] = []

    def read() -> None:
        while (event := stream.events.get(timeout=120)) is not None:
            arrivals.append((time.perf_counter(), event))

    reader = threading.Thread(target=read)
    reader.start()
    t0 = time.perf_counter()
    for i, chunk in enumerate(chunks(pcm, CHUNK)):
        # Real time: chunk i may be fed once its audio has been "spoken".
        delay = t0 + (i + 1) * CHUNK - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        stream.feed(chunk)
    stream.end()
    reader.join()
    stream.join(10)
    result: dict[str, list[float]] = {"final": [], "partial": [], "wer": []}
    errors = words = 0
    for clip, start, end in layout:
        mine = [(t, e) for t, e in arrivals if start - 0.5 <= e.start <= end + 0.5]  # type: ignore[attr-defined]
        closing = [t for t, e in mine if isinstance(e, Final) and e.ends_segment]
        partials = [t for t, e in mine if isinstance(e, Partial) and e.text]
        text = " ".join(e.text for _, e in mine if isinstance(e, Final) and e.text)
        e_, w_ = word_errors(clip.transcript, text)
        errors, words = errors + e_, words + w_
        result["final"].append(closing[-1] - (t0 + end) if closing else float("nan"))
        result["partial"].append(partials[0] - (t0 + start) if partials else float("nan"))
        result["wer"].append(e_ / w_)
        print(
            f"  {clip.name[-4:]}  {clip.seconds:4.1f} s  final after speech "
            f"{result['final'][-1]:5.2f} s  first partial {result['partial'][-1]:5.2f} s  "
            f"WER {e_ / w_:6.1%}  {text}"
        )
    result["wer_all"] = [errors / words]
    return result


def same_buffers(rec: TimedRecognizer, clips: list[Clip], config: StreamConfig) -> float:
    """WER of the clips streamed without real time: each 20 ms push is looked at before the
    next, so every run recognises the same buffers and only the recogniser moves the figure."""
    gap = np.zeros(round(GAP * SAMPLE_RATE), dtype=np.float32)
    errors = words = 0
    for clip in clips:
        transcriber = Transcriber(rec, config)
        events = []
        for chunk in chunks(np.concatenate([clip.pcm, gap]), CHUNK):
            events += transcriber.push(chunk)
        events += transcriber.end()
        text = " ".join(e.text for e in events if isinstance(e, Final) and e.text)
        e_, w_ = word_errors(clip.transcript, text)
        errors, words = errors + e_, words + w_
    return errors / words


def fixed_chunks(
    rec: TimedRecognizer, clips: list[Clip], seconds: float = 5.0
) -> dict[str, list[float]]:
    gap = np.zeros(round(GAP * SAMPLE_RATE), dtype=np.float32)
    pcm = np.concatenate([p for clip in clips for p in (clip.pcm, gap)])
    ends = []
    at = 0.0
    for clip in clips:
        ends.append(at + speech_bounds(clip.pcm)[1])
        at += clip.seconds + GAP
    texts, done_at = [], []
    for i, chunk in enumerate(chunks(pcm, seconds)):
        started = time.perf_counter()
        words = rec.transcribe(chunk, offset=i * seconds, language="en")
        spent = time.perf_counter() - started
        texts.append("".join(w.text for w in words))
        done_at.append((i + 1) * seconds + spent)  # stream time its text is available
    latency = [done_at[int(end // seconds)] - end for end in ends]
    reference = " ".join(clip.transcript for clip in clips)
    e_, w_ = word_errors(reference, " ".join(texts))
    return {"final": latency, "wer_all": [e_ / w_]}


def pct(values: list[float], q: float) -> float:
    clean = sorted(v for v in values if v == v)
    return clean[min(len(clean) - 1, round(q * (len(clean) - 1)))] if clean else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--step", type=float, default=0.6)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--pause", type=float, default=0.5, help="[speech] pause_seconds")
    parser.add_argument(
        "--window-padding",
        type=lambda v: None if v == "full" else float(v),
        default=2.0,
        help="seconds of padding the encoder reads after a buffer ('full': the 30 s window)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also stream with the encoder reading the whole 30 s window (the behaviour before)",
    )
    parser.add_argument(
        "--same-buffers",
        action="store_true",
        help="also give the WER of each mode on the same buffers every run (not in real time)",
    )
    args = parser.parse_args()
    clips = _read_clips()
    audio = sum(c.seconds for c in clips) + GAP * len(clips)
    print(
        f"{len(clips)} LibriVox clips, {audio:.1f} s with pauses; {os.cpu_count()} CPUs; "
        f"load {os.getloadavg()[0]:.1f}; step {args.step} s; pause {args.pause} s; "
        f"window padding {args.window_padding or 'full'}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        manager = ModelManager(Path(tmp))
        for name in args.models:
            path = manager.ensure(name)
            rec = TimedRecognizer(
                WhisperRecognizer(path, device=args.device, cpu_threads=args.threads)  # type: ignore[arg-type]
            )
            config = StreamConfig(language="en", step=args.step, min_silence=args.pause)
            modes = [("streaming", config, args.window_padding)]
            if args.compare:
                modes.append(("streaming, whole 30 s window (before)", config, None))
            for label, mode, padding in modes:
                rec.inner.window_padding = padding
                rec.busy, rec.calls = 0.0, 0
                print(f"\n{name} ({rec.inner.device}, {rec.inner.compute_type}), {label}:")
                s = streaming(rec, clips, mode)
                rtf = rec.busy / audio
                each = rec.busy / max(1, rec.calls)
                print(
                    f"  final after speech p50 {pct(s['final'], 0.5):.2f} s, "
                    f"p95 {pct(s['final'], 0.95):.2f} s; "
                    f"first partial p50 {pct(s['partial'], 0.5):.2f} s; "
                    f"WER {s['wer_all'][0]:.1%}; "
                    f"RTF {rtf:.2f} ({rec.calls} recognitions, {each:.2f} s each)"
                )
                print(f"  mean of streamed clip WERs {statistics.mean(s['wer']):.1%}")
                if args.same_buffers:
                    rec.busy, rec.calls = 0.0, 0
                    fallbacks = rec.inner.fallbacks
                    wer = same_buffers(rec, clips, mode)
                    print(
                        f"  same buffers, not in real time: WER {wer:.1%}; "
                        f"{rec.busy:.1f} s in Whisper ({rec.calls} recognitions, "
                        f"{rec.inner.fallbacks - fallbacks} read again in the whole window)"
                    )
            # The baseline as deployments run it: faster-whisper's whole 30 s window.
            rec.inner.window_padding = None
            rec.busy, rec.calls = 0.0, 0
            b = fixed_chunks(rec, clips)
            print(
                "  baseline, fixed 5 s chunks: final after speech "
                f"p50 {pct(b['final'], 0.5):.2f} s, "
                f"p95 {pct(b['final'], 0.95):.2f} s; WER {b['wer_all'][0]:.1%}; "
                f"RTF {rec.busy / audio:.2f}"
            )


if __name__ == "__main__":
    main()
