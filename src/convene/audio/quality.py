"""Is a speaker's audio good enough for an interpreter? Pure measures over PCM and a rating.

The same measures and thresholds are computed in the browser (``web/src/engine/audio-check.ts``)
and by the captions worker, on the audio it decodes; both call it a *rating*, ``good``, ``fair``
or ``poor`` (see docs/protocol.md, "Audio quality").

**Speech and pauses.** The signal is cut into frames of about 32 ms. A frame is *speech* when its
RMS is at least :data:`SPEECH_ABOVE_FLOOR_DB` above the noise floor (the 10th percentile of the
frame levels: conversation has pauses at least that often) and within :data:`SPEECH_BELOW_PEAK_DB`
of the loud frames (the 95th percentile), so that breath and room tone between words are not
counted as speech. Frames that are not speech are the *pauses*.

**The measures.**

- *Level*: the RMS of the speech frames, dBFS. Broadcast speech sits around -20 dBFS RMS
  (EBU R128's -23 LUFS); below :data:`QUIET_POOR_DBFS` the voice is near the noise of every
  step after it (codec, mixing, the interpreter's headphones turned up).
- *Noise floor*: the RMS of the quietest frames (those at or under the 10th percentile), dBFS;
  the SNR is level minus noise. ISO 24019 (and the booth standard ISO 2603 before it) ask for
  speech clearly above the noise; an SNR under
  :data:`SNR_POOR_DB` (15 dB) is the region where intelligibility of connected speech drops for
  non-native listeners, which a simultaneous interpreter effectively is (listening while
  speaking); under :data:`SNR_FAIR_DB` (20 dB) the noise is heard all through. A headset
  microphone in a quiet room gives 30 dB and more; read speech recorded at home (LibriVox)
  measures 22-27 dB this way.
- *Clipping*: the share of speech samples at or above :data:`CLIP_LEVEL` (0.99) of full scale.
  A few isolated peaks are harmless; :data:`CLIPPING_POOR` (0.1 %) means the waveform is being
  flattened on every loud syllable, and the distortion (odd harmonics all over the band) is what
  interpreters complain of most.
- *Bandwidth*: how much of the speech energy lies above 4 kHz, relative to the 300 Hz-4 kHz band.
  ISO 24019 asks for 125 Hz-15 kHz; a telephone-band microphone or codec (300-3,400 Hz) cuts the
  fricatives and sibilants (s, f, th) that tell many words apart. Natural speech has its 4-8 kHz
  band some 15-30 dB under the band below; a band-limited chain leaves it 40 dB and more under
  (what remains is filter leakage and noise). At 16 kHz sampling only 4-8 kHz can be seen, which
  is enough to tell narrowband from wideband. ``bandwidth_hz`` reports the frequency under which
  99.9 % of the speech energy (from 100 Hz up) lies.

A rating needs :data:`MIN_SPEECH_SECONDS` of speech; before that there is none, except when
:data:`NOISE_ONLY_SECONDS` show no speech standing out of a noise as loud as quiet speech
(:data:`QUIET_POOR_DBFS`): whatever is said there is drowned, ``poor`` and ``noisy``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from convene.protocol.audio_quality import AudioIssue, AudioRating

__all__ = [
    "CLIPPING_FAIR",
    "CLIPPING_POOR",
    "CLIP_LEVEL",
    "HIGH_BAND_FAIR_DB",
    "HIGH_BAND_POOR_DB",
    "MIN_SPEECH_SECONDS",
    "QUIET_FAIR_DBFS",
    "QUIET_POOR_DBFS",
    "SNR_FAIR_DB",
    "SNR_POOR_DB",
    "AudioMeasures",
    "AudioRatingResult",
    "measure",
    "rate",
]

FRAME_SECONDS = 0.032
SPEECH_ABOVE_FLOOR_DB = 10.0
SPEECH_BELOW_PEAK_DB = 25.0
MIN_SPEECH_SECONDS = 1.0
NOISE_ONLY_SECONDS = 3.0
SILENCE_DBFS = -100.0

QUIET_FAIR_DBFS = -35.0
QUIET_POOR_DBFS = -45.0
SNR_FAIR_DB = 20.0
SNR_POOR_DB = 15.0
CLIP_LEVEL = 0.99
CLIPPING_FAIR = 0.0001
CLIPPING_POOR = 0.001
# Energy above 4 kHz relative to 300 Hz-4 kHz, over speech frames.
HIGH_BAND_FAIR_DB = -30.0
HIGH_BAND_POOR_DB = -40.0
BANDWIDTH_SHARE = 0.999

Samples = npt.NDArray[np.floating]


@dataclass(frozen=True, slots=True)
class AudioMeasures:
    """What :func:`measure` found; the dB values are ``None`` when there was no speech."""

    seconds: float
    speech_seconds: float
    level_dbfs: float | None
    noise_dbfs: float | None
    clipping: float
    high_band_db: float | None
    bandwidth_hz: int | None

    @property
    def snr_db(self) -> float | None:
        if self.level_dbfs is None or self.noise_dbfs is None:
            return None
        return self.level_dbfs - self.noise_dbfs


@dataclass(frozen=True, slots=True)
class AudioRatingResult:
    rating: AudioRating
    issues: tuple[AudioIssue, ...]


def _db(power: float) -> float:
    return max(SILENCE_DBFS, 10.0 * float(np.log10(power))) if power > 0 else SILENCE_DBFS


def measure(samples: Samples, rate: int) -> AudioMeasures:
    """Measure mono PCM in [-1, 1] sampled at ``rate`` Hz (see the module docstring)."""
    if rate < 8000:
        raise ValueError("a sample rate of at least 8 kHz is needed")
    x = np.asarray(samples, dtype=np.float64).ravel()
    size = round(FRAME_SECONDS * rate)
    count = len(x) // size
    if count == 0:
        return AudioMeasures(len(x) / rate, 0.0, None, None, 0.0, None, None)
    frames = x[: count * size].reshape(count, size)
    power = np.mean(frames * frames, axis=1)
    levels = 10.0 * np.log10(np.maximum(power, 10 ** (SILENCE_DBFS / 10)))
    floor = float(np.percentile(levels, 10))
    peak = float(np.percentile(levels, 95))
    threshold = max(floor + SPEECH_ABOVE_FLOOR_DB, peak - SPEECH_BELOW_PEAK_DB, SILENCE_DBFS + 10)
    speech = levels >= threshold
    seconds = len(x) / rate
    speech_seconds = int(speech.sum()) * size / rate
    if not speech.any():
        return AudioMeasures(seconds, 0.0, None, _db(float(np.mean(power))), 0.0, None, None)
    level = _db(float(np.mean(power[speech])))
    # The quiet frames, not every pause: the tails of words and breaths are in the pauses too.
    noise = _db(float(np.mean(power[levels <= floor])))
    voiced = frames[speech]
    clipping = float(np.mean(np.abs(voiced) >= CLIP_LEVEL))
    high_band, bandwidth = _spectrum(voiced, rate)
    return AudioMeasures(seconds, speech_seconds, level, noise, clipping, high_band, bandwidth)


def _spectrum(frames: npt.NDArray[np.float64], rate: int) -> tuple[float | None, int | None]:
    """The high band's energy relative to 300 Hz-4 kHz (dB), and the 99.9 % bandwidth."""
    window = np.hanning(frames.shape[1])
    spectrum = np.mean(np.abs(np.fft.rfft(frames * window, axis=1)) ** 2, axis=0)
    freqs = np.fft.rfftfreq(frames.shape[1], 1.0 / rate)
    top = min(15_000.0, rate / 2)
    low = float(spectrum[(freqs >= 300) & (freqs < 4000)].sum())
    high = float(spectrum[(freqs >= 4000) & (freqs <= top)].sum())
    if low <= 0:
        return None, None
    high_band = 10.0 * float(np.log10(high / low)) if high > 0 else SILENCE_DBFS
    band = (freqs >= 100) & (freqs <= top)
    cumulative = np.cumsum(spectrum[band])
    edge = int(np.searchsorted(cumulative, BANDWIDTH_SHARE * cumulative[-1]))
    bandwidth = int(freqs[band][min(edge, len(cumulative) - 1)])
    return high_band, bandwidth


