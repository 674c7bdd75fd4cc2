"""Serving a livestream's HLS: signed expiring tokens, strict names, caching headers.

The tokens alone (issue, check, expiry, tampering; fuzzed), then a real server answering
``GET /api/v1/live/{meeting}/{token}/{file}`` from the meeting's folder: playlists ``no-cache``,
segments cached for long and ``immutable``, and ``404`` for a wrong or expired token, for
another meeting's token, and for every way out of the folder (``..``, encoded dots and
slashes, absolute names, a symbolic link), sent as raw request lines so no client library
normalises them first.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convene.api.live import FILE_PATTERN, live_folder
from convene.config import load_secrets
from convene.livestream.tokens import LIVE_PATH, TOKEN_PATTERN, check_token, issue_token
from tests.support.server import RunningServer, running_server

KEY = "k" * 43
MEETING = "0b6e4cbe-5d0e-4f4a-9a54-2b8f0e0e6c11"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


# -- tokens -------------------------------------------------------------------------------------


def test_a_token_is_good_for_its_meeting_until_it_expires() -> None:
    token = issue_token(KEY, MEETING, now=NOW, valid=timedelta(hours=6))
    assert TOKEN_PATTERN.fullmatch(token.token)
    assert token.expires_at >= NOW + timedelta(hours=6)
    assert token.expires_at <= NOW + timedelta(hours=6, minutes=15)
    assert check_token(KEY, MEETING, token.token, now=NOW)
    assert check_token(KEY, MEETING, token.token, now=token.expires_at - timedelta(seconds=1))
    assert not check_token(KEY, MEETING, token.token, now=token.expires_at)
    assert not check_token(KEY, "another-meeting", token.token, now=NOW)
    assert not check_token("another key", MEETING, token.token, now=NOW)


def test_a_token_cannot_be_extended_or_altered() -> None:
    token = issue_token(KEY, MEETING, now=NOW, valid=timedelta(hours=1)).token
    expiry, signature = token.split(".")
    later = str(int(expiry) + 86_400)
    assert not check_token(KEY, MEETING, f"{later}.{signature}", now=NOW)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert not check_token(KEY, MEETING, f"{expiry}.{flipped}", now=NOW)
    for bad in ("", ".", expiry, f"{expiry}.", f".{signature}", f"{token}x", f" {token}"):
        assert not check_token(KEY, MEETING, bad, now=NOW)


def test_everyone_given_a_url_in_the_same_quarter_hour_gets_the_same_one() -> None:
    first = issue_token(KEY, MEETING, now=NOW + timedelta(seconds=1), valid=timedelta(hours=6))
    second = issue_token(KEY, MEETING, now=NOW + timedelta(minutes=14), valid=timedelta(hours=6))
    assert first == second
    third = issue_token(KEY, MEETING, now=NOW + timedelta(minutes=16), valid=timedelta(hours=6))
    assert third.token != first.token


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_checking_any_text_as_a_token_is_false_and_never_raises(text: str) -> None:
    assert check_token(KEY, MEETING, text, now=NOW) is False


@settings(max_examples=2000, deadline=None)
@given(
    st.one_of(
        st.text(max_size=120),
        st.text(alphabet="./\\%:abc-_0123456789m3u8tsvt", max_size=40),
    )
)
def test_a_file_name_the_pattern_takes_stays_inside_the_folder(name: str) -> None:
    if FILE_PATTERN.fullmatch(name) is None:
        return
    assert not name.startswith("/")
    assert "\\" not in name
    assert "%" not in name
    assert ":" not in name
    assert name.count("/") <= 1
    assert all(part not in ("", ".", "..") for part in name.split("/"))
    assert name.rsplit(".", 1)[1] in {"m3u8", "ts", "m4s", "mp4", "aac", "vtt"}


# -- serving --------------------------------------------------------------------------------


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(
        tmp_path, worker={"embedded": False}, translation={"enabled": False}
    ) as running:
        yield running


def _key(server: RunningServer) -> str:
    return load_secrets(server.settings).token_key


def _folder(server: RunningServer) -> Path:
    folder = live_folder(server.settings, MEETING)
    (folder / "video").mkdir(parents=True)
    (folder / "subs-en").mkdir()
    (folder / "master.m3u8").write_text("#EXTM3U\n#EXT-X-VERSION:6\n")
    (folder / "video" / "index.m3u8").write_text("#EXTM3U\n")
    (folder / "video" / "seg00001.ts").write_bytes(b"\x47" * 188)
    (folder / "subs-en" / "seg00001.vtt").write_text("WEBVTT\n")
    (folder / "notes.txt").write_text("not a livestream file")
    return folder


async def _raw_get(server: RunningServer, target: str, method: str = "GET") -> tuple[int, str]:
    """Send ``target`` exactly as given on the request line; the status and the head."""
    parts = urlsplit(server.base_url)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port), 10)
    try:
        request = f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        writer.write(f"{request}Connection: close\r\n\r\n".encode())
        await writer.drain()
        head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode("latin-1")
    finally:
        writer.close()
    return int(head.split(" ", 2)[1]), head


async def test_playlists_and_segments_with_their_caching_headers(server: RunningServer) -> None:
    _folder(server)
    token = issue_token(_key(server), MEETING, now=datetime.now(UTC), valid=timedelta(hours=6))
    base = f"{LIVE_PATH}/{MEETING}/{token.token}"
    http = server.guest().http

    master = await http.get(f"{base}/master.m3u8")
    assert master.status_code == 200
    assert master.text.startswith("#EXTM3U")
    assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert master.headers["cache-control"] == "no-cache"
    assert master.headers["access-control-allow-origin"] == "*"

    variant = await http.get(f"{base}/video/index.m3u8")
    assert variant.status_code == 200
    assert variant.headers["cache-control"] == "no-cache"

    segment = await http.get(f"{base}/video/seg00001.ts")
    assert segment.status_code == 200
    assert segment.content == b"\x47" * 188
    assert segment.headers["content-type"] == "video/mp2t"
    cache = segment.headers["cache-control"]
    assert "immutable" in cache
    assert "max-age=86400" in cache

    cue = await http.get(f"{base}/subs-en/seg00001.vtt")
    assert cue.status_code == 200
    assert cue.headers["content-type"].startswith("text/vtt")
    assert "immutable" in cue.headers["cache-control"]

    head = await http.head(f"{base}/video/seg00001.ts")
    assert head.status_code == 200
    assert head.headers["content-length"] == "188"

    missing = await http.get(f"{base}/video/seg00002.ts")
    assert missing.status_code == 404


async def test_a_wrong_or_expired_token_is_not_found(server: RunningServer) -> None:
    _folder(server)
    key = _key(server)
    http = server.guest().http
    now = datetime.now(UTC)
    expired = issue_token(key, MEETING, now=now - timedelta(hours=7), valid=timedelta(hours=6))
    assert expired.expires_at < now
    other = issue_token(key, "another-meeting", now=now, valid=timedelta(hours=6))
    foreign = issue_token("not this install's key", MEETING, now=now, valid=timedelta(hours=6))
    for token in (expired.token, other.token, foreign.token, "0.x", "nothing"):
        response = await http.get(f"{LIVE_PATH}/{MEETING}/{token}/master.m3u8")
        assert response.status_code == 404, token
        assert response.json()["error"]["code"] == "not_found"
        assert (
            "cache-control" not in response.headers
            or "immutable" not in (response.headers["cache-control"])
        )


async def test_nothing_outside_the_meetings_folder_is_served(server: RunningServer) -> None:
    folder = _folder(server)
    # What an attacker would want: the install's secrets, another meeting's stream.
    load_secrets(server.settings)
    assert (server.settings.data_dir / "secrets.json").exists()
    neighbour = live_folder(server.settings, "another-meeting")
    neighbour.mkdir(parents=True)
    (neighbour / "master.m3u8").write_text("#EXTM3U\n")
    outside = server.settings.data_dir / "outside.ts"
    outside.write_bytes(b"secret")
    os.symlink(outside, folder / "video" / "link.ts")
    os.symlink(neighbour, folder / "other")

    token = issue_token(_key(server), MEETING, now=datetime.now(UTC), valid=timedelta(hours=6))
    base = f"{LIVE_PATH}/{MEETING}/{token.token}"
    assert (await _raw_get(server, f"{base}/master.m3u8"))[0] == 200
    attempts = [
        "../../secrets.json",
        "../another-meeting/master.m3u8",
        "..%2Fanother-meeting%2Fmaster.m3u8",
        "%2e%2e/another-meeting/master.m3u8",
        "%2E%2E%2F%2E%2E%2Fsecrets.json",
        "video/..%2F..%2F..%2Fsecrets.json",
        "video%2F..%2F..%2Fanother-meeting%2Fmaster.m3u8",
        "%2Fetc%2Fpasswd",
        "/etc/passwd",
        "//etc/hostname.ts",
        "..\\..\\secrets.json",
        "video\\..\\master.m3u8",
        "video/link.ts",
        "other/master.m3u8",
        "notes.txt",
        "master.m3u8%00.txt",
        "video/../master.m3u8",
        "./master.m3u8",
        "video/sub/seg00001.ts",
        ".hidden.ts",
    ]
    for attempt in attempts:
        status, _ = await _raw_get(server, f"{base}/{attempt}")
        assert status in (400, 404), attempt
    # The meeting's own name is checked too.
    for meeting in ("..", "..%2F..", "another-meeting%2F..%2F" + MEETING):
        status, _ = await _raw_get(server, f"{LIVE_PATH}/{meeting}/{token.token}/master.m3u8")
        assert status in (400, 404), meeting
