"""Personal join links: what ``Join.invitation`` and ``Join.registration`` vouch for.

- ``invitation`` (``?invite=<attendee>.<token>`` in an invitation mail's join link): the
  invitee's address, so that a guest named by email (an interpreter, a panelist) is recognised.
  A token that does not check out, or an invitation to another meeting, vouches for nothing:
  the guest joins as any guest would, and learns nothing about which part was wrong.
- ``registration`` (``?registration=<id>.<token>`` in a registrant's mail): the registration,
  when it is this meeting's and its registrant may join (``registered``).

Both tokens are HMACs under the install's token key (:mod:`convene.scheduling.tokens`).
"""

from __future__ import annotations

import asyncio
import logging

from convene.protocol.ids import MeetingId
from convene.scheduling.tokens import invite_token, registration_token, token_key, tokens_match
from convene.storage._common import utcnow
from convene.storage.db import Database
from convene.storage.registrations import RegistrationRecord, RegistrationStore

__all__ = ["invited_email", "note_joined", "registration_for", "token_key"]

log = logging.getLogger(__name__)

# Seconds a lookup on the join path may take.
LOOKUP_TIMEOUT = 5.0


def _split(credential: str) -> tuple[str, str] | None:
    ident, _, token = credential.partition(".")
    if not ident or not token:
        return None
    return ident, token


async def invited_email(
    db: Database, key: str, meeting: MeetingId, credential: str | None
) -> str | None:
    """The invited address an invitation's join link vouches for in ``meeting``; None when
    there is none or it does not check out."""
    parts = _split(credential) if credential else None
    if parts is None or not tokens_match(invite_token(key, parts[0]), parts[1]):
        return None
    try:
        found = await asyncio.wait_for(db.schedules.attendee(parts[0]), LOOKUP_TIMEOUT)
    except TimeoutError:
        log.warning("meeting %s: looking up an invitation timed out", meeting)
        return None
    if found is None:
        return None
    schedule, attendee = found
    if schedule.meeting.id != meeting:
        return None
    return attendee.email.strip().lower()


async def registration_for(
    db: Database, key: str, meeting: MeetingId, credential: str | None
) -> RegistrationRecord | None:
    """The registration a registrant's join link names, when it is ``meeting``'s and its
    registrant may join; None otherwise (missing, forged, pending, denied)."""
    parts = _split(credential) if credential else None
    if parts is None or not tokens_match(registration_token(key, parts[0], "join"), parts[1]):
        return None
    found = await asyncio.wait_for(RegistrationStore(db).get(parts[0]), LOOKUP_TIMEOUT)
    if found is None or found.meeting_id != meeting or not found.may_join:
        return None
    return found


async def note_joined(db: Database, registration_id: str) -> None:
    """Remember when a registrant first joined (for the hosts' list); a failure is logged,
    never a reason to refuse the join."""
    try:
        await asyncio.wait_for(
            RegistrationStore(db).note_joined(registration_id, utcnow()), LOOKUP_TIMEOUT
        )
    except Exception:
        log.warning("could not note that a registrant joined", exc_info=True)
