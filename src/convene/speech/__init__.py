"""Speech recognition for captions: audio, voice activity, streaming Whisper, models.

The pieces, each in its own module: :mod:`~convene.speech.audio` (16 kHz mono PCM from PyAV),
:mod:`~convene.speech.vad` (silero on onnxruntime), :mod:`~convene.speech.agreement`
(LocalAgreement-2), :mod:`~convene.speech.recognizer` (faster-whisper behind a small interface),
:mod:`~convene.speech.transcriber` (one speaker's turns, partials and finals),
:mod:`~convene.speech.stream` (that in a thread, with a bounded queue) and
:mod:`~convene.speech.models` (the models folder, the catalogue, downloads and packaged models).
"""
