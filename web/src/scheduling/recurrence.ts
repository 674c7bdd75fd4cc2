/**
 * Recurrence: the form people fill in ("every 2 weeks on Mon and Wed, until 30 June"), the
 * structured spec the API takes, its RRULE text (RFC 5545), and the summary people read.
 *
 *     RecurrenceForm --formToSpec--> RecurrenceSpec --specToRrule--> "FREQ=WEEKLY;INTERVAL=2;..."
 *          ^--------specToForm--------/          ^---parseRrule----/
 */
import { t, uiLocale } from "../i18n";
import {
  WEEKDAYS,
  compareDates,
  daysInMonth,
  formatIsoDate,
  formatLocalDate,
  fromLocal,
  parseIsoDate,
  toLocal,
  weekdayName,
  weekdayOf,
  type LocalDate,
  type Weekday,
} from "./time";

export type RepeatKind = "none" | "daily" | "weekdays" | "weekly" | "monthly";
export type MonthlyBy = "date" | "weekday";
export type RepeatEnd = "never" | "until" | "count";

/** What the recurrence controls of the scheduling dialog hold. */
export interface RecurrenceForm {
  repeat: RepeatKind;
  /** Every N days / weeks / months. */
  interval: number;
  /** Weekly: the days it happens on. */
  days: Weekday[];
  /** Monthly: on the same date (the 15th), or the same weekday of the month (the 2nd Tuesday). */
  monthlyBy: MonthlyBy;
  ends: RepeatEnd;
  /** "YYYY-MM-DD", the last day an occurrence may start on (in the meeting's zone). */
  until: string;
  count: number;
}

/** The n-th weekday of the month; `nth: -1` is the last. */
export interface NthWeekday {
  nth: 1 | 2 | 3 | 4 | -1;
  weekday: Weekday;
}

/**
 * A recurrence as the API takes it (`convene.scheduling.recurrence.RecurrenceSpec`):
 * daily every `interval` days (`weekdays`: Monday to Friday), weekly on `by_weekday`, monthly on
 * `month_day` or `nth_weekday`; ending `until` a date (inclusive, in the meeting's zone), after
 * `count` occurrences, or never.
 */
export interface RecurrenceSpec {
  freq: "daily" | "weekly" | "monthly";
  interval?: number;
  weekdays?: boolean;
  by_weekday?: Weekday[] | null;
  month_day?: number | null;
  nth_weekday?: NthWeekday | null;
  /** "YYYY-MM-DD" */
  until?: string | null;
  count?: number | null;
}

/** The server's limits on `interval`. */
export const MAX_INTERVAL: Record<RecurrenceSpec["freq"], number> = { daily: 365, weekly: 52, monthly: 24 };
export const MAX_COUNT = 1000;
const WORKWEEK: readonly Weekday[] = ["MO", "TU", "WE", "TH", "FR"];

/** Which week of its month a date falls in: 1..4, or -1 for the last (the fifth) one. */
export function weekOfMonth(date: LocalDate): NthWeekday["nth"] {
  const n = Math.ceil(date.day / 7);
  return n >= 5 ? -1 : (n as 1 | 2 | 3 | 4);
}

/** Whether the date is in the last seven days of its month (so "last <weekday>" applies). */
export function isLastWeekOfMonth(date: LocalDate): boolean {
  return date.day + 7 > daysInMonth(date.year, date.month);
}

export function defaultRecurrenceForm(start: LocalDate): RecurrenceForm {
  return {
    repeat: "none",
    interval: 1,
    days: [weekdayOf(start)],
    monthlyBy: "date",
    ends: "never",
    until: "",
    count: 10,
  };
}

function sortDays(days: Iterable<Weekday>): Weekday[] {
  return [...new Set(days)].sort((a, b) => WEEKDAYS.indexOf(a) - WEEKDAYS.indexOf(b));
}

/** A problem with the form for people to fix (in the UI's language), or null. */
export function validateRecurrence(form: RecurrenceForm, start: LocalDate): string | null {
  if (form.repeat === "none") return null;
  if (form.repeat !== "weekdays") {
    const max = MAX_INTERVAL[form.repeat];
    const unit = { daily: "day", weekly: "week", monthly: "month" }[form.repeat];
    if (!Number.isInteger(form.interval) || form.interval < 1 || form.interval > max) {
      return t("recurrence.error.interval", { unit, max });
    }
  }
  if (form.repeat === "weekly" && form.days.length === 0) return t("recurrence.error.noDays");
  if (form.ends === "until") {
    const until = parseIsoDate(form.until);
    if (!until) return t("recurrence.error.noUntil");
    if (compareDates(until, start) < 0) return t("recurrence.error.untilBeforeStart");
  }
  if (form.ends === "count" && (!Number.isInteger(form.count) || form.count < 1 || form.count > MAX_COUNT)) {
    return t("recurrence.error.count", { max: MAX_COUNT });
  }
  return null;
}

