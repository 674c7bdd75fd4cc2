"""Fixtures for the browser tests: a real server with a real Janus and the built web client,
and Chromium browsers, one per person.

When a test fails, each person's page is saved as a screenshot and their browser console as a
log in the test-artifacts folder (``e2e-<test>-<person>.png`` / ``.log``). An uncaught error in
a page fails the test too.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Generator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Protocol

import pytest
from playwright.async_api import Playwright, async_playwright

from tests.support.browser import Attendee, built_web_client, launch_chromium
from tests.support.janus import media_settings
from tests.support.server import RunningServer, running_server


class OpenAttendee(Protocol):
    """``await open_attendee("Bob")``, or ``open_attendee("Bob", device="Pixel 7")`` for a
    phone (a Playwright device descriptor: its screen, touch and mobile user agent)."""

    def __call__(self, name: str, device: str | None = None) -> Awaitable[Attendee]: ...


FAILED = pytest.StashKey[bool]()  # set on a test item when one of its phases failed


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    web_dir = built_web_client()
    async with running_server(tmp_path, janus=media_settings(), web_dir=web_dir) as running:
        yield running


@pytest.fixture
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as pw:
        yield pw


@pytest.fixture
async def open_attendee(
    request: pytest.FixtureRequest,
    playwright: Playwright,
    server: RunningServer,
    artifacts_dir: Path,
) -> AsyncIterator[OpenAttendee]:
    """``await open_attendee("Alice")``: a person in a browser of their own, on the server."""
    attendees: list[Attendee] = []
    async with AsyncExitStack() as stack:

        async def open_one(name: str, device: str | None = None) -> Attendee:
            browser = await stack.enter_async_context(launch_chromium(playwright))
            descriptor = playwright.devices[device] if device is not None else None
            attendee = await Attendee.open(browser, name, server.base_url, descriptor)
            attendees.append(attendee)
            return attendee

        yield open_one

        if request.node.stash.get(FAILED, False):
            test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            for attendee in attendees:
                stem = artifacts_dir / f"e2e-{test}-{attendee.name.lower()}"
                attendee.dump_log(stem.with_suffix(".log"))
                try:
                    await attendee.screenshot(stem.with_suffix(".png"))
                except Exception as exc:
                    attendee.log.append(f"[screenshot failed] {exc}")
                    attendee.dump_log(stem.with_suffix(".log"))
    errors = {a.name: a.page_errors for a in attendees if a.page_errors}
    assert not errors, f"uncaught errors in the web client: {errors}"
