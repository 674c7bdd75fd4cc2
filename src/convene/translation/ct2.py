"""Neural translation with CTranslate2: OPUS-MT pairs converted to CTranslate2, and multilingual
M2M100-style models, each tokenised with its own SentencePiece models.

The models folder holds one folder per model, as ``ct2-transformers-converter`` writes it (with
``--copy_files`` for the tokeniser files). What a folder serves is read from its
``convene-translation.json``::

    {"kind": "pair", "source": "en", "target": "de"}          # OPUS-MT: source.spm, target.spm
    {"kind": "pair", "source": "en", "targets": ["es", "fr"],
     "target_token": ">>{target}<<"}                          # a multi-target OPUS-MT model
    {"kind": "m2m100", "languages": ["ar", "en", "es", "fr", "ru", "zh"],
     "tokenizer": "sentencepiece.bpe.model"}                   # one model, every direction

or, without that file, from a folder named like OPUS-MT's (``opus-mt-en-de``: en -> de).

A model is loaded at its first use and serves one batch at a time in a worker thread (on a CPU,
parallel batches only share the same cores); each batch is one ``translate_batch`` call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from convene.translation.base import Pair
from convene.translation.errors import EngineUnavailable, PairNotAvailable, TranslationError
from convene.translation.languages import normalise

__all__ = ["CTranslate2Engine", "ModelInfo", "read_model_info"]

log = logging.getLogger(__name__)

METADATA = "convene-translation.json"
_OPUS_NAME = re.compile(r"(?:^|-)([a-z]{2,3})-([a-z]{2,3})$")

Device = Literal["auto", "cpu", "cuda"]

_SPECIAL = frozenset({"<s>", "</s>", "<pad>", "<unk>"})


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model folder and what it serves."""

    path: Path
    kind: Literal["pair", "m2m100"]
    pairs: frozenset[Pair]
    # pair: the source and target SentencePiece files; m2m100: one file, both sides.
    source_tokenizer: Path
    target_tokenizer: Path
    # Put before the source tokens for a multi-target pair model (">>{target}<<").
    target_token: str | None = None

    @property
    def name(self) -> str:
        return self.path.name


def read_model_info(path: Path) -> ModelInfo:
    """What the model in ``path`` serves; raises ``ValueError`` saying what is missing."""
    if not (path / "model.bin").is_file():
        raise ValueError(f"{path}: no model.bin (not a CTranslate2 model)")
    meta: dict[str, Any] = {}
    if (path / METADATA).is_file():
        meta = json.loads((path / METADATA).read_text())
        if not isinstance(meta, dict):
            raise ValueError(f"{path / METADATA}: not a JSON object")
    else:
        match = _OPUS_NAME.search(path.name.lower())
        if match is None:
            raise ValueError(f"{path}: no {METADATA}, and the name says no language pair")
        meta = {"kind": "pair", "source": match[1], "target": match[2]}
    kind = meta.get("kind", "pair")
    if kind == "m2m100":
        languages = sorted({normalise(str(code)) for code in meta.get("languages", [])})
        if len(languages) < 2:
            raise ValueError(f"{path / METADATA}: an m2m100 model needs its languages")
        tokenizer = path / str(meta.get("tokenizer", "sentencepiece.bpe.model"))
        pairs = frozenset(Pair(s, t) for s in languages for t in languages if s != t)
        info = ModelInfo(path, "m2m100", pairs, tokenizer, tokenizer)
    elif kind == "pair":
        source = normalise(str(meta.get("source", "")))
        targets = [normalise(str(t)) for t in meta.get("targets", [meta.get("target", "")])]
        if not source or not all(targets):
            raise ValueError(f"{path / METADATA}: a pair model needs its source and target")
        target_token = meta.get("target_token")
        if len(targets) > 1 and not target_token:
            raise ValueError(f"{path / METADATA}: several targets need a target_token")
        info = ModelInfo(
            path,
            "pair",
            frozenset(Pair(source, target) for target in targets if target != source),
            path / str(meta.get("source_tokenizer", "source.spm")),
            path / str(meta.get("target_tokenizer", "target.spm")),
            str(target_token) if target_token else None,
        )
    else:
        raise ValueError(f"{path / METADATA}: unknown kind {kind!r}")
    for tokenizer in dict.fromkeys((info.source_tokenizer, info.target_tokenizer)):
        if not tokenizer.is_file():
            raise ValueError(f"{path}: tokenizer {tokenizer.name} is missing")
    return info


def _resolve_device(device: Device, compute_type: str) -> tuple[str, str]:
    """A GPU when asked for or present; int8 on a CPU, float16 on a GPU."""
    import ctranslate2

    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


