"""Every request field that carries an email address refuses control characters (U+0000 above
all, which PostgreSQL cannot store) as ``422 invalid_request``, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from convene.protocol.errors import ErrorCode
from tests.api.client import Api, assert_error

BAD = ["bob\x00@example.org", "bob@exa\x00mple.org", "bob@example.org\x00", "bo\x07b@example.org"]
WHEN = {"start": "2026-03-02T00:00:00Z", "end": "2026-03-03T00:00:00Z"}
TIMING = {"timezone": "UTC", "start": "2026-03-02T09:00", "duration_minutes": 30}


def bodies(email: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("POST", "/schedules", {"title": "Sync", **TIMING, "attendees": [{"email": email}]}),
        ("POST", "/schedules/conflicts", {**TIMING, "attendees": [email]}),
        ("POST", "/freebusy", {"attendees": [email], **WHEN}),
        ("POST", "/find-time", {"attendees": [{"email": email}], "duration_minutes": 30}),
    ]


@pytest.mark.parametrize("email", BAD)
async def test_sign_up_and_sign_in_refuse_control_characters(api: Api, email: str) -> None:
    signup = await api.post(
        "/auth/signup", json={"email": email, "password": "correct horse", "display_name": "Bob"}
    )
    assert_error(signup, ErrorCode.INVALID_REQUEST, 422)
    signin = await api.post("/auth/signin", json={"email": email, "password": "correct horse"})
    assert_error(signin, ErrorCode.INVALID_REQUEST, 422)


@pytest.mark.parametrize("email", BAD)
async def test_scheduling_endpoints_refuse_control_characters(api: Api, email: str) -> None:
    await api.signup()
    for method, path, body in bodies(email):
        response = await api.request(method, path, json=body)
        assert_error(response, ErrorCode.INVALID_REQUEST, 422)
    created = await api.post("/schedules", json={"title": "Sync", **TIMING})
    assert created.status_code == 201, created.text
    edited = await api.patch(
        f"/schedules/{created.json()['id']}", json={"attendees": [{"email": email}]}
    )
    assert_error(edited, ErrorCode.INVALID_REQUEST, 422)
    # The account and its schedule are untouched, and good addresses still work.
    fine = await api.post("/freebusy", json={"attendees": ["bob@example.org"], **WHEN})
    assert fine.status_code == 200, fine.text
