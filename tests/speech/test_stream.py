"""One speaker's streaming transcription with the real tiny.en model and real recorded speech.

Word error rate bounds: tiny.en makes 3.4-5.6 % errors on real English transcribed whole (the
speech notes); streaming commits words on partial context. Measured here: 4.2 % on the five clips
streamed with pauses (one error class: "ill disposed" heard as "old-sposed" once the commit split
the word), 8.5-10.6 % on the 45 s monologue (a word misheard after each forced cut, where the audio
starts abruptly). The bounds, 12 % and 15 %, sit a few points above: a regression in the commit
policy (words lost or repeated at a cut or a turn end) fails them, Whisper's wobble does not.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from convene.speech.agreement import Word
from convene.speech.audio import SAMPLE_RATE, Pcm, chunks
from convene.speech.recognizer import WhisperRecognizer
from convene.speech.stream import EventQueue, SpeechStream
from convene.speech.transcriber import Event, Final, Partial, StreamConfig, Transcriber
from tests.speech._wer import wer
from tests.speech.conftest import Clip, noise, silence, tone

WER_BOUND = 0.12
LONG_WER_BOUND = 0.15


def _finals(events: list[Event]) -> list[Final]:
    return [e for e in events if isinstance(e, Final)]


def _text(events: list[Event]) -> str:
    return " ".join(f.text for f in _finals(events) if f.text)


def _transcribe(rec: WhisperRecognizer, pcm: Pcm, config: StreamConfig) -> list[Event]:
    transcriber = Transcriber(rec, config)
    events: list[Event] = []
    for chunk in chunks(pcm, 0.1):
        events += transcriber.push(chunk)
    return events + transcriber.end()


def _check_finals_settle(events: list[Event]) -> None:
    """Partials come first; each final follows the last one in time (finals are never redone)."""
    assert isinstance(events[0], Partial)
    last_end = 0.0
    for final in _finals(events):
        assert final.start >= last_end - 0.1, final
        assert final.end >= final.start
        last_end = final.end


def test_librivox_clips_through_a_threaded_stream(
    tiny_en: WhisperRecognizer, clips: list[Clip]
) -> None:
    """All five clips with a pause between them, fed four times faster than real time."""
    gap = silence(1.0)
    pcm = np.concatenate([part for clip in clips for part in (clip.pcm, gap)])
    stream = SpeechStream(tiny_en, StreamConfig(language="en", step=0.6), queue_size=64).start()
    lags = []
    for chunk in chunks(pcm, 0.1):
        stream.feed(chunk)
        lags.append(stream.lag)
        time.sleep(0.025)
    stream.end()
    events: list[Event] = []
    while (event := stream.events.get(timeout=60)) is not None:
        events.append(event)
    stream.join(5)
    assert stream.error is None
    assert stream.lag == 0
    assert max(lags) > 0  # audio waited while Whisper ran: the lag is seen

    _check_finals_settle(events)
    # One turn per clip: each ends with a final marking the segment's end.
    assert sum(f.ends_segment for f in _finals(events)) == len(clips)
    reference = " ".join(clip.transcript for clip in clips)
    error = wer(reference, _text(events))
    print(f"streamed WER {error:.3f}: {_text(events)}")
    assert error < WER_BOUND


@pytest.mark.parametrize(
    "pcm",
    [silence(4), noise(4, 0.05), noise(4, 0.3, seed=3), tone(4), tone(4, 1000, 0.9)],
    ids=["silence", "quiet-noise", "loud-noise", "tone", "loud-tone"],
)
def test_no_text_from_silence_noise_or_tone(tiny_en: WhisperRecognizer, pcm: Pcm) -> None:
    assert _transcribe(tiny_en, pcm, StreamConfig(language="en")) == []


def _trim(pcm: Pcm) -> Pcm:
    loud = np.flatnonzero(np.abs(pcm) > 0.02)
    pad = SAMPLE_RATE // 20
    return pcm[max(0, loud[0] - pad) : loud[-1] + pad]


@pytest.mark.timeout(600)  # about 15 recognitions of up to 20 s of audio: slow on a busy machine
def test_long_monologue_is_cut_into_several_finals(
    tiny_en: WhisperRecognizer, clips: list[Clip]
) -> None:
    """The clips twice over without pauses (> 40 s): only forced cuts can end segments."""
    trimmed = [_trim(clip.pcm) for clip in clips] * 2
    pcm = np.concatenate(trimmed)
    assert len(pcm) / SAMPLE_RATE > 40
    config = StreamConfig(language="en", step=2.0, min_silence=3.0, cut_after=15.0, hard_cut=20.0)
    events = _transcribe(tiny_en, pcm, config)
    _check_finals_settle(events)
    ends = [f for f in _finals(events) if f.ends_segment]
    assert len(ends) >= 3
    # No segment ran much past the cut: captions kept coming through the monologue.
    starts = [0.0] + [f.end for f in ends[:-1]]
    for start, end in zip(starts, ends, strict=True):
        assert end.end - start <= config.hard_cut + config.step + 1, (start, end)
    reference = " ".join(clip.transcript for clip in clips * 2)
    error = wer(reference, _text(events))
    print(f"long WER {error:.3f}: {_text(events)}")
    assert error < LONG_WER_BOUND


def test_overloaded_queue_drops_partials_never_finals(
    tiny_en: WhisperRecognizer, clips: list[Clip]
) -> None:
    """Nobody reads until the queue has overflowed: partials are dropped, every final arrives."""
    pcm = np.concatenate([clips[0].pcm, silence(1.0), clips[3].pcm, silence(1.0)])
    stream = SpeechStream(tiny_en, StreamConfig(language="en", step=0.6), queue_size=2)
    stream.start()
    for chunk in chunks(pcm, 0.1):
        stream.feed(chunk)
        time.sleep(0.01)
    stream.end()
    deadline = time.monotonic() + 120
    while stream.stats().dropped_partials == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stream.stats().dropped_partials > 0
    events: list[Event] = []
    while (event := stream.events.get(timeout=60)) is not None:
        events.append(event)
    stream.join(5)
    assert stream.error is None
    assert sum(f.ends_segment for f in _finals(events)) == 2
    reference = f"{clips[0].transcript} {clips[3].transcript}"
    assert wer(reference, _text(events)) < WER_BOUND


def test_event_queue_policy() -> None:
    queue = EventQueue(3)
    queue.put(Partial("a", 0, 1))
    queue.put(Final("a", 0, 1))
    queue.put(Partial("b", 1, 2))
    queue.put(Partial("c", 1, 2))  # full: the oldest partial goes
    assert queue.dropped_partials == 1
    queue.put(Final("b", 1, 2))  # full: the next partial goes, the final stays
    assert queue.dropped_partials == 2
    assert [queue.get(0) for _ in range(3)] == [
        Final("a", 0, 1),
        Partial("c", 1, 2),
        Final("b", 1, 2),
    ]
    # Full of finals: a partial is dropped, a final waits for room.
    for i in range(3):
        queue.put(Final(str(i), i, i))
    queue.put(Partial("x", 5, 6))
    assert queue.dropped_partials == 3
    import threading

    waiting = threading.Thread(target=queue.put, args=(Final("3", 3, 3),))
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive()
    assert queue.get(0) == Final("0", 0, 0)
    waiting.join(2)
    assert not waiting.is_alive()
    assert [e.text for e in (queue.get(0), queue.get(0), queue.get(0))] == ["1", "2", "3"]
    queue.close()
    assert queue.get(0) is None


async def test_event_queue_async_reader() -> None:
    import asyncio
    import threading

    queue = EventQueue(4)
    threading.Timer(0.05, queue.put, args=(Final("hello", 0, 1),)).start()
    assert await asyncio.wait_for(queue.get_async(), 5) == Final("hello", 0, 1)
    threading.Timer(0.05, queue.close).start()
    assert await asyncio.wait_for(queue.get_async(), 5) is None


class _Counting:
    """The real recogniser, counting its calls."""

    def __init__(self, inner: WhisperRecognizer) -> None:
        self.inner = inner
        self.calls = 0
        self.name = inner.name
        self.multilingual = inner.multilingual

    def transcribe(
        self, audio: Pcm, *, offset: float, language: str | None, prompt: str = ""
    ) -> list[Word]:
        self.calls += 1
        return self.inner.transcribe(audio, offset=offset, language=language, prompt=prompt)


def test_last_recognition_is_ready_when_the_pause_ends(
    tiny_en: WhisperRecognizer, clips: list[Clip]
) -> None:
    """The turn's last recognition runs early in the pause: the audio that ends the turn needs
    none, and its final gives every word."""
    rec = _Counting(tiny_en)
    transcriber = Transcriber(rec, StreamConfig(language="en", min_silence=0.5))
    events: list[Event] = []
    closing: list[int] = []  # recognitions made by the push that ended the turn
    for chunk in chunks(np.concatenate([_trim(clips[0].pcm), silence(1.0)]), 0.02):
        before = rec.calls
        new = transcriber.push(chunk)
        if any(isinstance(e, Final) and e.ends_segment for e in new):
            closing.append(rec.calls - before)
        events += new
    assert transcriber.end() == []
    assert closing == [0]
    _check_finals_settle(events)
    assert wer(clips[0].transcript, _text(events)) < WER_BOUND


def test_speech_after_a_short_pause_drops_the_early_recognition(
    tiny_en: WhisperRecognizer, clips: list[Clip]
) -> None:
    """A pause longer than ``speculate_after`` but shorter than ``min_silence`` does not end the
    turn: the words after it are transcribed with the rest, in one segment."""
    config = StreamConfig(language="en", min_silence=1.0, speculate_after=0.2)
    transcriber = Transcriber(tiny_en, config)
    events: list[Event] = []
    for chunk in chunks(np.concatenate([_trim(clips[0].pcm), silence(0.6)]), 0.02):
        events += transcriber.push(chunk)
    assert transcriber.speaking
    assert not any(isinstance(e, Final) and e.ends_segment for e in events)
    for chunk in chunks(np.concatenate([_trim(clips[3].pcm), silence(1.5)]), 0.02):
        events += transcriber.push(chunk)
    assert not transcriber.speaking
    _check_finals_settle(events)
    assert sum(f.ends_segment for f in _finals(events)) == 1
    reference = f"{clips[0].transcript} {clips[3].transcript}"
    error = wer(reference, _text(events))
    print(f"WER {error:.3f}: {_text(events)}")
    assert error < WER_BOUND
