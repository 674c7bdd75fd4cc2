"""Turning wire text into typed requests and typed replies/events into wire text.

Parsing never raises anything but :class:`ConveneError`, so a malformed message always becomes an
``error`` reply and never a dropped connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.messages import (
    EVENTS,
    MAX_MESSAGE_BYTES,
    REQUESTS,
    ClientEnvelope,
    Model,
    Out,
)

__all__ = ["Request", "encode_error", "encode_event", "encode_reply", "parse_request"]


@dataclass(frozen=True, slots=True)
class Request:
    id: str | None
    type: str
    data: Model


def _validation_details(exc: ValidationError) -> dict[str, Any]:
    return {
        "errors": [
            {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_input=False)[:10]
        ]
    }


def parse_request(raw: str | bytes) -> Request:
    """Validate one client message. Raises ConveneError with the request id where one was read."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ConveneError(
            ErrorCode.INVALID_MESSAGE, "message too large", {"limit": MAX_MESSAGE_BYTES}
        )
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConveneError(ErrorCode.INVALID_MESSAGE, "message is not valid JSON") from exc
    except RecursionError as exc:
        raise ConveneError(ErrorCode.INVALID_MESSAGE, "message is nested too deeply") from exc
    try:
        env = ClientEnvelope.model_validate(obj)
    except RecursionError as exc:
        raise ConveneError(ErrorCode.INVALID_MESSAGE, "message is nested too deeply") from exc
    except ValidationError as exc:
        req_id = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
        err = ConveneError(
            ErrorCode.INVALID_MESSAGE,
            "message does not have the envelope shape",
            _validation_details(exc),
        )
        err.request_id = req_id[:64] if req_id else None
        raise err from exc
    spec = REQUESTS.get(env.type)
    if spec is None:
        err = ConveneError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {env.type[:64]!r}")
        err.request_id = env.id
        raise err
    try:
        data = spec[0].model_validate(env.data)
    except RecursionError as exc:
        err = ConveneError(ErrorCode.INVALID_MESSAGE, "message is nested too deeply")
        err.request_id = env.id
        raise err from exc
    except ValidationError as exc:
        err = ConveneError(
            ErrorCode.INVALID_REQUEST, f"invalid data for {env.type}", _validation_details(exc)
        )
        err.request_id = env.id
        raise err from exc
    return Request(id=env.id, type=env.type, data=data)


def _dump(model: BaseModel) -> Any:
    return model.model_dump(mode="json", by_alias=True)


def encode_reply(req_id: str, reply: Out) -> str:
    return json.dumps({"id": req_id, "type": "reply", "data": _dump(reply)}, separators=(",", ":"))


def encode_error(req_id: str | None, err: ConveneError) -> str:
    msg: dict[str, Any] = {"type": "error", "error": err.to_wire()}
    if req_id is not None:
        msg["id"] = req_id
    return json.dumps(msg, separators=(",", ":"))


def encode_event(event_type: str, payload: Out) -> str:
    expected = EVENTS.get(event_type)
    if expected is None or not isinstance(payload, expected):
        raise TypeError(f"{event_type!r} does not carry {type(payload).__name__}")
    return json.dumps({"type": event_type, "data": _dump(payload)}, separators=(",", ":"))