/** The API's spec for the form (null: a single meeting). Assumes validateRecurrence passed. */
export function formToSpec(form: RecurrenceForm, start: LocalDate): RecurrenceSpec | null {
  let spec: RecurrenceSpec;
  switch (form.repeat) {
    case "none":
      return null;
    case "daily":
      spec = { freq: "daily", interval: form.interval };
      break;
    case "weekdays":
      spec = { freq: "daily", interval: 1, weekdays: true };
      break;
    case "weekly":
      spec = { freq: "weekly", interval: form.interval, by_weekday: sortDays(form.days.length ? form.days : [weekdayOf(start)]) };
      break;
    case "monthly":
      spec = form.monthlyBy === "date"
        ? { freq: "monthly", interval: form.interval, month_day: start.day }
        : { freq: "monthly", interval: form.interval, nth_weekday: { nth: weekOfMonth(start), weekday: weekdayOf(start) } };
      break;
  }
  if (form.ends === "until" && form.until) spec.until = form.until;
  if (form.ends === "count") spec.count = form.count;
  return spec;
}

/** The form showing `spec` (for editing a schedule). */
export function specToForm(spec: RecurrenceSpec | null, start: LocalDate): RecurrenceForm {
  const form = defaultRecurrenceForm(start);
  if (!spec) return form;
  form.interval = Math.max(1, spec.interval ?? 1);
  if (spec.until) {
    form.ends = "until";
    form.until = spec.until;
  } else if (spec.count) {
    form.ends = "count";
    form.count = spec.count;
  }
  if (spec.freq === "daily") {
    form.repeat = spec.weekdays ? "weekdays" : "daily";
    if (spec.weekdays) form.days = [...WORKWEEK];
  } else if (spec.freq === "weekly") {
    const days = sortDays(spec.by_weekday ?? []);
    if (form.interval === 1 && days.join() === WORKWEEK.join()) {
      form.repeat = "weekdays";
      form.days = days;
    } else {
      form.repeat = "weekly";
      form.days = days.length ? days : [weekdayOf(start)];
    }
  } else {
    form.repeat = "monthly";
    form.monthlyBy = spec.nth_weekday ? "weekday" : "date";
  }
  return form;
}

/**
 * RRULE text for a spec, as the server writes it. RFC 5545 wants UNTIL in UTC when DTSTART has a
 * zone: the last second of the until-day in `zone`.
 */
export function specToRrule(spec: RecurrenceSpec, zone: string): string {
  const parts = [`FREQ=${spec.freq.toUpperCase()}`];
  if ((spec.interval ?? 1) !== 1) parts.push(`INTERVAL=${spec.interval}`);
  if (spec.weekdays) parts.push(`BYDAY=${WORKWEEK.join(",")}`);
  if (spec.by_weekday?.length) parts.push(`BYDAY=${sortDays(spec.by_weekday).join(",")}`);
  if (spec.month_day) parts.push(`BYMONTHDAY=${spec.month_day}`);
  if (spec.nth_weekday) parts.push(`BYDAY=${spec.nth_weekday.nth}${spec.nth_weekday.weekday}`);
  const until = spec.until ? parseIsoDate(spec.until) : null;
  if (until) {
    const end = new Date(fromLocal({ ...until, hour: 23, minute: 59 }, zone).getTime() + 59_000);
    parts.push(`UNTIL=${end.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "")}`);
  }
  if (spec.count) parts.push(`COUNT=${spec.count}`);
  return parts.join(";");
}

const BY_DAY = /^([+-]?\d)?(MO|TU|WE|TH|FR|SA|SU)$/;

