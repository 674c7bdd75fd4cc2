"""Password reset by email, and changing the password while signed in.

Real server, real SMTP server (aiosmtpd), SQLite and PostgreSQL. The reset link is read from
the mail as a person would. Asking for a link answers the same for any address; the link works
once, for a short time, and signs out every session of the account.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx

from convene.i18n import texts_for
from convene.protocol.errors import ErrorCode
from tests.api.client import assert_error
from tests.mail.scenario import Scenario, scenario
from tests.support.server import PASSWORD, Person

NEW_PASSWORD = "a new and longer passphrase"
VERIFYING = {"auth": {"require_email_verification": True}}


async def forgot(s: Scenario, email: str) -> httpx.Response:
    return await s.server.guest().post("/api/v1/auth/password/forgot", {"email": email})


async def reset_tokens(s: Scenario, address: str, *, count: int = 1) -> list[str]:
    """The tokens of the reset links mailed to ``address``, oldest first."""
    await s.deliver()
    mails = await s.smtp.wait_for(
        lambda m: address in m.rcpt_tos and "password" in m.subject.lower(), count=count
    )
    tokens = []
    for mail in mails:
        text = mail.text()
        found = re.search(r"/reset\?token=([A-Za-z0-9_-]+)", text)
        assert found is not None, text
        assert s.server.settings.base_url in text
        tokens.append(found.group(1))
    return tokens


async def reset_token(s: Scenario, address: str) -> str:
    """The token of the newest reset link mailed to ``address``."""
    return (await reset_tokens(s, address))[-1]


async def sign_in(s: Scenario, email: str, password: str) -> httpx.Response:
    return await s.server.guest().post(
        "/api/v1/auth/signin", {"email": email, "password": password}
    )


async def signed_in(person: Person) -> bool:
    return (await person.http.get("/api/v1/auth/session")).status_code == 200


async def verified(s: Scenario, email: str, name: str) -> Person:
    person = await s.user(email, name)
    await s.deliver()
    (mail,) = await s.smtp.wait_for(lambda m: email in m.rcpt_tos and "Confirm" in m.subject)
    found = re.search(r"/verify\?token=([A-Za-z0-9_-]+)", mail.text())
    assert found is not None
    assert (await person.post("/api/v1/auth/verify", {"token": found.group(1)})).status_code == 200
    return person


async def test_a_mailed_link_sets_a_new_password_once_and_signs_out_everywhere(
    tmp_path: Path, db_url: str
) -> None:
    async with scenario(tmp_path, database_url=db_url, **VERIFYING) as s:
        laptop = await verified(s, "alice@example.org", "Alice")
        phone = s.server.guest()
        assert (
            await phone.post(
                "/api/v1/auth/signin", {"email": "alice@example.org", "password": PASSWORD}
            )
        ).status_code == 200
        assert await signed_in(phone)

        # Two links asked for; the newest is used, and the older one dies with it.
        for _ in range(2):
            asked = await forgot(s, "Alice@Example.org ")
            assert asked.status_code == 202, asked.text
            assert asked.content == b""
        older, newest = await reset_tokens(s, "alice@example.org", count=2)
        assert older != newest

        # A password outside the policy is refused and leaves the link unspent.
        short = await s.server.guest().post(
            "/api/v1/auth/password/reset", {"token": newest, "password": "short"}
        )
        assert short.status_code == 422, short.text

        browser = s.server.guest()
        done = await browser.post(
            "/api/v1/auth/password/reset", {"token": newest, "password": NEW_PASSWORD}
        )
        assert done.status_code == 200, done.text
        assert done.json()["user"]["email"] == "alice@example.org"
        # The browser that followed the link is signed in; every other session is gone.
        assert await signed_in(browser)
        assert not await signed_in(laptop)
        assert not await signed_in(phone)

        assert_error(
            await sign_in(s, "alice@example.org", PASSWORD), ErrorCode.INVALID_CREDENTIALS, 401
        )
        assert (await sign_in(s, "alice@example.org", NEW_PASSWORD)).status_code == 200

        for token in (newest, older):
            again = await s.server.guest().post(
                "/api/v1/auth/password/reset", {"token": token, "password": "yet another one"}
            )
            assert_error(again, ErrorCode.RESET_INVALID, 400)
        assert (await sign_in(s, "alice@example.org", NEW_PASSWORD)).status_code == 200


async def test_the_answer_is_the_same_with_or_without_an_account_that_may_reset(
    tmp_path: Path, db_url: str
) -> None:
    async with scenario(tmp_path, database_url=db_url, **VERIFYING) as s:
        await verified(s, "bob@example.org", "Bob")
        await s.user("mallory@example.org", "Not verified")
        answers = [
            await forgot(s, email)
            for email in ("bob@example.org", "nobody@example.org", "mallory@example.org")
        ]
        assert {(a.status_code, a.content) for a in answers} == {(202, b"")}
        await reset_token(s, "bob@example.org")
        await s.deliver()
        assert s.smtp.to("nobody@example.org") == []
        # An address nobody confirmed gets no link: its owner may not be who signed up.
        assert [m.subject for m in s.smtp.to("mallory@example.org")] == [
            "Confirm your email address for Convene"
        ]
        malformed = await forgot(s, "not an address")
        assert malformed.status_code == 422, malformed.text


async def test_without_verification_any_account_may_reset(tmp_path: Path, db_url: str) -> None:
    async with scenario(tmp_path, database_url=db_url) as s:
        await s.user("carol@example.org", "Carol")
        assert (await forgot(s, "carol@example.org")).status_code == 202
        token = await reset_token(s, "carol@example.org")
        done = await s.server.guest().post(
            "/api/v1/auth/password/reset", {"token": token, "password": NEW_PASSWORD}
        )
        assert done.status_code == 200, done.text


async def test_the_link_is_mailed_in_the_language_of_the_account(
    tmp_path: Path, db_url: str
) -> None:
    async with scenario(tmp_path, database_url=db_url) as s:
        olga = await s.user("olga@example.org", "Olga")
        assert olga.csrf is not None
        chosen = await olga.http.patch(
            "/api/v1/users/me/calendar-settings",
            json={"language": "ru"},
            headers={"X-CSRF-Token": olga.csrf},
        )
        assert chosen.status_code == 200, chosen.text
        # Asked for from a browser in English: the account's choice wins.
        asked = await s.server.guest().http.post(
            "/api/v1/auth/password/forgot",
            json={"email": "olga@example.org"},
            headers={"Accept-Language": "en"},
        )
        assert asked.status_code == 202, asked.text
        await s.deliver()
        (mail,) = await s.smtp.wait_for(lambda m: "olga@example.org" in m.rcpt_tos)
        russian = texts_for("ru").gettext("Reset your Convene password")
        assert russian != "Reset your Convene password"
        assert mail.subject == russian
        assert "/reset?token=" in mail.text()


async def test_links_expire_and_unknown_ones_are_refused(tmp_path: Path, db_url: str) -> None:
    async with scenario(
        tmp_path,
        database_url=db_url,
        auth={"require_email_verification": False, "password_reset_link_minutes": 30},
    ) as s:
        await s.user("dave@example.org", "Dave")
        assert (await forgot(s, "dave@example.org")).status_code == 202
        token = await reset_token(s, "dave@example.org")
        assert "30 minutes" in s.smtp.to("dave@example.org")[-1].text()
        s.clock.advance(timedelta(minutes=31))
        late = await s.server.guest().post(
            "/api/v1/auth/password/reset", {"token": token, "password": NEW_PASSWORD}
        )
        assert_error(late, ErrorCode.RESET_INVALID, 400)
        unknown = await s.server.guest().post(
            "/api/v1/auth/password/reset", {"token": "x" * 43, "password": NEW_PASSWORD}
        )
        assert_error(unknown, ErrorCode.RESET_INVALID, 400)
        for bad in ["", "y" * 129]:
            response = await s.server.guest().post(
                "/api/v1/auth/password/reset", {"token": bad, "password": NEW_PASSWORD}
            )
            assert response.status_code == 422, response.text
        assert (await sign_in(s, "dave@example.org", PASSWORD)).status_code == 200


async def test_requests_are_limited_per_email_alike_and_per_address(
    tmp_path: Path, db_url: str
) -> None:
    async with scenario(
        tmp_path,
        database_url=db_url,
        limits={"password_reset_per_email_per_hour": 2, "password_reset_per_address_per_hour": 5},
    ) as s:
        await s.user("erin@example.org", "Erin")
        # An address with an account and one without are limited the same way.
        for email in ("erin@example.org", "ghost@example.org"):
            for _ in range(2):
                assert (await forgot(s, email)).status_code == 202
            assert_error(await forgot(s, email), ErrorCode.RATE_LIMITED, 429)
        # Five requests from this address in all (two of them refused above did not count).
        assert (await forgot(s, "third@example.org")).status_code == 202
        limited = await forgot(s, "fourth@example.org")
        assert_error(limited, ErrorCode.RATE_LIMITED, 429)
        assert limited.headers.get("Retry-After")
        await s.deliver()
        assert len(s.smtp.to("erin@example.org")) == 2


async def test_a_reset_lifts_the_sign_in_backoff_of_the_account(
    tmp_path: Path, db_url: str
) -> None:
    async with scenario(
        tmp_path,
        database_url=db_url,
        limits={"signin_free_failures": 2, "signin_per_5_minutes": 100},
    ) as s:
        await s.user("frank@example.org", "Frank")
        for _ in range(3):
            await sign_in(s, "frank@example.org", "guessed wrong")
        assert_error(await sign_in(s, "frank@example.org", PASSWORD), ErrorCode.RATE_LIMITED, 429)
        assert (await forgot(s, "frank@example.org")).status_code == 202
        token = await reset_token(s, "frank@example.org")
        done = await s.server.guest().post(
            "/api/v1/auth/password/reset", {"token": token, "password": NEW_PASSWORD}
        )
        assert done.status_code == 200, done.text
        # From a browser that never signed in to the account: no wait any more.
        assert (await sign_in(s, "frank@example.org", NEW_PASSWORD)).status_code == 200


async def test_changing_the_password_needs_the_current_one_and_signs_out_other_sessions(
    tmp_path: Path, db_url: str
) -> None:
    async with scenario(tmp_path, database_url=db_url) as s:
        grace = await s.user("grace@example.org", "Grace")
        other = s.server.guest()
        signin = await other.post(
            "/api/v1/auth/signin", {"email": "grace@example.org", "password": PASSWORD}
        )
        assert signin.status_code == 200
        assert (await forgot(s, "grace@example.org")).status_code == 202
        outstanding = await reset_token(s, "grace@example.org")

        wrong = await grace.post(
            "/api/v1/users/me/password",
            {"current_password": "not it at all", "new_password": NEW_PASSWORD},
        )
        assert_error(wrong, ErrorCode.INVALID_CREDENTIALS, 401)
        short = await grace.post(
            "/api/v1/users/me/password", {"current_password": PASSWORD, "new_password": "short"}
        )
        assert short.status_code == 422, short.text
        # A write without the CSRF token is refused.
        bare = await grace.http.post(
            "/api/v1/users/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert bare.status_code == 403, bare.text

        changed = await grace.post(
            "/api/v1/users/me/password",
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 200, changed.text
        grace.csrf = changed.json()["csrf_token"]
        assert await signed_in(grace)
        assert not await signed_in(other)
        renamed = await grace.http.patch(
            "/api/v1/users/me",
            json={"display_name": "Grace H."},
            headers={"X-CSRF-Token": grace.csrf},
        )
        assert renamed.status_code == 200, renamed.text

        assert_error(
            await sign_in(s, "grace@example.org", PASSWORD), ErrorCode.INVALID_CREDENTIALS, 401
        )
        assert (await sign_in(s, "grace@example.org", NEW_PASSWORD)).status_code == 200
        # A reset link asked for before the change no longer works.
        stale = await s.server.guest().post(
            "/api/v1/auth/password/reset", {"token": outstanding, "password": "yet another one"}
        )
        assert_error(stale, ErrorCode.RESET_INVALID, 400)


async def test_the_display_name_follows_the_one_name_policy(tmp_path: Path) -> None:
    async with scenario(tmp_path) as s:
        heidi = await s.user("heidi@example.org", "Heidi")
        assert heidi.csrf is not None
        headers = {"X-CSRF-Token": heidi.csrf}
        for bad in ["", "   ", "x" * 65, "bad\u0000name", "\u202eevil"]:
            refused = await heidi.http.patch(
                "/api/v1/users/me", json={"display_name": bad}, headers=headers
            )
            assert refused.status_code in (400, 422), (bad, refused.text)
        ok = await heidi.http.patch(
            "/api/v1/users/me", json={"display_name": "  Heidi  Müller "}, headers=headers
        )
        assert ok.status_code == 200, ok.text
        me = (await heidi.http.get("/api/v1/users/me")).json()
        assert me["display_name"] == ok.json()["display_name"]
        assert me["display_name"].startswith("Heidi")
