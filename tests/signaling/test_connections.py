"""One participant, one connection: resume replaces; per-connection limits; idle and slow
clients; malformed frames. Against the real test server, with real sockets."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from convene.config import ConnectionSettings
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError


async def hosted(server: RunningServer) -> tuple[dict[str, Any], SignalClient]:
    alice = await server.sign_up("alice@example.org", "Alice")
    info = await alice.create_meeting(waiting_room=False)
    host = await SignalClient.connect(server, alice)
    await host.join(info["link_token"])
    return info, host


async def test_a_resume_replaces_the_old_connection_and_rotates_the_token(
    server: RunningServer,
) -> None:
    info, host = await hosted(server)
    first = await SignalClient.connect(server, server.guest())
    await first.join(info["link_token"], display_name="Bob")
    old_token, pid = first.resume_token, first.participant_id

    second = await SignalClient.connect(server, server.guest())  # another tab, still open
    reply = await second.join(info["link_token"], resume=old_token)
    assert reply["resumed"] is True
    assert reply["participant_id"] == pid
    assert reply["resume_token"] != old_token

    closed = await first.wait_event("closed")
    assert closed["reason"] == "replaced"
    code, _ = await asyncio.wait_for(first.closed, 15)
    assert code == 4001

    # The stale tab's leave (sent however late) does not take the person out.
    with contextlib.suppress(Exception):  # refused, or the socket is already closed
        await first.request("leave", timeout=5)
    sent = await second.request("chat.send", {"text": "still here"})
    assert sent["message"]["text"] == "still here"
    await host.wait_event("chat.message", lambda d: d["text"] == "still here")

    third = await SignalClient.connect(server, server.guest())
    with pytest.raises(SignalError) as exc:
        await third.join(info["link_token"], resume=old_token)
    assert exc.value.code == "resume_invalid"
    # The new token works, and replaces the second connection in turn.
    again = await third.join(info["link_token"], resume=reply["resume_token"])
    assert again["participant_id"] == pid
    assert (await second.wait_event("closed"))["reason"] == "replaced"
    for c in (first, second, third, host):
        await c.close()


async def test_rate_limited_errors_say_when_to_retry(server: RunningServer) -> None:
    client = await SignalClient.connect(server, server.guest())
    codes = []
    for _ in range(4):  # the per-connection join budget: 0.5/s, burst 3
        with pytest.raises(SignalError) as exc:
            await client.join("000000000", display_name="Bob")
        codes.append(exc.value.code)
        last = exc.value
    assert codes[:3] == ["meeting_not_found"] * 3
    assert codes[3] == "rate_limited"
    assert isinstance(last.details["retry_after"], int)
    assert last.details["retry_after"] >= 1
    await client.close()


async def test_join_accepts_a_code_written_with_spaces_or_dashes(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    info = await alice.create_meeting(waiting_room=False)
    code = info["code"]
    spaced, dashed = f"{code[:3]} {code[3:6]} {code[6:]}", f"{code[:3]}-{code[3:6]}-{code[6:]}"
    for name, written in (("Bob", spaced), ("Carol", dashed)):
        guest = server.guest()
        assert (await guest.meeting_info(written))["code"] == code  # REST reads it the same
        client = await SignalClient.connect(server, guest)
        reply = await client.join(written, display_name=name, passcode=info["passcode"])
        assert reply["state"] == "joined"
        await client.close()


async def test_answer_without_an_offer_is_invalid_state(server: RunningServer) -> None:
    _, host = await hosted(server)
    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    with pytest.raises(SignalError) as exc:
        await host.request("subscriber.answer", {"jsep": {"type": "answer", "sdp": sdp}})
    assert exc.value.code == "invalid_state"
    await host.close()


async def test_deeply_nested_json_is_an_invalid_message(server: RunningServer) -> None:
    client = await SignalClient.connect(server, server.guest())
    deep = "[" * 100_000 + "]" * 100_000
    await client.send_raw("not json")
    await client.send_raw(deep)
    await client.send_raw('{"id":"n2","type":"join","data":' + "{" * 50_000)
    nested = '{"id":"n3","type":"chat.send","data":{"text":' + "[" * 5_000 + "]" * 5_000 + "}}"
    await client.send_raw(nested)
    assert await client.request("ping") == {}  # still open, and every error came before
    codes = [e["error"]["code"] for e in client.errors]
    assert len(codes) == 4
    assert codes[1] == "invalid_message"
    assert codes[2] == "invalid_message"
    assert codes[3] in ("invalid_message", "invalid_request")
    await client.close()


async def test_a_frame_over_the_limit_is_refused_by_the_websocket(server: RunningServer) -> None:
    client = await SignalClient.connect(server, server.guest())
    await client.send_raw("x" * (256 * 1024 + 1))
    code, _ = await asyncio.wait_for(client.closed, 15)
    assert code == 1009
    await client.close()


@pytest.fixture
async def strict_server(tmp_path: Path) -> Any:
    limits = ConnectionSettings(
        header_timeout_seconds=0.5, join_timeout_seconds=0.5, websockets_per_address=3
    )
    async with running_server(tmp_path, connections=limits) as running:
        yield running


@pytest.fixture
async def capped_server(tmp_path: Path) -> Any:
    limits = ConnectionSettings(websockets_per_address=3)
    async with running_server(tmp_path, connections=limits) as running:
        yield running


async def test_a_connection_that_never_joins_is_closed(strict_server: RunningServer) -> None:
    async with connect(strict_server.ws_url, open_timeout=10) as ws:
        await asyncio.wait_for(ws.wait_closed(), 15)
        assert ws.close_code == 1008
        assert ws.close_reason == "join timeout"


async def test_websockets_per_address_are_capped(capped_server: RunningServer) -> None:
    strict_server = capped_server
    clients = [await SignalClient.connect(strict_server) for _ in range(3)]
    with pytest.raises(InvalidStatus) as exc:
        await connect(strict_server.ws_url, open_timeout=10)
    assert exc.value.response.status_code == 403
    await clients[0].close()
    async with asyncio.timeout(15):
        while True:
            try:
                extra = await SignalClient.connect(strict_server)
                break
            except InvalidStatus:
                await asyncio.sleep(0.1)
    await extra.close()
    for c in clients[1:]:
        await c.close()


@pytest.mark.parametrize("sent", [b"", b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "])
async def test_slow_or_silent_http_clients_are_dropped(
    strict_server: RunningServer, sent: bytes
) -> None:
    host, port = strict_server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(sent)
    await writer.drain()
    # The server closes the socket: the read ends (EOF) well before the test's own bound.
    assert await asyncio.wait_for(reader.read(), 15) == b""
    writer.close()


async def test_a_complete_request_is_served_and_then_the_idle_connection_closed(
    strict_server: RunningServer,
) -> None:
    host, port = strict_server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
    assert head.startswith(b"HTTP/1.1 ")
    await asyncio.wait_for(reader.read(), 15)  # then closed when idle
    writer.close()
