"""Emails in the recipient's language, through the real SMTP server of the tests: the language
an account chose, else (an address without an account, or an account that chose none) the
organiser's, else English; the calendar's join lines too, never the organiser's own title."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from icalendar import Calendar

from convene.protocol.ids import UserId
from convene.storage.user_settings import SettingsChanges
from tests.mail.scenario import Scenario, scenario
from tests.support.server import Person
from tests.support.smtp import Received


async def speaking(s: Scenario, email: str, name: str, language: str | None) -> Person:
    person = await s.user(email, name)
    assert person.user is not None
    changes: SettingsChanges = {"timezone": "Europe/Paris"}
    if language is not None:
        changes["language"] = language
    await s.db.user_settings.update(UserId(person.user["id"]), changes)
    return person


def description(mail: Received) -> str:
    [event] = mail.calendar().events
    return str(event["DESCRIPTION"])


async def test_each_invitee_reads_the_invitation_in_their_language(tmp_path: Path) -> None:
    async with scenario(tmp_path) as s:
        lucia = await speaking(s, "lucia@example.org", "Lucía Pérez", "es")
        await speaking(s, "amal@example.org", "أمل", "ar")
        await speaking(s, "francois@example.org", "François", "fr")
        await speaking(s, "wei@example.org", "Wei", None)  # chose no language
        await s.schedule(
            lucia,
            title="Budget review",
            start=datetime(2026, 3, 9, 9, 0),
            passcode="246810",
            invitees=[
                ("amal@example.org", "Amal"),
                ("francois@example.org", "François"),
                ("wei@example.org", "Wei"),
                ("guest@example.net", "Guest"),
            ],
        )
        await s.deliver()

        [to_amal] = s.smtp.to("amal@example.org")
        assert to_amal.subject.startswith("دعوة: Budget review @ ")
        # The date in Arabic: the weekday and the month by their Arabic names.
        assert "الاثنين، 9 مارس 2026" in to_amal.subject
        text = to_amal.text()
        assert "يدعوك Lucía Pérez إلى «Budget review»." in text
        assert "الموعد: الاثنين، 9 مارس 2026، من 9:00" in text
        assert "هل ستحضر؟" in text
        assert "رمز المرور: 246810" in text
        assert "الانضمام إلى الاجتماع: http" in description(to_amal)
        html = to_amal.part("text/html")
        assert html is not None
        assert '<html lang="ar" dir="rtl">' in str(html.get_content())
        # The organiser's title stays as they wrote it.
        [event] = to_amal.calendar().events
        assert str(event["SUMMARY"]) == "Budget review"
        assert event["CONFERENCE"].params["LABEL"] == "الانضمام إلى الاجتماع"

        [to_francois] = s.smtp.to("francois@example.org")
        # Exactly as written once unfolded: no doubled space where the long header is folded.
        assert to_francois.subject == (
            "Invitation : Budget review @ lundi 9 mars 2026, de 09:00 à 09:30 (Europe/Paris)"
        )
        text = to_francois.text()
        assert "Lucía Pérez vous invite à « Budget review »." in text
        assert "Serez-vous présent ? Répondez ici ou depuis votre agenda :" in text
        assert re.search(r"^  Oui: +http\S+answer=accepted\r?$", text, re.M)
        assert re.search(r"^  Peut-être: http\S+answer=tentative\r?$", text, re.M)
        assert "Code secret : 246810" in description(to_francois)

        # No account, and an account without a choice: the organiser's language.
        for address in ("guest@example.net", "wei@example.org"):
            [mail] = s.smtp.to(address)
            assert mail.subject.startswith("Invitación: Budget review @ lunes, 9 de marzo de 2026")
            assert "Lucía Pérez le invita a «Budget review»." in mail.text()
            assert "Código de acceso: 246810" in description(mail)


async def test_answers_cancellations_and_english_by_default(tmp_path: Path) -> None:
    async with scenario(tmp_path) as s:
        olga = await speaking(s, "olga@example.org", "Ольга", "ru")
        await speaking(s, "zhang@example.org", "张伟", "zh")
        sync = await s.schedule(
            olga,
            title="Планёрка",
            start=datetime(2026, 3, 9, 9, 0),
            invitees=[("zhang@example.org", "张伟")],
        )
        await s.deliver()
        [invited] = s.smtp.to("zhang@example.org")
        when = "2026年3月9日星期一 09:00至09:30（Europe/Paris）"  # noqa: RUF001
        assert invited.subject == f"邀请：Планёрка @ {when}"  # noqa: RUF001

        # Zhang's answer reaches Olga in Russian.
        [zhang] = sync.attendees
        await s.db.schedules.respond(zhang.id, "ACCEPTED", None, s.clock.now())
        await s.deliver()
        [told] = s.smtp.to("olga@example.org")
        assert told.subject == "张伟 примет участие: Планёрка"
        assert told.text().startswith("张伟 <zhang@example.org> примет участие в собрании")

        # The cancellation in Chinese.
        await s.db.schedules.cancel(sync.id, scope="all", at=s.clock.now())
        await s.deliver()
        cancelled = s.smtp.to("zhang@example.org")[-1]
        assert cancelled.subject == "已取消：Планёрка"  # noqa: RUF001
        assert "“Планёрка”已取消。" in cancelled.text()

    async with scenario(tmp_path / "english") as s:
        # Nobody chose: English, as Convene always wrote it.
        ada = await speaking(s, "ada@example.org", "Ada", None)
        await s.schedule(
            ada, title="Sync", start=datetime(2026, 3, 9, 9, 0), invitees=[("x@example.net", "X")]
        )
        await s.deliver()
        [mail] = s.smtp.to("x@example.net")
        assert (
            mail.subject == "Invitation: Sync @ Monday 9 March 2026, 09:00 to 09:30 (Europe/Paris)"
        )
        assert 'Ada invites you to "Sync".' in mail.text()


async def test_the_confirmation_email_follows_the_sign_up_request(tmp_path: Path) -> None:
    async with scenario(tmp_path, auth={"require_email_verification": True}) as s:
        http = s.server.guest().http
        response = await http.post(
            "/api/v1/auth/signup",
            json={
                "email": "nadia@example.org",
                "password": "correct horse 42!",
                "display_name": "Nadia",
            },
            headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"},
        )
        assert response.status_code == 201, response.text
        await s.deliver()
        [mail] = s.smtp.to("nadia@example.org")
        assert mail.subject == "Подтвердите адрес электронной почты для Convene"
        text = mail.text()
        assert text.startswith("Здравствуйте, Nadia!")
        assert "Ссылка действует один раз в течение 48 часов." in text


async def test_the_private_feed_speaks_its_owners_language(tmp_path: Path) -> None:
    async with scenario(tmp_path) as s:
        ivan = await speaking(s, "ivan@example.org", "Иван", "ru")
        await s.schedule(ivan, title="Sync", start=datetime(2026, 3, 9, 9, 0), passcode="1357")
        headers = {"X-CSRF-Token": ivan.csrf or ""}
        made = await ivan.http.request("POST", "/api/v1/users/me/feed", headers=headers)
        assert made.status_code == 200, made.text
        feed = await ivan.http.get(urlsplit(made.json()["url"]).path)
        assert feed.status_code == 200
        [event] = Calendar.from_ical(feed.content).events
        assert str(event["SUMMARY"]) == "Sync"
        assert str(event["DESCRIPTION"]).startswith("Присоединиться к собранию: http")
        assert "Код доступа: 1357" in str(event["DESCRIPTION"])
