/**
 * Dates and times in IANA time zones, with nothing but Intl.
 *
 * An instant is a `Date` (or epoch milliseconds); a wall-clock time is a LocalDateTime, which
 * means nothing until it is read in a zone. Converting a wall-clock time to an instant follows
 * RFC 5545 §3.3.5, as the server does: a time that does not exist (the spring-forward gap) is read
 * with the offset before the gap (02:30 becomes 03:30), an ambiguous one (fall back) is the first.
 */
import { uiLocale } from "../i18n";

export interface LocalDate {
  year: number;
  /** 1..12 */
  month: number;
  /** 1..31 */
  day: number;
}

export interface LocalDateTime extends LocalDate {
  hour: number;
  minute: number;
}

/** Weekdays as iCalendar names them; index 0 is Monday. */
export const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const MINUTE = 60_000;
const DAY = 86_400_000;

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(zone: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    partsFormatters.set(zone, f);
  }
  return f;
}

/** Whether `zone` is an IANA zone this browser knows. */
export function isValidZone(zone: string): boolean {
  if (!zone) return false;
  try {
    partsFormatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** The browser's own zone (UTC when it will not say). */
export function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** Every zone the browser knows, for pickers; a short list on browsers without supportedValuesOf. */
export function allZones(): string[] {
  const intl = Intl as typeof Intl & { supportedValuesOf?: (key: "timeZone") => string[] };
  let zones: string[] = [];
  try {
    zones = intl.supportedValuesOf?.("timeZone") ?? [];
  } catch {
    zones = [];
  }
  if (zones.length === 0) zones = [...FALLBACK_ZONES];
  // Some browsers leave UTC out of the list.
  if (!zones.includes("UTC")) zones = ["UTC", ...zones];
  return zones;
}

const FALLBACK_ZONES = [
  "UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Rome", "Europe/Moscow",
  "Africa/Lagos", "Africa/Johannesburg", "Africa/Cairo", "Asia/Dubai", "Asia/Kolkata", "Asia/Shanghai",
  "Asia/Singapore", "Asia/Tokyo", "Asia/Seoul", "Australia/Sydney", "Pacific/Auckland",
  "America/Sao_Paulo", "America/Mexico_City", "America/New_York", "America/Chicago", "America/Denver",
  "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu",
];

/** The wall-clock reading of `instant` in `zone`. */
export function toLocal(instant: Date | number, zone: string): LocalDateTime {
  const parts = partsFormatter(zone).formatToParts(typeof instant === "number" ? instant : instant.getTime());
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour") % 24, minute: get("minute") };
}

/** Offset of `zone` from UTC at `instant`, in minutes (Paris in summer: 120). */
export function offsetMinutes(instant: Date | number, zone: string): number {
  const ms = typeof instant === "number" ? instant : instant.getTime();
  const parts = partsFormatter(zone).formatToParts(ms);
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour") % 24, get("minute"), get("second"));
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / MINUTE);
}

function sameLocal(a: LocalDateTime, b: LocalDateTime): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour && a.minute === b.minute;
}

/** The instant a wall-clock time in `zone` stands for (RFC 5545 rules for gaps and overlaps). */
export function fromLocal(local: LocalDateTime, zone: string): Date {
  const ms = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  // Offsets a day either side bracket any transition near this time.
  const before = offsetMinutes(ms - DAY, zone);
  const after = offsetMinutes(ms + DAY, zone);
  const candidates = [...new Set([ms - before * MINUTE, ms - after * MINUTE])]
    .filter((c) => sameLocal(toLocal(c, zone), local))
    .sort((a, b) => a - b);
  const first = candidates[0];
  // No candidate: the time falls in a gap; read it with the offset in force before the gap.
  return new Date(first ?? ms - before * MINUTE);
}

/**
 * Whether a wall-clock time exists once in `zone`: "nonexistent" in a spring-forward gap,
 * "ambiguous" when the clocks go back through it (the server refuses both for a start).
 */
export function wallTimeKind(local: LocalDateTime, zone: string): "ok" | "nonexistent" | "ambiguous" {
  const ms = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  const offsets = new Set([offsetMinutes(ms - DAY, zone), offsetMinutes(ms + DAY, zone)]);
  const matches = [...offsets].filter((o) => sameLocal(toLocal(ms - o * MINUTE, zone), local));
  if (matches.length === 0) return "nonexistent";
  return matches.length > 1 ? "ambiguous" : "ok";
}

/** Midnight starting `date` in `zone` (or the first instant of the day, if midnight is skipped). */
export function startOfDay(date: LocalDate, zone: string): Date {
  return fromLocal({ ...date, hour: 0, minute: 0 }, zone);
}

