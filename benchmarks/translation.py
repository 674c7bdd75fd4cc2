"""Translation of caption segments through Apertium's real HTTP server (apertium-apy).

Convene's own registry starts apy as its child (loopback port, pipelines warmed up), with the
cache off so every segment reaches the engine, and measures for each pair:

1. **one segment at a time** (a single caption line, as a lone speaker produces them): latency
   per segment, p50 and p95;
2. **batches** of ``--batch`` segments in one call (a backlog): sentences per second;
3. **concurrent callers** (``--concurrency`` meetings each sending one segment after the other):
   sentences per second and latency per segment, with the registry's batching of what queues up.

English sentences come from meeting-style lines below and, when Debian's
``pocketsphinx-testdata`` is installed, its LibriVox transcripts. Prints figures, asserts
nothing; not a test.

    .venv/bin/python benchmarks/translation.py
    .venv/bin/python benchmarks/translation.py --pairs en-es es-en fr-es en-fr --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path

from convene.translation import TranslationRegistry
from convene.translation.apertium import ApertiumEngine, ApertiumServer

MEETING = [
    "Good morning, everyone, and welcome to the meeting.",
    "Can everyone hear me?",
    "Please mute your microphone when you are not speaking.",
    "I would like to thank the delegation for its statement.",
    "The next item on the agenda is the budget for next year.",
    "We have received three written proposals.",
    "The committee will vote on the resolution this afternoon.",
    "Could you share your screen, please?",
    "I give the floor to the representative of the secretariat.",
    "The patient was admitted on Monday with a high fever.",
    "Her blood pressure is stable and the tests are normal.",
    "We will review the results with the family tomorrow.",
    "Open your books at page twenty.",
    "Today we will learn how plants make their food.",
    "Does anyone have a question before we continue?",
    "The report will be published in all six official languages.",
    "We need more time to study the document.",
    "Thank you, the meeting is adjourned.",
    "Let us take a short break and come back in ten minutes.",
    "The water supply in the northern region has improved.",
]
FRENCH = [
    "Bonjour à tous et bienvenue à la réunion.",
    "Le comité votera sur la résolution cet après-midi.",
    "Nous avons reçu trois propositions écrites.",
    "La maison est grande et le jardin est petit.",
    "Merci, la séance est levée.",
    "Pouvez-vous partager votre écran, s'il vous plaît ?",
    "Je donne la parole au représentant du secrétariat.",
    "Le patient a été admis lundi avec une forte fièvre.",
    "Nous examinerons les résultats avec la famille demain.",
    "Ouvrez vos livres à la page vingt.",
    "Quelqu'un a-t-il une question avant de continuer ?",
    "Le rapport sera publié dans les six langues officielles.",
    "Nous avons besoin de plus de temps pour étudier le document.",
    "Faisons une courte pause et revenons dans dix minutes.",
    "L'approvisionnement en eau de la région du nord s'est amélioré.",
]
SPANISH = [
    "Buenos días a todos y bienvenidos a la reunión.",
    "El comité votará la resolución esta tarde.",
    "Hemos recibido tres propuestas escritas.",
    "La casa es grande y el jardín es pequeño.",
    "Gracias, se levanta la sesión.",
    "¿Puede compartir su pantalla, por favor?",
    "Doy la palabra al representante de la secretaría.",
    "El paciente ingresó el lunes con fiebre alta.",
    "Revisaremos los resultados con la familia mañana.",
    "Abran sus libros en la página veinte.",
    "¿Alguien tiene una pregunta antes de continuar?",
    "El informe se publicará en los seis idiomas oficiales.",
    "Necesitamos más tiempo para estudiar el documento.",
    "Hagamos una breve pausa y volvamos en diez minutos.",
    "El suministro de agua en la región norte ha mejorado.",
]
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox/transcription")


def english() -> list[str]:
    lines = list(MEETING)
    if LIBRIVOX.exists():
        for line in LIBRIVOX.read_text().splitlines():
            text = line.replace("<s>", "").split("</s>")[0].strip()
            if text:
                lines.append(text[0].upper() + text[1:] + ".")
    return lines


def sentences(source: str) -> list[str]:
    return {"en": english(), "fr": FRENCH, "es": SPANISH}[source]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def one_at_a_time(registry: TranslationRegistry, pair: str, texts: list[str]) -> dict:
    source, target = pair.split("-")
    latencies = []
    for text in texts:
        started = time.perf_counter()
        await registry.translate([text], source, target)
        latencies.append(time.perf_counter() - started)
    return {
        "segments": len(texts),
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * percentile(latencies, 0.95),
        "sentences_per_s": len(texts) / sum(latencies),
    }


async def batched(registry: TranslationRegistry, pair: str, texts: list[str], size: int) -> dict:
    source, target = pair.split("-")
    started = time.perf_counter()
    for i in range(0, len(texts), size):
        await registry.translate(texts[i : i + size], source, target)
    elapsed = time.perf_counter() - started
    return {"segments": len(texts), "batch": size, "sentences_per_s": len(texts) / elapsed}


async def concurrent(registry: TranslationRegistry, pair: str, texts: list[str], n: int) -> dict:
    source, target = pair.split("-")
    latencies: list[float] = []

    async def caller(share: list[str]) -> None:
        for text in share:
            started = time.perf_counter()
            await registry.translate([text], source, target)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller(texts[i::n]) for i in range(n)))
    elapsed = time.perf_counter() - started
    return {
        "segments": len(texts),
        "callers": n,
        "sentences_per_s": len(texts) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * percentile(latencies, 0.95),
    }


async def main(args: argparse.Namespace) -> dict[str, dict]:
    server = ApertiumServer(start_timeout=60)
    registry = TranslationRegistry(
        [ApertiumEngine(server=server, timeout=30)], timeout=30, cache_size=0, max_batch=args.batch
    )
    started = time.perf_counter()
    await registry.start()
    print(f"apertium-apy started and warmed up in {time.perf_counter() - started:.1f} s")
    print(f"pairs: {', '.join(sorted(str(p) for p in registry.pairs()))}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    results: dict[str, dict] = {}
    try:
        for pair in args.pairs:
            route = " -> ".join(
                [pair.split("-")[0], *(hop.pair.target for hop in registry.route(*pair.split("-")))]
            )
            base = sentences(pair.split("-")[0])
            texts = (base * (args.segments // len(base) + 1))[: args.segments]
            rows = {"one": [], "batch": [], "concurrent": []}
            for _ in range(args.rounds):
                rows["one"].append(await one_at_a_time(registry, pair, texts))
                rows["batch"].append(await batched(registry, pair, texts * 4, args.batch))
                rows["concurrent"].append(
                    await concurrent(registry, pair, texts * 2, args.concurrency)
                )
            best = {k: max(v, key=lambda r: r["sentences_per_s"]) for k, v in rows.items()}
            results[pair] = {"route": route, **best}
            one, batch, conc = best["one"], best["batch"], best["concurrent"]
            print(f"\n{pair} ({route}), best of {args.rounds}")
            print(
                f"  one segment at a time: p50 {one['p50_ms']:.1f} ms, p95 {one['p95_ms']:.1f} ms"
                f" ({one['sentences_per_s']:.0f} sentences/s)"
            )
            print(f"  batches of {args.batch}: {batch['sentences_per_s']:.0f} sentences/s")
            print(
                f"  {args.concurrency} concurrent callers: {conc['sentences_per_s']:.0f} "
                f"sentences/s, p50 {conc['p50_ms']:.1f} ms, p95 {conc['p95_ms']:.1f} ms"
            )
    finally:
        await registry.close()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", default=["en-es", "es-en", "fr-es", "en-fr"])
    parser.add_argument("--segments", type=int, default=100, help="segments per measurement")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    arguments = parser.parse_args()
    figures = asyncio.run(main(arguments))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(figures, indent=2))
