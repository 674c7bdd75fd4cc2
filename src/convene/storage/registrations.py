"""Registration for events: who registered, confirmed their address, and may join.

A meeting's ``registration`` policy is ``off`` (anyone with the link may watch), ``open`` (an
attendee registers with a name and an address and confirms it from a mail) or ``approval`` (a
host also approves each confirmed registrant). A registrant's state:

==============  ============================================================================
unconfirmed     registered, the confirmation mail sent, not yet confirmed
pending         confirmed; waiting for a host (``approval``)
registered      may join (confirmed under ``open``, or approved)
denied          a host said no (or took an approval back)
==============  ============================================================================

Each address registers once per meeting (lower case). The links in the mails carry the
registration's id and an HMAC token of it (:mod:`convene.scheduling.tokens`), so nothing secret
is stored here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, cast, get_args

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from convene.protocol.ids import MeetingId
from convene.storage._common import invalid, parse_uuid
from convene.storage.models import EventRegistrationRow, ScheduleRow

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = [
    "Registered",
    "RegistrationPolicy",
    "RegistrationRecord",
    "RegistrationState",
    "RegistrationStore",
    "schedule_of",
    "validate_policy",
]

RegistrationPolicy = Literal["off", "open", "approval"]
RegistrationState = Literal["unconfirmed", "pending", "registered", "denied"]

_PAGE_MAX = 500


async def schedule_of(db: Database, meeting_id: MeetingId) -> str | None:
    """The id of the schedule whose room the meeting is (the first made, cancelled ones last),
    for the time an event page shows; None when it has none."""
    meeting = parse_uuid(meeting_id)
    if meeting is None:
        return None
    async with db.session() as session:
        found = await session.scalar(
            select(ScheduleRow.id)
            .where(ScheduleRow.meeting_id == meeting)
            .order_by((ScheduleRow.status == "cancelled"), ScheduleRow.created_at)
            .limit(1)
        )
    return str(found) if found is not None else None


def validate_policy(policy: str) -> RegistrationPolicy:
    """A registration policy to store: off, open or approval."""
    if policy not in get_args(RegistrationPolicy):
        raise invalid("registration must be off, open or approval", field="registration")
    return cast(RegistrationPolicy, policy)


@dataclass(frozen=True, slots=True)
class RegistrationRecord:
    id: str
    meeting_id: MeetingId
    email: str
    name: str
    state: RegistrationState
    language: str | None
    created_at: datetime
    mailed_at: datetime | None
    confirmed_at: datetime | None
    decided_at: datetime | None
    joined_at: datetime | None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def may_join(self) -> bool:
        return self.state == "registered"


@dataclass(frozen=True, slots=True)
class Registered:
    """What :meth:`RegistrationStore.register` did: the registration as it now is, and whether
    the caller should mail it (a new one, or one not mailed for a while)."""

    record: RegistrationRecord
    created: bool
    mail: bool


def _record(row: EventRegistrationRow) -> RegistrationRecord:
    return RegistrationRecord(
        id=str(row.id),
        meeting_id=MeetingId(str(row.meeting_id)),
        email=row.email,
        name=row.name,
        state=cast(RegistrationState, row.state),
        language=row.language,
        created_at=row.created_at,
        mailed_at=row.mailed_at,
        confirmed_at=row.confirmed_at,
        decided_at=row.decided_at,
        joined_at=row.joined_at,
    )


class RegistrationStore:
    """Register, confirm, approve, deny and list an event's registrants."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def register(
        self,
        meeting_id: MeetingId,
        *,
        email: str,
        name: str,
        language: str | None,
        now: datetime,
        quiet_for: float,
    ) -> Registered:
        """Register ``email`` (normalised by the caller) for the meeting, or find its earlier
        registration. ``mail`` is true (and ``mailed_at`` set to ``now``) unless the address
        was mailed less than ``quiet_for`` seconds ago, so asking again cannot flood an inbox.
        An earlier registration keeps its name: whoever asks again may not be its owner."""
        meeting = parse_uuid(meeting_id)
        if meeting is None:
            raise invalid("no such meeting")
        for _ in range(2):
            async with self._db.session() as session:
                row = await session.scalar(
                    select(EventRegistrationRow)
                    .where(
                        EventRegistrationRow.meeting_id == meeting,
                        EventRegistrationRow.email == email,
                    )
                    .with_for_update()
                )
                if row is not None:
                    last = row.mailed_at
                    quiet = last is not None and (now - last).total_seconds() < quiet_for
                    if not quiet:
                        row.mailed_at = now
                    return Registered(_record(row), created=False, mail=not quiet)
            try:
                async with self._db.session() as session:
                    row = EventRegistrationRow(
                        id=uuid.uuid4(),
                        meeting_id=meeting,
                        email=email,
                        name=name,
                        state="unconfirmed",
                        language=language,
                        created_at=now,
                        mailed_at=now,
                        confirmed_at=None,
                        decided_at=None,
                        joined_at=None,
                    )
                    session.add(row)
                return Registered(_record(row), created=True, mail=True)
            except IntegrityError:
                continue  # registered by a concurrent request: read that one
        raise invalid("could not register, try again")

    async def get(self, registration_id: str) -> RegistrationRecord | None:
        key = parse_uuid(registration_id)
        if key is None:
            return None
        async with self._db.session() as session:
            row = await session.get(EventRegistrationRow, key)
            return _record(row) if row is not None else None

    async def confirm(
        self, registration_id: str, *, approval: bool, now: datetime
    ) -> tuple[RegistrationRecord, bool] | None:
        """Confirm the address: ``registered``, or ``pending`` when the event wants approval.
        Returns the registration and whether this call changed it (a second confirmation, or
        one after a host's decision, changes nothing); None when it does not exist."""
        key = parse_uuid(registration_id)
        if key is None:
            return None
        async with self._db.session() as session:
            row = await session.get(EventRegistrationRow, key, with_for_update=True)
            if row is None:
                return None
            if row.state != "unconfirmed":
                return _record(row), False
            row.state = "pending" if approval else "registered"
            row.confirmed_at = now
            return _record(row), True

    async def decide(
        self, meeting_id: MeetingId, registration_id: str, *, approve: bool, now: datetime
    ) -> tuple[RegistrationRecord, bool] | None:
        """A host approves (``registered``) or denies a registrant of their meeting. Only a
        confirmed address can be approved. Returns the registration and whether its state
        changed; None when the meeting has no such registrant."""
        meeting, key = parse_uuid(meeting_id), parse_uuid(registration_id)
        if meeting is None or key is None:
            return None
        async with self._db.session() as session:
            row = await session.get(EventRegistrationRow, key, with_for_update=True)
            if row is None or row.meeting_id != meeting:
                return None
            target = "registered" if approve else "denied"
            if approve and row.confirmed_at is None:
                raise invalid("this registrant has not confirmed their address yet")
            if row.state == target:
                return _record(row), False
            row.state = target
            row.decided_at = now
            return _record(row), True

    async def note_joined(self, registration_id: str, now: datetime) -> None:
        """Remember the first time a registrant joined."""
        key = parse_uuid(registration_id)
        if key is None:
            return
        async with self._db.session() as session:
            row = await session.get(EventRegistrationRow, key)
            if row is not None and row.joined_at is None:
                row.joined_at = now

    async def list_for_meeting(
        self,
        meeting_id: MeetingId,
        *,
        state: RegistrationState | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[RegistrationRecord]:
        """A page of the meeting's registrants, oldest first; ``after``: the (created_at, id)
        of the last one of the previous page."""
        meeting = parse_uuid(meeting_id)
        if meeting is None:
            return []
        query = select(EventRegistrationRow).where(EventRegistrationRow.meeting_id == meeting)
        if state is not None:
            query = query.where(EventRegistrationRow.state == state)
        if after is not None:
            moment, last = after
            last_key = parse_uuid(last)
            if last_key is None:
                return []
            query = query.where(
                (EventRegistrationRow.created_at > moment)
                | (
                    (EventRegistrationRow.created_at == moment)
                    & (EventRegistrationRow.id > last_key)
                )
            )
        query = query.order_by(EventRegistrationRow.created_at, EventRegistrationRow.id).limit(
            max(1, min(limit, _PAGE_MAX))
        )
        async with self._db.session() as session:
            return [_record(row) for row in await session.scalars(query)]

    async def counts(self, meeting_id: MeetingId) -> dict[RegistrationState, int]:
        """How many registrants of the meeting are in each state."""
        meeting = parse_uuid(meeting_id)
        found: dict[RegistrationState, int] = dict.fromkeys(get_args(RegistrationState), 0)
        if meeting is None:
            return found
        async with self._db.session() as session:
            rows = await session.execute(
                select(EventRegistrationRow.state, func.count())
                .where(EventRegistrationRow.meeting_id == meeting)
                .group_by(EventRegistrationRow.state)
            )
            for state, count in rows.all():
                found[cast(RegistrationState, state)] = int(count)
        return found
