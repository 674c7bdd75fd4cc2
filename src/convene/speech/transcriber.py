"""One speaker's streaming transcription, as a plain synchronous state machine.

Audio goes in (16 kHz mono float32, any chunk size); silero VAD splits it into speech turns; while
a turn goes on, the recogniser is run on the turn's growing buffer every ``step`` seconds of new
audio and LocalAgreement-2 decides which words are settled (:class:`Final`) and which are still
moving (:class:`Partial`). A pause of ``min_silence`` ends the turn: the whole buffer is
transcribed once more and everything is committed. That last recognition starts early, after
``speculate_after`` seconds of the pause (no step recognition starts in a pause): if the
pause lasts, its words are given the moment the turn ends; if speech resumes, they are dropped. A
turn that goes on past ``cut_after`` seconds is cut after its last committed word: the buffer
restarts there, keeping the uncommitted tail, and a prompt of the recent text keeps Whisper's
spelling and context across the cut.

Everything here runs on the caller's thread; :mod:`convene.speech.stream` puts it in a thread of
its own with a bounded output queue.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from convene.config import SpeechSettings
from convene.speech.agreement import LocalAgreement, Word, join_words
from convene.speech.audio import SAMPLE_RATE, Pcm, seconds
from convene.speech.recognizer import Recognizer
from convene.speech.vad import FRAME_SAMPLES, SileroVad, Transition, VoiceDetector

__all__ = ["Event", "Final", "Partial", "StreamConfig", "Transcriber"]


@dataclass(frozen=True, slots=True)
class Partial:
    """The unstable tail after the last final: replaced by the next partial or final."""

    text: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Final:
    """Settled words; never changed once given. ``ends_segment`` marks the last final of a
    speech turn (or of a forced cut); its text is empty when every word was already given."""

    text: str
    start: float
    end: float
    ends_segment: bool = False


Event = Partial | Final

# Frames below the VAD's threshold that make a pause, for deferring step recognitions.
_PAUSE_FRAMES = 3


@dataclass(frozen=True, slots=True)
class StreamConfig:
    language: str | None = None  # the speaker's declared language (None: the model detects)
    step: float = 0.6  # seconds of new speech between two recognitions
    min_silence: float = 0.5  # pause that ends a turn
    vad_threshold: float = 0.5
    pre_roll: float = 0.3  # audio kept from before the turn's first speech frame
    min_speech: float = 0.25  # shorter turns (a cough, a click) are not transcribed
    cut_after: float = 15.0  # a longer turn is cut after its last committed word
    hard_cut: float = 25.0  # ... or, when nothing was committed, everything is committed
    prompt_chars: int = 200  # recent text given as Whisper's prompt after a cut
    # Silence after which the turn's last recognition starts, before the pause ends the turn
    # (None: when it ends).
    speculate_after: float | None = 0.2

    @classmethod
    def from_settings(cls, speech: SpeechSettings, language: str | None) -> StreamConfig:
        """The operator's ``[speech]`` settings for a speaker of ``language``."""
        return cls(
            language=language,
            step=speech.step_seconds,
            min_silence=speech.pause_seconds,
            cut_after=speech.max_segment_seconds,
            # Whisper reads 30 s windows: a longer buffer would cost a second window.
            hard_cut=min(speech.max_segment_seconds + 10.0, 29.0),
        )


