from __future__ import annotations

import asyncio

import pytest

from convene.protocol.errors import ConveneError
from convene.protocol.ids import ParticipantId
from convene.storage.chat import ChatRecord
from convene.storage.db import Database
from convene.storage.meetings import MeetingRecord
from convene.storage.users import UserRecord

ANN, BOB, CAT = ParticipantId("p_ann"), ParticipantId("p_bob"), ParticipantId("p_cat")
NAMES = {ANN: "Ann", BOB: "Bob", CAT: "Cat"}


@pytest.fixture
async def host(db: Database) -> UserRecord:
    return await db.users.create(email="h@example.org", display_name="H", password_hash="h")


@pytest.fixture
async def meeting(db: Database, host: UserRecord) -> MeetingRecord:
    return await db.meetings.create(host_id=host.id, title="M", passcode=None)


async def _say(
    db: Database,
    meeting: MeetingRecord,
    sender: ParticipantId,
    text: str,
    to: ParticipantId | None = None,
    client_msg_id: str | None = None,
) -> ChatRecord:
    return await db.chat.add_chat(
        meeting.id,
        sender_id=sender,
        sender_name=NAMES[sender],
        sender_user=None,
        text=text,
        to_id=to,
        to_name=NAMES[to] if to else None,
        client_msg_id=client_msg_id,
    )


async def test_each_participant_reads_public_messages_and_their_own_private_ones(
    db: Database, meeting: MeetingRecord
) -> None:
    await _say(db, meeting, ANN, "hello all")
    await _say(db, meeting, ANN, "psst bob", to=BOB)
    await _say(db, meeting, BOB, "hi ann", to=ANN)
    await _say(db, meeting, CAT, "secret for ann", to=ANN)
    await _say(db, meeting, BOB, "bye all")

    def texts(records: list[ChatRecord]) -> list[str]:
        return [r.text for r in records]

    assert texts(await db.chat.list_chat(meeting.id, ANN, 50)) == [
        "hello all",
        "psst bob",
        "hi ann",
        "secret for ann",
        "bye all",
    ]
    assert texts(await db.chat.list_chat(meeting.id, BOB, 50)) == [
        "hello all",
        "psst bob",
        "hi ann",
        "bye all",
    ]
    assert texts(await db.chat.list_chat(meeting.id, CAT, 50)) == [
        "hello all",
        "secret for ann",
        "bye all",
    ]


async def test_the_limit_keeps_the_most_recent_oldest_first(
    db: Database, meeting: MeetingRecord
) -> None:
    for i in range(7):
        await _say(db, meeting, ANN, f"m{i}")
    assert [r.text for r in await db.chat.list_chat(meeting.id, BOB, 3)] == ["m4", "m5", "m6"]
    assert await db.chat.list_chat(meeting.id, BOB, 0) == []


async def test_resending_with_the_same_client_msg_id_returns_the_first_message(
    db: Database, meeting: MeetingRecord
) -> None:
    first = await _say(db, meeting, ANN, "once", client_msg_id="c1")
    again = await _say(db, meeting, ANN, "once (resent)", client_msg_id="c1")
    assert again == first
    # The id is scoped to its sender.
    other = await _say(db, meeting, BOB, "mine", client_msg_id="c1")
    assert other.id != first.id
    assert len(await db.chat.list_chat(meeting.id, ANN, 50)) == 2


async def test_concurrent_resends_store_one_message(db: Database, meeting: MeetingRecord) -> None:
    results = await asyncio.gather(
        *(_say(db, meeting, ANN, "dup", client_msg_id="same") for _ in range(5))
    )
    assert len({r.id for r in results}) == 1
    assert len(await db.chat.list_chat(meeting.id, ANN, 50)) == 1


async def test_records_convert_to_protocol_messages(
    db: Database, meeting: MeetingRecord, host: UserRecord
) -> None:
    record = await db.chat.add_chat(
        meeting.id,
        sender_id=ANN,
        sender_name="Ann",
        sender_user=host.id,
        text="to bob",
        to_id=BOB,
        to_name="Bob",
    )
    assert record.sender_user == host.id
    message = record.to_message()
    assert message.id == record.id
    assert message.text == "to bob"
    assert message.sender.display_name == "Ann"
    assert message.to is not None
    assert message.to.id == BOB
    assert message.sent_at == record.sent_at
    assert message.sent_at.tzinfo is not None


@pytest.mark.parametrize("text", ["", "x" * 4001])
async def test_bad_text_is_refused(db: Database, meeting: MeetingRecord, text: str) -> None:
    with pytest.raises(ConveneError):
        await _say(db, meeting, ANN, text)
