"""Serving the built web client's pre-compressed copies (``.br``, ``.gz`` next to each file)."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from convene.api.webclient import WebClient, accepted_encodings

SCRIPT = b"console.log('convene');\n" * 200


def built_client(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>Convene</title>")
    script = root / "assets" / "index-abc123.js"
    script.write_bytes(SCRIPT)
    (root / "assets" / "index-abc123.js.gz").write_bytes(gzip.compress(SCRIPT))
    (root / "assets" / "index-abc123.js.br").write_bytes(b"brotli-bytes")
    return root


async def get(root: Path, accept_encoding: str) -> tuple[httpx.Headers, bytes]:
    """The headers and the raw (still encoded) body of the script."""
    app = Starlette(routes=[Mount("/", app=WebClient(built_client(root)))])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        headers = {"Accept-Encoding": accept_encoding}
        async with http.stream("GET", "/assets/index-abc123.js", headers=headers) as response:
            assert response.status_code == 200
            body = b"".join([chunk async for chunk in response.aiter_raw()])
            return response.headers, body


async def test_brotli_first_with_type_vary_and_immutable_cache(tmp_path: Path) -> None:
    headers, body = await get(tmp_path, "gzip, deflate, br")
    assert headers["content-encoding"] == "br"
    assert body == b"brotli-bytes"
    assert headers["content-type"].startswith("text/javascript")
    assert headers["vary"] == "Accept-Encoding"
    assert headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_gzip_when_brotli_not_accepted(tmp_path: Path) -> None:
    headers, body = await get(tmp_path, "gzip, br;q=0")
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == SCRIPT
    assert headers["content-type"].startswith("text/javascript")


async def test_identity_without_accept_encoding(tmp_path: Path) -> None:
    headers, body = await get(tmp_path, "identity")
    assert "content-encoding" not in headers
    assert body == SCRIPT


def test_accept_encoding_parsing() -> None:
    assert accepted_encodings("gzip;q=0.5, BR") == {"gzip", "br"}
    assert accepted_encodings("br;q=0, gzip;q=bad") == set()
    assert accepted_encodings("") == set()
