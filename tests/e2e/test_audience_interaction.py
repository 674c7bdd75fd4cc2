"""Audience interaction in two real browsers: bullet comments over the video, a host hiding one,
the word filter, a poll opened, answered and its results shared, and a question asked, upvoted
and answered.

Alice (signed in) starts a meeting and Ruth joins as a guest. Comments, Q&A and polls are off in
a meeting until a host turns them on, so Alice does, from the comment bar's settings and the Q&A
panel. Ruth's comments (one in Arabic, flying in its own direction) cross Alice's stage; Alice
clicks one and it leaves Ruth's screen and list. A comment with a filtered word is refused in
Ruth's comment bar. Alice drafts and opens a poll: its card pops up for Ruth, she answers, Alice
sees the live total and shares the results, and Ruth reads them as bars with percentages. Ruth
asks a question; Alice votes for it and answers it in writing; Ruth sees the vote and the answer.
"""

from __future__ import annotations

from playwright.async_api import Locator, expect

from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_accessibility import Findings
from tests.support.browser import TIMEOUT_MS, Attendee


def comment_on_stage(person: Attendee, text: str) -> Locator:
    overlay = person.by_testid("comments-overlay")
    return overlay.get_by_test_id("danmaku-comment").filter(has_text=text)


async def send_comment(person: Attendee, text: str) -> None:
    box = person.by_testid("comment-input")
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("", timeout=TIMEOUT_MS)


