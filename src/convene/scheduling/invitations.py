"""(Being written: see docs/scheduling.md.)"""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Register this part's background jobs on ``app.state.background``."""
