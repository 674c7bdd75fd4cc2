"""Email verification: an invitation to an address is its owner's, not whoever signs up with it.

Real server, real SMTP server (aiosmtpd), SQLite and PostgreSQL. The confirmation link is read
from the mail as a person would; nothing is shown to an account for its address before it
follows it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from convene.protocol.errors import ErrorCode
from tests.api.client import assert_error
from tests.mail.scenario import Scenario, scenario
from tests.support.server import Person

VERIFYING = {"auth": {"require_email_verification": True}}
SYNC = {
    "title": "Board meeting",
    "agenda": "Acquisition of Initech (confidential)",
    "timezone": "Europe/Paris",
    "start": "2026-03-04T10:00",
    "duration_minutes": 60,
    "passcode": "735102",
}
WINDOW = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-10T00:00:00Z"}


async def link_token(s: Scenario, address: str, *, count: int = 1) -> str:
    """The token of the newest confirmation link mailed to ``address``."""
    await s.deliver()
    mails = await s.smtp.wait_for(
        lambda m: address in m.rcpt_tos and "Confirm" in m.subject, count=count
    )
    found = re.search(r"/verify\?token=([A-Za-z0-9_-]+)", mails[-1].text())
    assert found is not None, mails[-1].text()
    assert s.server.settings.base_url in mails[-1].text()
    return found.group(1)


async def me(person: Person) -> dict[str, Any]:
    response = await person.http.get("/api/v1/users/me")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def verified_user(s: Scenario, email: str, name: str) -> Person:
    person = await s.user(email, name)
    response = await person.post("/api/v1/auth/verify", {"token": await link_token(s, email)})
    assert response.status_code == 200, response.text
    return person


async def test_a_sign_up_with_an_invited_address_sees_nothing_until_it_is_verified(
    tmp_path: Path, db_url: str
) -> None:
    async with scenario(tmp_path, database_url=db_url, **VERIFYING) as s:
        alice = await verified_user(s, "alice@example.org", "Alice")
        assert (await me(alice))["email_verified"] is True
        created = await alice.post(
            "/api/v1/schedules",
            {**SYNC, "attendees": [{"email": "bob@example.org", "cohost": True}]},
        )
        assert created.status_code == 201, created.text
        schedule = created.json()
        await s.deliver()
        await s.smtp.wait_for(lambda m: "bob@example.org" in m.rcpt_tos)

        # Someone who is not Bob signs up with his address: signed in, told to check the mail.
        mallory = await s.user("bob@example.org", "Bob")
        assert mallory.user is not None
        assert mallory.user["email_verified"] is False
        assert (await me(mallory))["email_verified"] is False
        seen = await mallory.http.get(f"/api/v1/schedules/{schedule['id']}")
        assert_error(seen, ErrorCode.NOT_FOUND, 404)
        listed = await mallory.http.get("/api/v1/schedules", params=WINDOW)
        assert listed.status_code == 200, listed.text
        assert "Board meeting" not in listed.text
        assert "735102" not in listed.text
        answer = await mallory.post(
            f"/api/v1/schedules/{schedule['id']}/respond", {"partstat": "ACCEPTED"}
        )
        assert answer.status_code == 404, answer.text
        # Alice's view still shows an invitee who has no account yet.
        again = (await alice.http.get(f"/api/v1/schedules/{schedule['id']}")).json()
        assert again["attendees"][0]["email"] == "bob@example.org"

        # The real Bob follows the link from his mailbox: now the invitation is his.
        token = await link_token(s, "bob@example.org")
        followed = await s.server.guest().post("/api/v1/auth/verify", {"token": token})
        assert followed.status_code == 200, followed.text
        assert followed.json()["email_verified"] is True
        seen = await mallory.http.get(f"/api/v1/schedules/{schedule['id']}")
        assert seen.status_code == 200, seen.text
        assert seen.json()["role"] == "cohost"

        # Single use.
        reused = await s.server.guest().post("/api/v1/auth/verify", {"token": token})
        assert_error(reused, ErrorCode.VERIFICATION_INVALID, 400)


async def test_links_expire_are_single_use_and_resending_is_limited(
    tmp_path: Path, db_url: str
) -> None:
    async with scenario(tmp_path, database_url=db_url, **VERIFYING) as s:
        carol = await s.user("carol@example.org", "Carol")
        first = await link_token(s, "carol@example.org")
        s.clock.advance(timedelta(hours=49))
        late = await carol.post("/api/v1/auth/verify", {"token": first})
        assert_error(late, ErrorCode.VERIFICATION_INVALID, 400)
        for bad in ["x" * 43, "", "\x00"]:
            response = await carol.post("/api/v1/auth/verify", {"token": bad})
            assert response.status_code in (400, 422), response.text
        assert (await me(carol))["email_verified"] is False

        # The link sent at sign-up counts: two more within the hour, then 429.
        for _ in range(3):
            resent = await carol.post("/api/v1/auth/verify/resend", {})
            assert resent.status_code == 202, resent.text
        assert_error(
            await carol.post("/api/v1/auth/verify/resend", {}), ErrorCode.RATE_LIMITED, 429
        )
        newest = await link_token(s, "carol@example.org", count=4)
        assert (await carol.post("/api/v1/auth/verify", {"token": newest})).status_code == 200
        assert (await me(carol))["email_verified"] is True


async def test_an_unverified_account_sends_no_invitations(tmp_path: Path, db_url: str) -> None:
    async with scenario(tmp_path, database_url=db_url, **VERIFYING) as s:
        dave = await s.user("dave@example.org", "Dave")
        refused = await dave.post(
            "/api/v1/schedules", {**SYNC, "attendees": [{"email": "eve@example.org"}]}
        )
        assert_error(refused, ErrorCode.EMAIL_NOT_VERIFIED, 403)
        # Alone, it may still plan its own meetings.
        alone = await dave.post("/api/v1/schedules", SYNC)
        assert alone.status_code == 201, alone.text
        await s.deliver()
        assert s.smtp.to("eve@example.org") == []


async def test_an_unverified_account_is_not_linked_when_invited(
    tmp_path: Path, db_url: str
) -> None:
    """An account made with someone's address before they are invited claims nothing either."""
    async with scenario(tmp_path, database_url=db_url, **VERIFYING) as s:
        mallory = await s.user("frank@example.org", "Frank")
        alice = await verified_user(s, "alice@example.org", "Alice")
        created = await alice.post(
            "/api/v1/schedules", {**SYNC, "attendees": [{"email": "frank@example.org"}]}
        )
        assert created.status_code == 201, created.text
        schedule = created.json()
        assert schedule["attendees"][0].get("user_id") in (None, "")
        seen = await mallory.http.get(f"/api/v1/schedules/{schedule['id']}")
        assert_error(seen, ErrorCode.NOT_FOUND, 404)


async def test_with_verification_off_a_sign_up_is_verified_at_once(tmp_path: Path) -> None:
    async with scenario(tmp_path, auth={"require_email_verification": False}) as s:
        grace = await s.user("grace@example.org", "Grace")
        assert grace.user is not None
        assert grace.user["email_verified"] is True
        await s.deliver()
        assert s.smtp.to("grace@example.org") == []


async def test_the_session_says_whether_the_address_is_verified(tmp_path: Path) -> None:
    async with scenario(tmp_path, **VERIFYING) as s:
        heidi = await s.user("heidi@example.org", "Heidi")
        session = await heidi.http.get("/api/v1/auth/session")
        assert session.json()["user"]["email_verified"] is False
        resent = await heidi.http.post("/api/v1/auth/verify/resend")
        assert resent.status_code in (401, 403), resent.text  # a write needs the CSRF token
        assert isinstance(resent, httpx.Response)
