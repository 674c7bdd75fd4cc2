import { afterEach, describe, expect, it } from "vitest";
import { language } from "../i18n";
import {
  addDays,
  dayLengthHours,
  formatDuration,
  formatLocalDateRange,
  formatLocalTime,
  formatOffset,
  formatRange,
  fromLocal,
  offsetMinutes,
  parseIsoLocal,
  startOfDay,
  toLocal,
  wallMinutes,
  wallTimeKind,
  weekDates,
  weekdayName,
  zoneLabel,
} from "./time";

const at = (y: number, mo: number, d: number, h = 0, mi = 0) => ({ year: y, month: mo, day: d, hour: h, minute: mi });

describe("zone conversions", () => {
  it("reads an instant in several zones", () => {
    const t = Date.UTC(2025, 5, 2, 7, 30); // 2 Jun 2025 07:30 UTC
    expect(toLocal(t, "UTC")).toEqual(at(2025, 6, 2, 7, 30));
    expect(toLocal(t, "Europe/Paris")).toEqual(at(2025, 6, 2, 9, 30));
    expect(toLocal(t, "America/New_York")).toEqual(at(2025, 6, 2, 3, 30));
    expect(toLocal(t, "Asia/Kolkata")).toEqual(at(2025, 6, 2, 13, 0));
    expect(toLocal(t, "Pacific/Auckland")).toEqual(at(2025, 6, 2, 19, 30));
  });

  it("knows each zone's offset, summer and winter", () => {
    expect(offsetMinutes(Date.UTC(2025, 0, 15), "Europe/Paris")).toBe(60);
    expect(offsetMinutes(Date.UTC(2025, 6, 15), "Europe/Paris")).toBe(120);
    expect(offsetMinutes(Date.UTC(2025, 6, 15), "America/Los_Angeles")).toBe(-420);
    expect(offsetMinutes(Date.UTC(2025, 6, 15), "Asia/Kathmandu")).toBe(345);
  });

  it("turns a wall-clock time into the instant, both ways round", () => {
    const local = at(2025, 11, 3, 9, 0);
    const instant = fromLocal(local, "America/New_York");
    expect(instant.toISOString()).toBe("2025-11-03T14:00:00.000Z");
    expect(toLocal(instant, "America/New_York")).toEqual(local);
    expect(fromLocal(at(2025, 7, 1, 9, 0), "America/New_York").toISOString()).toBe("2025-07-01T13:00:00.000Z");
  });

  it("reads a time in the spring-forward gap with the offset before it (02:30 is 03:30)", () => {
    // New York skips 02:00-03:00 on 9 March 2025.
    const instant = fromLocal(at(2025, 3, 9, 2, 30), "America/New_York");
    expect(instant.toISOString()).toBe("2025-03-09T07:30:00.000Z");
    expect(toLocal(instant, "America/New_York")).toEqual(at(2025, 3, 9, 3, 30));
  });

  it("reads an ambiguous fall-back time as the first of the two", () => {
    // Paris goes through 02:00-03:00 twice on 26 October 2025; the first is still summer time.
    expect(fromLocal(at(2025, 10, 26, 2, 30), "Europe/Paris").toISOString()).toBe("2025-10-26T00:30:00.000Z");
  });

  it("knows wall-clock times that do not exist or happen twice", () => {
    expect(wallTimeKind(at(2025, 3, 9, 2, 30), "America/New_York")).toBe("nonexistent");
    expect(wallTimeKind(at(2025, 11, 2, 1, 30), "America/New_York")).toBe("ambiguous");
    expect(wallTimeKind(at(2025, 11, 2, 3, 30), "America/New_York")).toBe("ok");
    expect(wallTimeKind(at(2025, 3, 30, 2, 15), "Europe/Paris")).toBe("nonexistent");
    expect(wallTimeKind(at(2025, 3, 30, 2, 15), "UTC")).toBe("ok");
  });

  it("parses the API's wall-clock times", () => {
    expect(parseIsoLocal("2025-06-30T09:05:00")).toEqual(at(2025, 6, 30, 9, 5));
    expect(parseIsoLocal("2025-06-31T09:05")).toBeNull();
    expect(parseIsoLocal("nonsense")).toBeNull();
  });
});

