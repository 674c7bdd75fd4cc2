"""Tiny CTranslate2 translation models built at test time, without a model hub or torch.

The model is shaped like an OPUS-MT (Marian) model as ``ct2-transformers-converter`` writes it
(post-norm Transformer, sinusoidal positions, decoding from a zero embedding, ``</s>`` closing
the source) or like M2M100 (language tokens), with random weights: its output is gibberish, but
it goes through the real tokeniser, batching, decoding and detokeniser code. The SentencePiece
models are trained on a few sentences.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import sentencepiece
from ctranslate2 import specs

CORPUS = {
    "en": [
        "Good morning, everyone, and welcome to the meeting.",
        "The house is big and the garden is small.",
        "I would like to speak about the budget for next year.",
        "Thank you, the floor is yours.",
        "Can everyone hear me? Please mute your microphones.",
    ],
    "de": [
        "Guten Morgen allerseits und willkommen zur Sitzung.",
        "Das Haus ist groß und der Garten ist klein.",
        "Ich möchte über den Haushalt des nächsten Jahres sprechen.",
        "Danke, Sie haben das Wort.",
        "Können mich alle hören? Bitte schalten Sie die Mikrofone stumm.",
    ],
}


def train_sentencepiece(path: Path, sentences: list[str], vocab_size: int = 60) -> Path:
    corpus = path.with_suffix(".txt")
    corpus.write_text("\n".join(sentences * 4) + "\n")
    sentencepiece.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(path.with_suffix("")),
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        minloglevel=2,
    )
    corpus.unlink()
    model = path.with_suffix(".model")
    model.rename(path)
    path.with_suffix(".vocab").unlink()
    return path


def _vocabulary(sp_path: Path, extra: list[str]) -> list[str]:
    sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_path))
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size())] + extra


def _weights(spec: specs.TransformerSpec, d: int, ffn: int, src: int, tgt: int) -> None:
    rng = np.random.default_rng(7)

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    def norm(layer: specs.LayerSpec) -> None:
        layer.gamma = np.ones(d, dtype=np.float32)
        layer.beta = np.zeros(d, dtype=np.float32)

    spec.encoder.embeddings[0].weight = w(src, d)
    if hasattr(spec.encoder, "layer_norm"):
        norm(spec.encoder.layer_norm)
    for layer in spec.encoder.layer:
        layer.self_attention.linear[0].weight = w(3 * d, d)
        layer.self_attention.linear[1].weight = w(d, d)
        norm(layer.self_attention.layer_norm)
        layer.ffn.linear_0.weight = w(ffn, d)
        layer.ffn.linear_1.weight = w(d, ffn)
        norm(layer.ffn.layer_norm)
    spec.decoder.embeddings.weight = w(tgt, d)
    if hasattr(spec.decoder, "layer_norm"):
        norm(spec.decoder.layer_norm)
    spec.decoder.projection.weight = w(tgt, d)
    for layer in spec.decoder.layer:
        layer.self_attention.linear[0].weight = w(3 * d, d)
        layer.self_attention.linear[1].weight = w(d, d)
        norm(layer.self_attention.layer_norm)
        layer.attention.linear[0].weight = w(d, d)
        layer.attention.linear[1].weight = w(2 * d, d)
        layer.attention.linear[2].weight = w(d, d)
        norm(layer.attention.layer_norm)
        layer.ffn.linear_0.weight = w(ffn, d)
        layer.ffn.linear_1.weight = w(d, ffn)
        norm(layer.ffn.layer_norm)


def _save(spec: specs.TransformerSpec, out: Path, src: list[str], tgt: list[str]) -> None:
    spec.config.unk_token = "<unk>"
    spec.config.bos_token = "<s>"
    spec.config.eos_token = "</s>"
    spec.config.decoder_start_token = "</s>"
    spec.register_source_vocabulary(src)
    spec.register_target_vocabulary(tgt)
    spec.validate()
    spec.optimize(quantization=None)
    spec.save(str(out))


def build_opus_mt(
    out: Path, source: str = "de", target: str = "en", *, from_marian: bool = False
) -> Path:
    """An OPUS-MT-shaped pair model in ``out`` (model.bin, source.spm, target.spm), as the
    Transformers converter writes it, or (``from_marian``) as ``ct2-opus-mt-converter`` does
    from OPUS-MT's own files: then the model adds the source's ``</s>`` itself. The weights
    depend on nothing but the vocabulary sizes: both kinds translate alike."""
    out.mkdir(parents=True)
    work = out.parent / f".{out.name}-work"
    work.mkdir()
    src_sp = train_sentencepiece(work / "source.spm", CORPUS[source])
    tgt_sp = train_sentencepiece(work / "target.spm", CORPUS[target])
    src_vocab, tgt_vocab = _vocabulary(src_sp, []), _vocabulary(tgt_sp, [])
    spec = specs.TransformerSpec.from_config((2, 2), 2, pre_norm=False)
    spec.decoder.start_from_zero_embedding = True
    _weights(spec, 16, 32, len(src_vocab), len(tgt_vocab))
    spec.config.add_source_eos = from_marian
    _save(spec, out, src_vocab, tgt_vocab)
    shutil.move(src_sp, out / "source.spm")
    shutil.move(tgt_sp, out / "target.spm")
    work.rmdir()
    return out


def build_m2m100(out: Path, languages: list[str]) -> Path:
    """An M2M100-shaped multilingual model: one shared tokeniser, ``__xx__`` language tokens."""
    out.mkdir(parents=True)
    sp = train_sentencepiece(out / "sentencepiece.bpe.model", CORPUS["en"] + CORPUS["de"], 80)
    vocab = _vocabulary(sp, [f"__{code}__" for code in languages])
    spec = specs.TransformerSpec.from_config((1, 1), 2, pre_norm=True)
    _weights(spec, 16, 32, len(vocab), len(vocab))
    _save(spec, out, vocab, vocab)
    (out / "convene-translation.json").write_text(
        json.dumps({"kind": "m2m100", "languages": languages})
    )
    return out
