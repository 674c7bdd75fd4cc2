"""Against a real uvicorn server on an unused port, over TCP."""

from __future__ import annotations

from pathlib import Path

import pytest

from convene.app import create_app
from convene.auth.passwords import Passwords
from convene.auth.sessions import GUEST_COOKIE, SESSION_COOKIE
from convene.protocol.errors import ErrorCode
from tests.api.client import Api, assert_error
from tests.api.conftest import (
    FAST_HASHING,
    LiveServer,
    NoMedia,
    emptied,
    make_app,
    make_settings,
    unused_socket,
)


async def test_a_host_creates_a_meeting_and_a_guest_finds_it(server: LiveServer) -> None:
    async with server.client() as host_http, server.client() as guest_http:
        host = Api(host_http)
        signed_up = await host.signup("host@example.org", "Host")
        assert host_http.cookies.get(SESSION_COOKIE)
        meeting = await host.create_meeting(title="Weekly")
        assert (
            meeting["join_url"]
            == f"{server.url.replace('127.0.0.1', 'localhost')}/j/{meeting['link_token']}"
        )
        assert (await host.get("/auth/session")).json() == signed_up

        guest = Api(guest_http)
        found = await guest.get(f"/meetings/{meeting['code']}")
        assert found.json()["title"] == "Weekly"
        assert found.json()["requires_passcode"] is True
        assert guest_http.cookies.get(GUEST_COOKIE, "").startswith("g_")
        assert_error(await guest.get("/meetings"), ErrorCode.AUTH_REQUIRED, 401)


async def test_security_headers_on_every_response(server: LiveServer) -> None:
    async with server.client() as http:
        for path in ("/", "/api/v1/auth/session", "/api/v1/nope", "/healthz"):
            response = await http.get(path)
            csp = response.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp
            assert "default-src 'self'" in csp
            assert "media-src 'self' blob: mediastream:" in csp
            assert "'unsafe-eval'" not in csp
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
            assert "camera=(self)" in response.headers["permissions-policy"]


async def test_health(server: LiveServer) -> None:
    async with server.client() as http:
        assert (await http.get("/healthz")).json() == {
            "status": "ok",
            "database": "ok",
            "media": "ok",
        }
        media: NoMedia = server.app.state.sfu
        media.up = False
        degraded = await http.get("/healthz")
        assert degraded.status_code == 503
        assert degraded.json() == {"status": "degraded", "database": "ok", "media": "down"}
        server.app.state.sfu = None
        assert (await http.get("/healthz")).json()["media"] == "none"


async def test_health_with_the_default_media_server(tmp_path: Path, sqlite_db_url: str) -> None:
    await emptied(sqlite_db_url)
    sock = unused_socket()
    settings = make_settings(tmp_path, sqlite_db_url, port=sock.getsockname()[1])
    app = create_app(settings, passwords=Passwords(FAST_HASHING))
    async with LiveServer(app, sock) as live, live.client() as http:
        assert (await http.get("/healthz")).json() == {
            "status": "ok",
            "database": "ok",
            "media": "ok",
        }


async def test_metrics_count_requests_by_route_template(server: LiveServer) -> None:
    async with server.client() as http:
        await http.get("/api/v1/meetings/123456789")
        text = (await http.get("/metrics")).text
        assert 'route="/api/v1/meetings/{ref}"' in text
        assert "123456789" not in text
        assert (
            'convene_http_requests_total{method="GET",route="/api/v1/meetings/{ref}",status="404"}'
            in text
        )