async def test_comments_polls_and_questions(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    ruth = await open_attendee("Ruth")

    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    link = await alice.invite_link()
    await ruth.join_as_guest(link)
    await ruth.wait_in_meeting()

    findings = Findings()
    await comments(alice, ruth, findings)
    await polls(alice, ruth, findings)
    await questions(alice, ruth, findings)
    findings.assert_none()


async def comments(alice: Attendee, ruth: Attendee, findings: Findings) -> None:
    # Off in a meeting: nobody has a comment box until Alice turns comments on for everyone.
    await expect(ruth.by_testid("comment-bar")).to_have_count(0)
    await expect(alice.by_testid("comment-bar")).to_have_count(0)
    await alice.open_panel("settings-button", "settings-panel")
    await alice.by_testid("setting-comments").check()
    await ruth.expect_visible(ruth.by_testid("comment-input"))
    await alice.by_testid("settings-button").click()
    # Her comment settings: a word filter.
    await alice.by_testid("comments-settings-button").click()
    await expect(alice.by_testid("comments-enabled")).to_be_checked()
    await alice.by_testid("comments-words").fill("spam")
    await alice.by_testid("comments-words-save").click()
    await expect(alice.by_testid("comments-settings-note")).to_contain_text("1", timeout=TIMEOUT_MS)
    await findings.check("comment settings", alice)
    await alice.page.keyboard.press("Escape")

    # Ruth's comments fly over Alice's stage; the Arabic one keeps its own direction.
    await send_comment(ruth, "Hello from Ruth")
    flying = comment_on_stage(alice, "Hello from Ruth")
    await alice.expect_visible(flying)
    await expect(flying).to_have_attribute("dir", "auto")
    await expect(alice.by_testid("comments-overlay")).to_have_attribute("aria-hidden", "true")
    await send_comment(ruth, "مرحبا بالجميع")
    await alice.expect_visible(comment_on_stage(alice, "مرحبا بالجميع"))
    # Her own comment flies for her too, at once.
    await ruth.expect_visible(comment_on_stage(ruth, "مرحبا بالجميع"))

    # Alice clicks a comment (it is moving: the click goes where it is) and it is hidden for all.
    await send_comment(ruth, "Please hide me")
    doomed = comment_on_stage(alice, "Please hide me")
    await alice.expect_visible(doomed)
    doomed_id = await doomed.get_attribute("data-comment-id")
    await doomed.click(force=True)
    await expect(doomed).to_have_count(0, timeout=TIMEOUT_MS)
    await ruth.open_panel("comments-panel-button", "comments-panel")
    await findings.check("comments panel", ruth)
    entries = ruth.by_testid("comment-entry")
    await expect(entries.filter(has_text="Hello from Ruth")).to_have_count(1, timeout=TIMEOUT_MS)
    await expect(
        ruth.page.locator(f'[data-testid="comment-entry"][data-comment-id="{doomed_id}"]')
    ).to_have_count(0, timeout=TIMEOUT_MS)
    await expect(comment_on_stage(ruth, "Please hide me")).to_have_count(0, timeout=TIMEOUT_MS)

    # The word filter refuses before anyone sees it, and says so in Ruth's bar.
    box = ruth.by_testid("comment-input")
    await box.fill("buy SPAM now")
    note = ruth.by_testid("comment-note")
    await box.press("Enter")
    # Three comments came just before: should the per-person budget say wait, the bar counts
    # down and she sends again once it lets her.
    await expect(note).not_to_be_empty(timeout=TIMEOUT_MS)
    if "wait" in (await note.inner_text()):
        await expect(ruth.by_testid("comment-send")).to_be_enabled(timeout=TIMEOUT_MS)
        await box.press("Enter")
    await expect(note).to_contain_text("filter", timeout=TIMEOUT_MS)
    await expect(box).to_have_value("buy SPAM now")
    await expect(entries.filter(has_text="buy SPAM now")).to_have_count(0)

    # "Comments off for me": nothing flies over Ruth's video; the list still has them.
    await ruth.by_testid("comments-show-toggle").click()
    await expect(ruth.by_testid("comments-overlay")).to_have_count(0)
    await send_comment(alice, "While Ruth looks away")
    await expect(entries.filter(has_text="While Ruth looks away")).to_have_count(
        1, timeout=TIMEOUT_MS
    )
    await expect(ruth.by_testid("comments-overlay")).to_have_count(0)
    await ruth.by_testid("comments-show-toggle").click()
    await ruth.by_testid("comments-panel-button").click()

    # Asking for less motion: comments stand still in a column that fades (nothing flies).
    await ruth.page.emulate_media(reduced_motion="reduce")
    await send_comment(alice, "Still for Ruth")
    still = comment_on_stage(ruth, "Still for Ruth")
    await ruth.expect_visible(still)
    await expect(ruth.by_testid("comments-overlay")).to_have_class("danmaku still")
    await ruth.page.emulate_media(reduced_motion="no-preference")

    # Slow mode: Ruth is told, and after a comment her bar counts down before the next.
    await alice.by_testid("comments-settings-button").click()
    await alice.by_testid("comments-slow-mode").select_option("30")
    await alice.page.keyboard.press("Escape")
    note = ruth.by_testid("comment-note")
    await ruth.by_testid("comment-input").fill("")  # typing clears the filter's refusal
    await expect(note).to_contain_text("30", timeout=TIMEOUT_MS)
    # Her last comment was under 30 s ago: this one waits (the server says how long), or, had it
    # been longer, it goes and the next waits; either way the bar counts down.
    await ruth.by_testid("comment-input").fill("One at a time")
    await ruth.by_testid("comment-input").press("Enter")
    await expect(note).to_contain_text("next comment", timeout=TIMEOUT_MS)
    await expect(ruth.by_testid("comment-send")).to_be_disabled()
    # Hosts are exempt.
    await send_comment(alice, "Hosts may go on")
    await alice.expect_visible(comment_on_stage(alice, "Hosts may go on"))
    await ruth.by_testid("comment-input").fill("")


async def polls(alice: Attendee, ruth: Attendee, findings: Findings) -> None:
    panel = await alice.open_panel("polls-button", "polls-panel")
    await panel.get_by_test_id("poll-new").click()
    await panel.get_by_test_id("poll-question-input").fill("Which day suits you?")
    options = panel.get_by_test_id("poll-option-input")
    await options.nth(0).fill("Monday")
    await options.nth(1).fill("Tuesday")
    await panel.get_by_test_id("poll-add-option").click()
    await options.nth(2).fill("Friday")
    await panel.get_by_test_id("poll-create").click()
    poll = panel.get_by_test_id("poll").filter(has_text="Which day suits you?")
    await expect(poll).to_have_attribute("data-state", "draft", timeout=TIMEOUT_MS)
    await findings.check("polls panel with a draft", alice)
    await panel.get_by_test_id("poll-open").click()
    await expect(poll).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)

    # Ruth's card pops up; she answers Tuesday with the keyboard.
    card = ruth.by_testid("poll-card")
    await ruth.expect_visible(card)
    await expect(card.get_by_test_id("poll-question")).to_have_text("Which day suits you?")
    await card.get_by_test_id("poll-choice").nth(1).focus()
    await ruth.page.keyboard.press("Space")
    await card.get_by_test_id("poll-vote").click()
    await expect(card.get_by_test_id("poll-voted")).not_to_be_empty(timeout=TIMEOUT_MS)
    # Before the results are shared she sees none.
    await expect(card.get_by_test_id("poll-results")).to_have_count(0)
    await findings.check("poll card", ruth)

    # Alice sees the live totals, then shares them.
    results = poll.get_by_test_id("poll-result")
    await expect(results.nth(1)).to_have_attribute("data-count", "1", timeout=TIMEOUT_MS)
    await panel.get_by_test_id("poll-close").click()
    await expect(poll).to_have_attribute("data-state", "closed", timeout=TIMEOUT_MS)
    await panel.get_by_test_id("poll-share").click()

    # The results come up for Ruth as bars, in words too.
    shown = ruth.by_testid("poll-card").get_by_test_id("poll-result")
    await expect(shown).to_have_count(3, timeout=TIMEOUT_MS)
    await expect(shown.nth(1)).to_have_attribute("data-percent", "100")
    await expect(shown.nth(1)).to_contain_text("100%")
    await expect(shown.nth(0)).to_have_attribute("data-percent", "0")
    await findings.check("poll results", ruth)
    await ruth.by_testid("poll-card-close").click()
    await expect(ruth.by_testid("poll-card")).to_have_count(0)
    await alice.by_testid("polls-button").click()


