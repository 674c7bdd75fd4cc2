"""Fetching calendar files from a real HTTP server: limits, redirects, credentials, addresses."""

from __future__ import annotations

import pytest

from convene.calendars.crypto import CredentialError, Credentials
from convene.calendars.net import (
    MAX_REDIRECTS,
    RemoteCalendarError,
    address_allowed,
    fetch,
    normalize_url,
)
from convene.config import CalendarSettings
from tests.calendars.conftest import new_key
from tests.calendars.ics_server import IcsServer, Route

ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


def loopback(**values: object) -> CalendarSettings:
    defaults: dict[str, object] = {"allow_private_addresses": True, "fetch_timeout": 5.0}
    defaults.update(values)
    return CalendarSettings.model_validate(defaults)


async def failure(url: str, settings: CalendarSettings, **kwargs: object) -> RemoteCalendarError:
    with pytest.raises(RemoteCalendarError) as caught:
        await fetch(url, settings, **kwargs)  # type: ignore[arg-type]
    assert caught.value.message
    return caught.value


# --- credentials ----------------------------------------------------------------------------


def test_credentials_round_trip_and_refuse_a_foreign_or_altered_token() -> None:
    key = new_key()
    box = Credentials(key)
    token = box.encrypt("hunter2 ünïcode")
    assert b"hunter2" not in token
    assert box.decrypt(token) == "hunter2 ünïcode"
    with pytest.raises(CredentialError):
        Credentials(new_key()).decrypt(token)
    altered = bytearray(token)
    altered[20] ^= 1
    with pytest.raises(CredentialError):
        box.decrypt(bytes(altered))
    assert key not in repr(box)


def test_a_credentials_key_that_is_not_a_fernet_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="Fernet") as caught:
        Credentials("not-a-key-at-all")
    assert "not-a-key-at-all" not in str(caught.value)


# --- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://cal.example.org/team.ics", "https://cal.example.org/team.ics"),
        ("  webcal://Cal.Example.org/a.ics?x=1#frag ", "https://cal.example.org/a.ics?x=1"),
        ("http://example.org", "http://example.org/"),
        ("https://[2001:db8::1]:8443/dav/", "https://[2001:db8::1]:8443/dav/"),
    ],
)
def test_calendar_addresses_are_normalised(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/cal.ics",
        "gopher://example.org/",
        "javascript:alert(1)",
        "https://user:secret@example.org/cal.ics",
        "https:///no-host",
        "https://exa mple.org/",
        "https://example.org:99999/",
        "",
        "https://example.org/" + "a" * 3000,
    ],
)
def test_other_schemes_credentials_in_the_address_and_nonsense_are_refused(url: str) -> None:
    with pytest.raises(RemoteCalendarError) as caught:
        normalize_url(url)
    assert caught.value.reason == "malformed"


@pytest.mark.parametrize(
    ("address", "public", "private"),
    [
        ("93.184.216.34", True, True),
        ("2606:2800:220:1::", True, True),
        ("127.0.0.1", False, True),
        ("::1", False, True),
        ("10.1.2.3", False, True),
        ("192.168.1.10", False, True),
        ("172.16.0.1", False, True),
        ("fd00::1", False, True),
        ("100.64.0.1", False, True),
        ("::ffff:127.0.0.1", False, True),
        ("169.254.169.254", False, False),
        ("fe80::1", False, False),
        ("0.0.0.0", False, False),
        ("224.0.0.1", False, False),
        ("not an address", False, False),
    ],
)
def test_which_addresses_may_be_connected_to(address: str, public: bool, private: bool) -> None:
    assert address_allowed(address, allow_private=False) is public
    assert address_allowed(address, allow_private=True) is private


async def test_loopback_and_names_resolving_to_it_are_refused_by_default(web: IcsServer) -> None:
    web.calendar("/cal.ics", ICS)
    strict = CalendarSettings()
    for url in (web.url("/cal.ics"), web.url("/cal.ics", host="localhost")):
        error = await failure(url, strict)
        assert error.reason == "address"
    assert web.seen == []


