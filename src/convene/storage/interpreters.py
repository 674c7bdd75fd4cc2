"""Interpreters named for a meeting ahead of time (REST and schedules): accounts, or invitees by
email, each with one target language or a bidirectional pair."""

from __future__ import annotations

from dataclasses import dataclass

from convene.protocol.ids import MeetingId, UserId
from convene.storage.db import Database

__all__ = ["InterpreterAssignment", "list_for_meeting"]


@dataclass(frozen=True, slots=True)
class InterpreterAssignment:
    id: str
    meeting_id: MeetingId
    # The account (named directly, or the account whose verified email is ``email``).
    user_id: UserId | None
    # An invitee by email (normalised to lower case); None when named by account.
    email: str | None
    display_name: str | None
    # One target language, or the two languages of a bidirectional booth (sorted).
    languages: tuple[str, ...]


async def list_for_meeting(db: Database, meeting: MeetingId) -> list[InterpreterAssignment]:
    """The meeting's named interpreters, each email resolved to the account it belongs to now
    (``user_id`` None while no account has it)."""
    raise NotImplementedError
