"""The participation log: who was in a meeting, when, in which role, and why they left.

One row per stay: a participant who resumes after a dropped connection keeps their row; a new
participant id (a fresh join) gets a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, cast

from sqlalchemy import select, update

from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.protocol.messages import Role
from convene.storage._common import invalid, parse_uuid, rowcount, utcnow
from convene.storage.models import ParticipationRow

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = ["LeaveReason", "ParticipationRecord", "ParticipationStore"]

LeaveReason = Literal["left", "removed", "disconnected", "ended", "denied", "replaced", "timeout"]


@dataclass(frozen=True, slots=True)
class ParticipationRecord:
    id: int
    meeting_id: MeetingId
    participant_id: ParticipantId
    user_id: UserId | None
    guest_key: str | None
    display_name: str
    role: Role
    joined_at: datetime
    left_at: datetime | None
    leave_reason: str | None


def _record(row: ParticipationRow) -> ParticipationRecord:
    return ParticipationRecord(
        id=row.id,
        meeting_id=MeetingId(str(row.meeting_id)),
        participant_id=ParticipantId(row.participant_id),
        user_id=UserId(str(row.user_id)) if row.user_id else None,
        guest_key=row.guest_key,
        display_name=row.display_name,
        role=cast(Role, row.role),
        joined_at=row.joined_at,
        left_at=row.left_at,
        leave_reason=row.leave_reason,
    )


class ParticipationStore:
    """Record joins and leaves; read a meeting's attendance."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_join(
        self,
        meeting_id: MeetingId,
        participant_id: ParticipantId,
        *,
        user_id: UserId | None,
        guest_key: str | None,
        display_name: str,
        role: Role,
    ) -> ParticipationRecord:
        """Note that a participant was admitted into the meeting."""
        meeting = parse_uuid(meeting_id)
        user = parse_uuid(user_id) if user_id else None
        if meeting is None or (user_id and user is None):
            raise invalid("bad meeting or user id")
        if not 1 <= len(participant_id) <= 32 or (guest_key is not None and len(guest_key) > 64):
            raise invalid("bad participant id or guest key")
        row = ParticipationRow(
            meeting_id=meeting,
            participant_id=participant_id,
            user_id=user,
            guest_key=guest_key,
            display_name=display_name.strip()[:64],
            role=role,
            joined_at=utcnow(),
            left_at=None,
            leave_reason=None,
        )
        async with self._db.session() as session:
            session.add(row)
        return _record(row)

    async def record_leave(self, participant_id: ParticipantId, reason: LeaveReason | str) -> bool:
        """Close the participant's open stay; False when there was none."""
        async with self._db.session() as session:
            result = await session.execute(
                update(ParticipationRow)
                .where(
                    ParticipationRow.participant_id == participant_id,
                    ParticipationRow.left_at.is_(None),
                )
                .values(left_at=utcnow(), leave_reason=reason[:16])
            )
            return rowcount(result) > 0

    async def record_role(self, participant_id: ParticipantId, role: Role) -> bool:
        """Note the role a participant now has (the last role is what reports show)."""
        async with self._db.session() as session:
            result = await session.execute(
                update(ParticipationRow)
                .where(
                    ParticipationRow.participant_id == participant_id,
                    ParticipationRow.left_at.is_(None),
                )
                .values(role=role)
            )
            return rowcount(result) > 0

    async def close_open(self, meeting_id: MeetingId | None, reason: LeaveReason | str) -> int:
        """Close every open stay of a meeting (or of all meetings, after a restart)."""
        query = update(ParticipationRow).where(ParticipationRow.left_at.is_(None))
        if meeting_id is not None:
            meeting = parse_uuid(meeting_id)
            if meeting is None:
                return 0
            query = query.where(ParticipationRow.meeting_id == meeting)
        async with self._db.session() as session:
            result = await session.execute(query.values(left_at=utcnow(), leave_reason=reason[:16]))
            return rowcount(result)

    async def list_participation(self, meeting_id: MeetingId) -> list[ParticipationRecord]:
        """Every stay in a meeting, in the order they began."""
        meeting = parse_uuid(meeting_id)
        if meeting is None:
            return []
        async with self._db.session() as session:
            rows = await session.scalars(
                select(ParticipationRow)
                .where(ParticipationRow.meeting_id == meeting)
                .order_by(ParticipationRow.id)
            )
            return [_record(row) for row in rows]