async def test_forwarded_for_is_believed_only_from_trusted_proxies(server: LiveServer) -> None:
    # The test client connects from 127.0.0.1, a trusted proxy by default: X-Forwarded-For
    # names the real client, whose attempts are counted on their own.
    async with server.client() as http:
        api = Api(http)
        await api.signup("victim@example.org", password="right password")
        login = {"email": "victim@example.org", "password": "nope"}
        first = {"X-Forwarded-For": "203.0.113.5"}
        for _ in range(10):
            assert (await api.post("/auth/signin", json=login, headers=first)).status_code == 401
        limited = await api.post("/auth/signin", json=login, headers=first)
        assert_error(limited, ErrorCode.RATE_LIMITED, 429)
        # A spoofed hop to the left does not help: the proxy appends the address it saw.
        spoofed = {"X-Forwarded-For": "198.51.100.1, 203.0.113.5"}
        assert_error(
            await api.post("/auth/signin", json=login, headers=spoofed), ErrorCode.RATE_LIMITED, 429
        )
        other = {"X-Forwarded-For": "203.0.113.6"}
        assert (await api.post("/auth/signin", json=login, headers=other)).status_code == 401

        # Metrics are for the machine and its proxies, not for clients behind them.
        assert (await http.get("/metrics")).status_code == 200
        outside = await http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"})
        assert_error(outside, ErrorCode.FORBIDDEN, 403)


async def test_forwarded_for_is_ignored_from_untrusted_peers(tmp_path: Path, db_url: str) -> None:
    sock = unused_socket()
    settings = make_settings(tmp_path, db_url, port=sock.getsockname()[1], trusted_proxies=[])
    async with LiveServer(make_app(settings), sock) as live, live.client() as http:
        # Claiming to be a trusted local client from outside does not unlock /metrics.
        response = await http.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        assert response.status_code == 200  # the peer itself is loopback
        api = Api(http)
        for i in range(10):
            await api.post(
                "/auth/signin",
                json={"email": "x@example.org", "password": "p"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            )
        # All ten counted against the real peer, whatever the header said.
        limited = await api.post("/auth/signin", json={"email": "x@example.org", "password": "p"})
        assert_error(limited, ErrorCode.RATE_LIMITED, 429)


@pytest.fixture
def built_client(tmp_path: Path) -> Path:
    web = tmp_path / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>Convene app</title>")
    (web / "assets" / "index-3f2a1b.js").write_text("console.log('app')")
    (web / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    (tmp_path / "secret.txt").write_text("outside the web folder")
    return web


async def test_the_built_web_client_is_served_as_a_single_page_app(
    server: LiveServer, built_client: Path
) -> None:
    async with server.client() as http:
        for path in ("/", "/j/AbCdEfGhIjKlMnOpQrStUv", "/signin", "/deep/link/path"):
            page = await http.get(path)
            assert page.status_code == 200
            assert "Convene app" in page.text
            assert page.headers["cache-control"] == "no-cache"
            assert page.headers["content-type"].startswith("text/html")

        asset = await http.get("/assets/index-3f2a1b.js")
        assert asset.text == "console.log('app')"
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        favicon = await http.get("/favicon.ico")
        assert favicon.content == b"\x00\x00\x01\x00"
        assert favicon.headers["cache-control"] == "no-cache"

        missing = await http.get("/assets/index-000000.js")
        assert_error(missing, ErrorCode.NOT_FOUND, 404)
        for sneaky in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"):
            response = await http.get(sneaky)
            assert "outside the web folder" not in response.text
        head = await http.head("/")
        assert head.status_code == 200
        assert_error(await http.delete("/"), ErrorCode.INVALID_REQUEST, 405)


async def test_without_a_built_client_the_page_says_how_to_build_it(server: LiveServer) -> None:
    async with server.client() as http:
        page = await http.get("/")
        assert page.status_code == 200
        assert "npm run build" in page.text
        assert (await http.get("/j/whatever")).text == page.text


async def test_openapi_document(server: LiveServer) -> None:
    async with server.client() as http:
        doc = (await http.get("/api/v1/openapi.json")).json()
        assert {"/api/v1/auth/signin", "/api/v1/meetings/{ref}", "/api/v1/users/me"} <= set(
            doc["paths"]
        )
        docs_page = await http.get("/api/v1/docs")
        assert docs_page.status_code == 200
        assert "cdn.jsdelivr.net" in docs_page.headers["content-security-policy"]