/** Reads RRULE text (what Convene writes, and the BYSETPOS shape); null if unusable. */
export function parseRrule(text: string, zone: string): RecurrenceSpec | null {
  const fields = new Map<string, string>();
  for (const part of text.trim().replace(/^RRULE:/i, "").split(";")) {
    const [key, value] = part.split("=", 2);
    if (key && value) fields.set(key.toUpperCase(), value.toUpperCase());
  }
  const freq = fields.get("FREQ")?.toLowerCase();
  if (freq !== "daily" && freq !== "weekly" && freq !== "monthly") return null;
  const spec: RecurrenceSpec = { freq, interval: Math.max(1, Number(fields.get("INTERVAL") ?? 1) || 1) };
  const days = (fields.get("BYDAY")?.split(",") ?? [])
    .map((d) => BY_DAY.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ nth: m[1] ? Number(m[1]) : null, weekday: m[2] as Weekday }));
  const setPos = Number(fields.get("BYSETPOS"));
  if (freq === "monthly") {
    const first = days[0];
    const nth = first?.nth ?? (Number.isInteger(setPos) && setPos !== 0 ? setPos : null);
    if (first && nth !== null && [1, 2, 3, 4, -1].includes(nth)) {
      spec.nth_weekday = { nth: nth as NthWeekday["nth"], weekday: first.weekday };
    }
    const monthDay = Number(fields.get("BYMONTHDAY"));
    if (Number.isInteger(monthDay) && monthDay !== 0) spec.month_day = monthDay;
  } else if (days.length) {
    const names = sortDays(days.map((d) => d.weekday));
    if (freq === "daily" && names.join() === WORKWEEK.join()) spec.weekdays = true;
    else if (freq === "weekly") spec.by_weekday = names;
  }
  const until = fields.get("UNTIL");
  const count = Number(fields.get("COUNT"));
  if (until) {
    const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(until);
    if (m) {
      const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
      spec.until = m[7]
        ? formatIsoDate(toLocal(Date.UTC(date.year, date.month - 1, date.day, Number(m[4]), Number(m[5]), Number(m[6])), zone))
        : formatIsoDate(date);
    }
  }
  if (Number.isInteger(count) && count > 0) spec.count = count;
  return spec;
}

const ORDINAL = { "1": "first", "2": "second", "3": "third", "4": "fourth", "-1": "last" } as const;

/** The rule without its end, as a catalogue message. */
function ruleText(spec: RecurrenceSpec, start: LocalDate, locale: string): string {
  const interval = spec.interval ?? 1;
  if (spec.freq === "daily") return spec.weekdays ? t("recurrence.weekdays") : t("recurrence.daily", { interval });
  if (spec.freq === "weekly") {
    const names = sortDays(spec.by_weekday ?? []);
    if (interval === 1 && names.join() === WORKWEEK.join()) return t("recurrence.weekdays");
    const shown = names.length ? names : [weekdayOf(start)];
    // Each day as the language puts it in a list ("le lundi"), then the list as the language joins it.
    const items = shown.map((d) => t("recurrence.weeklyDay", { weekday: d, day: weekdayName(d, "long", locale) }));
    const days = new Intl.ListFormat(locale, { type: "conjunction" }).format(items);
    return t("recurrence.weekly", { interval, days, dayCount: shown.length });
  }
  if (spec.nth_weekday) {
    const { nth, weekday } = spec.nth_weekday;
    return t("recurrence.monthlyWeekday", { interval, nth: ORDINAL[`${nth}`], weekday, day: weekdayName(weekday, "long", locale) });
  }
  const day = spec.month_day ?? start.day;
  return day === -1 ? t("recurrence.monthlyLastDay", { interval }) : t("recurrence.monthlyDay", { interval, day });
}

/**
 * What people read, in the UI's language: "Every 2 weeks on Monday and Wednesday until 30 June",
 * "Every weekday, 10 times", "Каждый второй вторник месяца". Each part is an ICU message (plurals
 * for counts and intervals, selects for the weekday's grammar), days joined with Intl.ListFormat,
 * names and dates from Intl. `start` is the first meeting's date in the meeting's zone; `locale`
 * formats names and dates (the UI's by default).
 */
export function recurrenceSummary(spec: RecurrenceSpec | null, start: LocalDate, locale: string | undefined = undefined): string {
  if (!spec) return t("recurrence.none");
  const lang = locale ?? uiLocale();
  const rule = ruleText(spec, start, lang);
  const until = spec.until ? parseIsoDate(spec.until) : null;
  if (until) {
    const options: Intl.DateTimeFormatOptions = until.year === start.year
      ? { day: "numeric", month: "long" }
      : { day: "numeric", month: "long", year: "numeric" };
    return t("recurrence.withEnd", { rule, end: "until", date: formatLocalDate(until, options, lang), count: 0 });
  }
  if (spec.count) return t("recurrence.withEnd", { rule, end: "count", date: "", count: spec.count });
  return t("recurrence.withEnd", { rule, end: "never", date: "", count: 0 });
}
