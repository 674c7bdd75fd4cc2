"""The translation registry that the ``[translation]`` settings describe."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from convene.config import Settings, TranslationSettings
from convene.translation.apertium import ApertiumEngine, ApertiumServer
from convene.translation.base import Engine
from convene.translation.ct2 import CTranslate2Engine
from convene.translation.registry import TranslationRegistry

__all__ = ["build_registry", "models_dir"]

log = logging.getLogger(__name__)


def models_dir(settings: Settings) -> Path:
    """Where CTranslate2 translation models live: one folder per model."""
    configured = settings.translation.models_dir
    if configured is not None:
        return configured
    return settings.speech.effective_models_dir(settings.data_dir) / "translation"


def _apertium(config: TranslationSettings, data_dir: Path) -> ApertiumEngine | None:
    if config.apertium == "off":
        return None
    if config.apertium == "external":
        if not config.apertium_url:
            raise ValueError("translation.apertium = 'external' needs translation.apertium_url")
        return ApertiumEngine(url=config.apertium_url, timeout=config.timeout_seconds)
    if shutil.which(config.apertium_binary) is None:
        log.info("%s is not installed: no Apertium translation", config.apertium_binary)
        return None
    server = ApertiumServer(
        binary=config.apertium_binary,
        modes_dir=config.apertium_modes_dir,
        port=config.apertium_port,
        start_timeout=config.start_timeout_seconds,
        request_timeout=config.timeout_seconds,
        log_file=data_dir / "logs" / "apertium-apy.log",
    )
    return ApertiumEngine(server=server, timeout=config.timeout_seconds)


def build_registry(settings: Settings) -> TranslationRegistry:
    """The engines the settings name, in order of preference: CTranslate2 models first (an
    operator who installs one wants it), then Apertium. Call ``start()`` on it, and
    ``close()`` at shutdown (that stops a child apertium-apy)."""
    config = settings.translation
    engines: list[Engine] = []
    if config.enabled:
        engines.append(
            CTranslate2Engine(
                models_dir(settings),
                device=config.device,
                compute_type=config.compute_type,
                cpu_threads=config.cpu_threads,
                beam_size=config.beam_size,
                max_batch=config.max_batch,
            )
        )
        apertium = _apertium(config, settings.data_dir)
        if apertium is not None:
            engines.append(apertium)
    return TranslationRegistry(
        engines,
        pivots=config.pivot_languages,
        max_hops=config.max_hops,
        timeout=config.timeout_seconds,
        start_timeout=config.start_timeout_seconds,
        cache_size=config.cache_size,
        max_batch=config.max_batch,
    )
