"""No secret reaches the server's log: a real server logging everything, every path exercised.

The server runs under uvicorn with its access log on and every logger at DEBUG, as an operator
chasing a problem would run it; the test then looks for each secret it created in the whole
output (formatted records of every logger, the access log included).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from websockets.frames import Frame, Opcode

from convene.app import create_app
from convene.auth.passwords import Passwords
from convene.auth.sessions import GUEST_COOKIE, SESSION_COOKIE
from convene.logs import AccessLogRedactor, WebSocketDebugRedactor, redact_path, redact_url
from convene.protocol.ids import MeetingId
from convene.serving import uvicorn_config
from convene.signaling.registry import Registry
from convene.storage.db import Database
from tests.api.conftest import FAST_HASHING, make_settings, unused_socket
from tests.calendars.ics_server import IcsServer
from tests.storage.databases import fresh_postgres_database, migrated
from tests.support.janus import janus_settings
from tests.support.server import Person, RunningServer
from tests.support.signal import SignalClient, SignalError

pytestmark = pytest.mark.postgres

PASSWORD = "password-" + secrets.token_urlsafe(12)
PASSCODE = "pc" + secrets.token_hex(4)
ARGON2_HASH = "$argon2id$v=19$m=64,t=1,p=1$" + secrets.token_urlsafe(16)


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))


@pytest.fixture
def everything() -> Iterator[_Everything]:
    root = logging.getLogger()
    handler = _Everything()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@pytest.fixture
def fresh_postgres(postgres_url: str) -> Iterator[str]:
    """A database of its own: the accounts below must not meet other tests' rows."""
    with fresh_postgres_database(postgres_url) as url:
        yield migrated(url)


async def test_no_secret_is_logged(
    tmp_path: Path, fresh_postgres: str, everything: _Everything
) -> None:
    postgres_db_url = fresh_postgres
    sock = unused_socket()
    port = sock.getsockname()[1]
    settings = make_settings(
        tmp_path,
        postgres_db_url,
        port=port,
        calendars={"allow_private_addresses": True},
        janus=janus_settings(),
    )
    # A real media server: people join the meeting over signaling below.
    app = create_app(settings, passwords=Passwords(FAST_HASHING))
    # As `convene serve` does: the app first, then uvicorn's own logging configuration.
    config = uvicorn_config(app, settings, log_level="debug", access_log=True, lifespan="on")
    server = uvicorn.Server(config)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # they do not propagate
        logging.getLogger(name).addHandler(everything)
    created: list[str] = [PASSWORD, PASSCODE, ARGON2_HASH]
    calendar_key = secrets.token_urlsafe(16)
    path_key = secrets.token_hex(12)
    async with IcsServer() as web:
        web.calendar(
            f"/private/{path_key}/basic.ics",
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//T//EN\r\nEND:VCALENDAR\r\n",
        )
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            while not server.started:
                assert not serving.done(), "the server stopped during start-up"
                await asyncio.sleep(0.02)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as http:
                signup = await http.post(
                    "/api/v1/auth/signup",
                    json={"email": "ada@example.org", "password": PASSWORD, "display_name": "Ada"},
                )
                assert signup.status_code == 201, signup.text
                csrf = {"X-CSRF-Token": signup.json()["csrf_token"]}
                created += [http.cookies[SESSION_COOKIE], csrf["X-CSRF-Token"]]
                meeting = await http.post(
                    "/api/v1/meetings",
                    json={"passcode": PASSCODE, "waiting_room": False},
                    headers=csrf,
                )
                assert meeting.status_code == 201, meeting.text
                join_url: str = meeting.json()["join_url"]
                link_token = join_url.rsplit("/", 1)[1]
                created.append(link_token)
                await http.get(f"/api/v1/meetings/{link_token}")
                await http.get(f"/j/{link_token}")
                created += await join_the_meeting(
                    RunningServer(base_url=f"http://127.0.0.1:{port}", settings=settings, app=app),
                    meeting.json(),
                    Person(None, http),  # type: ignore[arg-type]
                )
                feed = (await http.post("/api/v1/users/me/feed", headers=csrf)).json()
                feed_token = feed["url"].rsplit("/", 1)[1].removesuffix(".ics")
                created.append(feed_token)
                assert (await http.get(feed["url"].split(str(port), 1)[1])).status_code == 200
                rsvp_token = secrets.token_urlsafe(16)
                created.append(rsvp_token)
                await http.get(f"/api/v1/rsvp/{secrets.token_hex(8)}/{rsvp_token}?answer=yes")
                query_secret = secrets.token_urlsafe(16)
                created.append(query_secret)
                await http.get(f"/api/v1/meetings?token={query_secret}")
                calendar_url = web.url(f"/private/{path_key}/basic.ics?key={calendar_key}")
                created += [calendar_key, path_key]
                calendar_password = "cal-" + secrets.token_urlsafe(12)
                created.append(calendar_password)
                added = await http.post(
                    "/api/v1/users/me/calendars",
                    json={
                        "kind": "ics",
                        "url": calendar_url,
                        "username": "ada",
                        "password": calendar_password,
                    },
                    headers=csrf,
                )
                assert added.status_code == 201, added.text
                # A wrong passcode, a wrong password: answers that are logged about.
                await http.post(
                    "/api/v1/auth/signin",
                    json={"email": "ada@example.org", "password": PASSWORD + "x"},
                )
            # A statement that fails on PostgreSQL, carrying a password hash, logged as the
            # server logs unexpected errors.
            db: Database = app.state.db
            with pytest.raises(DBAPIError) as failed:
                async with db.session() as session:
                    await session.execute(
                        text("INSERT INTO no_such_table (h) VALUES (:h)"), {"h": ARGON2_HASH}
                    )
            logging.getLogger("convene.test").error("failed: %s", failed.value, exc_info=True)
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, timeout=20)
            sock.close()
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
                logging.getLogger(name).removeHandler(everything)
    output = "\n".join(everything.lines)
    assert "GET /api/v1/feeds/" in output  # the access log was on
    assert "WebSocket /api/v1/signaling" in output  # and the signaling handshakes
    assert "participant" in output  # and the meeting's own log lines
    assert '"janus"' not in output  # requests to Janus are logged by kind and size only
    assert "> TEXT [" in output
    assert "no_such_table" in output  # and the failed statement was logged
    leaked = [s for s in created if s in output]
    assert not leaked, f"secrets in the log: {leaked}"


