"""The participation log: who was in a meeting, when, in which role, and why they left.

One row per stay: a participant who resumes after a dropped connection keeps their row; a new
participant id (a fresh join) gets a new one. A stay begins when someone asks to join, waiting
or not; ``admitted_at`` is when they were let in (never, for someone who only waited).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, cast

from sqlalchemy import func, literal, select, update

from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.protocol.messages import Role
from convene.storage._common import invalid, parse_uuid, rowcount, utcnow
from convene.storage.models import ParticipationRow, UTCDateTime

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = ["JoinEntry", "LeaveEntry", "LeaveReason", "ParticipationRecord", "ParticipationStore"]

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
    # When they were let into the meeting; None: they only waited (or are waiting still).
    admitted_at: datetime | None = None

    @property
    def admitted(self) -> bool:
        return self.admitted_at is not None


@dataclass(frozen=True, slots=True)
class JoinEntry:
    """A stay to write later (:meth:`ParticipationStore.record_batch`), checked when made."""

    meeting_id: MeetingId
    participant_id: ParticipantId
    user_id: UserId | None
    guest_key: str | None
    display_name: str
    role: Role
    at: datetime
    admitted: bool

    def __post_init__(self) -> None:
        _check_join(self.meeting_id, self.participant_id, self.user_id, self.guest_key)

    def row(self) -> ParticipationRow:
        return ParticipationRow(
            meeting_id=parse_uuid(self.meeting_id),
            participant_id=self.participant_id,
            user_id=parse_uuid(self.user_id) if self.user_id else None,
            guest_key=self.guest_key,
            display_name=self.display_name.strip()[:64],
            role=self.role,
            joined_at=self.at,
            left_at=None,
            leave_reason=None,
            admitted_at=self.at if self.admitted else None,
        )


@dataclass(frozen=True, slots=True)
class LeaveEntry:
    """The end of a stay, to write later (after its :class:`JoinEntry`, in the same order)."""

    participant_id: ParticipantId
    reason: str
    at: datetime
    admitted: bool


def _check_join(
    meeting_id: str, participant_id: str, user_id: str | None, guest_key: str | None
) -> None:
    if parse_uuid(meeting_id) is None or (user_id and parse_uuid(user_id) is None):
        raise invalid("bad meeting or user id")
    if not 1 <= len(participant_id) <= 32 or (guest_key is not None and len(guest_key) > 64):
        raise invalid("bad participant id or guest key")


def _leave_values(reason: str, at: datetime, admitted: bool) -> dict[str, object]:
    values: dict[str, object] = {"left_at": at, "leave_reason": reason[:16]}
    if admitted:
        values["admitted_at"] = func.coalesce(
            ParticipationRow.admitted_at, literal(at, UTCDateTime())
        )
    return values


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
        admitted_at=row.admitted_at,
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
        admitted: bool = False,
    ) -> ParticipationRecord:
        """Note that a participant asked to join: let in at once (``admitted``), or waiting
        (:meth:`record_admitted` notes when a host lets them in)."""
        _check_join(meeting_id, participant_id, user_id, guest_key)
        meeting = parse_uuid(meeting_id)
        user = parse_uuid(user_id) if user_id else None
        at = utcnow()
        row = ParticipationRow(
            meeting_id=meeting,
            participant_id=participant_id,
            user_id=user,
            guest_key=guest_key,
            display_name=display_name.strip()[:64],
            role=role,
            joined_at=at,
            left_at=None,
            leave_reason=None,
            admitted_at=at if admitted else None,
        )
        async with self._db.session() as session:
            session.add(row)
        return _record(row)

    async def record_batch(self, entries: Sequence[JoinEntry | LeaveEntry]) -> None:
        """Write joins and leaves in one transaction, in their order (a leave closes the stay
        a join of the same batch opened)."""
        if not entries:
            return
        async with self._db.session() as session:
            for entry in entries:
                if isinstance(entry, JoinEntry):
                    session.add(entry.row())
                    continue
                await session.flush()
                await session.execute(
                    update(ParticipationRow)
                    .where(
                        ParticipationRow.participant_id == entry.participant_id,
                        ParticipationRow.left_at.is_(None),
                    )
                    .values(_leave_values(entry.reason, entry.at, entry.admitted))
                )

    async def record_admitted(self, participant_ids: list[ParticipantId]) -> int:
        """Note that these waiting participants were let in; how many open stays that was.
        A stay already admitted keeps its first admission."""
        if not participant_ids:
            return 0
        async with self._db.session() as session:
            result = await session.execute(
                update(ParticipationRow)
                .where(
                    ParticipationRow.participant_id.in_(participant_ids),
                    ParticipationRow.left_at.is_(None),
                    ParticipationRow.admitted_at.is_(None),
                )
                .values(admitted_at=utcnow())
            )
            return rowcount(result)

    async def record_leave(
        self, participant_id: ParticipantId, reason: LeaveReason | str, *, admitted: bool = False
    ) -> bool:
        """Close the participant's open stay; False when there was none. ``admitted``: they
        were in the meeting, which the stay then says even if their admission was not noted."""
        values = _leave_values(reason, utcnow(), admitted)
        async with self._db.session() as session:
            result = await session.execute(
                update(ParticipationRow)
                .where(
                    ParticipationRow.participant_id == participant_id,
                    ParticipationRow.left_at.is_(None),
                )
                .values(values)
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
