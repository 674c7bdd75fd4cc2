"""The attendance as JSON (``GET /meetings/{id}/attendance``): the rows grouped by session, in
order, each session ending when its last person left (open while someone is still there)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from convene.api.attendance import attendance, sessions
from tests.api.test_attendance import T0, stay


def test_rows_grouped_by_session_with_their_ends() -> None:
    stays = [
        stay("Alice", 0, 60, user="a", role="host"),
        stay("Bo", 5, 50, guest="g1", role="attendee"),
        stay("Cy", 10, 70, guest="g2", role="attendee"),
        # The next class: Bo is still there.
        stay("Alice", 10_080, 10_140, user="a", role="host"),
        stay("Bo", 10_090, None, guest="g1", role="attendee"),
    ]
    now = T0 + timedelta(minutes=10_150)
    got = sessions(attendance(stays, now))
    assert [s.session for s in got] == [1, 2]
    first, second = got
    assert first.started == T0
    assert first.ended == T0 + timedelta(minutes=70)
    assert [(p.name, p.role, p.minutes) for p in first.people] == [
        ("Alice", "host", 60),
        ("Bo", "attendee", 45),
        ("Cy", "attendee", 60),
    ]
    assert second.started == T0 + timedelta(minutes=10_080)
    assert second.ended is None
    assert [(p.name, p.last_left) for p in second.people] == [
        ("Alice", T0 + timedelta(minutes=10_140)),
        ("Bo", None),
    ]


def test_no_stays_no_sessions() -> None:
    assert sessions(attendance([], datetime(2026, 12, 1, tzinfo=UTC))) == []