async def join_the_meeting(
    server: RunningServer, meeting: dict[str, Any], owner: Person
) -> list[str]:
    """Join over signaling as the owner and as guests: with the passcode, by link token, a
    resume with the resume token. Returns the secrets that passed through the server."""
    code, link_token = meeting["code"], meeting["link_token"]
    async with (
        httpx.AsyncClient(base_url=server.base_url, timeout=15) as one,
        httpx.AsyncClient(base_url=server.base_url, timeout=15) as two,
    ):
        seen: list[str] = []
        guests = []
        for http in (one, two):
            guest = Person(server, http)
            assert (await http.get(f"/api/v1/meetings/{code}")).status_code == 200
            seen.append(http.cookies[GUEST_COOKIE])
            guests.append(guest)
        host = await SignalClient.connect(server, Person(server, owner.http))
        await host.join(link_token)
        # A guest with the code: a wrong passcode first, then the right one.
        first = await SignalClient.connect(server, guests[0])
        with pytest.raises(SignalError):
            await first.join(code, display_name="Grace", passcode=PASSCODE + "x")
        joined = await first.join(code, display_name="Grace", passcode=PASSCODE)
        assert joined["state"] == "joined"
        seen.append(joined["resume_token"])
        # A guest through the link token.
        second = await SignalClient.connect(server, guests[1])
        reply = await second.join(link_token, display_name="Hedy")
        seen.append(reply["resume_token"])
        await second.request("chat.send", {"text": "hello"})
        # The first guest's connection drops; a new one resumes with the resume token.
        await first.ws.close()
        again = await SignalClient.connect(server, guests[0])
        resumed = await again.request("join", {"meeting": code, "resume": joined["resume_token"]})
        assert resumed["resumed"] is True
        seen.append(resumed["resume_token"])
        # The tokens the media server is given for each participant.
        registry: Registry = server.app.state.live_meetings
        conf = registry.get(MeetingId(meeting["id"]))
        assert conf is not None
        seen += [p.media_token for p in conf.room.participants.values()]
        sfu = server.app.state.sfu
        keys = sfu._secrets
        seen += [keys.janus_api_secret, keys.janus_admin_key, keys.janus_admin_secret]
        for client in (again, second, host):
            await client.request("leave")
            await client.close()
        return seen


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/feeds/u1/tok.ics", "/api/v1/feeds/…"),
        ("/api/v1/rsvp/a1/tok?answer=yes", "/api/v1/rsvp/…?answer=…"),
        ("/api/v1/meetings/tok/x", "/api/v1/meetings/…/x"),
        ("/j/tok", "/j/…"),
        ("/api/v1/meetings?key=s&x=1", "/api/v1/meetings?key=…&x=…"),
        ("/api/v1/healthz", "/api/v1/healthz"),
    ],
)
def test_paths_are_redacted(path: str, expected: str) -> None:
    assert redact_path(path) == expected


def test_websocket_handshake_lines_are_redacted() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/j/secret-token?resume=abc"), None,
    )  # fmt: skip
    AccessLogRedactor().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "WebSocket /j/…?resume=…" [accepted]'


def test_websocket_frames_and_cookies_are_redacted() -> None:
    frame = Frame(Opcode.TEXT, b'{"type":"join","data":{"passcode":"secret"}}')
    lines = [
        ("< %s", (frame,)),
        ("< %s: %s", ("Cookie", "convene_session=abc")),
        ("> %s: %s", ("Set-Cookie", "convene_guest=g_x")),
        ("< %s: %s", ("Host", "example.org")),
        ("< %s %s %s", ("GET", "/j/secret-token?resume=abc", "HTTP/1.1")),
    ]
    shown = []
    for msg, args in lines:
        record = logging.LogRecord("uvicorn.error", logging.DEBUG, __file__, 1, msg, args, None)
        WebSocketDebugRedactor().filter(record)
        shown.append(record.getMessage())
    assert shown == [
        "< TEXT [44 bytes]",
        "< Cookie: …",
        "> Set-Cookie: …",
        "< Host: example.org",
        "< GET /j/…?resume=… HTTP/1.1",
    ]


def test_urls_are_redacted_to_their_origin() -> None:
    assert redact_url("https://u:p@cal.example.org:8443/k/x.ics?key=s") == (
        "https://cal.example.org:8443/…"
    )
