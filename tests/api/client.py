"""A small REST client for tests: a browser's cookies plus the CSRF token it was given."""

from __future__ import annotations

from typing import Any

import httpx

from convene.protocol.errors import ErrorCode

__all__ = ["Api", "assert_error"]


def assert_error(response: httpx.Response, code: ErrorCode, status: int | None = None) -> None:
    """The response is a Convene error with this code (and status)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code.value, body
    assert isinstance(body["error"]["message"], str)
    assert isinstance(body["error"]["details"], dict)
    if status is not None:
        assert response.status_code == status, (response.status_code, body)


class Api:
    """Like the web client: remembers the CSRF token from sign-in and sends it with writes."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.http = client
        self.csrf: str | None = None

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.csrf and method not in ("GET", "HEAD", "OPTIONS"):
            headers.setdefault("X-CSRF-Token", self.csrf)
        return await self.http.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    async def signup(
        self, email: str = "ada@example.org", name: str = "Ada", password: str = "correct horse"
    ) -> dict[str, Any]:
        response = await self.post(
            "/auth/signup", json={"email": email, "password": password, "display_name": name}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        self.csrf = body["csrf_token"]
        return body

    async def signin(self, email: str, password: str) -> httpx.Response:
        response = await self.post("/auth/signin", json={"email": email, "password": password})
        if response.status_code == 200:
            self.csrf = response.json()["csrf_token"]
        return response

    async def create_meeting(self, **fields: Any) -> dict[str, Any]:
        response = await self.post("/meetings", json=fields)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body
