"""iCalendar for scheduled meetings: building events from schedules, and reading iMIP replies.

Building (RFC 5545, iTIP RFC 5546)::

    cal = calendar_for(schedule, method="REQUEST", base_url=settings.base_url,
                       organizer_address="convene@example.org")
    data: bytes = cal.to_ical()

- :func:`calendar_for` -- one schedule as a VCALENDAR: ``METHOD`` REQUEST (invite or update),
  CANCEL (the series, one occurrence, or one uninvited attendee), PUBLISH, or None for a stored
  calendar object (CalDAV: no METHOD; attendees marked ``SCHEDULE-AGENT=CLIENT`` so the
  calendar server does not send invitations of its own, RFC 6638 §7.1).
- :func:`feed_calendar` -- many schedules as one PUBLISH calendar (the private feed).
- :func:`events_for` -- the VEVENTs of one schedule, for callers that assemble their own
  calendar.

A schedule becomes one master VEVENT (``DTSTART;TZID=`` in the organiser's zone, ``DURATION``,
``RRULE``, ``EXDATE`` for cancelled occurrences) plus one VEVENT with ``RECURRENCE-ID`` per
changed occurrence, or per occurrence that some invitee answered differently from the series.
Every zone used gets its ``VTIMEZONE``. The description carries the join link, the meeting code,
the passcode and the agenda; ``LOCATION``, ``URL`` and ``CONFERENCE`` (RFC 7986) the join link.

Reading: :func:`parse_reply` checks an iMIP REPLY strictly (size, one calendar, METHOD:REPLY,
one UID, one VEVENT per occurrence, exactly one ATTENDEE who is the same in each, a PARTSTAT
an invitee may give) and :func:`match_reply` ties it to a schedule (known UID, an invitee's
address, not answering an older SEQUENCE). Both raise :class:`ReplyError` (``invalid_request``)
with a message fit to show the person who sent it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vCalAddress, vRecur

from convene.i18n import Texts, texts_for
from convene.protocol.errors import ConveneError, ErrorCode
from convene.storage.schedules import AttendeeRecord, PartStat, ScheduleRecord

__all__ = [
    "MAX_REPLY_BYTES",
    "PRODID",
    "REPLY_PARTSTATS",
    "Method",
    "ParsedReply",
    "ReplyAnswer",
    "ReplyError",
    "calendar_for",
    "describe",
    "events_for",
    "feed_calendar",
    "join_url",
    "match_reply",
    "parse_reply",
]

PRODID = "-//Convene//Convene Scheduling//EN"
Method = Literal["REQUEST", "CANCEL", "PUBLISH"]

# A reply is one event answered, perhaps with a few occurrences: a few KiB. Anything much larger
# is not a reply, and parsing it would only cost time.
MAX_REPLY_BYTES = 64 * 1024
_MAX_REPLY_COMPONENTS = 200
REPLY_PARTSTATS: frozenset[str] = frozenset({"ACCEPTED", "TENTATIVE", "DECLINED"})

# How far VTIMEZONE transitions are written: calendar programs that read them (rather than
# mapping the IANA name) need them to cover every occurrence; open-ended series get ten years.
_OPEN_ENDED_YEARS = 10
_MAX_ZONE_YEARS = 30


def join_url(schedule: ScheduleRecord, base_url: str) -> str:
    """Where invitees join the schedule's meeting room."""
    return f"{base_url.rstrip('/')}/j/{schedule.meeting.link_token}"