describe("days and weeks across daylight-saving changes", () => {
  it("has 23 and 25 hour days", () => {
    expect(dayLengthHours({ year: 2025, month: 3, day: 30 }, "Europe/Paris")).toBe(23);
    expect(dayLengthHours({ year: 2025, month: 10, day: 26 }, "Europe/Paris")).toBe(25);
    expect(dayLengthHours({ year: 2025, month: 10, day: 27 }, "Europe/Paris")).toBe(24);
  });

  it("lays a week out by local dates, each starting at its own midnight", () => {
    // The week of 24-30 March 2025 ends on Paris's spring-forward Sunday.
    const days = weekDates({ year: 2025, month: 3, day: 27 });
    expect(days[0]).toEqual({ year: 2025, month: 3, day: 24 });
    expect(days[6]).toEqual({ year: 2025, month: 3, day: 30 });
    const starts = days.map((d) => startOfDay(d, "Europe/Paris").toISOString());
    expect(starts[5]).toBe("2025-03-28T23:00:00.000Z");
    expect(starts[6]).toBe("2025-03-29T23:00:00.000Z");
    // The next Monday's midnight is an hour closer: the Sunday had 23 hours.
    expect(startOfDay(addDays(days[6]!, 1), "Europe/Paris").toISOString()).toBe("2025-03-30T22:00:00.000Z");
  });

  it("starts the week on another day when asked", () => {
    expect(weekDates({ year: 2025, month: 3, day: 27 }, 6)[0]).toEqual({ year: 2025, month: 3, day: 23 });
  });

  it("places events by the wall clock on a daylight-saving day", () => {
    // 10:00 Paris time on the short day is still 600 minutes into the day on the grid.
    const ten = fromLocal(at(2025, 3, 30, 10, 0), "Europe/Paris");
    expect(ten.toISOString()).toBe("2025-03-30T08:00:00.000Z");
    expect(wallMinutes(ten, "Europe/Paris")).toBe(600);
  });

  it("crosses month and year ends", () => {
    expect(addDays({ year: 2024, month: 12, day: 31 }, 1)).toEqual({ year: 2025, month: 1, day: 1 });
    expect(addDays({ year: 2024, month: 3, day: 1 }, -1)).toEqual({ year: 2024, month: 2, day: 29 });
  });
});

describe("formatting", () => {
  it("writes offsets and zone labels", () => {
    expect(formatOffset(0)).toBe("GMT");
    expect(formatOffset(120)).toBe("GMT+2");
    expect(formatOffset(-270)).toBe("GMT-4:30");
    expect(zoneLabel("America/New_York", Date.UTC(2025, 0, 1))).toBe("America/New York (GMT-5)");
  });

  it("writes a range in the viewer's zone", () => {
    const start = Date.UTC(2025, 5, 2, 7, 30);
    const end = start + 3_600_000;
    expect(spaces(formatRange(start, end, "Europe/Paris", "en-GB"))).toBe("Mon 2 Jun, 09:30–10:30");
    expect(spaces(formatRange(start, end, "America/Los_Angeles", "en-GB"))).toBe("Mon 2 Jun, 00:30–01:30");
    expect(spaces(formatRange(start - 3_600_000, end, "America/Los_Angeles", "en-GB"))).toBe("Sun 1 Jun, 23:30 – Mon 2 Jun, 01:30");
    // Each language's own pattern: its comma, its order, AM/PM said once.
    expect(spaces(formatRange(start, end, "Europe/Paris", "fr"))).toBe("lun. 2 juin, 09:30 – 10:30");
    expect(formatRange(start, end, "Europe/Paris", "ar")).toContain("،");
    expect(spaces(formatRange(start, end, "Europe/Paris", "ru"))).toBe("пн, 2 июн., 09:30–10:30");
  });
});

