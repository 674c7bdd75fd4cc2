"""Random bodies, headers, cookies and path parameters against every REST endpoint.

Whatever arrives, the server never answers 500, and every error has the Convene error shape.
The server runs under uvicorn in a background thread (Hypothesis drives a synchronous client).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from convene.auth.ratelimit import CodeGuard, PasscodeGuard, RateLimiter, RateLimits
from convene.auth.sessions import GUEST_COOKIE, SESSION_COOKIE
from convene.protocol.errors import ErrorCode
from tests.api.conftest import make_app, make_settings, unused_socket
from tests.storage.databases import fresh_postgres_database, migrated, sqlite_url

ENDPOINTS = [
    ("POST", "/api/v1/auth/signup"),
    ("POST", "/api/v1/auth/signin"),
    ("POST", "/api/v1/auth/signout"),
    ("GET", "/api/v1/auth/session"),
    ("POST", "/api/v1/auth/verify"),
    ("POST", "/api/v1/auth/verify/resend"),
    ("POST", "/api/v1/auth/password/forgot"),
    ("POST", "/api/v1/auth/password/reset"),
    ("GET", "/api/v1/users/me"),
    ("PATCH", "/api/v1/users/me"),
    ("POST", "/api/v1/users/me/password"),
    ("GET", "/api/v1/users/me/calendar-settings"),
    ("PATCH", "/api/v1/users/me/calendar-settings"),
    ("POST", "/api/v1/meetings"),
    ("GET", "/api/v1/meetings"),
    ("GET", "/api/v1/meetings/{ref}"),
    ("PATCH", "/api/v1/meetings/{id}"),
    ("DELETE", "/api/v1/meetings/{id}"),
    ("PUT", "/api/v1/meetings/{id}"),
    ("GET", "/api/v1/meetings/{id}/transcripts"),
    ("DELETE", "/api/v1/meetings/{id}/transcripts"),
    ("GET", "/api/v1/meetings/{id}/transcripts/{language}"),
    ("GET", "/healthz"),
    ("POST", "/{ref}"),
]
FIELDS = [
    "email",
    "password",
    "display_name",
    "title",
    "passcode",
    "waiting_room",
    "allow_guests",
    "mute_on_entry",
    "allow_self_unmute",
    "locked",
    "chat",
    "screen_share",
    "max_participants",
    "captions",
    "token",
    "current_password",
    "new_password",
    "language",
]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/merge-patch+json",
    "",
]
ERROR_CODES = {code.value for code in ErrorCode}

ascii_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=300)
    | st.sampled_from(["everyone", "hosts", "none", "", "a@b.co", "12345678", "x" * 300])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=12,
)
field_bodies = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=8), json_values, max_size=6
)
bodies = st.one_of(
    st.none(),
    field_bodies.map(lambda b: json.dumps(b).encode()),
    json_values.map(lambda b: json.dumps(b).encode()),
    st.binary(max_size=300),
)
cookie_values = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=";,"), max_size=60
)
header_values = ascii_text | st.sampled_from(
    ["http://testserver", "https://evil.example", "null", "cross-site", "same-origin", "", "*"]
)


@dataclass
class Target:
    url: str
    session: str
    csrf: str
    meeting_id: str
    code: str
    link_token: str


class ThreadedServer:
    """uvicorn in a thread with its own event loop."""

    def __init__(self, app: Any, port_socket: Any) -> None:
        self._sock = port_socket
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_level="critical", proxy_headers=False, lifespan="on")
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [port_socket]}, daemon=True
        )

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp("fuzz")
    with _database(request.param, tmp, postgres_url) as db_url:
        sock = unused_socket()
        port = sock.getsockname()[1]
        app = make_app(make_settings(tmp, db_url, port=port))

        # Generous limits, so that random requests get past them to the code behind.
        def big() -> RateLimiter:
            return RateLimiter(rate=1_000_000, per=1)

        generous: dict[str, Any] = {
            name: big()
            for name, value in vars(RateLimits()).items()
            if isinstance(value, RateLimiter)
        }
        generous["passcodes"] = PasscodeGuard(
            per_person=big(), per_meeting=big(), per_address=big()
        )
        generous["codes"] = CodeGuard(per_address=big(), server=big())
        app.state.limits = RateLimits(**generous)
        with (
            ThreadedServer(app, sock),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=15) as http,
        ):
            signup = http.post(
                "/api/v1/auth/signup",
                json={
                    "email": "fuzz@example.org",
                    "password": "fuzz password",
                    "display_name": "F",
                },
            )
            csrf = signup.json()["csrf_token"]
            meeting = http.post("/api/v1/meetings", json={}, headers={"X-CSRF-Token": csrf}).json()
            yield Target(
                url=f"http://127.0.0.1:{port}",
                session=http.cookies[SESSION_COOKIE],
                csrf=csrf,
                meeting_id=meeting["id"],
                code=meeting["code"],
                link_token=meeting["link_token"],
            )


@contextmanager
def _database(kind: str, tmp: Path, postgres_url: str) -> Iterator[str]:
    if kind == "postgres":
        with fresh_postgres_database(postgres_url) as url:
            yield migrated(url)
    else:
        yield migrated(sqlite_url(tmp / "fuzz.db"))


@st.composite
def requests(draw: st.DrawFn, target: Target) -> dict[str, Any]:
    method, template = draw(st.sampled_from(ENDPOINTS))
    param = draw(
        st.sampled_from([target.code, target.link_token, target.meeting_id, "123 456 789"])
        | st.text(max_size=80)
    )
    path = template.replace("{ref}", quote(param, safe="")).replace("{id}", quote(param, safe=""))
    language = draw(st.sampled_from(["fr", "en", "xx", "../x", ""]) | st.text(max_size=20))
    path = path.replace("{language}", quote(language, safe=""))
    if template.endswith("{language}") and draw(st.booleans()):
        query = draw(
            st.dictionaries(
                st.sampled_from(["format", "limit", "cursor"]) | st.text(max_size=6),
                st.sampled_from(["json", "vtt", "srt", "txt", "0", "1", "500", "-1"])
                | st.text(max_size=50),
                max_size=3,
            )
        )
        path += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
    headers: dict[str, str] = {}
    auth = draw(st.sampled_from(["none", "cookie", "cookie+csrf", "cookie+csrf", "forged"]))
    cookies: dict[str, str] = {}
    if auth in ("cookie", "cookie+csrf"):
        cookies[SESSION_COOKIE] = target.session
    if auth == "forged":
        cookies[SESSION_COOKIE] = draw(cookie_values)
    if auth == "cookie+csrf":
        headers["X-CSRF-Token"] = target.csrf
    if draw(st.booleans()):
        cookies[GUEST_COOKIE] = draw(cookie_values)
    for name in ("X-CSRF-Token", "Origin", "Sec-Fetch-Site", "X-Forwarded-For", "Host"):
        if draw(st.integers(0, 4)) == 0:
            # Clients cannot send leading or trailing blanks in a header value.
            headers[name] = draw(header_values).strip()
    body = draw(bodies)
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type:
        headers["Content-Type"] = content_type
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return {"method": method, "url": path, "headers": headers, "content": body}


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        error = body["error"]
        assert set(error) == {"code", "message", "details"}, body
        assert error["code"] in ERROR_CODES
        assert isinstance(error["message"], str)
        assert isinstance(error["details"], dict)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_random_requests_never_crash_the_api(target: Target, data: st.DataObject) -> None:
    request = data.draw(requests(target))
    # A fresh client per example: no cookie carries over between examples.
    with httpx.Client(base_url=target.url, timeout=15) as http:
        response = http.request(
            request["method"],
            request["url"],
            headers=request["headers"],
            content=request["content"],
        )
    event(f"{request['method']} -> {response.status_code}")
    _check(response)
