"""One JSON Schema document for the whole signaling protocol.

``python -m convene.protocol.schema`` prints it. The web client generates its TypeScript protocol
types from this output (``npm run gen-types`` in ``web/``), so the Python models in
:mod:`convene.protocol.messages` stay the single source of truth.

The document's ``$defs`` hold every request payload, reply and event model. Its root describes
three maps that the client's typed request and event helpers index into::

    requests:    {<request type>: {data: <payload model>, reply: <reply model>}}
    events:      {<event type>: <payload model>}
    error_codes: one of the stable ErrorCode values

Request payloads are described as the server validates them (fields with a default may be left
out); replies and events as the server serialises them, where every field is always present.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import core_schema

from convene.protocol.errors import ErrorCode
from convene.protocol.messages import EVENTS, REQUESTS

__all__ = ["protocol_schema", "render"]

_REF = "#/$defs/{model}"


class _WireSchema(GenerateJsonSchema):
    """Marks every serialised field as required.

    The server encodes with ``model_dump`` and never drops defaults, so a client reading a reply or
    an event can rely on each field being there (``null`` where the model allows it).
    """

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization":
            return field.get("serialization_exclude_if") is None and not field.get(
                "serialization_exclude", False
            )
        return super().field_is_required(field, total)


def _closed_object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def protocol_schema() -> dict[str, Any]:
    """Build the schema document (a plain dict, ready for ``json.dumps``)."""
    inputs: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for request_model, reply_model in REQUESTS.values():
        inputs.append((request_model, "validation"))
        inputs.append((reply_model, "serialization"))
    for event_model in EVENTS.values():
        inputs.append((event_model, "serialization"))
    # A model may be listed twice (``Empty`` serves several requests); keep the first of each.
    unique = list(dict.fromkeys(inputs))

    refs, top = models_json_schema(
        unique, ref_template=_REF, schema_generator=_WireSchema, by_alias=True
    )
    defs: dict[str, Any] = dict(top.get("$defs", {}))
    defs["ErrorCode"] = {
        "title": "ErrorCode",
        "description": "Stable error codes shared by the REST API and the signaling WebSocket.",
        "type": "string",
        "enum": [code.value for code in ErrorCode],
    }
    defs["ErrorBody"] = {
        "title": "ErrorBody",
        "description": "The error object of an `error` message and of every REST error.",
        "type": "object",
        "properties": {
            "code": {"$ref": _REF.format(model="ErrorCode")},
            "message": {"type": "string"},
            "details": {"type": "object", "additionalProperties": True},
        },
        "required": ["code", "message", "details"],
        "additionalProperties": False,
    }

    requests = _closed_object(
        {
            name: _closed_object(
                {
                    "data": refs[(request_model, "validation")],
                    "reply": refs[(reply_model, "serialization")],
                }
            )
            for name, (request_model, reply_model) in REQUESTS.items()
        }
    )
    events = _closed_object(
        {name: refs[(event_model, "serialization")] for name, event_model in EVENTS.items()}
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ConveneProtocol",
        "description": "Convene signaling: request payloads with their replies, and events.",
        "type": "object",
        "properties": {
            "requests": requests,
            "events": events,
            "error_codes": {"$ref": _REF.format(model="ErrorCode")},
        },
        "required": ["requests", "events", "error_codes"],
        "additionalProperties": False,
        "$defs": dict(sorted(defs.items())),
    }


def render() -> str:
    """The schema as the text that ``web/src/protocol/schema.json`` must hold."""
    return json.dumps(protocol_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
