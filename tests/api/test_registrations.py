"""Event registration over REST, with mail through a real SMTP server (aiosmtpd): register,
the confirmation mail, confirm, a host's list, approve with the join-link mail, deny, the CSV;
the same answer for every address, no second mail within the quiet period, the limits."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convene.api.csvfile import safe_cell
from convene.app import create_app
from convene.auth.passwords import Passwords
from convene.clock import FixedClock
from convene.protocol.errors import ErrorCode
from tests.api.client import Api, assert_error
from tests.api.conftest import FAST_HASHING, NoMedia, emptied, make_settings
from tests.support.smtp import Received, SmtpServer, smtp_server

MAIL_JOB = "mail-outbox"


@asynccontextmanager
async def event_app(
    tmp_path: Path, db_url: str, smtp: SmtpServer
) -> AsyncIterator[tuple[FastAPI, FixedClock, Callable[[str], Api]]]:
    await emptied(db_url)
    clock = FixedClock(datetime.now(UTC))
    settings = make_settings(tmp_path, db_url, mail=smtp.mail_settings())
    app = create_app(settings, passwords=Passwords(FAST_HASHING), sfu=NoMedia(), clock=clock)
    clients: list[httpx.AsyncClient] = []

    def new(ip: str = "127.0.0.1") -> Api:
        transport = httpx.ASGITransport(app=app, client=(ip, 42000 + len(clients)))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(client)
        return Api(client)

    async with app.router.lifespan_context(app):
        try:
            yield app, clock, new
        finally:
            for client in clients:
                await client.aclose()


async def _send(app: FastAPI) -> None:
    await app.state.background.run_once(MAIL_JOB)


def _link(mail: Received, name: str) -> str:
    found = re.search(rf"[?&]{name}=([A-Za-z0-9_.-]+)", mail.text())
    assert found is not None, mail.text()
    return found.group(1)


async def _register(api: Api, link: str, name: str, email: str, **extra: Any) -> httpx.Response:
    return await api.post(
        f"/events/{link}/registrations", json={"name": name, "email": email, **extra}
    )


async def test_register_confirm_approve_deny_and_the_list(tmp_path: Path, db_url: str) -> None:
    async with smtp_server() as smtp, event_app(tmp_path, db_url, smtp) as (app, clock, new):
        host, other, visitor = new(), new(), new("192.0.2.7")
        await host.signup("host@example.org", "Host")
        await other.signup("other@example.org", "Other")
        event = await host.create_meeting(
            title="Annual talk", mode="event", registration="approval"
        )
        assert event["registration"] == "approval"
        link = event["link_token"]
        plain = await host.create_meeting(title="Stand-up")

        page = await visitor.get(f"/events/{link}")
        assert page.status_code == 200, page.text
        assert page.json() == {
            "title": "Annual talk",
            "host_name": "Host",
            "mode": "event",
            "registration": "approval",
            "status": "open",
            "starts_at": None,
            "ends_at": None,
            "timezone": None,
        }
        assert_error(
            await visitor.get(f"/events/{plain['link_token']}"), ErrorCode.MEETING_NOT_FOUND, 404
        )
        assert_error(await visitor.get("/events/" + "x" * 24), ErrorCode.MEETING_NOT_FOUND, 404)

        # Registering answers the same, with no body, for a new address and a known one.
        first = await _register(visitor, link, "Zoé", "Zoe@Example.org", language="fr")
        assert (first.status_code, first.content) == (202, b"")
        await _send(app)
        [confirm_mail] = await smtp.wait_for(lambda m: "zoe@example.org" in m.to)
        assert confirm_mail.subject == "Confirmez votre inscription : Annual talk"
        assert "Bonjour Zoé," in confirm_mail.text()
        again = await _register(visitor, link, "Someone else", "zoe@example.org")
        assert (again.status_code, again.content) == (first.status_code, first.content)
        await _send(app)
        assert len(smtp.to("zoe@example.org")) == 1  # no second mail within the quiet period
        clock.advance(timedelta(seconds=1))

        assert (
            await _register(visitor, link, '=HYPERLINK("x")', "eve@example.org")
        ).status_code == 202
        await _send(app)
        await smtp.wait_for(lambda m: "eve@example.org" in m.to)

        # Confirm: a forged token and an unknown id get the same answer.
        credential = _link(confirm_mail, "confirm")
        rid, token = credential.split(".")
        assert_error(
            await visitor.post(f"/registrations/{rid}/{'A' * 32}/confirm"), ErrorCode.NOT_FOUND, 404
        )
        assert_error(
            await visitor.post(
                f"/registrations/00000000-0000-0000-0000-000000000000/{token}/confirm"
            ),
            ErrorCode.NOT_FOUND,
            404,
        )
        confirmed = await visitor.post(f"/registrations/{rid}/{token}/confirm")
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json() == {"state": "pending", "title": "Annual talk", "join_url": None}
        assert (await visitor.post(f"/registrations/{rid}/{token}/confirm")).json()[
            "state"
        ] == "pending"

        # The host's list; nobody else sees it.
        listed = (await host.get(f"/meetings/{event['id']}/registrations")).json()
        assert [(r["name"], r["email"], r["state"]) for r in listed["registrations"]] == [
            ("Zoé", "zoe@example.org", "pending"),
            ('=HYPERLINK("x")', "eve@example.org", "unconfirmed"),
        ]
        assert listed["counts"] == {"unconfirmed": 1, "pending": 1, "registered": 0, "denied": 0}
        assert listed["next"] is None
        one = (await host.get(f"/meetings/{event['id']}/registrations?limit=1")).json()
        assert len(one["registrations"]) == 1
        rest = await host.get(
            f"/meetings/{event['id']}/registrations", params={"after": one["next"]}
        )
        assert [r["email"] for r in rest.json()["registrations"]] == ["eve@example.org"]
        bad = await host.get(f"/meetings/{event['id']}/registrations", params={"after": "nonsense"})
        assert_error(bad, ErrorCode.INVALID_REQUEST, 422)
        assert_error(
            await other.get(f"/meetings/{event['id']}/registrations"),
            ErrorCode.MEETING_NOT_FOUND,
            404,
        )
        assert_error(
            await visitor.get(f"/meetings/{event['id']}/registrations.csv"),
            ErrorCode.AUTH_REQUIRED,
            401,
        )

        # Approve: only a confirmed address; the approved one is mailed their join link.
        eve_id = listed["registrations"][1]["id"]
        base = f"/meetings/{event['id']}/registrations"
        assert_error(await host.post(f"{base}/{eve_id}/approve"), ErrorCode.INVALID_REQUEST, 422)
        assert_error(await other.post(f"{base}/{rid}/approve"), ErrorCode.MEETING_NOT_FOUND, 404)
        approved = await host.post(f"{base}/{rid}/approve")
        assert approved.status_code == 200, approved.text
        assert approved.json()["state"] == "registered"
        await _send(app)
        join_mail = (await smtp.wait_for(lambda m: "zoe@example.org" in m.to, count=2))[1]
        assert join_mail.subject == "Vous êtes inscrit : Annual talk"
        join = _link(join_mail, "registration")
        assert join.split(".")[0] == rid
        assert f"/j/{link}?registration={join}" in join_mail.text()
        assert (await host.post(f"{base}/{rid}/approve")).json()["state"] == "registered"
        await _send(app)
        assert len(smtp.to("zoe@example.org")) == 2  # approving again sends nothing

        # Asking again after the quiet period: the join link again, to the address only.
        clock.advance(timedelta(minutes=11))
        assert (await _register(visitor, link, "Zoé", "zoe@example.org")).status_code == 202
        await _send(app)
        third = (await smtp.wait_for(lambda m: "zoe@example.org" in m.to, count=3))[2]
        assert _link(third, "registration") == join

        # The CSV: every registrant, formulas made text.
        response = await host.get(f"{base}.csv")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0] == ["name", "email", "state", "registered_at", "joined_at"]
        assert [r[:3] for r in rows[1:]] == [
            ["Zoé", "zoe@example.org", "registered"],
            ['\'=HYPERLINK("x")', "eve@example.org", "unconfirmed"],
        ]

        # Deny takes an approval back.
        denied = await host.post(f"{base}/{rid}/deny")
        assert denied.json()["state"] == "denied"
        assert_error(await host.post(f"{base}/{'1' * 8}/deny"), ErrorCode.NOT_FOUND, 404)


async def test_open_registration_confirms_straight_to_the_join_link(
    tmp_path: Path, db_url: str
) -> None:
    async with smtp_server() as smtp, event_app(tmp_path, db_url, smtp) as (app, _clock, new):
        host, visitor = new(), new()
        await host.signup("host@example.org", "Host")
        event = await host.create_meeting(title="Lecture 1", mode="lecture", registration="open")
        assert (
            await _register(visitor, event["link_token"], "Ana", "ana@example.org")
        ).status_code == 202
        await _send(app)
        [mail] = await smtp.wait_for()
        assert mail.subject == "Confirm your registration: Lecture 1"
        rid, token = _link(mail, "confirm").split(".")
        answer = (await visitor.post(f"/registrations/{rid}/{token}/confirm")).json()
        assert answer["state"] == "registered"
        assert answer["join_url"].startswith(
            f"http://localhost:8080/j/{event['link_token']}?registration={rid}."
        )
        await _send(app)
        second = (await smtp.wait_for(count=2))[1]
        assert second.subject == "You are registered: Lecture 1"
        assert answer["join_url"] in second.text()

        # Registration off: nothing to register for; the policy is a meeting setting.
        changed = await host.patch(f"/meetings/{event['id']}", json={"registration": "off"})
        assert changed.json()["registration"] == "off"
        refused = await _register(visitor, event["link_token"], "Ben", "ben@example.org")
        assert_error(refused, ErrorCode.INVALID_STATE, 409)
        bad = await host.patch(f"/meetings/{event['id']}", json={"registration": "sometimes"})
        assert_error(bad, ErrorCode.INVALID_REQUEST, 422)


async def test_registrations_are_limited_per_email_and_per_address(
    tmp_path: Path, db_url: str
) -> None:
    async with smtp_server() as smtp, event_app(tmp_path, db_url, smtp) as (_app, _clock, new):
        host = new()
        await host.signup("host@example.org", "Host")
        link = (await host.create_meeting(mode="event", registration="open"))["link_token"]
        for n in range(5):
            api = new(f"198.51.100.{n + 1}")
            assert (await _register(api, link, "Ana", "ana@example.org")).status_code == 202
        refused = await _register(new("198.51.100.99"), link, "Ana", "ana@example.org")
        assert_error(refused, ErrorCode.RATE_LIMITED, 429)
        assert refused.json()["error"]["details"]["retry_after"] >= 1

        crowd = new("203.0.113.5")
        for n in range(30):
            assert (await _register(crowd, link, "P", f"p{n}@example.org")).status_code == 202
        assert_error(
            await _register(crowd, link, "P", "p99@example.org"), ErrorCode.RATE_LIMITED, 429
        )
        # Another site's page cannot register someone (nor confirm for them).
        foreign = await new("192.0.2.201").post(
            f"/events/{link}/registrations",
            json={"name": "A", "email": "a@example.org"},
            headers={"Origin": "https://evil.example"},
        )
        assert_error(foreign, ErrorCode.CSRF_FAILED, 403)
        # Bad input is a clear error, not a registration.
        api = new("192.0.2.200")
        for body in (
            {"name": "", "email": "a@example.org"},
            {"name": "A", "email": "not an address"},
            {"name": "A", "email": "a@example.org", "language": "de"},
            {"name": "A", "email": "a@example.org", "extra": 1},
        ):
            response = await api.post(f"/events/{link}/registrations", json=body)
            assert_error(response, ErrorCode.INVALID_REQUEST, 422)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=40))
def test_a_csv_cell_never_starts_a_formula(text: str) -> None:
    cell = safe_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell in (text, "'" + text)
