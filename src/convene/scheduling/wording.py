"""What invitation and reminder emails say, in the reader's language (:mod:`convene.i18n`).

Whole sentences are messages of their own (never English words glued together), so each
language can order them its own way and agree its words; names, titles and times are filled
into ``{placeholders}``.
"""

from __future__ import annotations

from convene.i18n import Texts
from convene.protocol.errors import ConveneError
from convene.scheduling.recurrence import parse_rrule

__all__ = [
    "answer_sentence",
    "answer_sentence_for",
    "answer_words",
    "describe_rule",
    "quoted",
    "starts_in",
]


def quoted(t: Texts, title: str) -> str:
    """A meeting's title in the quotation marks of the language."""
    return t.gettext('"{title}"', title=title)


def starts_in(t: Texts, title: str, minutes: int) -> str:
    """``Design review starts in 10 minutes`` (now, minutes, whole hours or whole days)."""
    if minutes <= 0:
        return t.gettext("{title} starts now", title=title)
    if minutes % 1440 == 0:
        return t.ngettext(
            "{title} starts in {n} day", "{title} starts in {n} days", minutes // 1440, title=title
        )
    if minutes % 60 == 0:
        return t.ngettext(
            "{title} starts in {n} hour", "{title} starts in {n} hours", minutes // 60, title=title
        )
    return t.ngettext(
        "{title} starts in {n} minute", "{title} starts in {n} minutes", minutes, title=title
    )


def answer_words(t: Texts, partstat: str, *, who: str, title: str) -> str:
    """``Bob accepted: Planning`` (the subject of the note to the organiser)."""
    match partstat:
        case "ACCEPTED":
            return t.gettext("{who} accepted: {title}", who=who, title=title)
        case "TENTATIVE":
            return t.gettext("{who} may attend: {title}", who=who, title=title)
        case "DECLINED":
            return t.gettext("{who} declined: {title}", who=who, title=title)
        case _:
            return t.gettext("{who} answered: {title}", who=who, title=title)


def answer_sentence(t: Texts, partstat: str, *, who: str, email: str, title: str) -> str:
    """``Bob <bob@example.org> accepted "Planning".`` (without the date)."""
    params = {"who": who, "email": email, "title": title}
    match partstat:
        case "ACCEPTED":
            return t.gettext('{who} <{email}> accepted "{title}".', **params)
        case "TENTATIVE":
            return t.gettext('{who} <{email}> may attend "{title}".', **params)
        case "DECLINED":
            return t.gettext('{who} <{email}> declined "{title}".', **params)
        case _:
            return t.gettext('{who} <{email}> answered "{title}".', **params)


def answer_sentence_for(
    t: Texts, partstat: str, *, who: str, email: str, title: str, when: str
) -> str:
    """``Bob <bob@example.org> accepted "Planning" for Monday 9 March 2026, ...``."""
    params = {"who": who, "email": email, "title": title, "when": when}
    match partstat:
        case "ACCEPTED":
            return t.gettext('{who} <{email}> accepted "{title}" for {when}.', **params)
        case "TENTATIVE":
            return t.gettext('{who} <{email}> may attend "{title}" for {when}.', **params)
        case "DECLINED":
            return t.gettext('{who} <{email}> declined "{title}" for {when}.', **params)
        case _:
            return t.gettext('{who} <{email}> answered "{title}" for {when}.', **params)


def _ordinal_rule(t: Texts, rule: str, nth: int, day: str) -> str:
    match nth:
        case 1:
            return t.gettext("{rule} on the first {day}", rule=rule, day=day)
        case 2:
            return t.gettext("{rule} on the second {day}", rule=rule, day=day)
        case 3:
            return t.gettext("{rule} on the third {day}", rule=rule, day=day)
        case 4:
            return t.gettext("{rule} on the fourth {day}", rule=rule, day=day)
        case _:
            return t.gettext("{rule} on the last {day}", rule=rule, day=day)


def describe_rule(t: Texts, rrule: str, timezone: str) -> str:
    """A short reading of the recurrence (the calendar program shows the exact rule)."""
    try:
        spec = parse_rrule(rrule, timezone=timezone)
    except ConveneError:
        return t.gettext("Repeats")
    n = spec.interval
    # "Every day" is its own message: a plural form also serves other numbers (21 in Russian).
    if spec.weekdays:
        text = t.gettext("Repeats every weekday")
    elif spec.freq == "daily":
        if n == 1:
            text = t.gettext("Repeats every day")
        else:
            text = t.ngettext("Repeats every {n} day", "Repeats every {n} days", n)
    elif spec.freq == "weekly":
        if n == 1:
            text = t.gettext("Repeats every week")
        else:
            text = t.ngettext("Repeats every {n} week", "Repeats every {n} weeks", n)
    elif n == 1:
        text = t.gettext("Repeats every month")
    else:
        text = t.ngettext("Repeats every {n} month", "Repeats every {n} months", n)
    if spec.by_weekday:
        days = t.join([t.weekday(d) for d in spec.by_weekday])
        text = t.gettext("{rule} on {days}", rule=text, days=days)
    if spec.nth_weekday is not None:
        day = t.weekday(spec.nth_weekday.weekday)
        text = _ordinal_rule(t, text, spec.nth_weekday.nth, day)
    if spec.month_day is not None:
        if spec.month_day == -1:
            text = t.gettext("{rule} on the last day of the month", rule=text)
        else:
            text = t.gettext("{rule} on day {day}", rule=text, day=spec.month_day)
    if spec.count:
        text = t.ngettext("{rule}, {n} time", "{rule}, {n} times", spec.count, rule=text)
    elif spec.until:
        text = t.gettext("{rule}, until {date}", rule=text, date=t.date(spec.until))
    return text
