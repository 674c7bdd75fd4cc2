"""Panelists named ahead of time, the meeting's mode and its panelist link, on both engines."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId, UserId
from convene.storage.db import Database
from convene.storage.interpreters import InterpreterDraft
from convene.storage.interpreters import replace_for_meeting as replace_interpreters
from convene.storage.meetings import MeetingRecord
from convene.storage.models import UserRow, UTCDateTime
from convene.storage.panelists import (
    MAX_PANELISTS,
    PanelistDraft,
    is_named,
    list_for_meeting,
    replace_for_meeting,
)
from convene.storage.users import UserRecord

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
async def host(db: Database) -> UserRecord:
    return await db.users.create(email="h@example.org", display_name="Host", password_hash="h")


@pytest.fixture
async def meeting(db: Database, host: UserRecord) -> MeetingRecord:
    return await db.meetings.create(host_id=host.id, title="M", passcode="1234", mode="event")


async def _verify(db: Database, user: UserRecord) -> None:
    async with db.session() as session:
        await session.execute(
            sa.update(UserRow).where(UserRow.id == uuid.UUID(user.id)).values(email_verified_at=T0)
        )


async def test_mode_and_panelist_link(db: Database, host: UserRecord) -> None:
    plain = await db.meetings.create(host_id=host.id, title="Plain", passcode="1234")
    assert plain.mode == "meeting"
    assert not plain.is_event
    event = await db.meetings.create(host_id=host.id, title="E", passcode="1234", mode="lecture")
    assert event.is_event
    assert event.panelist_token is not None
    assert event.panelist_token not in (event.link_token, plain.panelist_token)
    # Found by its panelist link, which needs no passcode and says what it is.
    found = await db.meetings.get_by_ref(event.panelist_token)
    assert found is not None
    assert found.id == event.id
    assert found.is_panelist_link(event.panelist_token)
    assert not found.is_panelist_link(event.link_token)
    assert not found.is_panelist_link(event.code)
    assert found.passcode_satisfied(ref=event.panelist_token, passcode=None)
    assert not found.passcode_satisfied(ref=event.code, passcode=None)
    changed = await db.meetings.update(event.id, {"mode": "event"})
    assert changed is not None
    assert changed.mode == "event"
    with pytest.raises(ConveneError) as refused:
        await db.meetings.update(event.id, {"mode": "party"})  # type: ignore[typeddict-item]
    assert refused.value.details == {"field": "mode"}
    with pytest.raises(ConveneError):
        await db.meetings.create(host_id=host.id, title="X", passcode=None, mode="party")  # type: ignore[arg-type]


async def test_a_list_is_stored_in_order_and_replaced_as_a_whole(
    db: Database, meeting: MeetingRecord
) -> None:
    ana = await db.users.create(email="ana@example.org", display_name="Ana", password_hash="h")
    assert await list_for_meeting(db, meeting.id) == []
    saved = await replace_for_meeting(
        db,
        meeting.id,
        [
            PanelistDraft(user_id=ana.id),
            PanelistDraft(email=" Bo@Example.ORG ", display_name="  Bo  "),
        ],
        at=T0,
    )
    assert [(p.user_id, p.email, p.display_name) for p in saved] == [
        (ana.id, None, "Ana"),
        (None, "bo@example.org", "Bo"),
    ]
    assert await list_for_meeting(db, meeting.id) == saved
    again = await replace_for_meeting(
        db,
        meeting.id,
        [PanelistDraft(email="cy@example.org"), PanelistDraft(email="bo@example.org")],
    )
    assert [p.email for p in again] == ["cy@example.org", "bo@example.org"]
    assert again[1].id == saved[1].id
    assert await replace_for_meeting(db, meeting.id, []) == []


async def test_who_is_named(db: Database, meeting: MeetingRecord) -> None:
    ana = await db.users.create(email="ana@example.org", display_name="Ana", password_hash="h")
    dee = await db.users.create(email="dee@example.org", display_name="Dee", password_hash="h")
    ivy = await db.users.create(email="ivy@example.org", display_name="Ivy", password_hash="h")
    zed = await db.users.create(email="zed@example.org", display_name="Zed", password_hash="h")
    await replace_for_meeting(
        db, meeting.id, [PanelistDraft(user_id=ana.id), PanelistDraft(email="dee@example.org")]
    )
    await replace_interpreters(db, meeting.id, [InterpreterDraft(["fr"], email=ivy.email)])
    assert await is_named(db, meeting.id, user_id=ana.id)
    # By address: only once the account has verified it.
    assert not await is_named(db, meeting.id, user_id=dee.id)
    assert not await is_named(db, meeting.id, user_id=ivy.id)
    await _verify(db, dee)
    await _verify(db, ivy)
    assert await is_named(db, meeting.id, user_id=dee.id)
    assert await is_named(db, meeting.id, user_id=ivy.id)
    assert not await is_named(db, meeting.id, user_id=zed.id)
    # An address an invitation vouched for (a guest).
    assert await is_named(db, meeting.id, email="Dee@Example.org")
    assert await is_named(db, meeting.id, email="ivy@example.org")
    assert not await is_named(db, meeting.id, email="zed@example.org")
    assert not await is_named(db, meeting.id)
    assert not await is_named(db, meeting.id, email="")
    assert not await is_named(db, MeetingId("nonsense"), user_id=ana.id)
    assert not await is_named(db, meeting.id, user_id=UserId("nonsense"))
    other = await db.meetings.create(host_id=ana.id, title="O", passcode=None, mode="event")
    assert not await is_named(db, other.id, user_id=ana.id)


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (PanelistDraft(), "panelists[0]"),
        (PanelistDraft(user_id=str(uuid.uuid4()), email="a@x.org"), "panelists[0]"),
        (PanelistDraft(user_id=str(uuid.uuid4())), "panelists[0].user_id"),
        (PanelistDraft(user_id="not-a-uuid"), "panelists[0].user_id"),
        (PanelistDraft(email="nobody"), "panelists[0].email"),
        (PanelistDraft(email="a@example.org", display_name="a\u202eb"), "display_name"),
    ],
)
async def test_bad_entries_are_refused_with_the_field_and_change_nothing(
    db: Database, meeting: MeetingRecord, draft: PanelistDraft, field: str
) -> None:
    kept = await replace_for_meeting(db, meeting.id, [PanelistDraft(email="k@x.org")])
    with pytest.raises(ConveneError) as refused:
        await replace_for_meeting(db, meeting.id, [draft])
    assert refused.value.code == ErrorCode.INVALID_REQUEST
    assert refused.value.details["field"] == field
    assert await list_for_meeting(db, meeting.id) == kept


async def test_limits_twice_named_and_missing_meetings(
    db: Database, meeting: MeetingRecord
) -> None:
    many = [PanelistDraft(email=f"p{n}@example.org") for n in range(MAX_PANELISTS)]
    assert len(await replace_for_meeting(db, meeting.id, many)) == MAX_PANELISTS
    with pytest.raises(ConveneError) as refused:
        await replace_for_meeting(db, meeting.id, [*many, PanelistDraft(email="z@x.org")])
    assert refused.value.details == {"field": "panelists"}
    eve = await db.users.create(
        email="eve@example.org", display_name="Eve", password_hash="h", verified=True
    )
    with pytest.raises(ConveneError) as refused:
        await replace_for_meeting(
            db, meeting.id, [PanelistDraft(user_id=eve.id), PanelistDraft(email=eve.email)]
        )
    assert refused.value.details == {"field": "panelists[1]"}
    for missing in (str(uuid.uuid4()), "nonsense"):
        with pytest.raises(ConveneError) as refused:
            await replace_for_meeting(db, MeetingId(missing), [])
        assert refused.value.code == ErrorCode.MEETING_NOT_FOUND
        assert await list_for_meeting(db, MeetingId(missing)) == []


async def test_rows_go_with_their_meeting_or_account(db: Database, meeting: MeetingRecord) -> None:
    gil = await db.users.create(email="gil@example.org", display_name="Gil", password_hash="h")
    await replace_for_meeting(
        db, meeting.id, [PanelistDraft(user_id=gil.id), PanelistDraft(email="x@x.org")]
    )
    assert await db.users.delete(gil.id)
    assert [p.email for p in await list_for_meeting(db, meeting.id)] == ["x@x.org"]
    assert await db.meetings.delete(meeting.id)
    async with db.session() as session:
        count = await session.scalar(sa.text("SELECT count(*) FROM meeting_panelists"))
    assert count == 0


async def test_the_database_refuses_rows_naming_nobody_and_bad_modes(
    db: Database, meeting: MeetingRecord
) -> None:
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            await session.execute(
                sa.text(
                    "INSERT INTO meeting_panelists (id, meeting_id, user_id, email, position, "
                    "created_at) VALUES (:id, :meeting, NULL, NULL, 0, :at)"
                ).bindparams(
                    sa.bindparam("id", type_=sa.Uuid()),
                    sa.bindparam("meeting", type_=sa.Uuid()),
                    sa.bindparam("at", type_=UTCDateTime()),
                ),
                {"id": uuid.uuid4(), "meeting": uuid.UUID(meeting.id), "at": T1},
            )
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            await session.execute(
                sa.text("UPDATE meetings SET mode = 'party' WHERE code = :code").bindparams(
                    code=meeting.code
                )
            )
