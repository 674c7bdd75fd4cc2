"""A resent confirmation email is in the account's chosen language, as a reset link is.

Real server, real SMTP server (aiosmtpd), SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from convene.i18n import texts_for
from tests.mail.scenario import scenario

SUBJECT = "Confirm your email address for Convene"


async def test_a_resent_confirmation_is_in_the_language_of_the_account(
    tmp_path: Path, db_url: str
) -> None:
    async with scenario(
        tmp_path, database_url=db_url, auth={"require_email_verification": True}
    ) as s:
        amina = await s.user("amina@example.org", "Amina")
        assert amina.csrf is not None
        await s.deliver()
        (first,) = await s.smtp.wait_for(lambda m: "amina@example.org" in m.rcpt_tos)
        assert first.subject == SUBJECT  # nobody had chosen yet: the sign-up's language
        chosen = await amina.http.patch(
            "/api/v1/users/me/calendar-settings",
            json={"language": "fr"},
            headers={"X-CSRF-Token": amina.csrf},
        )
        assert chosen.status_code == 200, chosen.text

        # Asked for from a browser in English: the account's choice wins.
        resent = await amina.http.post(
            "/api/v1/auth/verify/resend",
            headers={"X-CSRF-Token": amina.csrf, "Accept-Language": "en"},
        )
        assert resent.status_code == 202, resent.text
        await s.deliver()
        _, mail = await s.smtp.wait_for(lambda m: "amina@example.org" in m.rcpt_tos, count=2)
        french = texts_for("fr").gettext(SUBJECT)
        assert french != SUBJECT
        assert mail.subject == french
        assert "/verify?token=" in mail.text()