def describe(
    schedule: ScheduleRecord,
    base_url: str,
    *,
    agenda: str | None = None,
    texts: Texts | None = None,
    join: str | None = None,
) -> str:
    """The event's DESCRIPTION: how to join (in the language of ``texts``, English by default),
    then the agenda. ``join``: a personal join link instead of the meeting's."""
    t = texts or texts_for(None)
    lines = [
        t.gettext("Join the meeting: {url}", url=join or join_url(schedule, base_url)),
        t.gettext("Meeting code: {code}", code=schedule.meeting.display_code),
    ]
    if schedule.meeting.passcode:
        lines.append(t.gettext("Passcode: {passcode}", passcode=schedule.meeting.passcode))
    text = "\n".join(lines)
    agenda = schedule.agenda if agenda is None else agenda
    if agenda.strip():
        text += "\n\n" + agenda.strip()
    return text


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # Zones are validated before anything is stored; an unknown one here means the zone
        # database lost it (an older tzdata), and UTC keeps the event readable.
        return ZoneInfo("UTC")


def _address(email: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    for key, value in params.items():
        address.params[key.replace("_", "-").upper()] = value
    return address


def _attendee(
    attendee: AttendeeRecord, partstat: PartStat, *, schedule_agent: str | None
) -> vCalAddress:
    params: dict[str, str] = {
        "CN": attendee.display_name or attendee.email,
        "CUTYPE": "INDIVIDUAL",
        "ROLE": "CHAIR"
        if attendee.cohost
        else ("REQ-PARTICIPANT" if attendee.required else "OPT-PARTICIPANT"),
        "PARTSTAT": partstat,
        "RSVP": "TRUE",
    }
    if schedule_agent:
        params["SCHEDULE_AGENT"] = schedule_agent
    return _address(attendee.email, **params)


@dataclass(frozen=True, slots=True)
class _Instance:
    """What one VEVENT says about an occurrence (or the whole series)."""

    recurrence_id: datetime | None  # UTC
    start: datetime  # aware, in its zone
    duration: timedelta
    title: str
    agenda: str
    sequence: int
    cancelled: bool


def _master(schedule: ScheduleRecord) -> _Instance:
    return _Instance(
        recurrence_id=None,
        start=schedule.start_local.replace(tzinfo=_zone(schedule.timezone)),
        duration=timedelta(minutes=schedule.duration_minutes),
        title=schedule.title,
        agenda=schedule.agenda,
        sequence=schedule.sequence,
        cancelled=schedule.status == "cancelled",
    )


def _override(schedule: ScheduleRecord, recurrence_id: datetime) -> _Instance:
    """An occurrence as changed by its exception (or as in the series when it has none)."""
    series_zone = _zone(schedule.timezone)
    exc = schedule.exception_for(recurrence_id)
    if exc is None:
        return _Instance(
            recurrence_id=recurrence_id,
            start=recurrence_id.astimezone(series_zone),
            duration=timedelta(minutes=schedule.duration_minutes),
            title=schedule.title,
            agenda=schedule.agenda,
            sequence=schedule.sequence,
            cancelled=False,
        )
    if exc.start_local is not None:
        start = exc.start_local.replace(tzinfo=_zone(exc.timezone or schedule.timezone))
    else:
        start = recurrence_id.astimezone(series_zone)
    return _Instance(
        recurrence_id=recurrence_id,
        start=start,
        duration=timedelta(minutes=exc.duration_minutes or schedule.duration_minutes),
        title=exc.title if exc.title is not None else schedule.title,
        agenda=exc.agenda if exc.agenda is not None else schedule.agenda,
        # Never below the master's: some programs ignore an override older than its series.
        sequence=max(exc.sequence, schedule.sequence),
        cancelled=exc.cancelled,
    )


def _event(
    schedule: ScheduleRecord,
    instance: _Instance,
    *,
    base_url: str,
    organizer_address: str,
    attendees: Sequence[AttendeeRecord] | None,
    schedule_agent: str | None,
    stamp: datetime,
    cancelled: bool,
    texts: Texts,
    join: str | None = None,
) -> Event:
    event = Event()
    event.add("UID", schedule.uid)
    event.add("DTSTAMP", stamp.astimezone(UTC))
    event.add("SEQUENCE", instance.sequence)
    series_zone = _zone(schedule.timezone)
    if instance.recurrence_id is not None:
        event.add("RECURRENCE-ID", instance.recurrence_id.astimezone(series_zone))
    event.add("DTSTART", instance.start)
    event.add("DURATION", instance.duration)
    if instance.recurrence_id is None and schedule.rrule:
        event.add("RRULE", vRecur.from_ical(schedule.rrule))
        exdates = sorted(
            e.recurrence_id.astimezone(series_zone) for e in schedule.exceptions if e.cancelled
        )
        if exdates:
            event.add("EXDATE", exdates)
    event.add("SUMMARY", instance.title)
    event.add(
        "DESCRIPTION",
        describe(schedule, base_url, agenda=instance.agenda, texts=texts, join=join),
    )
    url = join or join_url(schedule, base_url)
    event.add("LOCATION", url)
    event.add("URL", url)
    event.add(
        "CONFERENCE",
        url,
        parameters={
            "VALUE": "URI",
            "FEATURE": "AUDIO,VIDEO",
            "LABEL": texts.gettext("Join the meeting"),
        },
    )
    event.add("STATUS", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("TRANSP", "TRANSPARENT" if cancelled else "OPAQUE")
    event.add("CREATED", schedule.created_at.astimezone(UTC))
    event.add("LAST-MODIFIED", schedule.updated_at.astimezone(UTC))
    organizer_params = {"CN": schedule.organizer_name or schedule.organizer_email}
    if schedule_agent:
        organizer_params["SCHEDULE_AGENT"] = schedule_agent
    event.add("ORGANIZER", _address(organizer_address, **organizer_params))
    for attendee in attendees or ():
        partstat = attendee.partstat_for(instance.recurrence_id)
        event.add("ATTENDEE", _attendee(attendee, partstat, schedule_agent=schedule_agent))
    return event


def _answered_occurrences(schedule: ScheduleRecord) -> set[datetime]:
    """Occurrences some invitee answered differently from their answer for the series."""
    answered: set[datetime] = set()
    for attendee in schedule.attendees:
        for recurrence_id, partstat in attendee.occurrences.items():
            if partstat != attendee.partstat:
                answered.add(recurrence_id)
    return answered


def events_for(
    schedule: ScheduleRecord,
    *,
    method: Method | None,
    base_url: str,
    for_attendee: AttendeeRecord | None = None,
    recurrence_id: datetime | None = None,
    organizer_address: str | None = None,
    stamp: datetime | None = None,
    texts: Texts | None = None,
    join: str | None = None,
) -> list[Event]:
    """The VEVENTs of :func:`calendar_for` (same arguments), without the calendar around them."""
    words = texts or texts_for(None)
    organizer = organizer_address or schedule.organizer_email
    stamp = stamp or schedule.updated_at
    agent = "CLIENT" if method is None else None
    # RFC 5546 §3.2.1: a PUBLISH carries no ATTENDEE; a CANCEL to one uninvited person names only
    # them; anything else names everyone invited.
    attendees: Sequence[AttendeeRecord] | None
    if method == "PUBLISH":
        attendees = None
    elif method == "CANCEL" and for_attendee is not None:
        attendees = (for_attendee,)
    else:
        attendees = schedule.attendees

    def build(instance: _Instance, *, cancelled: bool) -> Event:
        return _event(
            schedule,
            instance,
            base_url=base_url,
            organizer_address=organizer,
            attendees=attendees,
            schedule_agent=agent,
            stamp=stamp,
            cancelled=cancelled,
            texts=words,
            join=join,
        )

    if recurrence_id is not None:
        rid = recurrence_id.astimezone(UTC)
        instance = _override(schedule, rid)
        return [build(instance, cancelled=method == "CANCEL" or instance.cancelled)]

    master = _master(schedule)
    series_cancelled = master.cancelled or (method == "CANCEL")
    events = [build(master, cancelled=series_cancelled)]
    if series_cancelled or not schedule.rrule:
        return events
    changed = {e.recurrence_id for e in schedule.exceptions if not e.cancelled}
    cancelled_ids = {e.recurrence_id for e in schedule.exceptions if e.cancelled}
    if attendees:
        changed |= _answered_occurrences(schedule) - cancelled_ids
    for rid in sorted(changed):
        events.append(build(_override(schedule, rid), cancelled=False))
    return events


def _zone_range(schedules: Iterable[ScheduleRecord]) -> tuple[date, date]:
    first: datetime | None = None
    last: datetime | None = None
    for schedule in schedules:
        starts = [schedule.first_start, *(e.recurrence_id for e in schedule.exceptions)]
        end = schedule.last_end or schedule.first_start + timedelta(days=365 * _OPEN_ENDED_YEARS)
        ends = [end, *(e.recurrence_id for e in schedule.exceptions)]
        low, high = min(starts), max(ends)
        first = low if first is None else min(first, low)
        last = high if last is None else max(last, high)
    if first is None or last is None:
        today = datetime.now(UTC).date()
        return today, today + timedelta(days=1)
    low_day = first.date() - timedelta(days=2)
    high_day = min(last.date(), low_day + timedelta(days=366 * _MAX_ZONE_YEARS))
    return low_day, high_day + timedelta(days=2)


def _calendar(method: Method | None) -> Calendar:
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    if method is not None:
        calendar.add("METHOD", method)
    return calendar


def _finish(calendar: Calendar, schedules: Sequence[ScheduleRecord]) -> Calendar:
    first, last = _zone_range(schedules)
    calendar.add_missing_timezones(first_date=first, last_date=last)
    return calendar


def calendar_for(
    schedule: ScheduleRecord,
    *,
    method: Method | None,
    base_url: str,
    for_attendee: AttendeeRecord | None = None,
    recurrence_id: datetime | None = None,
    organizer_address: str | None = None,
    stamp: datetime | None = None,
    texts: Texts | None = None,
    join: str | None = None,
) -> Calendar:
    """One schedule as a VCALENDAR.

    - ``method``: ``REQUEST`` (invitation or update), ``CANCEL``, ``PUBLISH``, or None for a
      calendar object stored on a server (CalDAV: no METHOD, ``SCHEDULE-AGENT=CLIENT``).
    - ``base_url``: the server's public URL, for the join link.
    - ``for_attendee``: the one invitee a CANCEL uninvites (only they are named in it).
    - ``recurrence_id``: one occurrence only (its original start; a CANCEL of that occurrence).
    - ``organizer_address``: the address in ORGANIZER (the organiser's own by default). iMIP
      mail puts Convene's reply address there, so calendar programs send their answers to it;
      the CN stays the organiser's name.
    - ``stamp``: DTSTAMP (default: the schedule's last change, so the same schedule gives the
      same bytes).
    - ``texts``: the language of the words Convene writes (the DESCRIPTION's join lines, the
      CONFERENCE label); English by default. The title and agenda are the organiser's own.
    - ``join``: the join link to give (an invitee's personal one); the meeting's by default.
    """
    calendar = _calendar(method)
    for event in events_for(
        schedule,
        method=method,
        base_url=base_url,
        for_attendee=for_attendee,
        recurrence_id=recurrence_id,
        organizer_address=organizer_address,
        stamp=stamp,
        texts=texts,
        join=join,
    ):
        calendar.add_component(event)
    return _finish(calendar, [schedule])


def feed_calendar(
    schedules: Sequence[ScheduleRecord],
    *,
    base_url: str,
    name: str = "Convene",
    stamp: datetime | None = None,
    refresh: timedelta = timedelta(minutes=15),
    texts: Texts | None = None,
) -> Calendar:
    """Many schedules as one PUBLISH calendar (a subscribed feed), with a name and a refresh
    interval calendar programs honour (RFC 7986 ``REFRESH-INTERVAL``, and ``X-PUBLISHED-TTL``
    for the programs that only know that)."""
    calendar = _calendar("PUBLISH")
    calendar.add("NAME", name)
    calendar.add("X-WR-CALNAME", name)
    calendar.add("REFRESH-INTERVAL", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", refresh)
    for schedule in schedules:
        events = events_for(schedule, method="PUBLISH", base_url=base_url, stamp=stamp, texts=texts)
        for event in events:
            calendar.add_component(event)
    return _finish(calendar, schedules)


# ------------------------------------------------------------------------------------------------
# Replies
# ------------------------------------------------------------------------------------------------


class ReplyError(ConveneError):
    """An iMIP REPLY that cannot be used; the message says why, for the person who sent it."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(ErrorCode.INVALID_REQUEST, message, dict(details))


@dataclass(frozen=True, slots=True)
class ReplyAnswer:
    """One answer: for the series (``recurrence_id`` None) or one occurrence.

    ``recurrence_id`` is aware UTC, or naive when the reply gave a floating time (it is then read
    in the schedule's zone by :func:`match_reply`)."""

    recurrence_id: datetime | None
    partstat: str


@dataclass(frozen=True, slots=True)
class ParsedReply:
    uid: str
    attendee_email: str
    answers: tuple[ReplyAnswer, ...]
    # None when the reply carries no SEQUENCE (allowed for replies).
    sequence: int | None
    comment: str | None = None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _single(component: Any, name: str) -> Any:
    value = component.get(name)
    if isinstance(value, list):
        raise ReplyError(f"the reply has more than one {name}")
    return value


def _email_of(address: Any) -> str:
    text = _text(address).strip()
    if not text.lower().startswith("mailto:"):
        raise ReplyError("the reply's ATTENDEE is not an email address (mailto:)")
    email = text[7:].strip().lower()
    if not email or "@" not in email or len(email) > 254:
        raise ReplyError("the reply's ATTENDEE is not an email address")
    return email


def _recurrence_id(component: Any) -> datetime | None:
    value = _single(component, "RECURRENCE-ID")
    if value is None:
        return None
    moment = getattr(value, "dt", None)
    if not isinstance(moment, datetime):
        raise ReplyError("the reply's RECURRENCE-ID must be a date and time")
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ReplyError("the reply's RECURRENCE-ID is out of range") from exc


def _decode(data: bytes | str) -> bytes:
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    if len(raw) > MAX_REPLY_BYTES:
        raise ReplyError(
            f"the reply is larger than {MAX_REPLY_BYTES // 1024} KiB", limit=MAX_REPLY_BYTES
        )
    if not raw.strip():
        raise ReplyError("the reply is empty")
    return raw


def _parse_calendar(raw: bytes) -> Calendar:
    try:
        calendars = Calendar.from_ical(raw, multiple=True)
    except RecursionError as exc:
        raise ReplyError("the reply is not a valid iCalendar document") from exc
    except Exception as exc:
        # icalendar raises ValueError, KeyError, IndexError... on malformed input: all mean the
        # same to the sender.
        raise ReplyError("the reply is not a valid iCalendar document") from exc
    if len(calendars) != 1 or calendars[0].name != "VCALENDAR":
        raise ReplyError("the reply must hold exactly one VCALENDAR")
    return calendars[0]


def parse_reply(data: bytes | str) -> ParsedReply:
    """Read an iMIP REPLY strictly; raise :class:`ReplyError` for anything else."""
    calendar = _parse_calendar(_decode(data))
    try:
        return _read_reply(calendar)
    except ReplyError:
        raise
    except Exception as exc:
        # Lazily decoded properties can still fail here (a malformed date, an odd parameter).
        raise ReplyError("the reply is not a valid iCalendar document") from exc


def _read_reply(calendar: Calendar) -> ParsedReply:
    method = _text(_single(calendar, "METHOD") or "").strip().upper()
    if method != "REPLY":
        raise ReplyError(f"the calendar's METHOD is {method or 'missing'}, not REPLY")
    components = calendar.walk()
    if len(components) > _MAX_REPLY_COMPONENTS:
        raise ReplyError("the reply has too many components")
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    others = {c.name for c in calendar.subcomponents} - {"VEVENT", "VTIMEZONE"}
    if others:
        raise ReplyError("the reply may only hold VEVENT and VTIMEZONE components")
    if not events:
        raise ReplyError("the reply holds no VEVENT")
    uids = {_text(_single(e, "UID") or "").strip() for e in events}
    if len(uids) != 1 or "" in uids:
        raise ReplyError("every VEVENT of the reply must have the same UID")
    uid = uids.pop()
    if len(uid) > 255:
        raise ReplyError("the reply's UID is too long")
    attendee_email: str | None = None
    answers: list[ReplyAnswer] = []
    seen: set[datetime | None] = set()
    sequences: set[int] = set()
    comment: str | None = None
    for event in events:
        attendees = event.get("ATTENDEE")
        if attendees is None or isinstance(attendees, list):
            raise ReplyError("each VEVENT of a reply must name exactly one ATTENDEE")
        email = _email_of(attendees)
        if attendee_email is None:
            attendee_email = email
        elif email != attendee_email:
            raise ReplyError("a reply answers for one ATTENDEE only")
        params = getattr(attendees, "params", {})
        partstat = _text(params.get("PARTSTAT", "")).strip().upper()
        if partstat not in REPLY_PARTSTATS:
            allowed = ", ".join(sorted(REPLY_PARTSTATS))
            raise ReplyError(
                f"the reply's PARTSTAT is {partstat or 'missing'}; expected one of {allowed}"
            )
        recurrence_id = _recurrence_id(event)
        if recurrence_id in seen:
            raise ReplyError("the reply answers the same occurrence twice")
        seen.add(recurrence_id)
        answers.append(ReplyAnswer(recurrence_id, partstat))
        sequence = _single(event, "SEQUENCE")
        if sequence is not None:
            try:
                sequences.add(int(sequence))
            except (TypeError, ValueError) as exc:
                raise ReplyError("the reply's SEQUENCE is not a number") from exc
        note = _single(event, "COMMENT")
        if note is not None and comment is None:
            comment = _text(note)[:500]
    assert attendee_email is not None
    return ParsedReply(
        uid=uid,
        attendee_email=attendee_email,
        answers=tuple(answers),
        sequence=max(sequences) if sequences else None,
        comment=comment,
    )


def match_reply(
    reply: ParsedReply, schedule: ScheduleRecord
) -> tuple[AttendeeRecord, list[tuple[datetime | None, PartStat]]]:
    """The invitee a reply is from, and their answers with recurrence ids in UTC.

    Refused: another schedule's UID, an address that is not invited, an answer to an older
    version of the invitation (a lower SEQUENCE: the times it accepted may have changed since).
    Whether each recurrence id is an occurrence of the schedule is left to the caller, who knows
    the recurrence rules.
    """
    if reply.uid != schedule.uid:
        raise ReplyError("the reply is about another event (its UID is not this schedule's)")
    attendee = schedule.attendee_for(email=reply.attendee_email)
    if attendee is None:
        raise ReplyError(
            "the reply is from someone who is not invited", attendee=reply.attendee_email
        )
    if reply.sequence is not None and reply.sequence < schedule.sequence:
        raise ReplyError(
            "the reply answers an earlier version of the invitation; the meeting changed since",
            sequence=reply.sequence,
            current_sequence=schedule.sequence,
        )
    zone = _zone(schedule.timezone)
    answers: list[tuple[datetime | None, PartStat]] = []
    for answer in reply.answers:
        rid = answer.recurrence_id
        if rid is not None and rid.tzinfo is None:
            rid = rid.replace(tzinfo=zone).astimezone(UTC)
        if rid is not None and not schedule.rrule:
            raise ReplyError("the reply answers an occurrence, but the meeting does not repeat")
        answers.append((rid, cast(PartStat, answer.partstat)))
    return attendee, answers