class _LoadedModel:
    """A translator and its tokenisers; used from the engine's worker thread only."""

    def __init__(self, info: ModelInfo, device: str, compute_type: str, cpu_threads: int) -> None:
        import ctranslate2
        import sentencepiece

        self.info = info
        self.translator = ctranslate2.Translator(
            str(info.path), device=device, compute_type=compute_type, intra_threads=cpu_threads
        )
        self.source_sp = sentencepiece.SentencePieceProcessor(model_file=str(info.source_tokenizer))
        self.target_sp = (
            self.source_sp
            if info.target_tokenizer == info.source_tokenizer
            else sentencepiece.SentencePieceProcessor(model_file=str(info.target_tokenizer))
        )
        # A model converted from Marian's own files (ct2-opus-mt-converter) closes the source
        # with </s> itself; one converted from Transformers expects it in the tokens.
        config: dict[str, Any] = {}
        if (info.path / "config.json").is_file():
            config = json.loads((info.path / "config.json").read_text())
        self.eos: list[str] = [] if config.get("add_source_eos") else ["</s>"]

    def encode(self, text: str, pair: Pair) -> list[str]:
        pieces: list[str] = self.source_sp.encode(text, out_type=str)
        if self.info.kind == "m2m100":
            return [f"__{pair.source}__", *pieces, *self.eos]
        if self.info.target_token:
            return [self.info.target_token.format(target=pair.target), *pieces, *self.eos]
        return [*pieces, *self.eos]

    def decode(self, tokens: list[str], pair: Pair) -> str:
        if self.info.kind == "m2m100" and tokens[:1] == [f"__{pair.target}__"]:
            tokens = tokens[1:]
        # SentencePiece would write an unknown or control token as " ⁇ ".
        text: str = self.target_sp.decode([t for t in tokens if t not in _SPECIAL])
        return text.strip()

    def translate(
        self, texts: list[str], pair: Pair, *, beam_size: int, max_batch: int, max_length: int
    ) -> list[str]:
        batch = [self.encode(text, pair) for text in texts]
        prefix = [[f"__{pair.target}__"] for _ in batch] if self.info.kind == "m2m100" else None
        results = self.translator.translate_batch(
            batch,
            target_prefix=prefix,
            beam_size=beam_size,
            max_batch_size=max_batch,
            max_input_length=max_length,
            # A caption's translation is rarely twice as long as its source.
            max_decoding_length=min(max_length, 2 * max(len(tokens) for tokens in batch) + 8),
        )
        return [self.decode(result.hypotheses[0], pair) for result in results]


class CTranslate2Engine:
    """Every CTranslate2 translation model found in ``models_dir``."""

    name = "ctranslate2"

    def __init__(
        self,
        models_dir: Path,
        *,
        device: Device = "auto",
        compute_type: str = "auto",
        cpu_threads: int = 0,
        beam_size: int = 2,
        max_batch: int = 32,
        max_length: int = 256,
    ) -> None:
        self.models_dir = models_dir
        self.device = device
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.max_batch = max_batch
        self.max_length = max_length
        self._models: dict[Pair, ModelInfo] = {}
        self._loaded: dict[Path, _LoadedModel] = {}
        self._load_lock = threading.Lock()
        # One batch at a time; a batch that waited past its caller's timeout is cancelled
        # before it starts.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="translation")
        self.problems: dict[str, str] = {}

    async def start(self) -> None:
        await self.pairs()

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._loaded.clear()

    def _scan(self) -> dict[Pair, ModelInfo]:
        models: dict[Pair, ModelInfo] = {}
        self.problems = {}
        if not self.models_dir.is_dir():
            return models
        for path in sorted(p for p in self.models_dir.iterdir() if p.is_dir()):
            try:
                info = read_model_info(path)
            except (ValueError, OSError) as exc:
                self.problems[path.name] = str(exc)
                log.warning("translation model %s skipped: %s", path.name, exc)
                continue
            for pair in info.pairs:
                # A pair model beats a multilingual one for its pair (smaller, often better).
                current = models.get(pair)
                if current is None or (current.kind == "m2m100" and info.kind == "pair"):
                    models[pair] = info
        return models

    async def pairs(self) -> frozenset[Pair]:
        self._models = await asyncio.to_thread(self._scan)
        return frozenset(self._models)

    def _load(self, info: ModelInfo) -> _LoadedModel:
        with self._load_lock:
            model = self._loaded.get(info.path)
            if model is None:
                device, compute_type = _resolve_device(self.device, self.compute_type)
                log.info("loading translation model %s (%s, %s)", info.name, device, compute_type)
                try:
                    model = _LoadedModel(info, device, compute_type, self.cpu_threads)
                except (RuntimeError, OSError, ValueError) as exc:
                    raise EngineUnavailable(self.name, f"model {info.name}: {exc}") from exc
                self._loaded[info.path] = model
            return model

    def _run(self, info: ModelInfo, texts: list[str], pair: Pair) -> list[str]:
        model = self._load(info)
        try:
            return model.translate(
                texts,
                pair,
                beam_size=self.beam_size,
                max_batch=self.max_batch,
                max_length=self.max_length,
            )
        except (RuntimeError, ValueError) as exc:
            raise TranslationError(f"{self.name} {info.name}: {exc}") from exc

    def _model_for(self, pair: Pair) -> ModelInfo:
        info = self._models.get(pair)
        if info is None:
            raise PairNotAvailable(
                pair.source, pair.target, f"no CTranslate2 model for it in {self.models_dir}"
            )
        return info

    async def prepare(self, pair: Pair) -> None:
        """Load the pair's model (seconds for a large one) outside any segment's timeout."""
        info = self._model_for(pair)
        await asyncio.get_running_loop().run_in_executor(self._executor, self._load, info)

    async def translate(self, texts: Sequence[str], pair: Pair) -> list[str]:
        if not texts:
            return []
        info = self._model_for(pair)
        present = [text.strip() for text in texts]
        loop = asyncio.get_running_loop()
        indices = [i for i, text in enumerate(present) if text]
        out = ["" for _ in present]
        if indices:
            done = await loop.run_in_executor(
                self._executor, self._run, info, [present[i] for i in indices], pair
            )
            for i, text in zip(indices, done, strict=True):
                out[i] = text
        return out
