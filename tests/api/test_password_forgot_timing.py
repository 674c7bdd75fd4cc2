"""Asking for a password reset answers before any work on the account is done.

Real server, real SMTP server, SQLite. The answer to ``POST /auth/password/forgot`` must not
take longer for an address with an account (a database write and a mail) than for one without:
the lookup and the mail happen after the answer. The mail path is held up here (the outbox
write waits; a slow database cannot be caused on demand): the answer comes all the same, and the
link is mailed once it is let go.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.mail.scenario import scenario


async def test_the_answer_does_not_wait_for_the_mail_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with scenario(tmp_path) as s:
        await s.user("alice@example.org", "Alice")
        outbox = s.db.outbox
        enqueue = outbox.enqueue
        reached, release = asyncio.Event(), asyncio.Event()

        async def slow_enqueue(*args: Any, **kwargs: Any) -> Any:
            reached.set()
            await release.wait()
            return await enqueue(*args, **kwargs)

        monkeypatch.setattr(outbox, "enqueue", slow_enqueue)
        guest = s.server.guest()
        asked = await asyncio.wait_for(
            guest.post("/api/v1/auth/password/forgot", {"email": "alice@example.org"}),
            timeout=10,
        )
        assert asked.status_code == 202, asked.text
        assert asked.content == b""
        await asyncio.wait_for(reached.wait(), timeout=10)
        assert s.smtp.to("alice@example.org") == []

        release.set()
        (mail,) = await s.smtp.wait_for(lambda m: "password" in m.subject.lower())
        assert "alice@example.org" in mail.rcpt_tos
        assert "/reset?token=" in mail.text()
