"""Asking for a password reset answers before any work on the account is done.

Real server, real SMTP server, SQLite. The answer to ``POST /auth/password/forgot`` must not
take longer for an address with an account (a database write and a mail) than for one without:
the lookup and the mail happen after the answer. The mail path is held up for real: another
connection holds SQLite's write lock, so the reset link cannot be recorded; the answer comes all
the same, and the link is mailed once the lock is let go.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.mail.scenario import scenario


async def test_the_answer_does_not_wait_for_the_mail_path(tmp_path: Path) -> None:
    async with scenario(tmp_path) as s:
        await s.user("alice@example.org", "Alice")
        path = make_url(s.server.settings.effective_database_url).database
        assert path, "the scenario runs on a SQLite file"
        # In a thread: the server runs on this event loop, and a writer of its may hold the lock
        # for a moment, so waiting for it here must not stop the loop.
        blocker = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
        await asyncio.to_thread(blocker.execute, "BEGIN IMMEDIATE")  # other writers wait
        try:
            guest = s.server.guest()
            asked = await asyncio.wait_for(
                guest.post("/api/v1/auth/password/forgot", {"email": "alice@example.org"}),
                timeout=5,
            )
            assert asked.status_code == 202, asked.text
            assert asked.content == b""
            await asyncio.sleep(0.5)  # the mail path has started and waits for the lock
            assert s.smtp.to("alice@example.org") == []
        finally:
            await asyncio.to_thread(blocker.execute, "COMMIT")
            blocker.close()

        (mail,) = await s.smtp.wait_for(lambda m: "password" in m.subject.lower())
        assert "alice@example.org" in mail.rcpt_tos
        assert "/reset?token=" in mail.text()