def rate(m: AudioMeasures) -> AudioRatingResult | None:
    """The rating of these measures (``None``: not enough speech to tell)."""
    if m.speech_seconds < MIN_SPEECH_SECONDS or m.level_dbfs is None:
        # No speech stands out, yet the microphone is loud: speech drowned in noise.
        if m.seconds >= NOISE_ONLY_SECONDS and (m.noise_dbfs or SILENCE_DBFS) > QUIET_POOR_DBFS:
            return AudioRatingResult("poor", ("noisy",))
        return None
    poor: list[AudioIssue] = []
    fair: list[AudioIssue] = []

    def check(issue: AudioIssue, is_poor: bool, is_fair: bool) -> None:
        if is_poor:
            poor.append(issue)
        elif is_fair:
            fair.append(issue)

    check("quiet", m.level_dbfs < QUIET_POOR_DBFS, m.level_dbfs < QUIET_FAIR_DBFS)
    check("clipping", m.clipping >= CLIPPING_POOR, m.clipping >= CLIPPING_FAIR)
    snr = m.snr_db
    if snr is not None:
        check("noisy", snr < SNR_POOR_DB, snr < SNR_FAIR_DB)
    if m.high_band_db is not None:
        check("narrowband", m.high_band_db < HIGH_BAND_POOR_DB, m.high_band_db < HIGH_BAND_FAIR_DB)
    issues = tuple(poor + fair)
    return AudioRatingResult("poor" if poor else "fair" if fair else "good", issues)