class Transcriber:
    """Frames in, :data:`Event` values out, for one speaker's stream."""

    def __init__(self, recognizer: Recognizer, config: StreamConfig | None = None) -> None:
        self.recognizer = recognizer
        self.config = config or StreamConfig()
        self._vad = SileroVad()
        self._detector = VoiceDetector(
            threshold=self.config.vad_threshold, min_silence=self.config.min_silence
        )
        self._pending = np.zeros(0, dtype=np.float32)
        self.processed = 0  # samples of the stream looked at so far
        pre_roll_frames = max(1, round(self.config.pre_roll * SAMPLE_RATE / FRAME_SAMPLES))
        self._ring: deque[Pcm] = deque(maxlen=pre_roll_frames)
        self._buffer: list[Pcm] = []
        self._buffer_start = 0  # sample of the stream where the buffer begins
        self._buffered = 0
        self._speech_frames = 0
        self._since_run = 0
        self._agreement = LocalAgreement()
        self._partial = ""
        self._turn_words = 0
        self._prompt = ""  # committed text from before the buffer (after cuts)
        self._buffer_text = ""  # committed text of the buffer's audio
        self._silent = 0  # frames of the current pause within the turn
        self._speculation: list[Word] | None = None  # the turn's last hypothesis, taken early

    @property
    def consumed(self) -> int:
        """Samples of the stream taken so far (looked at, or waiting to fill a VAD frame)."""
        return self.processed + len(self._pending)

    @property
    def speaking(self) -> bool:
        return self._detector.speaking

    def push(self, pcm: Pcm) -> list[Event]:
        """Take the next audio of the stream; return what it settles or changes."""
        events: list[Event] = []
        data = np.concatenate([self._pending, pcm]) if len(self._pending) else pcm
        usable = len(data) - len(data) % FRAME_SAMPLES
        for at in range(0, usable, FRAME_SAMPLES):
            frame = np.ascontiguousarray(data[at : at + FRAME_SAMPLES], dtype=np.float32)
            probability = self._vad.probability(frame)
            transition = self._detector.update(probability)
            if transition is Transition.SILENCE:
                self._ring.append(frame)
            elif transition is Transition.START:
                self._start_turn(frame)
            else:
                self._append(frame, speech=transition is Transition.SPEECH)
                if transition is Transition.END:
                    events += self._end_turn()
                elif probability >= self._detector.off_threshold:
                    self._silent, self._speculation = 0, None  # speech again
                else:
                    self._silent += 1
            self.processed += FRAME_SAMPLES
            if self._speculate_now():
                self._speculation = self._transcribe()
        self._pending = data[usable:].copy()
        # One recognition per push at most: a stream that falls behind catches up on bigger
        # buffers instead of queueing recognitions.
        # Once a pause begins, the turn's last recognition may be near: a step recognition then
        # would only delay it.
        pausing = self.config.speculate_after is not None and self._silent >= _PAUSE_FRAMES
        if self.speaking and not pausing and self._since_run >= self.config.step * SAMPLE_RATE:
            events += self._recognize()
        return events

    def end(self) -> list[Event]:
        """The stream is over: finish a turn still going on."""
        return self._end_turn() if self.speaking else []

    # -- turns ----------------------------------------------------------------------------

    def _start_turn(self, frame: Pcm) -> None:
        self._buffer = [*self._ring, frame]
        self._ring.clear()
        self._buffer_start = self.processed - (len(self._buffer) - 1) * FRAME_SAMPLES
        self._buffered = len(self._buffer) * FRAME_SAMPLES
        self._since_run = self._buffered
        self._speech_frames = 1
        self._agreement = LocalAgreement()
        self._agreement.last_committed_end = seconds(self._buffer_start)
        self._turn_words = 0
        self._prompt = ""
        self._buffer_text = ""
        self._silent, self._speculation = 0, None

    def _append(self, frame: Pcm, *, speech: bool) -> None:
        self._buffer.append(frame)
        self._buffered += FRAME_SAMPLES
        self._since_run += FRAME_SAMPLES
        self._speech_frames += speech

    def _end_turn(self) -> list[Event]:
        events: list[Event] = []
        if self._speech_frames * FRAME_SAMPLES >= self.config.min_speech * SAMPLE_RATE:
            words = self._speculation
            if words is None:
                words = self._transcribe()
            rest = self._agreement.finish(words)
            if rest or self._turn_words:
                end = rest[-1].end if rest else self._agreement.last_committed_end
                start = rest[0].start if rest else end
                events.append(Final(join_words(rest), start, end, ends_segment=True))
        if self._partial:
            # The closing final took the partial's words (or the turn gave none).
            self._partial = ""
        self._detector.speaking = False
        self._buffer, self._buffered, self._since_run = [], 0, 0
        self._silent, self._speculation = 0, None
        self._ring.clear()
        return events

    def _pausing(self) -> bool:
        after = self.config.speculate_after
        return (
            after is not None
            and self.speaking
            and self._silent * FRAME_SAMPLES >= after * SAMPLE_RATE
        )

    def _speculate_now(self) -> bool:
        return (
            self._speculation is None
            and self._pausing()
            and self._speech_frames * FRAME_SAMPLES >= self.config.min_speech * SAMPLE_RATE
        )

    # -- recognition ----------------------------------------------------------------------

    def _transcribe(self) -> list[Word]:
        audio = np.concatenate(self._buffer) if self._buffer else np.zeros(0, np.float32)
        self._since_run = 0
        return self.recognizer.transcribe(
            audio,
            offset=seconds(self._buffer_start),
            language=self.config.language,
            prompt=self._prompt,
        )

    def _recognize(self) -> list[Event]:
        events: list[Event] = []
        self._agreement.insert(self._transcribe())
        committed = self._agreement.flush()
        buffered = seconds(self._buffered)
        cut = bool(committed) and buffered > self.config.cut_after
        if not committed and buffered > self.config.hard_cut:
            committed = self._agreement.finish()
            cut = bool(committed)
        if committed:
            self._turn_words += len(committed)
            self._remember(committed)
            events.append(Final(join_words(committed), committed[0].start, committed[-1].end, cut))
        unstable = self._agreement.unstable
        text = join_words(unstable)
        if text != self._partial or committed:
            self._partial = text
            if unstable:
                events.append(Partial(text, unstable[0].start, unstable[-1].end))
            else:
                at = self._agreement.last_committed_end
                events.append(Partial("", at, at))
        if cut:
            self._cut()
        return events

    def _remember(self, words: list[Word]) -> None:
        self._buffer_text += "".join(w.text for w in words)

    def _cut(self) -> None:
        """Restart the buffer at the last committed word, keeping the audio after it."""
        keep_from = round(self._agreement.last_committed_end * SAMPLE_RATE) - self._buffer_start
        keep_from = max(0, min(keep_from, self._buffered))
        audio = np.concatenate(self._buffer)[keep_from:]
        self._buffer = [audio] if len(audio) else []
        self._buffer_start += keep_from
        self._buffered = len(audio)
        self._turn_words = 0
        # Only text whose audio left the buffer is a prompt: prompting with words that are
        # still in the audio makes Whisper skip them.
        text = self._prompt + self._buffer_text
        if len(text) > self.config.prompt_chars:
            # Start at a word: half a word reads as a different one.
            text = text[-self.config.prompt_chars :].partition(" ")[2]
        self._prompt = text.lstrip()
        self._buffer_text = ""