/** Length of a local day in hours: 23 or 25 on daylight-saving days, else 24. */
export function dayLengthHours(date: LocalDate, zone: string): number {
  return (startOfDay(addDays(date, 1), zone).getTime() - startOfDay(date, zone).getTime()) / 3_600_000;
}

export function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

export function addMonths(date: LocalDate, months: number): LocalDate {
  const first = new Date(Date.UTC(date.year, date.month - 1 + months, 1));
  const year = first.getUTCFullYear();
  const month = first.getUTCMonth() + 1;
  return { year, month, day: Math.min(date.day, daysInMonth(year, month)) };
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Monday 0 .. Sunday 6. */
export function weekdayIndex(date: LocalDate): number {
  return (new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay() + 6) % 7;
}

export function weekdayOf(date: LocalDate): Weekday {
  return WEEKDAYS[weekdayIndex(date)]!;
}

export function compareDates(a: LocalDate, b: LocalDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

export function sameDate(a: LocalDate, b: LocalDate): boolean {
  return compareDates(a, b) === 0;
}

/** The seven dates of the week holding `date`; weeks start on Monday unless told otherwise. */
export function weekDates(date: LocalDate, weekStartsOn = 0): LocalDate[] {
  const back = (weekdayIndex(date) - weekStartsOn + 7) % 7;
  const first = addDays(date, -back);
  return Array.from({ length: 7 }, (_, i) => addDays(first, i));
}

/** Today's date in `zone`. */
export function today(zone: string, now: Date | number = Date.now()): LocalDate {
  const { year, month, day } = toLocal(now, zone);
  return { year, month, day };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** "2025-03-30" */
export function formatIsoDate(date: LocalDate): string {
  return `${pad(date.year, 4)}-${pad(date.month)}-${pad(date.day)}`;
}

/** "09:30" */
export function formatIsoTime(local: { hour: number; minute: number }): string {
  return `${pad(local.hour)}:${pad(local.minute)}`;
}

/** "2025-03-30T09:30:00", a wall-clock time as the API takes it (no offset). */
export function formatIsoLocal(local: LocalDateTime): string {
  return `${formatIsoDate(local)}T${formatIsoTime(local)}:00`;
}

/** Reads "2025-03-30" (as from `<input type="date">`); null when malformed. */
export function parseIsoDate(text: string): LocalDate | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!m) return null;
  const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  if (date.month < 1 || date.month > 12 || date.day < 1 || date.day > daysInMonth(date.year, date.month)) return null;
  return date;
}

/** Reads "09:30" (as from `<input type="time">`); null when malformed. */
export function parseIsoTime(text: string): { hour: number; minute: number } | null {
  const m = /^(\d{1,2}):(\d{2})/.exec(text);
  if (!m) return null;
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  return hour < 24 && minute < 60 ? { hour, minute } : null;
}

/** Reads "2025-03-30T09:30[:00]" (no offset) into a wall-clock time. */
export function parseIsoLocal(text: string): LocalDateTime | null {
  const date = parseIsoDate(text);
  const time = parseIsoTime(text.slice(11));
  return date && time && text[10] === "T" ? { ...date, ...time } : null;
}

/** Minutes since the local midnight, on the wall clock (a day of 23 or 25 hours still reads 0..1439). */
export function wallMinutes(instant: Date | number, zone: string): number {
  const l = toLocal(instant, zone);
  return l.hour * 60 + l.minute;
}

// ---------------------------------------------------------------------------------------------
// Formatting for people (the UI's language unless a locale is given)

type Locale = string | undefined;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(given: Locale, zone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const locale = given ?? uiLocale();
  const key = `${locale ?? ""}|${zone}|${JSON.stringify(options)}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { ...options, timeZone: zone });
    formatters.set(key, f);
  }
  return f;
}

/** "09:30" or "9:30 AM", as the locale writes times. */
export function formatTime(instant: Date | number, zone: string, locale?: Locale): string {
  return formatter(locale, zone, { hour: "2-digit", minute: "2-digit" }).format(instant);
}

/** An hour for a time grid's labels: "9 AM", "09". */
export function formatHour(hour: number, locale?: Locale): string {
  return formatter(locale, "UTC", { hour: "numeric" }).format(Date.UTC(2000, 0, 1, hour));
}

/** "Mon 30 Mar" */
export function formatDay(instant: Date | number, zone: string, locale?: Locale): string {
  return formatter(locale, zone, { weekday: "short", day: "numeric", month: "short" }).format(instant);
}

const DAY_AND_TIME: Intl.DateTimeFormatOptions = { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };

/** "Mon 30 Mar, 09:30", as the locale puts a day and a time together. */
export function formatDateTime(instant: Date | number, zone: string, locale?: Locale): string {
  return formatter(locale, zone, DAY_AND_TIME).format(instant);
}

/** "Monday 30 March 2025" */
export function formatLongDay(instant: Date | number, zone: string, locale?: Locale): string {
  return formatter(locale, zone, { weekday: "long", day: "numeric", month: "long", year: "numeric" }).format(instant);
}

/** A local date as a day label, without any zone arithmetic ("Mon 30 Mar"). */
export function formatLocalDate(date: LocalDate, options: Intl.DateTimeFormatOptions, locale?: Locale): string {
  return formatter(locale, "UTC", options).format(Date.UTC(date.year, date.month - 1, date.day, 12));
}

/** A wall-clock time as the locale writes times ("14:30", "2:30 PM"), without any zone arithmetic. */
export function formatLocalTime(local: { hour: number; minute: number }, locale?: Locale): string {
  return formatter(locale, "UTC", { hour: "2-digit", minute: "2-digit" }).format(Date.UTC(2000, 0, 1, local.hour, local.minute));
}

/** Two local dates as one range, as the locale writes it ("9 – 15 Jun 2025", "2025年6月9日至15日"). */
export function formatLocalDateRange(from: LocalDate, to: LocalDate, options: Intl.DateTimeFormatOptions, locale?: Locale): string {
  const noon = (d: LocalDate) => Date.UTC(d.year, d.month - 1, d.day, 12);
  return formatter(locale, "UTC", options).formatRange(noon(from), noon(to));
}

/** "09:00–10:00" on one day, as the locale writes a range of times. */
export function formatTimeRange(start: Date | number, end: Date | number, zone: string, locale?: Locale): string {
  return formatter(locale, zone, { hour: "2-digit", minute: "2-digit" }).formatRange(start, end);
}

/**
 * "Mon 30 Mar, 09:00–10:00", "lun. 30 mars, 09:00 – 10:00", "الاثنين، 30 مارس، 9:00–10:00 ص": the
 * locale's own range pattern, which names the end's day only when it is another day.
 */
export function formatRange(start: Date | number, end: Date | number, zone: string, locale?: Locale): string {
  return formatter(locale, zone, DAY_AND_TIME).formatRange(start, end);
}

/** "GMT+2", "GMT-4:30", "GMT" */
export function formatOffset(minutes: number): string {
  if (minutes === 0) return "GMT";
  const sign = minutes > 0 ? "+" : "-";
  const abs = Math.abs(minutes);
  const h = Math.floor(abs / 60);
  const m = abs % 60;
  return `GMT${sign}${h}${m ? `:${pad(m)}` : ""}`;
}

/** "Europe/Paris (GMT+2)", for pickers and "times are shown in …". */
export function zoneLabel(zone: string, at: Date | number = Date.now()): string {
  return `${zone.replace(/_/g, " ")} (${formatOffset(offsetMinutes(at, zone))})`;
}

/** A weekday's name in the locale ("Tuesday", "mardi", "الثلاثاء"); 1 January 2024 was a Monday. */
export function weekdayName(day: Weekday, width: "long" | "short" = "long", locale?: Locale): string {
  return formatter(locale, "UTC", { weekday: width }).format(Date.UTC(2024, 0, 1 + WEEKDAYS.indexOf(day), 12));
}

/** Intl.DurationFormat (not in every browser yet, nor in TypeScript's library). */
type DurationFormatConstructor = new (
  locale: string | undefined,
  options: { style: "short" | "long" | "narrow" },
) => { format(duration: { hours?: number; minutes?: number }): string };

/**
 * "1 hr, 30 min", "1 h 30 min", "1小时30分钟", "١ س و٣٠ د", in the UI's language: Intl.DurationFormat
 * where the browser has it, else each unit through Intl.NumberFormat joined as a list of units.
 */
export function formatDuration(minutes: number, locale?: Locale, useDurationFormat = true): string {
  const lang = locale ?? uiLocale();
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  const parts = { ...(hours ? { hours } : {}), ...(rest || !hours ? { minutes: rest } : {}) };
  const DurationFormat = (Intl as unknown as { DurationFormat?: DurationFormatConstructor }).DurationFormat;
  if (DurationFormat && useDurationFormat) return new DurationFormat(lang, { style: "short" }).format(parts);
  const unit = (n: number, name: "hour" | "minute") =>
    new Intl.NumberFormat(lang, { style: "unit", unit: name, unitDisplay: "short" }).format(n);
  const shown = [...(parts.hours ? [unit(parts.hours, "hour")] : []), ...(parts.minutes !== undefined ? [unit(parts.minutes, "minute")] : [])];
  return new Intl.ListFormat(lang, { type: "unit", style: "short" }).format(shown);
}
