"""REST error messages in the caller's language: the signed-in user's choice, else the best of
Accept-Language among the six, else English; the code never changes."""

from __future__ import annotations

from pathlib import Path

from convene.protocol.errors import ErrorCode
from tests.api.client import Api, assert_error
from tests.api.test_quotas import browsers


def message_of(response: object) -> str:
    message: str = response.json()["error"]["message"]  # type: ignore[attr-defined]
    return message


async def test_errors_follow_accept_language(api: Api) -> None:
    french = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
    unknown = await api.get("/meetings/000-000-000", headers=french)
    assert_error(unknown, ErrorCode.MEETING_NOT_FOUND, 404)
    assert message_of(unknown) == "Aucune réunion ne correspond à ce code."
    # Without the header (or with languages Convene has no texts for): English, word for word.
    english = await api.get("/meetings/000-000-000", headers={"Accept-Language": "de, nl;q=0.8"})
    assert_error(english, ErrorCode.MEETING_NOT_FOUND, 404)
    assert message_of(english) == message_of(await api.get("/meetings/000-000-000"))
    assert "code" in message_of(english).lower() or "meeting" in message_of(english).lower()

    nowhere = await api.http.get("/api/v1/nothing", headers={"Accept-Language": "ru"})
    assert_error(nowhere, ErrorCode.NOT_FOUND, 404)
    assert message_of(nowhere) == "Не найдено."  # noqa: RUF001

    signed_out = await api.get("/users/me", headers={"Accept-Language": "ar"})
    assert_error(signed_out, ErrorCode.AUTH_REQUIRED, 401)
    assert message_of(signed_out) == "سجّل الدخول أولاً."


async def test_a_signed_in_user_gets_the_language_they_chose(api: Api) -> None:
    await api.signup()
    french = {"Accept-Language": "fr"}
    chose = await api.patch("/users/me/calendar-settings", json={"language": "zh"})
    assert chose.status_code == 200, chose.text
    # Their choice wins over the browser's header.
    refused = await api.patch(
        "/users/me/calendar-settings", json={"language": "de"}, headers=french
    )
    assert_error(refused, ErrorCode.INVALID_REQUEST, 422)
    assert message_of(refused) == "请求无效：language"  # noqa: RUF001
    assert refused.json()["error"]["details"]["errors"][0]["loc"][-1] == "language"
    # Back to "the browser's": the header decides again.
    assert (
        await api.patch("/users/me/calendar-settings", json={"language": None})
    ).status_code == 200
    again = await api.patch("/users/me/calendar-settings", json={"language": "de"}, headers=french)
    assert message_of(again) == "Requête non valide : language"


async def test_an_invalid_field_is_named_in_any_language(api: Api) -> None:
    await api.signup()
    refused = await api.patch(
        "/users/me/calendar-settings",
        json={"timezone": "Mars/Olympus_Mons"},
        headers={"Accept-Language": "es"},
    )
    assert_error(refused, ErrorCode.INVALID_REQUEST)
    assert refused.json()["error"]["details"]["field"] == "timezone"
    assert message_of(refused) == "Solicitud no válida: timezone"


async def test_a_quota_refusal_keeps_its_figures(tmp_path: Path, db_url: str) -> None:
    async with browsers(tmp_path, db_url, quotas={"meetings_per_day": 1}) as (_app, new):
        ada: Api = new()
        await ada.signup()
        assert (await ada.post("/meetings", json={})).status_code == 201
        refused = await ada.post("/meetings", json={}, headers={"Accept-Language": "es"})
        assert_error(refused, ErrorCode.QUOTA_EXCEEDED, 429)
        details = refused.json()["error"]["details"]
        assert message_of(refused) == (
            f"Se alcanzó la cuota meetings_per_day (1); "
            f"inténtelo de nuevo después de {details['resets_at']}."
        )
