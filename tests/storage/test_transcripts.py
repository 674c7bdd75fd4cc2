"""Transcript segments: batches, time order and paging, languages, delete, retention purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from convene.clock import FixedClock
from convene.config import Settings, TranscriptSettings
from convene.protocol.errors import ConveneError
from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.storage.db import Database
from convene.storage.meetings import MeetingRecord
from convene.storage.transcripts import NewSegment, SegmentCursor, TranscriptStore
from convene.storage.users import UserRecord
from convene.transcripts.retention import purge

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
async def host(db: Database) -> UserRecord:
    return await db.users.create(email="h@example.org", display_name="Host", password_hash="h")


@pytest.fixture
async def meeting(db: Database, host: UserRecord) -> MeetingRecord:
    return await db.meetings.create(host_id=host.id, title="M", passcode=None)


def seg(
    at_s: float,
    text: str,
    *,
    language: str = "en",
    speaker: str = "p_ada",
    name: str = "Ada",
    user: str | None = None,
    translated: bool = False,
) -> NewSegment:
    start = T0 + timedelta(seconds=at_s)
    return NewSegment(
        language=language,
        speaker_id=ParticipantId(speaker),
        speaker_name=name,
        speaker_user=None if user is None else UserId(user),
        start_at=start,
        end_at=start + timedelta(seconds=1.5),
        start_ms=int(at_s * 1000),
        end_ms=int(at_s * 1000) + 1500,
        text=text,
        source_language="en" if translated else None,
        translated=translated,
    )


async def test_segments_come_back_in_time_order_whatever_the_batches(
    db: Database, meeting: MeetingRecord, host: UserRecord
) -> None:
    store = TranscriptStore(db)
    # Two speakers' finals arrive out of order, in two batches.
    assert await store.append(meeting.id, [seg(5, "second"), seg(9, "third")]) == 2
    assert (
        await store.append(meeting.id, [seg(1, "first", speaker="p_bo", name="Bo", user=host.id)])
        == 1
    )
    got = await store.list_segments(meeting.id, "en")
    assert [s.text for s in got] == ["first", "second", "third"]
    assert got[0].speaker_id == "p_bo"
    assert got[0].speaker_user == host.id
    assert got[0].start_at == T0 + timedelta(seconds=1)
    assert got[0].start_at.tzinfo is not None
    assert (got[1].start_ms, got[1].end_ms) == (5000, 6500)
    assert got[1].speaker_user is None
    assert not got[1].translated


async def test_paging_is_stable_with_equal_start_times(
    db: Database, meeting: MeetingRecord
) -> None:
    store = TranscriptStore(db)
    # Ten segments in the same instant, then ten more: ties are ordered by insertion.
    await store.append(meeting.id, [seg(3, f"tie {i}") for i in range(10)])
    await store.append(meeting.id, [seg(4 + i, f"later {i}") for i in range(10)])
    texts: list[str] = []
    after: SegmentCursor | None = None
    pages = 0
    while True:
        page = await store.list_segments(meeting.id, "en", after=after, limit=3)
        texts.extend(s.text for s in page)
        pages += 1
        if len(page) < 3:
            break
        after = SegmentCursor.decode(page[-1].cursor.encode())
        assert after == page[-1].cursor
    assert texts == [f"tie {i}" for i in range(10)] + [f"later {i}" for i in range(10)]
    assert pages == 7


async def test_languages_and_translations(db: Database, meeting: MeetingRecord) -> None:
    store = TranscriptStore(db)
    await store.append(
        meeting.id,
        [
            seg(1, "hello"),
            seg(1, "hola", language="es", translated=True),
            seg(2, "again"),
            seg(1, "你好", language="zh", translated=True),
        ],
    )
    langs = await store.languages(meeting.id)
    assert [(c.language, c.segments, c.translated) for c in langs] == [
        ("en", 2, False),
        ("es", 1, True),
        ("zh", 1, True),
    ]
    spanish = await store.list_segments(meeting.id, "es")
    assert spanish[0].source_language == "en"
    assert spanish[0].translated
    assert await store.list_segments(meeting.id, "fr") == []


async def test_a_bad_segment_stores_none_of_its_batch(db: Database, meeting: MeetingRecord) -> None:
    store = TranscriptStore(db)
    bad = [
        seg(1, "ok"),
        NewSegment(
            language="en",
            speaker_id=ParticipantId("p"),
            speaker_name="P",
            speaker_user=None,
            start_at=T0,
            end_at=T0,
            start_ms=2000,
            end_ms=1000,  # ends before it starts
            text="x",
        ),
    ]
    with pytest.raises(ConveneError):
        await store.append(meeting.id, bad)
    with pytest.raises(ConveneError):
        await store.append(meeting.id, [seg(1, "x", language="english!")])
    with pytest.raises(ConveneError):
        await store.append(meeting.id, [seg(1, "x" * 4001)])
    assert await store.list_segments(meeting.id, "en") == []


async def test_delete_and_cascade_with_the_meeting(
    db: Database, meeting: MeetingRecord, host: UserRecord
) -> None:
    store = TranscriptStore(db)
    other = await db.meetings.create(host_id=host.id, title="Other", passcode=None)
    await store.append(meeting.id, [seg(1, "a"), seg(1, "b", language="fr")])
    await store.append(other.id, [seg(1, "kept")])
    assert await store.delete_for_meeting(meeting.id) == 2
    assert await store.languages(meeting.id) == []
    assert [s.text for s in await store.list_segments(other.id, "en")] == ["kept"]
    # Deleting the meeting takes its transcript along (ON DELETE CASCADE on both engines).
    await db.meetings.delete(other.id)
    assert await store.list_segments(other.id, "en") == []
    assert await store.delete_for_meeting(MeetingId("not-a-uuid")) == 0


async def test_retention_purge(db: Database, meeting: MeetingRecord) -> None:
    store = TranscriptStore(db)
    clock = FixedClock(T0)
    await store.append(meeting.id, [seg(1, "old")], now=clock.now())
    clock.advance(timedelta(days=29))
    await store.append(meeting.id, [seg(2, "new")], now=clock.now())
    settings = Settings(transcripts=TranscriptSettings(retention_days=30))
    assert await purge(db, settings, clock) == 0
    clock.advance(timedelta(days=1, seconds=1))
    # The first segment is past 30 days; the second, 29 days younger, is not.
    assert await purge(db, settings, clock) == 1
    assert [s.text for s in await store.list_segments(meeting.id, "en")] == ["new"]
    # 0: kept until deleted.
    keep = Settings(transcripts=TranscriptSettings(retention_days=0))
    clock.advance(timedelta(days=3650))
    assert await purge(db, keep, clock) == 0
    assert len(await store.list_segments(meeting.id, "en")) == 1


async def test_the_origin_a_later_run_of_the_meeting_counts_from(
    db: Database, meeting: MeetingRecord
) -> None:
    store = TranscriptStore(db)
    assert await store.origin(meeting.id) is None
    assert await store.origin(MeetingId("not-a-meeting")) is None
    await store.append(meeting.id, [seg(9, "later"), seg(5, "first", language="fr")])
    # The first segment (any language) began 5 s into the transcript, which began at T0.
    assert await store.origin(meeting.id) == T0
