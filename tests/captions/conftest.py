"""The captions tests translate through a real apertium-apy (the translation tests' own)."""

from __future__ import annotations

from tests.translation.conftest import apy, own_apy

__all__ = ["apy", "own_apy"]
