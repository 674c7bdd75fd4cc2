/**
 * Recurrence: the form people fill in ("every 2 weeks on Mon and Wed, until 30 June"), the
 * structured spec the API takes, its RRULE text (RFC 5545), and the summary people read.
 *
 *     RecurrenceForm --formToSpec--> RecurrenceSpec --specToRrule--> "FREQ=WEEKLY;INTERVAL=2;..."
 *          ^--------specToForm--------/          ^---parseRrule----/
 */
import {
  WEEKDAYS,
  WEEKDAY_LONG,
  WEEKDAY_SHORT,
  compareDates,
  daysInMonth,
  formatIsoDate,
  formatLocalDate,
  fromLocal,
  parseIsoDate,
  toLocal,
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

/** A recurrence as the API takes it: RRULE's parts, named. */
export interface RecurrenceSpec {
  freq: "DAILY" | "WEEKLY" | "MONTHLY";
  interval: number;
  /** Weekly: ["MO", "WE"]; monthly by weekday: ["2TU"] or ["-1FR"] (the last Friday). */
  by_day?: string[];
  /** Monthly by date: [15]. */
  by_month_day?: number[];
  /** "YYYY-MM-DD", inclusive, in the meeting's zone. */
  until?: string;
  count?: number;
}

export const MAX_INTERVAL = 99;
export const MAX_COUNT = 1000;
const WORKWEEK: readonly Weekday[] = ["MO", "TU", "WE", "TH", "FR"];

/** Which week of its month a date falls in: 1..4, or -1 for the last (the fifth) one. */
export function weekOfMonth(date: LocalDate): number {
  const n = Math.ceil(date.day / 7);
  return n >= 5 ? -1 : n;
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

/** A problem with the form for people to fix, or null. */
export function validateRecurrence(form: RecurrenceForm, start: LocalDate): string | null {
  if (form.repeat === "none") return null;
  if (form.repeat !== "weekdays" && (!Number.isInteger(form.interval) || form.interval < 1 || form.interval > MAX_INTERVAL)) {
    return `Repeat every 1 to ${MAX_INTERVAL}.`;
  }
  if (form.repeat === "weekly" && form.days.length === 0) return "Choose at least one day of the week.";
  if (form.ends === "until") {
    const until = parseIsoDate(form.until);
    if (!until) return "Choose the date the meeting repeats until.";
    if (compareDates(until, start) < 0) return "The end date is before the first meeting.";
  }
  if (form.ends === "count" && (!Number.isInteger(form.count) || form.count < 1 || form.count > MAX_COUNT)) {
    return `Repeat 1 to ${MAX_COUNT} times.`;
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
      spec = { freq: "DAILY", interval: form.interval };
      break;
    case "weekdays":
      spec = { freq: "WEEKLY", interval: 1, by_day: [...WORKWEEK] };
      break;
    case "weekly":
      spec = { freq: "WEEKLY", interval: form.interval, by_day: sortDays(form.days.length ? form.days : [weekdayOf(start)]) };
      break;
    case "monthly":
      spec = form.monthlyBy === "date"
        ? { freq: "MONTHLY", interval: form.interval, by_month_day: [start.day] }
        : { freq: "MONTHLY", interval: form.interval, by_day: [`${weekOfMonth(start)}${weekdayOf(start)}`] };
      break;
  }
  if (form.ends === "until" && form.until) spec.until = form.until;
  if (form.ends === "count") spec.count = form.count;
  return spec;
}

const BY_DAY = /^([+-]?\d)?(MO|TU|WE|TH|FR|SA|SU)$/;

/** The form showing `spec` (for editing a schedule). Unknown shapes keep what they can. */
export function specToForm(spec: RecurrenceSpec | null, start: LocalDate): RecurrenceForm {
  const form = defaultRecurrenceForm(start);
  if (!spec) return form;
  form.interval = Math.max(1, spec.interval || 1);
  if (spec.until) {
    form.ends = "until";
    form.until = spec.until;
  } else if (spec.count) {
    form.ends = "count";
    form.count = spec.count;
  }
  const byDay = (spec.by_day ?? []).map((d) => BY_DAY.exec(d)).filter((m): m is RegExpExecArray => m !== null);
  if (spec.freq === "DAILY") {
    form.repeat = "daily";
  } else if (spec.freq === "WEEKLY") {
    const days = sortDays(byDay.map((m) => m[2] as Weekday));
    if (form.interval === 1 && days.join() === WORKWEEK.join()) {
      form.repeat = "weekdays";
      form.days = days;
    } else {
      form.repeat = "weekly";
      form.days = days.length ? days : [weekdayOf(start)];
    }
  } else {
    form.repeat = "monthly";
    form.monthlyBy = byDay.some((m) => m[1]) ? "weekday" : "date";
  }
  return form;
}

/**
 * RRULE text for a spec. RFC 5545 wants UNTIL in UTC when DTSTART has a zone: the end of the
 * until-day in `zone`.
 */
export function specToRrule(spec: RecurrenceSpec, zone: string): string {
  const parts = [`FREQ=${spec.freq}`];
  if (spec.interval > 1) parts.push(`INTERVAL=${spec.interval}`);
  if (spec.by_day?.length) parts.push(`BYDAY=${spec.by_day.join(",")}`);
  if (spec.by_month_day?.length) parts.push(`BYMONTHDAY=${spec.by_month_day.join(",")}`);
  const until = spec.until ? parseIsoDate(spec.until) : null;
  if (until) {
    const end = new Date(fromLocal({ ...until, hour: 23, minute: 59 }, zone).getTime() + 59_000);
    parts.push(`UNTIL=${end.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "")}`);
  } else if (spec.count) {
    parts.push(`COUNT=${spec.count}`);
  }
  return parts.join(";");
}

/** Reads RRULE text (what Convene writes, and the common shapes others write); null if unusable. */
export function parseRrule(text: string, zone: string): RecurrenceSpec | null {
  const fields = new Map<string, string>();
  for (const part of text.replace(/^RRULE:/i, "").split(";")) {
    const [key, value] = part.split("=", 2);
    if (key && value) fields.set(key.toUpperCase(), value.toUpperCase());
  }
  const freq = fields.get("FREQ");
  if (freq !== "DAILY" && freq !== "WEEKLY" && freq !== "MONTHLY") return null;
  const spec: RecurrenceSpec = { freq, interval: Math.max(1, Number(fields.get("INTERVAL") ?? 1) || 1) };
  let byDay = fields.get("BYDAY")?.split(",").filter((d) => BY_DAY.test(d));
  const setPos = fields.get("BYSETPOS");
  if (byDay?.length === 1 && setPos && freq === "MONTHLY") byDay = [`${Number(setPos)}${byDay[0]}`];
  if (byDay?.length) spec.by_day = byDay;
  const byMonthDay = fields.get("BYMONTHDAY")?.split(",").map(Number).filter((n) => Number.isInteger(n) && n !== 0);
  if (byMonthDay?.length) spec.by_month_day = byMonthDay;
  const until = fields.get("UNTIL");
  const count = Number(fields.get("COUNT"));
  if (until) {
    const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(until);
    if (m) {
      const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
      if (m[7]) {
        const instant = Date.UTC(date.year, date.month - 1, date.day, Number(m[4]), Number(m[5]), Number(m[6]));
        const local = toLocal(instant, zone);
        spec.until = formatIsoDate(local);
      } else {
        spec.until = formatIsoDate(date);
      }
    }
  } else if (Number.isInteger(count) && count > 0) {
    spec.count = count;
  }
  return spec;
}

const ORDINAL: Record<string, string> = { "1": "first", "2": "second", "3": "third", "4": "fourth", "-1": "last" };

function unit(n: number, one: string): string {
  return n === 1 ? `Every ${one}` : `Every ${n} ${one}s`;
}

/**
 * What people read: "Every 2 weeks on Mon, Wed until 30 Jun", "Every weekday, 10 times",
 * "Every month on the second Tuesday". `start` is the first meeting's date in the meeting's zone.
 */
export function recurrenceSummary(spec: RecurrenceSpec | null, start: LocalDate, locale: string | undefined = "en-GB"): string {
  if (!spec) return "Does not repeat";
  const days = (spec.by_day ?? []).map((d) => BY_DAY.exec(d)).filter((m): m is RegExpExecArray => m !== null);
  let text: string;
  if (spec.freq === "DAILY") {
    text = unit(spec.interval, "day");
  } else if (spec.freq === "WEEKLY") {
    const names = sortDays(days.map((m) => m[2] as Weekday));
    if (spec.interval === 1 && names.join() === WORKWEEK.join()) {
      text = "Every weekday";
    } else {
      const list = (names.length ? names : [weekdayOf(start)]).map((d) => WEEKDAY_SHORT[d]).join(", ");
      text = `${unit(spec.interval, "week")} on ${list}`;
    }
  } else {
    const nth = days.find((m) => m[1]);
    if (nth) {
      text = `${unit(spec.interval, "month")} on the ${ORDINAL[String(Number(nth[1]))] ?? `${nth[1]}th`} ${WEEKDAY_LONG[nth[2] as Weekday]}`;
    } else {
      text = `${unit(spec.interval, "month")} on day ${spec.by_month_day?.[0] ?? start.day}`;
    }
  }
  const until = spec.until ? parseIsoDate(spec.until) : null;
  if (until) {
    const options: Intl.DateTimeFormatOptions = until.year === start.year
      ? { day: "numeric", month: "short" }
      : { day: "numeric", month: "short", year: "numeric" };
    text += ` until ${formatLocalDate(until, options, locale)}`;
  } else if (spec.count) {
    text += spec.count === 1 ? ", once" : `, ${spec.count} times`;
  }
  return text;
}