async def questions(alice: Attendee, ruth: Attendee, findings: Findings) -> None:
    # Off in a meeting too: Alice turns Q&A on, and the Q&A button comes up for both.
    await expect(ruth.by_testid("qa-button")).to_have_count(0)
    await alice.open_panel("settings-button", "settings-panel")
    await alice.by_testid("setting-qa").check()
    await alice.by_testid("settings-button").click()
    panel = await alice.open_panel("qa-button", "qa-panel")
    await expect(panel.get_by_test_id("qa-enabled")).to_be_checked()

    ask = await ruth.open_panel("qa-button", "qa-panel")
    await ask.get_by_test_id("qa-input").fill("Will the slides be shared?")
    await ask.get_by_test_id("qa-ask").click()
    mine = ask.get_by_test_id("question").filter(has_text="Will the slides be shared?")
    await ruth.expect_visible(mine)
    # One's own question takes no vote.
    await expect(mine.get_by_test_id("question-vote")).to_be_disabled()

    theirs = panel.get_by_test_id("question").filter(has_text="Will the slides be shared?")
    await alice.expect_visible(theirs)
    await theirs.get_by_test_id("question-vote").click()
    await expect(theirs.get_by_test_id("question-vote")).to_have_attribute("aria-pressed", "true")
    await expect(mine).to_have_attribute("data-votes", "1", timeout=TIMEOUT_MS)

    await theirs.get_by_test_id("question-answer-button").click()
    await theirs.get_by_test_id("question-answer-input").fill("Yes, after the talk.")
    await theirs.get_by_test_id("question-answer-send").click()
    await expect(mine).to_have_attribute("data-state", "answered", timeout=TIMEOUT_MS)
    await expect(mine.get_by_test_id("question-answer")).to_contain_text("Yes, after the talk.")
    await expect(mine.get_by_test_id("question-answer")).to_contain_text("Alice")
    await findings.check("Q&A panel", ruth)
    await findings.check("Q&A panel of a host", alice)


async def test_an_event_audience_comments_reacts_and_asks(open_attendee: OpenAttendee) -> None:
    """In an event comments and Q&A are on from the start; an attendee's reactions are counted
    by the server and come back as bursts; an anonymous question names nobody, even to the host."""
    hana = await open_attendee("Hana")
    ari = await open_attendee("Ari")

    await hana.sign_up("hana@example.org")
    await hana.by_testid("new-meeting-button").click()
    await hana.by_testid("new-meeting-mode").select_option("event")
    await hana.by_testid("new-meeting-waiting-room").set_checked(False)
    await hana.by_testid("new-meeting-create").click()
    await hana.by_testid("join-button").click()
    await hana.wait_in_meeting()
    link = await hana.invite_link()
    await ari.page.goto(link)
    await ari.by_testid("join-display-name").fill("Ari")
    await ari.by_testid("join-button").click()
    await ari.wait_in_meeting()
    await expect(ari.by_testid("meeting-room")).to_have_attribute("data-role", "attendee")

    # Comments are on: the attendee's flies over the host's stage.
    await send_comment(ari, "Greetings from the audience")
    await hana.expect_visible(comment_on_stage(hana, "Greetings from the audience"))

    # Three reactions from the audience: a burst (not one tile reaction each) for everyone.
    for _ in range(3):
        await ari.by_testid("reactions-button").click()
        await ari.page.locator('[data-testid="reaction-option"][data-emoji="👏"]').click()
    clap = hana.page.locator('[data-testid="reaction-burst"][data-emoji="👏"]')
    await hana.expect_visible(clap.first.locator(".burst-particle").first)
    await expect(hana.by_testid("reaction-bursts")).to_have_attribute("aria-hidden", "true")
    await expect(hana.by_testid("tile-reaction")).to_have_count(0)

    # Q&A is on: Ari asks anonymously; Hana sees the question but not who asked.
    ask = await ari.open_panel("qa-button", "qa-panel")
    await ask.get_by_test_id("qa-input").fill("Is there a recording?")
    await ask.get_by_test_id("qa-anonymous").check()
    await ask.get_by_test_id("qa-ask").click()
    mine = ask.get_by_test_id("question").filter(has_text="Is there a recording?")
    await expect(mine).to_contain_text("You (anonymous)", timeout=TIMEOUT_MS)
    panel = await hana.open_panel("qa-button", "qa-panel")
    theirs = panel.get_by_test_id("question").filter(has_text="Is there a recording?")
    await expect(theirs).to_contain_text("Anonymous", timeout=TIMEOUT_MS)
    await expect(theirs).not_to_contain_text("Ari")
    # Answering live: the question is marked for everyone.
    await theirs.get_by_test_id("question-live-button").click()
    await expect(mine).to_have_attribute("data-live", "true", timeout=TIMEOUT_MS)