async def test_a_redirect_to_a_private_address_is_refused(web: IcsServer) -> None:
    async with IcsServer() as inner:
        inner.calendar("/secret.ics", ICS)
        # The first server is allowed here; the redirect target is checked like any address,
        # so with private addresses off it is refused even when the first hop was fine.
        web.redirect("/cal.ics", inner.url("/secret.ics", host="localhost"))
        settings = loopback()
        assert await fetch(web.url("/cal.ics"), settings) == ICS.encode()
        error = await failure(web.url("/cal.ics"), CalendarSettings())
        assert error.reason == "address"


# --- fetching -------------------------------------------------------------------------------


async def test_a_calendar_is_fetched_whatever_content_type_it_claims(web: IcsServer) -> None:
    web.calendar("/a.ics", ICS, content_type="application/octet-stream")
    assert await fetch(web.url("/a.ics"), loopback()) == ICS.encode()
    seen = web.seen[-1]
    assert seen.method == "GET"
    assert seen.headers["host"] == f"127.0.0.1:{web.port}"
    assert "text/calendar" in seen.headers["accept"]


async def test_redirects_are_followed_a_few_times_only(web: IcsServer) -> None:
    web.calendar("/final.ics", ICS)
    web.redirect("/r0", "/final.ics", status=301)
    assert await fetch(web.url("/r0"), loopback()) == ICS.encode()
    for hop in range(MAX_REDIRECTS + 1):
        web.redirect(f"/loop{hop}", f"/loop{hop + 1}")
    error = await failure(web.url("/loop0"), loopback())
    assert "redirects" in error.message
    web.redirect("/elsewhere", "file:///etc/passwd")
    error = await failure(web.url("/elsewhere"), loopback())
    assert error.reason == "malformed"


async def test_a_calendar_larger_than_the_limit_is_refused_while_streaming(
    web: IcsServer,
) -> None:
    settings = loopback(max_calendar_bytes=64 * 1024)
    web.calendar("/big.ics", "X" * (65 * 1024))
    error = await failure(web.url("/big.ics"), settings)
    assert error.reason == "too_large"
    assert "64 KB" in error.message
    # 50 MB without a Content-Length to go by, against the default limit: the download stops
    # once 10 MB have come.
    web.routes["/endless.ics"] = Route(body=b"BEGIN:VCALENDAR\r\n", endless=50 * 1024 * 1024)
    error = await failure(web.url("/endless.ics"), loopback())
    assert error.reason == "too_large"
    assert "10 MB" in error.message


async def test_a_server_that_never_answers_times_out(web: IcsServer) -> None:
    web.routes["/slow.ics"] = Route(hang=True)
    error = await failure(web.url("/slow.ics"), loopback(fetch_timeout=0.5))
    assert error.reason == "timeout"


async def test_an_unreachable_server_is_said_so() -> None:
    async with IcsServer() as gone:
        url = gone.url("/cal.ics")
    error = await failure(url, loopback())
    assert error.reason == "unreachable"
    error = await failure("https://calendar.invalid/cal.ics", CalendarSettings())
    assert error.reason == "unreachable"


async def test_http_errors_and_refused_credentials_are_told_apart(web: IcsServer) -> None:
    assert (await failure(web.url("/missing.ics"), loopback())).reason == "http"
    web.routes["/broken.ics"] = Route(status=500)
    assert "500" in (await failure(web.url("/broken.ics"), loopback())).message
    web.routes["/private.ics"] = Route(body=ICS.encode(), auth=("ada", "s3cret"))
    assert (await failure(web.url("/private.ics"), loopback())).reason == "auth"
    wrong = await failure(web.url("/private.ics"), loopback(), auth=("ada", "nope"))
    assert wrong.reason == "auth"
    assert "nope" not in wrong.message
    data = await fetch(web.url("/private.ics"), loopback(), auth=("ada", "s3cret"))
    assert data == ICS.encode()


async def test_credentials_go_only_to_the_origin_they_were_given_for(web: IcsServer) -> None:
    async with IcsServer() as other:
        other.calendar("/cal.ics", ICS)
        web.redirect("/moved.ics", other.url("/cal.ics"))
        await fetch(web.url("/moved.ics"), loopback(), auth=("ada", "s3cret"))
        assert "authorization" in web.seen[-1].headers
        assert "authorization" not in other.seen[-1].headers
