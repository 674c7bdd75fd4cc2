"""``POST /schedules/conflicts`` follows the ``/freebusy`` policy, on SQLite and PostgreSQL: an
invitee the asker shares no schedule with is checked as an address without an account and
invitations (no conflict, no name, no busy time, no title), and the checks are limited per user
together with free/busy and find a time. The app runs on a settable clock (March 1, 2026)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from convene.protocol.errors import ErrorCode
from tests.api.client import Api, assert_error
from tests.api.test_freebusy_privacy import PARIS, app, overrides, person, schedule

__all__ = ["app", "overrides"]


async def conflicts(api: Api, *emails: str, start: str = "2026-03-09T10:30") -> dict[str, Any]:
    body = {
        "title": "Draft",
        "timezone": PARIS,
        "start": start,
        "duration_minutes": 60,
        "attendees": list(emails),
    }
    response = await api.post("/schedules/conflicts", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def who(answer: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(c["email"], c["display_name"], c["title"]) for c in answer["conflicts"]]


async def test_a_stranger_draft_reveals_no_account_and_no_busy_time(
    browsers: Callable[[], Api],
) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    carol = await person(browsers, "carol@example.org", "Carol")
    # Carol is busy on March 9 (10:00-11:00 Paris), with someone who has no account.
    await schedule(carol, "2026-03-09T10:00", "dave@elsewhere.net", title="Carol's")
    answer = await conflicts(ada, "carol@example.org", "dave@elsewhere.net", "nobody@elsewhere.net")
    # Exactly the answer for addresses nobody ever used.
    assert answer == await conflicts(ada, "nobody@elsewhere.net", "other@elsewhere.net")
    assert answer["conflicts"] == []
    assert answer["truncated"] is False
    # Carol's own check still shows her meeting.
    assert who(await conflicts(carol, "ada@example.org")) == [
        ("carol@example.org", "Carol", "Carol's")
    ]


async def test_people_sharing_a_schedule_show_their_conflicts(
    browsers: Callable[[], Api],
) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    bruno = await person(browsers, "bruno@example.org", "Bruno")
    carol = await person(browsers, "carol@example.org", "Carol")
    await schedule(carol, "2026-03-09T10:00", title="Carol's")
    assert who(await conflicts(ada, "carol@example.org")) == []
    # Bruno invites Ada and Carol (in April): they now share a schedule; Carol's own meeting
    # shows as busy, without its title (Ada is not invited to it).
    await schedule(bruno, "2026-04-06T09:00", "ada@example.org", "carol@example.org")
    assert who(await conflicts(ada, "carol@example.org")) == [("carol@example.org", "Carol", None)]


@pytest.mark.parametrize("overrides", [{"scheduling": {"conflict_checks_per_minute": 2}}])
async def test_conflict_checks_are_limited_per_user(browsers: Callable[[], Api]) -> None:
    ada = await person(browsers, "ada@example.org", "Ada")
    await conflicts(ada, "x@elsewhere.net")
    await conflicts(ada)
    body = {"title": "", "timezone": PARIS, "start": "2026-03-09T10:30", "duration_minutes": 30}
    response = await ada.post("/schedules/conflicts", json=body)
    assert_error(response, ErrorCode.RATE_LIMITED, 429)
    assert response.json()["error"]["details"]["retry_after"] > 0
    # Free/busy has a budget of its own, and so has another user.
    window = {"start": "2026-03-09T00:00:00Z", "end": "2026-03-10T00:00:00Z"}
    looked = await ada.post("/freebusy", json={**window, "attendees": ["x@elsewhere.net"]})
    assert looked.status_code == 200
    bruno = await person(browsers, "bruno@example.org", "Bruno")
    await conflicts(bruno)
