"""PCM: PyAV decoding and resampling to 16 kHz mono, as the worker will do with Janus's Opus."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from convene.speech.audio import SAMPLE_RATE, Resampler, chunks, read_pcm
from tests.speech.conftest import LIBRIVOX


def _peak_hz(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / SAMPLE_RATE)[int(np.argmax(spectrum))])


def test_48k_stereo_frames_become_16k_mono_without_losing_the_pitch() -> None:
    rate = 48_000
    t = np.arange(rate) / rate
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([left, left], axis=1).reshape(-1).astype(np.float32)
    resampler = Resampler()
    # 20 ms frames, like Opus packets.
    parts = [
        resampler.array(stereo[i : i + 960 * 2], rate, channels=2)
        for i in range(0, len(stereo), 960 * 2)
    ]
    pcm = np.concatenate([*parts, resampler.flush()])
    assert pcm.dtype == np.float32
    assert abs(len(pcm) - SAMPLE_RATE) <= 32
    assert abs(_peak_hz(pcm) - 440) < 2
    # FFmpeg's downmix scales each channel by 1/sqrt(2): the level is kept, within 3 dB.
    assert 0.45 < float(np.max(np.abs(pcm[1000:-1000]))) < 0.75


def test_opus_file_decoded_and_resampled(tmp_path: Path) -> None:
    """A 48 kHz Opus stream (what rtp_forward carries), written and read back with PyAV."""
    path = tmp_path / "tone.ogg"
    rate = 48_000
    t = np.arange(rate * 2) / rate
    samples = (0.4 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libopus", rate=rate, layout="mono")
        for i in range(0, len(samples), 960):
            frame = av.AudioFrame.from_ndarray(
                samples[i : i + 960].reshape(1, -1), format="flt", layout="mono"
            )
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    pcm = read_pcm(path)
    assert abs(len(pcm) / SAMPLE_RATE - 2.0) < 0.1
    assert abs(_peak_hz(pcm[SAMPLE_RATE // 2 : SAMPLE_RATE]) - 1000) < 5


def test_librivox_wav_and_chunks() -> None:
    pcm = read_pcm(LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav")
    # The file is 16 kHz 16-bit mono: 95,724 bytes with a 44-byte header.
    assert len(pcm) == (95_724 - 44) // 2
    pieces = list(chunks(pcm, 0.1))
    assert all(len(p) == 1600 for p in pieces[:-1])
    assert np.array_equal(np.concatenate(pieces), pcm)
