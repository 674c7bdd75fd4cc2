"""Text to speech for machine interpretation: espeak-ng as a child process, 48 kHz mono PCM out.

espeak-ng speaks every UN language (robotic, but fast: a sentence in a few milliseconds of
CPU). It runs as ``espeak-ng -v <voice> --stdout <text>`` with a timeout, writes a WAV stream
(22,050 Hz, 16-bit mono, its length fields unset) that is resampled here to 48 kHz for Opus.

Chinese is spoken with the ``cmn`` voice, which reads Chinese characters; text in Arabic is
read best when it is diacritised (machine translation output often is not).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import struct
import subprocess

import av
import numpy as np

__all__ = [
    "SAMPLE_RATE",
    "VOICES",
    "SynthesisError",
    "installed_languages",
    "resample",
    "synthesise",
]

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
# Language -> espeak-ng voice.
VOICES: dict[str, str] = {"ar": "ar", "zh": "cmn", "en": "en", "fr": "fr", "ru": "ru", "es": "es"}
MAX_TEXT = 2_000  # characters in one utterance
_MAX_OUTPUT = 64 * 1024 * 1024  # bytes of WAV (about 25 minutes at 22 kHz)


class SynthesisError(Exception):
    """The engine is missing, timed out, failed, or wrote no audio."""


def installed_languages(binary: str = "espeak-ng", limit: float = 10.0) -> list[str]:
    """The languages of :data:`VOICES` that ``binary`` has a voice for ([] without it)."""
    if shutil.which(binary) is None:
        return []
    try:
        listing = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            [binary, "--voices"], capture_output=True, timeout=limit, check=True, text=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        log.warning("could not list the voices of %s", binary)
        return []
    names = set()
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 2:
            names.add(fields[1])
    # A language is listed by its variants too ("en-gb", "fr-fr"), which "-v en" picks from.
    return sorted(
        language
        for language, voice in VOICES.items()
        if voice in names or any(name.startswith(f"{voice}-") for name in names)
    )


async def synthesise(
    text: str, language: str, *, binary: str = "espeak-ng", limit: float = 10.0
) -> bytes:
    """``text`` spoken in ``language``: signed 16-bit mono PCM at :data:`SAMPLE_RATE`."""
    voice = VOICES.get(language)
    if voice is None:
        raise SynthesisError(f"no voice for {language!r}")
    text = " ".join(text.split())[:MAX_TEXT]
    if not text:
        raise SynthesisError("nothing to say")
    try:
        process = await asyncio.create_subprocess_exec(
            binary,
            "-v",
            voice,
            "--stdout",
            "--",
            text,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        raise SynthesisError(f"{binary} cannot run: {exc}") from exc
    try:
        wav, _ = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError as exc:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise SynthesisError(f"{binary} took more than {limit} s") from exc
    if process.returncode != 0:
        raise SynthesisError(f"{binary} failed (status {process.returncode})")
    rate, pcm = _parse_wav(wav[:_MAX_OUTPUT])
    return resample(pcm, rate)


def _parse_wav(wav: bytes) -> tuple[int, bytes]:
    """The sample rate and 16-bit mono samples of espeak-ng's WAV stream (whose chunk
    lengths may be unset: the data chunk runs to the end)."""
    if len(wav) < 12 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise SynthesisError("the engine wrote no WAV")
    offset, rate = 12, 0
    while offset + 8 <= len(wav):
        chunk, size = wav[offset : offset + 4], struct.unpack_from("<I", wav, offset + 4)[0]
        body = offset + 8
        if chunk == b"fmt " and body + 16 <= len(wav):
            fmt, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", wav, body)
            if fmt != 1 or channels != 1 or bits != 16 or not 8_000 <= rate <= 96_000:
                raise SynthesisError("the engine wrote an unexpected WAV format")
        elif chunk == b"data":
            if rate == 0:
                break
            data = wav[body:]
            data = data[: len(data) - len(data) % 2]
            if not data:
                raise SynthesisError("the engine wrote no audio")
            return rate, data
        offset = body + size + (size & 1)
    raise SynthesisError("the engine wrote no audio")


def resample(pcm: bytes, rate: int) -> bytes:
    """16-bit mono ``pcm`` at ``rate`` resampled to :data:`SAMPLE_RATE`."""
    if rate == SAMPLE_RATE:
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2").reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    out = [f.to_ndarray().tobytes() for f in resampler.resample(frame)]
    out += [f.to_ndarray().tobytes() for f in resampler.resample(None)]
    return b"".join(out)
