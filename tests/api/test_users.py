from __future__ import annotations

from convene.protocol.errors import ErrorCode
from tests.api.client import Api, assert_error


async def test_me(api: Api) -> None:
    assert_error(await api.get("/users/me"), ErrorCode.AUTH_REQUIRED, 401)
    signed_up = await api.signup("me@example.org", "Me")
    response = await api.get("/users/me")
    assert response.status_code == 200
    assert response.json() == signed_up["user"]


async def test_rename(api: Api) -> None:
    await api.signup("me@example.org", "Me")
    response = await api.patch("/users/me", json={"display_name": "  Someone Else "})
    assert response.status_code == 200
    assert response.json()["display_name"] == "Someone Else"
    assert (await api.get("/users/me")).json()["display_name"] == "Someone Else"
    # Nothing to change is fine.
    assert (await api.patch("/users/me", json={})).json()["display_name"] == "Someone Else"


async def test_rename_is_validated_and_csrf_protected(api: Api) -> None:
    await api.signup("me@example.org", "Me")
    for bad in ({"display_name": ""}, {"display_name": "x" * 65}, {"email": "new@example.org"}):
        assert_error(await api.patch("/users/me", json=bad), ErrorCode.INVALID_REQUEST, 422)
    forged = await api.http.patch("/api/v1/users/me", json={"display_name": "Pwned"})
    assert_error(forged, ErrorCode.CSRF_FAILED, 403)
    assert (await api.get("/users/me")).json()["display_name"] == "Me"
