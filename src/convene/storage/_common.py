"""Small helpers shared by the repositories."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, Result

from convene.protocol.errors import ConveneError, ErrorCode

__all__ = ["invalid", "parse_uuid", "rowcount", "utcnow"]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (what every timestamp column holds)."""
    return datetime.now(UTC)


def parse_uuid(value: str) -> uuid.UUID | None:
    """The UUID an id string names, or None when it is not one (callers treat that as unknown)."""
    if len(value) > 64:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def invalid(message: str, **details: object) -> ConveneError:
    """The error a repository raises for input that the API layer should already have refused."""
    return ConveneError(ErrorCode.INVALID_REQUEST, message, dict(details))


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched."""
    return result.rowcount if isinstance(result, CursorResult) else 0
