"""Reading what can be read from a calendar file the parser refuses whole.

Calendar programs export files with one broken event often enough (cut off mid-event, a line
the parser chokes on), and refusing the whole file loses every good event in it. When
:func:`convene.calendars.busy.parse_calendars` fails, :func:`salvage` splits the text into its
components by their ``BEGIN``/``END`` lines and parses each ``VEVENT`` (and ``VFREEBUSY``) on its
own, inside a calendar carrying the file's own properties and time zones. What could not be
read is counted by reason (``truncated``: a ``BEGIN`` without its ``END``; ``unreadable_event``:
the parser refused it), never described by content.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from icalendar import Calendar

__all__ = ["Salvaged", "salvage"]

_BEGIN = re.compile(r"^BEGIN:([A-Za-z-]+)\s*$", re.IGNORECASE)
_END = re.compile(r"^END:([A-Za-z-]+)\s*$", re.IGNORECASE)
_ITEMS = frozenset({"VEVENT", "VFREEBUSY"})
_MAX_ITEMS = 100_000


@dataclass
class Salvaged:
    """The calendars rebuilt from the readable events, and how many were skipped, by reason."""

    calendars: list[Calendar] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def _unfold(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif raw.strip():
            lines.append(raw)
    return lines


def _blocks(lines: list[str]) -> tuple[list[str], list[list[str]], list[list[str]], Counter[str]]:
    """The calendar-level properties, the VTIMEZONE blocks, the item blocks, and the skips."""
    header: list[str] = []
    zones: list[list[str]] = []
    items: list[list[str]] = []
    skipped: Counter[str] = Counter()
    stack: list[str] = []
    current: list[str] = []
    for line in lines:
        begin = _BEGIN.match(line)
        end = _END.match(line)
        if begin:
            name = begin.group(1).upper()
            if name == "VCALENDAR":
                if len(stack) > 1:
                    skipped["truncated"] += 1  # a component cut off where the next calendar began
                stack, current = ["VCALENDAR"], []
                continue
            if len(stack) == 1:
                current = [line]
            elif len(stack) > 1 and stack[1] in _ITEMS and name in _ITEMS:
                # An event begins inside an event: the first one was cut off.
                skipped["truncated"] += 1
                stack, current = ["VCALENDAR"], [line]
            else:
                current.append(line)
            stack.append(name)
            continue
        if end:
            name = end.group(1).upper()
            if name == "VCALENDAR":
                if len(stack) > 1:
                    skipped["truncated"] += 1
                stack, current = [], []
                continue
            if not stack or stack[-1] != name:
                if len(stack) > 1:
                    skipped["truncated"] += 1
                    stack, current = ["VCALENDAR"], []
                continue
            current.append(line)
            stack.pop()
            if len(stack) == 1:
                kind = _BEGIN.match(current[0])
                component = kind.group(1).upper() if kind else ""
                if component == "VTIMEZONE":
                    zones.append(current)
                elif component in _ITEMS and len(items) < _MAX_ITEMS:
                    items.append(current)
                current = []
            continue
        if len(stack) == 1:
            header.append(line)
        elif len(stack) > 1:
            current.append(line)
    if len(stack) > 1:
        skipped["truncated"] += 1  # the file ends inside a component
    return header, zones, items, skipped


def _parse(lines: list[str]) -> Calendar | None:
    try:
        parsed = Calendar.from_ical("\r\n".join(lines) + "\r\n")
    except Exception:  # the parser's many exceptions all mean "not readable"
        return None
    return parsed if isinstance(parsed, Calendar) else None


def salvage(text: str) -> Salvaged:
    """The readable events of a broken iCalendar text, each in a calendar of its own."""
    header, zones, items, skipped = _blocks(_unfold(text))
    result = Salvaged(skipped=skipped)
    good_zones = [z for z in zones if _parse(["BEGIN:VCALENDAR", *z, "END:VCALENDAR"])]
    prefix = ["BEGIN:VCALENDAR", *header, *(line for z in good_zones for line in z)]
    if _parse([*prefix, "END:VCALENDAR"]) is None:
        prefix = ["BEGIN:VCALENDAR", "VERSION:2.0", *(line for z in good_zones for line in z)]
    for item in items:
        calendar = _parse([*prefix, *item, "END:VCALENDAR"])
        if calendar is None:
            result.skipped["unreadable_event"] += 1
        else:
            result.calendars.append(calendar)
    return result
