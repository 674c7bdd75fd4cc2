"""Every failure has the error shape, including the ones no handler expected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from convene.app import SchemaOutdatedError, create_app
from convene.auth.passwords import Passwords
from convene.protocol.errors import ErrorCode
from tests.api.client import Api, assert_error
from tests.api.conftest import FAST_HASHING, make_app, make_settings
from tests.storage.databases import sqlite_url


async def test_unknown_api_paths_are_json_404s(api: Api) -> None:
    for path in ("/api/v1/nothing", "/api/v2/meetings", "/api", "/api/v1/meetings/1/2/3"):
        assert_error(await api.http.get(path), ErrorCode.NOT_FOUND, 404)


async def test_wrong_methods(api: Api) -> None:
    response = await api.http.put("/api/v1/meetings")
    assert_error(response, ErrorCode.INVALID_REQUEST, 405)
    assert_error(await api.http.post("/signin"), ErrorCode.INVALID_REQUEST, 405)


async def test_malformed_bodies(api: Api) -> None:
    bad_json = await api.http.post(
        "/api/v1/auth/signin", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert_error(bad_json, ErrorCode.INVALID_REQUEST, 422)
    assert bad_json.json()["error"]["details"]["errors"][0]["type"] == "json_invalid"
    for body in (b"[]", b"null", b"42", b'"text"'):
        response = await api.http.post(
            "/api/v1/auth/signin", content=body, headers={"content-type": "application/json"}
        )
        assert_error(response, ErrorCode.INVALID_REQUEST, 422)
    form = await api.http.post("/api/v1/auth/signin", data={"email": "a", "password": "b"})
    assert_error(form, ErrorCode.INVALID_REQUEST, 422)


async def test_oversized_bodies(api: Api) -> None:
    huge = b'{"email": "' + b"a" * 100_000 + b'"}'
    response = await api.http.post(
        "/api/v1/auth/signin", content=huge, headers={"content-type": "application/json"}
    )
    assert_error(response, ErrorCode.INVALID_REQUEST, 413)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b" " * 1024

    streamed = await api.http.post(
        "/api/v1/auth/signin", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(streamed, ErrorCode.INVALID_REQUEST, 413)


async def test_an_unexpected_failure_is_a_500_that_leaks_nothing(tmp_path: Path) -> None:
    # A database that loses a table under a running server: a real failure, not a simulated one.
    settings = make_settings(tmp_path, sqlite_url(tmp_path / "broken.db"))
    app = create_app(settings, migrate=True, passwords=Passwords(FAST_HASHING))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            api = Api(http)
            await api.signup()
            async with app.state.db.engine.begin() as connection:
                await connection.execute(text("DROP TABLE meetings"))
            response = await api.post("/meetings", json={})
    assert_error(response, ErrorCode.INTERNAL_ERROR, 500)
    assert response.json()["error"]["message"] == "Internal server error"
    assert response.json()["error"]["details"] == {}
    for secret in ("meetings", "sqlite", "Traceback", "OperationalError", str(tmp_path)):
        assert secret not in response.text


async def test_an_outdated_schema_stops_start_up(tmp_path: Path) -> None:
    app = make_app(make_settings(tmp_path, sqlite_url(tmp_path / "empty.db")))
    with pytest.raises(SchemaOutdatedError, match="convene migrate"):
        async with app.router.lifespan_context(app):
            pass
