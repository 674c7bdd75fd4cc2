"""The transcript page in the browser: the host reads a meeting's transcript per language,
page by page, refreshes it, downloads it as WebVTT and deletes it; a user and a guest who were
let in read it without a Delete button; a stranger is told it does not exist.

The transcript and the participation log are written through the server's own storage, as the
captions pipeline and the conference write them (tests/e2e/test_captions.py makes one from
real speech)."""

from __future__ import annotations

import asyncio
import html
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import webvtt
from playwright.async_api import expect

from convene.auth.sessions import GUEST_COOKIE
from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.storage.db import Database
from convene.storage.transcripts import NewSegment, TranscriptStore
from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_accessibility import Findings
from tests.support.browser import TIMEOUT_MS, Attendee
from tests.support.server import RunningServer

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ENGLISH = 205  # more than one page (the page reads 200 at a time)


def _segments(language: str, count: int, text: str) -> list[NewSegment]:
    return [
        NewSegment(
            language=language,
            speaker_id=ParticipantId("p_ada"),
            speaker_name="Ada Lovelace",
            speaker_user=None,
            start_at=T0 + timedelta(seconds=2 * i),
            end_at=T0 + timedelta(seconds=2 * i + 1),
            start_ms=2000 * i,
            end_ms=2000 * i + 1000,
            text=f"{text} {i} & <more>",
            source_language="en" if language != "en" else None,
            translated=language != "en",
        )
        for i in range(count)
    ]


async def _user_id(person: Attendee, server: RunningServer) -> tuple[str, str]:
    response = await person.page.request.get(f"{server.base_url}/api/v1/auth/session")
    assert response.ok, await response.text()
    body = await response.json()
    return body["user"]["id"], body["csrf_token"]


async def _attended(
    db: Database, meeting_id: str, name: str, *, user_id: str | None, guest_key: str | None = None
) -> None:
    """What the conference records when someone is let in and later leaves."""
    pid = ParticipantId("p_" + uuid.uuid4().hex[:12])
    await db.participation.record_join(
        MeetingId(meeting_id),
        pid,
        user_id=UserId(user_id) if user_id else None,
        guest_key=guest_key,
        display_name=name,
        role="participant",
        admitted=True,
    )
    await db.participation.record_leave(pid, "left", admitted=True)


