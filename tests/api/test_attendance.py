"""The attendance of each session of a meeting, from its participation log: sessions split
where nobody was left, a person's stays merged (two connections at once count once), people
who only waited left out, the still present without a last leave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from convene.api.attendance import attendance
from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.storage.participation import ParticipationRecord

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
_ids = iter(range(1, 10_000))


def stay(
    name: str,
    start: int,
    end: int | None,
    *,
    user: str | None = None,
    guest: str | None = None,
    role: str = "participant",
    admitted: bool = True,
) -> ParticipationRecord:
    n = next(_ids)
    return ParticipationRecord(
        id=n,
        meeting_id=MeetingId("m"),
        participant_id=ParticipantId(f"p{n}"),
        user_id=UserId(user) if user else None,
        guest_key=guest,
        display_name=name,
        role=role,  # type: ignore[arg-type]
        joined_at=T0 + timedelta(minutes=start),
        left_at=None if end is None else T0 + timedelta(minutes=end),
        leave_reason=None if end is None else "left",
        admitted_at=T0 + timedelta(minutes=start) if admitted else None,
    )


def test_sessions_people_and_minutes() -> None:
    stays = [
        stay("Alice", 0, 60, user="a", role="host"),
        stay("Bo", 5, 20, guest="g1", role="attendee"),
        # Bo again, on a second tab overlapping the first, then after a gap, renamed.
        stay("Bo", 10, 25, guest="g1", role="attendee"),
        stay("Bo B.", 40, 50, guest="g1", role="attendee"),
        stay("Waiter", 1, 30, guest="g2", admitted=False),
        # The next week: a new session; Bo is still there.
        stay("Alice", 10_080, 10_140, user="a", role="host"),
        stay("Bo", 10_090, None, guest="g1", role="participant"),
    ]
    now = T0 + timedelta(minutes=10_150)
    rows = attendance(stays, now)
    got = [(r.session, r.name, r.role, r.minutes, r.last_left) for r in rows]
    assert got == [
        (1, "Alice", "host", 60, T0 + timedelta(minutes=60)),
        (1, "Bo B.", "attendee", 30, T0 + timedelta(minutes=50)),
        (2, "Alice", "host", 60, T0 + timedelta(minutes=10_140)),
        (2, "Bo", "participant", 60, None),
    ]
    assert rows[1].first_joined == T0 + timedelta(minutes=5)
    assert rows[2].session_started == T0 + timedelta(minutes=10_080)


@given(
    st.lists(
        st.tuples(st.integers(0, 500), st.integers(0, 120), st.sampled_from(["a", "b", "c"])),
        max_size=30,
    )
)
def test_minutes_never_exceed_the_sessions(spans: list[tuple[int, int, str]]) -> None:
    stays = [stay(who, start, start + length, guest=who) for start, length, who in spans]
    rows = attendance(stays, T0 + timedelta(days=1))
    sessions: dict[int, tuple[datetime, datetime]] = {}
    for row in rows:
        assert row.minutes >= 0
        assert row.last_left is not None
        assert row.first_joined <= row.last_left
        first, last = sessions.get(row.session, (row.first_joined, row.last_left))
        sessions[row.session] = (min(first, row.first_joined), max(last, row.last_left))
    for row in rows:
        first, last = sessions[row.session]
        assert row.minutes <= (last - first).total_seconds() / 60 + 1
    # Each person (here named as their guest key) appears once per session.
    assert len({(r.session, r.name) for r in rows}) == len(rows)
