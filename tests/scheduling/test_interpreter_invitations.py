"""An interpreter named by address in a schedule gets the invitation (with the join link) by
email, as the invitees do, against a real SMTP server; one named by account is not mailed."""

from __future__ import annotations

from pathlib import Path

from tests.mail.scenario import scenario


async def test_an_interpreter_named_by_address_is_invited_by_email(
    tmp_path: Path, db_url: str
) -> None:
    async with scenario(tmp_path, database_url=db_url) as s:
        alice = await s.user("alice@example.org", "Alice Martin")
        bea = await s.user("bea@example.org", "Bea")
        assert bea.user is not None
        response = await alice.post(
            "/api/v1/schedules",
            {
                "title": "Board meeting",
                "timezone": "Europe/Paris",
                "start": "2026-03-09T09:00",
                "duration_minutes": 60,
                "attendees": [{"email": "bob@example.org"}],
                "interpreters": [
                    {"email": "Cy@Example.net", "languages": ["en", "fr"]},
                    {"user_id": bea.user["id"], "languages": ["ar"]},
                ],
            },
        )
        assert response.status_code == 201, response.text
        join_url = response.json()["meeting"]["join_url"]
        await s.deliver()

        [to_cy] = s.smtp.to("cy@example.net")
        assert to_cy.calendar()["METHOD"] == "REQUEST"
        [event] = to_cy.calendar().events
        assert "cy@example.net" in str(event["ATTENDEE"]).lower()
        assert join_url in to_cy.text()
        assert len(s.smtp.to("bob@example.org")) == 1
        assert s.smtp.to("bea@example.org") == []