/** Intl's no-break and thin spaces as plain ones (which of them a locale uses varies with ICU). */
const spaces = (text: string) => text.replace(/[\u00a0\u2009\u202f]/g, " ");

describe("durations", () => {
  afterEach(() => language.setAccount(null));

  type DurationFormat = new (locale: string, options: { style: "short" }) => { format(d: object): string };
  const engine = (Intl as unknown as { DurationFormat?: DurationFormat }).DurationFormat;

  it("are written with Intl's units in each language when there is no Intl.DurationFormat", () => {
    const fallback = (minutes: number, locale: string) => spaces(formatDuration(minutes, locale, false));
    expect([15, 60, 90, 480].map((m) => fallback(m, "en"))).toEqual(["15 min", "1 hr", "1 hr, 30 min", "8 hr"]);
    expect([15, 60, 90].map((m) => fallback(m, "fr"))).toEqual(["15 min", "1 h", "1 h et 30 min"]);
    expect([15, 60, 90].map((m) => fallback(m, "ru"))).toEqual(["15 мин", "1 ч", "1 ч 30 мин"]);
    expect([15, 60, 90].map((m) => fallback(m, "zh-Hans"))).toEqual(["15分钟", "1小时", "1小时30分钟"]);
    expect([15, 90].map((m) => fallback(m, "es"))).toEqual(["15 min", "1 h y 30 min"]);
    // Arabic: hours and minutes joined with "و"; the digits are the engine's (Latin or Arabic-Indic).
    const arabic = fallback(90, "ar");
    expect(arabic).toContain("س");
    expect(arabic).toContain("و");
    expect(arabic).toContain("د");
    expect(arabic).toContain(new Intl.NumberFormat("ar").format(30));
  });

  it("use Intl.DurationFormat where the engine has it, in the UI's language by default", () => {
    for (const [lang, locale] of [["en", "en"], ["fr", "fr"], ["ar", "ar"], ["zh", "zh-Hans"], ["ru", "ru"]] as const) {
      language.setAccount(lang);
      const expected = engine
        ? new engine(locale, { style: "short" }).format({ hours: 1, minutes: 30 })
        : formatDuration(90, locale, false);
      expect(formatDuration(90), lang).toBe(expected);
    }
  });
});

describe("names and ranges in the UI's language", () => {
  afterEach(() => language.setAccount(null));

  it("takes weekday names from Intl", () => {
    expect(weekdayName("MO", "long", "en")).toBe("Monday");
    expect(weekdayName("WE", "long", "fr")).toBe("mercredi");
    expect(weekdayName("SU", "long", "ru")).toBe("воскресенье");
    expect(weekdayName("TU", "long", "zh-Hans")).toBe("星期二");
    expect(weekdayName("FR", "long", "ar")).toBe("الجمعة");
    language.setAccount("es");
    expect(weekdayName("SA")).toBe("sábado");
  });

  it("writes a range of dates and a wall-clock time as the locale does", () => {
    const from = { year: 2025, month: 6, day: 9 };
    const to = { year: 2025, month: 6, day: 15 };
    const options = { day: "numeric", month: "long", year: "numeric" } as const;
    expect(spaces(formatLocalDateRange(from, to, options, "en"))).toBe("June 9 – 15, 2025");
    expect(spaces(formatLocalDateRange(from, to, options, "fr"))).toBe("9–15 juin 2025");
    expect(spaces(formatLocalTime({ hour: 14, minute: 30 }, "en"))).toBe("02:30 PM");
    expect(formatLocalTime({ hour: 14, minute: 30 }, "ru")).toBe("14:30");
  });
});
