"""The committed protocol schema (and the TypeScript generated from it) matches the Python models.

A change to ``convene.protocol.messages`` without ``npm run gen-types`` in ``web/`` fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from convene.protocol.errors import ErrorCode
from convene.protocol.messages import EVENTS, REQUESTS
from convene.protocol.schema import protocol_schema, render

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "web" / "src" / "protocol" / "schema.json"
GENERATED_TS = ROOT / "web" / "src" / "protocol" / "types.gen.ts"


def test_committed_schema_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "web/src/protocol/schema.json is stale: run `npm run gen-types` in web/"
    )


def test_schema_names_every_request_event_and_error_code() -> None:
    doc = protocol_schema()
    props = doc["properties"]
    assert set(props["requests"]["properties"]) == set(REQUESTS)
    assert set(props["events"]["properties"]) == set(EVENTS)
    assert doc["$defs"]["ErrorCode"]["enum"] == [code.value for code in ErrorCode]
    for ref in _refs(doc):
        assert ref.removeprefix("#/$defs/") in doc["$defs"], ref


def test_replies_and_events_mark_defaulted_fields_required() -> None:
    # The server always serialises every field, so the client may rely on them.
    defs = protocol_schema()["$defs"]
    assert "resumed" in defs["JoinReply"]["required"]
    assert "self" in defs["Snapshot"]["properties"]
    assert "ice_servers" in defs["Snapshot"]["required"]
    # Request payloads keep their defaults optional.
    assert "passcode" not in defs["Join"].get("required", [])


def test_generated_typescript_is_from_this_schema() -> None:
    text = GENERATED_TS.read_text(encoding="utf-8")
    for name in ("ConveneProtocol", "JoinReply", "Snapshot", "SubscriberOffer", "ErrorCode"):
        assert f"export interface {name}" in text or f"export type {name}" in text, name
    for name in [*REQUESTS, *EVENTS]:
        key = (
            re.escape(name) if re.fullmatch(r"[A-Za-z_]\w*", name) else re.escape(json.dumps(name))
        )
        assert re.search(rf"^\s+{key}: ", text, re.MULTILINE), name


def _refs(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_refs(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_refs(item))
    return found
