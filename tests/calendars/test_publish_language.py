"""Meetings written into people's own CalDAV calendars (a real Radicale) carry Convene's words in
the language each calendar's owner chose, as their private feed does: the organiser's calendar
in theirs, an invitee's in the invitee's, English without a choice."""

from __future__ import annotations

from convene.calendars.sync import CalendarService
from convene.i18n import texts_for
from convene.storage.db import Database
from convene.storage.schedules import AttendeeDraft
from convene.storage.user_settings import SettingsChanges
from convene.storage.users import UserRecord
from tests.calendars.test_publish import events, new_schedule, publish_to
from tests.support.radicale import RadicaleServer


async def test_the_join_lines_are_in_the_language_of_the_calendars_owner(
    service: CalendarService,
    db: Database,
    ada: UserRecord,
    bob: UserRecord,
    radicale: RadicaleServer,
) -> None:
    await db.user_settings.update(ada.id, SettingsChanges(language="fr"))
    ada_calendar = (await publish_to(service, radicale, ada, "ada"))[1]
    bob_calendar = (await publish_to(service, radicale, bob, "bob"))[1]
    review = await new_schedule(
        db, ada, attendees=(AttendeeDraft(email=bob.email, display_name="Bob"),)
    )
    await service.run_publish()

    french = texts_for("fr").gettext("Join the meeting: {url}", url="")
    assert french != "Join the meeting: "
    ada_event = events(radicale, "ada", ada_calendar)[review.uid]
    assert str(ada_event["DESCRIPTION"]).startswith(french)
    assert str(ada_event["SUMMARY"]) == "Design review"  # the organiser's own words stay
    bob_event = events(radicale, "bob", bob_calendar)[review.uid]
    assert str(bob_event["DESCRIPTION"]).startswith("Join the meeting: ")

    # Bob chooses Russian: the next resync writes his copy in Russian.
    await db.user_settings.update(bob.id, SettingsChanges(language="ru"))
    (connection,) = [c for c in await db.calendars.for_user(bob.id) if c.purpose == "publish"]
    await service.publisher.resync(connection)
    russian = texts_for("ru").gettext("Join the meeting: {url}", url="")
    bob_event = events(radicale, "bob", bob_calendar)[review.uid]
    assert str(bob_event["DESCRIPTION"]).startswith(russian)
