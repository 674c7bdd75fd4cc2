"""Interpreters named ahead of time: replaced as a whole, listed in the host's order, an address
resolved to the account that has verified it when the list is read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId
from convene.storage.db import Database
from convene.storage.interpreters import (
    MAX_INTERPRETERS,
    InterpreterDraft,
    list_for_meeting,
    replace_for_meeting,
)
from convene.storage.meetings import MeetingRecord
from convene.storage.models import UserRow
from convene.storage.users import UserRecord

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
async def host(db: Database) -> UserRecord:
    return await db.users.create(email="h@example.org", display_name="Host", password_hash="h")


@pytest.fixture
async def meeting(db: Database, host: UserRecord) -> MeetingRecord:
    return await db.meetings.create(host_id=host.id, title="M", passcode=None)


async def test_a_list_is_stored_in_order_and_replaced_as_a_whole(
    db: Database, meeting: MeetingRecord
) -> None:
    ana = await db.users.create(email="ana@example.org", display_name="Ana", password_hash="h")
    assert await list_for_meeting(db, meeting.id) == []
    saved = await replace_for_meeting(
        db,
        meeting.id,
        [
            InterpreterDraft(languages=["fr", "en"], user_id=ana.id),
            InterpreterDraft(languages=["ar"], email=" Bo@Example.ORG ", display_name="  Bo  "),
        ],
        at=T0,
    )
    assert [(i.user_id, i.email, i.display_name, i.languages) for i in saved] == [
        (ana.id, None, "Ana", ("en", "fr")),
        (None, "bo@example.org", "Bo", ("ar",)),
    ]
    assert await list_for_meeting(db, meeting.id) == saved

    # Replaced: Bo stays (same id), Ana goes, someone new comes first.
    again = await replace_for_meeting(
        db,
        meeting.id,
        [
            InterpreterDraft(languages=["es"], email="cy@example.org"),
            InterpreterDraft(languages=["ar", "en"], email="bo@example.org"),
        ],
        at=T1,
    )
    assert [(i.email, i.display_name, i.languages) for i in again] == [
        ("cy@example.org", None, ("es",)),
        ("bo@example.org", None, ("ar", "en")),
    ]
    assert again[1].id == saved[1].id
    assert await replace_for_meeting(db, meeting.id, []) == []
    assert await list_for_meeting(db, meeting.id) == []


async def test_an_address_leads_to_its_account_once_verified(
    db: Database, meeting: MeetingRecord
) -> None:
    await replace_for_meeting(db, meeting.id, [InterpreterDraft(["fr"], email="dee@example.org")])
    # Nobody has the address yet; then someone signs up with it without proving it.
    assert (await list_for_meeting(db, meeting.id))[0].user_id is None
    dee = await db.users.create(email="dee@example.org", display_name="Dee", password_hash="h")
    assert (await list_for_meeting(db, meeting.id))[0].user_id is None
    async with db.session() as session:
        await session.execute(
            sa.update(UserRow).where(UserRow.id == uuid.UUID(dee.id)).values(email_verified_at=T0)
        )
    [found] = await list_for_meeting(db, meeting.id)
    assert (found.user_id, found.email, found.display_name) == (dee.id, "dee@example.org", "Dee")


async def test_an_account_named_twice_is_refused_or_listed_once(
    db: Database, meeting: MeetingRecord
) -> None:
    eve = await db.users.create(
        email="eve@example.org", display_name="Eve", password_hash="h", verified=True
    )
    with pytest.raises(ConveneError) as refused:
        await replace_for_meeting(
            db,
            meeting.id,
            [InterpreterDraft(["fr"], user_id=eve.id), InterpreterDraft(["ar"], email=eve.email)],
        )
    assert refused.value.details == {"field": "interpreters[1]"}
    # Named by an address nobody had verified, then by account: once the address is verified,
    # the account is one interpreter, where it comes first.
    fay = await db.users.create(email="fay@example.org", display_name="Fay", password_hash="h")
    await replace_for_meeting(
        db,
        meeting.id,
        [InterpreterDraft(["es"], email=fay.email), InterpreterDraft(["ru"], user_id=fay.id)],
    )
    async with db.session() as session:
        await session.execute(
            sa.update(UserRow).where(UserRow.id == uuid.UUID(fay.id)).values(email_verified_at=T0)
        )
    listed = await list_for_meeting(db, meeting.id)
    assert [(i.user_id, i.languages) for i in listed] == [(fay.id, ("es",))]


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (InterpreterDraft(["fr"]), "interpreters[0]"),
        (InterpreterDraft(["fr"], user_id=str(uuid.uuid4()), email="a@x.org"), "interpreters[0]"),
        (InterpreterDraft(["fr"], user_id=str(uuid.uuid4())), "interpreters[0].user_id"),
        (InterpreterDraft(["fr"], user_id="not-a-uuid"), "interpreters[0].user_id"),
        (InterpreterDraft(["fr"], email="nobody"), "interpreters[0].email"),
        (InterpreterDraft([], email="a@example.org"), "interpreters[0].languages"),
        (InterpreterDraft(["en", "fr", "es"], email="a@example.org"), "interpreters[0].languages"),
        (InterpreterDraft(["en", "en"], email="a@example.org"), "interpreters[0].languages"),
        (InterpreterDraft(["English"], email="a@example.org"), "interpreters[0].languages"),
        (InterpreterDraft(["fr"], email="a@example.org", display_name="a\u202eb"), "display_name"),
    ],
)  # fmt: skip
async def test_bad_entries_are_refused_with_the_field_and_change_nothing(
    db: Database, meeting: MeetingRecord, draft: InterpreterDraft, field: str
) -> None:
    kept = await replace_for_meeting(db, meeting.id, [InterpreterDraft(["fr"], email="k@x.org")])
    with pytest.raises(ConveneError) as refused:
        await replace_for_meeting(db, meeting.id, [draft])
    assert refused.value.code == ErrorCode.INVALID_REQUEST
    assert refused.value.details["field"] == field
    assert await list_for_meeting(db, meeting.id) == kept


async def test_limits_and_missing_meetings(db: Database, meeting: MeetingRecord) -> None:
    many = [InterpreterDraft(["fr"], email=f"i{n}@example.org") for n in range(MAX_INTERPRETERS)]
    assert len(await replace_for_meeting(db, meeting.id, many)) == MAX_INTERPRETERS
    with pytest.raises(ConveneError) as refused:
        await replace_for_meeting(
            db, meeting.id, [*many, InterpreterDraft(["fr"], email="z@x.org")]
        )
    assert refused.value.details == {"field": "interpreters"}
    with pytest.raises(ConveneError) as refused:
        await replace_for_meeting(db, meeting.id, [InterpreterDraft(["fr"], email="d@x.org")] * 2)
    assert refused.value.details == {"field": "interpreters[1]"}
    for missing in (str(uuid.uuid4()), "nonsense"):
        with pytest.raises(ConveneError) as refused:
            await replace_for_meeting(db, MeetingId(missing), [])
        assert refused.value.code == ErrorCode.MEETING_NOT_FOUND
        assert await list_for_meeting(db, MeetingId(missing)) == []


async def test_rows_go_with_their_meeting_or_account(
    db: Database, host: UserRecord, meeting: MeetingRecord
) -> None:
    gil = await db.users.create(email="gil@example.org", display_name="Gil", password_hash="h")
    await replace_for_meeting(
        db,
        meeting.id,
        [InterpreterDraft(["fr"], user_id=gil.id), InterpreterDraft(["ar"], email="x@x.org")],
    )
    assert await db.users.delete(gil.id)
    assert [i.email for i in await list_for_meeting(db, meeting.id)] == ["x@x.org"]
    assert await db.meetings.delete(meeting.id)
    async with db.session() as session:
        count = await session.scalar(sa.text("SELECT count(*) FROM meeting_interpreters"))
    assert count == 0


async def test_the_database_refuses_rows_naming_nobody_or_unsorted_pairs(
    db: Database, meeting: MeetingRecord
) -> None:
    for user_id, email, first, second in (
        (None, None, "fr", None),
        (None, "a@x.org", "fr", "en"),
        (None, "a@x.org", "fr", "fr"),
    ):
        with pytest.raises(IntegrityError):
            async with db.session() as session:
                await session.execute(
                    sa.text(
                        "INSERT INTO meeting_interpreters (id, meeting_id, user_id, email, "
                        "language, second_language, position, created_at) VALUES "
                        "(:id, :meeting, :user, :email, :first, :second, 0, :at)"
                    ).bindparams(
                        sa.bindparam("id", type_=sa.Uuid()),
                        sa.bindparam("meeting", type_=sa.Uuid()),
                        sa.bindparam("user", type_=sa.Uuid()),
                    ),
                    {
                        "id": uuid.uuid4(),
                        "meeting": uuid.UUID(meeting.id),
                        "user": user_id,
                        "email": email,
                        "first": first,
                        "second": second,
                        "at": T0,
                    },
                )
