"""Sign-up, sign-in, sign-out, sessions and CSRF over the REST API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from convene.auth.passwords import Argon2Params, Passwords
from convene.auth.sessions import SESSION_COOKIE, hash_token
from convene.protocol.errors import ErrorCode
from convene.storage.db import Database
from convene.storage.models import AuthSessionRow
from tests.api.client import Api, assert_error
from tests.api.conftest import make_app, make_settings


def _db(app: FastAPI) -> Database:
    db = app.state.db
    assert isinstance(db, Database)
    return db


async def test_sign_up_signs_in_with_a_hashed_token_cookie(api: Api, app: FastAPI) -> None:
    response = await api.post(
        "/auth/signup",
        json={"email": " Ada@Example.org", "password": "correct horse", "display_name": " Ada "},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["email"] == "ada@example.org"
    assert body["user"]["display_name"] == "Ada"
    assert set(body["user"]) == {"id", "email", "display_name", "created_at", "email_verified"}
    assert len(body["csrf_token"]) >= 32

    cookies = response.headers.get_list("set-cookie")
    (cookie,) = [c for c in cookies if c.startswith(f"{SESSION_COOKIE}=")]
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # served over http here
    token = api.http.cookies[SESSION_COOKIE]

    # Only the SHA-256 of the token is stored.
    async with _db(app).session() as session:
        stored = list(await session.scalars(select(AuthSessionRow.token_hash)))
    assert stored == [hash_token(token)]

    me = await api.get("/auth/session")
    assert me.status_code == 200
    assert me.json() == body


async def test_an_email_has_one_account(api: Api) -> None:
    await api.signup("grace@example.org")
    response = await api.post(
        "/auth/signup",
        json={"email": "GRACE@example.org", "password": "whatever123", "display_name": "G"},
    )
    assert_error(response, ErrorCode.EMAIL_TAKEN, 409)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@example.org", "password": "short", "display_name": "A"}, "password"),
        ({"email": "a@example.org", "password": "x" * 257, "display_name": "A"}, "password"),
        ({"email": "not-an-email", "password": "long enough", "display_name": "A"}, "email"),
        (
            {"email": "a@example.org", "password": "long enough", "display_name": "  "},
            "display_name",
        ),
        (
            {"email": "a@example.org", "password": "long enough", "display_name": "x" * 65},
            "display_name",
        ),
        ({"email": "a@example.org", "password": 12345678, "display_name": "A"}, "password"),
        ({"email": "a@example.org", "password": "long enough"}, "display_name"),
        (
            {"email": "a@example.org", "password": "long enough", "display_name": "A", "admin": 1},
            "admin",
        ),
    ],
)
async def test_sign_up_validates_its_body(api: Api, body: dict[str, object], field: str) -> None:
    response = await api.post("/auth/signup", json=body)
    assert_error(response, ErrorCode.INVALID_REQUEST, 422)
    errors = response.json()["error"]["details"]["errors"]
    assert any(field in err["loc"] for err in errors), errors
    # Submitted values are never echoed back (they may be passwords).
    assert "long enough" not in response.text


async def test_sign_up_can_be_disabled(tmp_path: Path, db_url: str) -> None:
    app = make_app(make_settings(tmp_path, db_url, auth={"allow_signup": False}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.post(
                "/api/v1/auth/signup",
                json={"email": "x@example.org", "password": "long enough", "display_name": "X"},
            )
    assert_error(response, ErrorCode.FORBIDDEN, 403)


async def test_sign_in(api: Api, new_api: Callable[..., Api]) -> None:
    await api.signup("lin@example.org", password="right password")
    browser = new_api()
    wrong = await browser.signin("lin@example.org", "wrong password")
    assert_error(wrong, ErrorCode.INVALID_CREDENTIALS, 401)
    unknown = await browser.signin("nobody@example.org", "right password")
    assert_error(unknown, ErrorCode.INVALID_CREDENTIALS, 401)
    # Same message either way: responses do not reveal which emails have accounts.
    assert wrong.json() == unknown.json()
    assert_error(await browser.get("/users/me"), ErrorCode.AUTH_REQUIRED, 401)

    ok = await browser.signin(" LIN@example.org", "right password")
    assert ok.status_code == 200
    assert ok.json()["user"]["email"] == "lin@example.org"
    assert (await browser.get("/users/me")).json()["email"] == "lin@example.org"


async def test_sign_in_is_rate_limited_per_address_and_email(
    api: Api, new_api: Callable[..., Api]
) -> None:
    await api.signup("target@example.org", password="right password")
    attacker = new_api("198.51.100.7")
    for _ in range(10):
        assert (await attacker.signin("target@example.org", "guess")).status_code == 401
    limited = await attacker.signin("target@example.org", "right password")
    assert_error(limited, ErrorCode.RATE_LIMITED, 429)
    retry_after = limited.json()["error"]["details"]["retry_after"]
    assert isinstance(retry_after, int)
    assert retry_after >= 1
    assert limited.headers["Retry-After"] == str(retry_after)

    # Another account from that address still works; the account now backs off for browsers
    # it does not know, but its owner's own browser (which signed up) still gets in.
    assert (await attacker.signin("other@example.org", "guess")).status_code == 401
    stranger = await new_api("198.51.100.8").signin("target@example.org", "right password")
    assert_error(stranger, ErrorCode.RATE_LIMITED, 429)
    assert (await api.signin("target@example.org", "right password")).is_success


async def test_a_successful_sign_in_resets_the_count(api: Api, new_api: Callable[..., Api]) -> None:
    await api.signup("r@example.org", password="right password")
    browser = new_api("198.51.100.9")
    for _ in range(9):
        await browser.signin("r@example.org", "typo")
    assert (await browser.signin("r@example.org", "right password")).is_success
    for _ in range(9):
        assert (await browser.signin("r@example.org", "typo")).status_code == 401


async def test_sign_out(api: Api) -> None:
    await api.signup()
    no_token = await api.http.post("/api/v1/auth/signout")
    assert_error(no_token, ErrorCode.CSRF_FAILED, 403)
    response = await api.post("/auth/signout")
    assert response.status_code == 204
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]
    assert_error(await api.get("/auth/session"), ErrorCode.AUTH_REQUIRED, 401)
    assert_error(await api.post("/auth/signout"), ErrorCode.AUTH_REQUIRED, 401)


async def test_a_stolen_cookie_value_must_match_a_session(api: Api) -> None:
    api.http.cookies.set(SESSION_COOKIE, "A" * 43)
    assert_error(await api.get("/users/me"), ErrorCode.AUTH_REQUIRED, 401)
    api.http.cookies.set(SESSION_COOKIE, "'; DROP TABLE users; --")
    assert_error(await api.get("/users/me"), ErrorCode.AUTH_REQUIRED, 401)


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, False),
        ({"X-CSRF-Token": "wrong"}, False),
        ({"X-CSRF-Token": "{csrf}", "Origin": "https://evil.example"}, False),
        ({"X-CSRF-Token": "{csrf}", "Origin": "null"}, False),
        ({"X-CSRF-Token": "{csrf}", "Sec-Fetch-Site": "cross-site"}, False),
        ({"X-CSRF-Token": "{csrf}"}, True),
        ({"X-CSRF-Token": "{csrf}", "Origin": "http://testserver"}, True),
        ({"X-CSRF-Token": "{csrf}", "Origin": "http://localhost:8080"}, True),
    ],
)
async def test_cookie_writes_need_the_csrf_token_and_our_origin(
    api: Api, headers: dict[str, str], allowed: bool
) -> None:
    csrf = (await api.signup())["csrf_token"]
    sent = {k: v.format(csrf=csrf) for k, v in headers.items()}
    response = await api.http.post("/api/v1/meetings", json={}, headers=sent)
    if allowed:
        assert response.status_code == 201, response.text
    else:
        assert_error(response, ErrorCode.CSRF_FAILED, 403)


async def test_sign_in_and_up_refuse_foreign_origins(api: Api) -> None:
    body = {"email": "o@example.org", "password": "long enough", "display_name": "O"}
    foreign = {"Origin": "https://evil.example"}
    assert_error(
        await api.post("/auth/signup", json=body, headers=foreign), ErrorCode.CSRF_FAILED, 403
    )
    login = {"email": "o@example.org", "password": "long enough"}
    assert_error(
        await api.post("/auth/signin", json=login, headers=foreign), ErrorCode.CSRF_FAILED, 403
    )


async def test_old_hashes_are_upgraded_at_sign_in(api: Api, app: FastAPI) -> None:
    db = _db(app)
    weaker = Passwords(Argon2Params(time_cost=1, memory_kib=32, parallelism=1))
    user = await db.users.create(
        email="old@example.org", display_name="Old", password_hash=weaker.hash("old password")
    )
    assert (await api.signin("old@example.org", "old password")).is_success
    found = await db.users.get_credentials("old@example.org")
    assert found is not None
    assert found[0] == user
    current: Passwords = app.state.passwords
    assert not current.needs_rehash(found[1])
    assert current.verify(found[1], "old password")