async def test_the_transcript_page(open_attendee: OpenAttendee, server: RunningServer) -> None:
    db: Database = server.app.state.db
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    _, csrf = await _user_id(alice, server)
    created = await alice.page.request.post(
        f"{server.base_url}/api/v1/meetings",
        data={"title": "Weekly sync"},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.ok, await created.text()
    meeting = await created.json()
    meeting_id: str = meeting["id"]
    store = TranscriptStore(db)
    await store.append(MeetingId(meeting_id), _segments("en", ENGLISH, "hello"))
    await store.append(MeetingId(meeting_id), _segments("es", 2, "hola"))

    bo = await open_attendee("Bo")
    await bo.sign_up("bo@example.org")
    bo_id, _ = await _user_id(bo, server)
    await _attended(db, meeting_id, "Bo", user_id=bo_id)
    eve = await open_attendee("Eve")
    await eve.sign_up("eve@example.org")

    page_url = f"{server.base_url}/meetings/{meeting_id}/transcript"
    findings = Findings()

    # The host: English first, with the meeting's title, the speaker, times from the start.
    await alice.page.goto(page_url)
    await expect(alice.by_testid("transcript-language")).to_have_value("en")
    await expect(alice.by_testid("transcript-meeting-title")).to_have_text("Weekly sync")
    segments = alice.by_testid("transcript-segment")
    await expect(segments).to_have_count(200, timeout=TIMEOUT_MS)
    first = segments.nth(1)
    await expect(first.get_by_test_id("transcript-speaker")).to_have_text("Ada Lovelace")
    await expect(first.get_by_test_id("transcript-text")).to_have_text("hello 1 & <more>")
    time = first.get_by_test_id("transcript-time")
    await expect(time).to_have_text("00:00:02")
    await expect(time).to_have_attribute("datetime", "2026-12-03T09:00:02Z")
    assert await time.get_attribute("title"), "the wall time is shown on hover"
    await expect(alice.by_testid("transcript-segments")).to_have_attribute("lang", "en")
    # The next page, from the cursor; then no more.
    await alice.by_testid("transcript-more").click()
    await expect(segments).to_have_count(ENGLISH)
    await expect(segments.last.get_by_test_id("transcript-time")).to_have_text(
        f"00:{2 * (ENGLISH - 1) // 60:02d}:{2 * (ENGLISH - 1) % 60:02d}"
    )
    await expect(alice.by_testid("transcript-more")).to_have_count(0)
    await findings.check("transcript", alice)

    # Spanish, marked as translated; the address says which language.
    options = alice.by_testid("transcript-language").locator("option")
    await expect(options).to_have_text(["English", "Spanish (translated)"])
    await alice.by_testid("transcript-language").select_option("es")
    await expect(alice.page).to_have_url(f"{page_url}?lang=es")
    await expect(segments).to_have_count(2)
    await expect(segments.first.get_by_test_id("transcript-text")).to_have_text("hola 0 & <more>")
    await expect(alice.by_testid("transcript-segments")).to_have_attribute("lang", "es")

    # During the meeting, Refresh reads what was said since.
    await store.append(MeetingId(meeting_id), _segments("es", 3, "hola")[2:])
    await alice.by_testid("transcript-refresh").click()
    await expect(segments).to_have_count(3)
    await expect(segments.last.get_by_test_id("transcript-text")).to_have_text("hola 2 & <more>")

    # The download is the server's WebVTT file.
    async with alice.page.expect_download() as info:
        await alice.by_testid("transcript-download-vtt").click()
    download = await info.value
    assert download.suggested_filename.endswith("-es.vtt"), download.suggested_filename
    vtt = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    cues = webvtt.from_string(vtt).captions
    # webvtt-py keeps the text's escapes as written (&amp; &lt; &gt;).
    assert [(c.start, c.voice, html.unescape(c.text)) for c in cues] == [
        ("00:00:00.000", "Ada Lovelace", "hola 0 & <more>"),
        ("00:00:02.000", "Ada Lovelace", "hola 1 & <more>"),
        ("00:00:04.000", "Ada Lovelace", "hola 2 & <more>"),
    ], vtt

    # Bo was let in: he reads it, and may not delete it.
    await bo.page.goto(f"{page_url}?lang=es")
    await expect(bo.by_testid("transcript-segment")).to_have_count(3)
    await expect(bo.by_testid("transcript-refresh")).to_be_visible()
    await expect(bo.by_testid("transcript-delete")).to_have_count(0)
    # In Arabic: the page right to left, the Spanish text still left to right, names in Arabic.
    await bo.page.evaluate("() => localStorage.setItem('convene.language', 'ar')")
    await bo.page.reload()
    await expect(bo.page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(bo.by_testid("transcript-segments")).to_have_attribute("dir", "ltr")
    await expect(bo.by_testid("transcript-language").locator("option").first).to_have_text(
        "الإنجليزية"
    )
    await findings.check("transcript in Arabic", bo)

    # Eve was not there: the page does not say whether it exists.
    await eve.page.goto(page_url)
    await expect(eve.by_testid("transcript-not-found")).to_have_text(
        "This transcript does not exist or you may not read it."
    )
    await findings.check("transcript not found", eve)

    # A guest, known by the browser's guest cookie: not before they were let in, then they read.
    gita = await open_attendee("Gita")
    await gita.page.goto(f"{server.base_url}/j/{meeting['code']}")
    await gita.expect_visible(gita.by_testid("join-display-name"))
    # The guest cookie comes with the meeting's public info, which the join page may still be
    # fetching when its form shows (leaving the page before that would leave no cookie).
    guest_key = None
    for _ in range(50):
        cookies = await gita.page.context.cookies(server.base_url)
        guest_key = next((c["value"] for c in cookies if c["name"] == GUEST_COOKIE), None)
        if guest_key is not None:
            break
        await gita.page.wait_for_timeout(100)
    assert guest_key is not None, "the join page set no guest cookie"
    await gita.page.goto(page_url)
    await expect(gita.by_testid("transcript-not-found")).to_be_visible()
    await expect(gita.by_testid("transcript-signin")).to_be_visible()
    await _attended(db, meeting_id, "Gita", user_id=None, guest_key=guest_key)
    await gita.page.reload()
    await expect(gita.by_testid("transcript-segment")).to_have_count(200)
    await expect(gita.by_testid("transcript-delete")).to_have_count(0)

    # The host deletes it, after saying so in the dialog (Escape first changes nothing).
    await alice.by_testid("transcript-delete").click()
    dialog = alice.by_testid("transcript-delete-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_test_id("transcript-delete-cancel")).to_be_focused()
    await findings.check("delete dialog", alice, structure=False)
    await alice.page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    await expect(alice.by_testid("transcript-delete")).to_be_focused()
    await expect(segments).to_have_count(3)
    await alice.by_testid("transcript-delete").click()
    await dialog.get_by_test_id("transcript-delete-confirm").click()
    await expect(alice.by_testid("transcript-empty")).to_have_text("The transcript was deleted.")
    await expect(alice.by_testid("transcript-empty")).to_be_focused()
    await expect(segments).to_have_count(0)
    assert await store.languages(MeetingId(meeting_id)) == []

    # Read again (Bo refreshing): nothing was transcribed.
    await bo.by_testid("transcript-refresh").click()
    await expect(bo.by_testid("transcript-empty")).to_have_text(
        "لم يُكتب أي نص في هذا الاجتماع بعد."
    )
    await findings.check("transcript deleted", alice)
    findings.assert_none()
