"""docs/protocol.md names every request and event of the JSON Schema, with the same fields.

A third-party client author reads only that page, so its tables must not drift from the models.
The data column lists fields in backticks: `name` or `name?` (optional), or `{a, b, c}` for an
event's payload; text in parentheses (allowed values, remarks) is not read as fields.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from convene.protocol.schema import protocol_schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def _tables(text: str) -> dict[str, dict[str, str]]:
    """Each markdown table's rows, keyed by its header line: {first cell's code: second cell}."""
    tables: dict[str, dict[str, str]] = {}
    header: str | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = " | ".join(cells)
            tables[header] = {}
        elif not set(line) <= set("|-: "):
            name = re.fullmatch(r"`([^`]+)`", cells[0])
            if name:
                tables[header][name.group(1)] = cells[1] if len(cells) > 1 else ""
    return tables


def _without_parentheses(text: str) -> str:
    while True:
        stripped = re.sub(r"\([^()]*\)", "", text)
        if stripped == text:
            return text
        text = stripped


def _top_level_keys(braced: str) -> set[str]:
    inner, depth, part, parts = braced.strip()[1:-1], 0, "", []
    for ch in inner:
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(part)
            part = ""
        else:
            part += ch
    parts.append(part)
    return {p.split(":")[0].strip().rstrip("?") for p in parts if p.strip()}


def documented_fields(cell: str) -> set[str]:
    tokens = re.findall(r"`([^`]+)`", _without_parentheses(cell))
    if not tokens or tokens[0] == "{}":
        return set()
    if tokens[0].startswith("{"):
        return _top_level_keys(tokens[0])
    return {t.split(":")[0].strip().rstrip("?") for t in tokens}


def _fields(schema: dict[str, Any], ref: dict[str, Any]) -> set[str]:
    model = schema["$defs"][ref["$ref"].rsplit("/", 1)[1]]
    return set(model.get("properties", {}))


def _table(tables: dict[str, dict[str, str]], header_start: str) -> dict[str, str]:
    found = [rows for header, rows in tables.items() if header.startswith(header_start)]
    assert len(found) == 1, f"docs/protocol.md needs one table headed {header_start!r}"
    return found[0]


def _compare(kind: str, expected: dict[str, set[str]], rows: dict[str, str]) -> list[str]:
    problems = []
    for name in sorted(set(expected) - set(rows)):
        problems.append(
            f"{kind} {name!r} is missing from the table (fields {sorted(expected[name])})"
        )
    for name in sorted(set(rows) - set(expected)):
        problems.append(f"{kind} {name!r} is in the table but not in the schema")
    for name in sorted(set(expected) & set(rows)):
        doc = documented_fields(rows[name])
        if doc != expected[name]:
            problems.append(
                f"{kind} {name!r}: missing {sorted(expected[name] - doc)}, "
                f"not in the schema {sorted(doc - expected[name])}"
            )
    return problems


def test_every_request_and_event_is_documented_with_its_fields() -> None:
    schema = protocol_schema()
    tables = _tables(DOC.read_text())
    requests = {
        name: _fields(schema, spec["properties"]["data"])
        for name, spec in schema["properties"]["requests"]["properties"].items()
    }
    events = {
        name: _fields(schema, ref)
        for name, ref in schema["properties"]["events"]["properties"].items()
    }
    problems = _compare("request", requests, _table(tables, "type | data | reply"))
    problems += _compare("event", events, _table(tables, "type | data | to"))
    assert not problems, "docs/protocol.md differs from the schema:\n" + "\n".join(problems)


def test_the_doc_parser_reads_fields_not_values() -> None:
    cell = "`source` (`main` or `screen`), `jsep` (offer), `add: [{feed, mid?}]`, `to?`"
    assert documented_fields(cell) == {"source", "jsep", "add", "to"}
    assert documented_fields("`{feed: {id, streams: [{mid}]}, by}`: `x`") == {"feed", "by"}
    assert documented_fields("`{}` (signed-in users only)") == set()
