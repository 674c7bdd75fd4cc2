"""The web client's language, kept in a user's settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

from convene.app import create_app
from convene.auth.passwords import Passwords
from convene.protocol.errors import ErrorCode
from tests.api.client import Api, assert_error
from tests.api.conftest import FAST_HASHING, NoMedia, emptied, make_settings


@pytest.fixture
async def app(tmp_path: Path, db_url: str) -> AsyncIterator[FastAPI]:
    await emptied(db_url)
    application = create_app(
        make_settings(tmp_path, db_url), passwords=Passwords(FAST_HASHING), sfu=NoMedia()
    )
    async with application.router.lifespan_context(application):
        yield application


async def test_language_is_kept_and_can_be_cleared(browsers: Callable[[], Api]) -> None:
    ada = browsers()
    await ada.signup("ada@example.org", "Ada")
    settings = "/users/me/calendar-settings"
    assert (await ada.get(settings)).json()["language"] is None  # the browser's
    changed = await ada.patch(settings, json={"language": "ar"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["language"] == "ar"
    # Another change leaves the language as it is.
    await ada.patch(settings, json={"timezone": "Europe/Paris"})
    assert (await ada.get(settings)).json()["language"] == "ar"
    assert (await ada.patch(settings, json={"language": None})).json()["language"] is None


async def test_unknown_language_is_refused(browsers: Callable[[], Api]) -> None:
    ada = browsers()
    await ada.signup("ada@example.org", "Ada")
    for bad in ("de", "AR", "", 7):
        refused = await ada.patch("/users/me/calendar-settings", json={"language": bad})
        assert_error(refused, ErrorCode.INVALID_REQUEST, 422)
