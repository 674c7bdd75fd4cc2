import { describe, expect, it } from "vitest";
import {
  defaultRecurrenceForm,
  formToSpec,
  parseRrule,
  recurrenceSummary,
  specToForm,
  specToRrule,
  validateRecurrence,
  weekOfMonth,
  type RecurrenceForm,
  type RecurrenceSpec,
} from "./recurrence";

// Tuesday 10 June 2025: the second Tuesday of the month.
const START = { year: 2025, month: 6, day: 10 };

function form(changes: Partial<RecurrenceForm>): RecurrenceForm {
  return { ...defaultRecurrenceForm(START), ...changes };
}

describe("recurrence form -> API spec", () => {
  it("is null for a single meeting", () => {
    expect(formToSpec(form({}), START)).toBeNull();
  });

  it("maps every kind", () => {
    expect(formToSpec(form({ repeat: "daily", interval: 3 }), START)).toEqual({ freq: "daily", interval: 3 });
    expect(formToSpec(form({ repeat: "weekdays", interval: 4 }), START)).toEqual({ freq: "daily", interval: 1, weekdays: true });
    expect(formToSpec(form({ repeat: "weekly", interval: 2, days: ["WE", "MO", "WE"] }), START)).toEqual({
      freq: "weekly", interval: 2, by_weekday: ["MO", "WE"],
    });
    expect(formToSpec(form({ repeat: "monthly", monthlyBy: "date" }), START)).toEqual({
      freq: "monthly", interval: 1, month_day: 10,
    });
    expect(formToSpec(form({ repeat: "monthly", monthlyBy: "weekday", interval: 2 }), START)).toEqual({
      freq: "monthly", interval: 2, nth_weekday: { nth: 2, weekday: "TU" },
    });
  });

  it("uses 'last' for a weekday in the fifth week", () => {
    const lastFriday = { year: 2025, month: 5, day: 30 };
    expect(weekOfMonth(lastFriday)).toBe(-1);
    expect(formToSpec({ ...defaultRecurrenceForm(lastFriday), repeat: "monthly", monthlyBy: "weekday" }, lastFriday))
      .toEqual({ freq: "monthly", interval: 1, nth_weekday: { nth: -1, weekday: "FR" } });
  });

  it("adds the end: a date or a number of times", () => {
    expect(formToSpec(form({ repeat: "daily", ends: "until", until: "2025-06-30" }), START)).toEqual({
      freq: "daily", interval: 1, until: "2025-06-30",
    });
    expect(formToSpec(form({ repeat: "daily", ends: "count", count: 5, until: "2025-06-30" }), START)).toEqual({
      freq: "daily", interval: 1, count: 5,
    });
  });

  it("defaults weekly to the start's weekday", () => {
    expect(formToSpec(form({ repeat: "weekly", days: [] }), START)).toEqual({ freq: "weekly", interval: 1, by_weekday: ["TU"] });
  });

  it("round-trips through the form for editing", () => {
    for (const f of [
      form({ repeat: "daily", interval: 2 }),
      form({ repeat: "weekdays", days: ["MO", "TU", "WE", "TH", "FR"] }),
      form({ repeat: "weekly", interval: 2, days: ["MO", "WE"], ends: "until", until: "2025-06-30" }),
      form({ repeat: "monthly", monthlyBy: "weekday", ends: "count", count: 6 }),
      form({ repeat: "monthly", monthlyBy: "date", interval: 3 }),
    ]) {
      expect(specToForm(formToSpec(f, START), START)).toEqual(f);
    }
  });

  it("finds mistakes before the server does", () => {
    expect(validateRecurrence(form({ repeat: "weekly", days: [] }), START)).toMatch(/day of the week/);
    expect(validateRecurrence(form({ repeat: "daily", interval: 0 }), START)).toBe("Repeat every 1 to 365 days.");
    expect(validateRecurrence(form({ repeat: "monthly", interval: 25 }), START)).toBe("Repeat every 1 to 24 months.");
    expect(validateRecurrence(form({ repeat: "daily", ends: "until", until: "2025-06-01" }), START)).toMatch(/before/);
    expect(validateRecurrence(form({ repeat: "daily", ends: "until", until: "" }), START)).toMatch(/Choose/);
    expect(validateRecurrence(form({ repeat: "daily", ends: "count", count: 0 }), START)).toMatch(/times/);
    expect(validateRecurrence(form({ repeat: "daily", ends: "count", count: 3 }), START)).toBeNull();
  });
});

describe("RRULE", () => {
  it("writes UNTIL as the end of that day in the meeting's zone, in UTC", () => {
    expect(specToRrule({ freq: "weekly", interval: 2, by_weekday: ["WE", "MO"], until: "2025-06-30" }, "Europe/Paris"))
      .toBe("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20250630T215959Z");
    expect(specToRrule({ freq: "monthly", interval: 1, nth_weekday: { nth: -1, weekday: "FR" }, count: 12 }, "UTC"))
      .toBe("FREQ=MONTHLY;BYDAY=-1FR;COUNT=12");
    expect(specToRrule({ freq: "daily", weekdays: true }, "UTC")).toBe("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR");
  });

  it("reads back what it writes, and the BYSETPOS shape", () => {
    const spec: RecurrenceSpec = { freq: "weekly", interval: 2, by_weekday: ["MO", "WE"], until: "2025-06-30" };
    expect(parseRrule(specToRrule(spec, "America/New_York"), "America/New_York")).toEqual(spec);
    expect(parseRrule("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=3", "UTC")).toEqual({ freq: "daily", interval: 1, weekdays: true, count: 3 });
    expect(parseRrule("RRULE:FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2", "UTC")).toEqual({
      freq: "monthly", interval: 1, nth_weekday: { nth: 2, weekday: "TU" },
    });
    expect(parseRrule("FREQ=HOURLY", "UTC")).toBeNull();
  });
});

describe("recurrence summary", () => {
  const summary = (f: Partial<RecurrenceForm>) => recurrenceSummary(formToSpec(form(f), START), START, "en-GB");

  it("reads like a sentence", () => {
    expect(summary({})).toBe("Does not repeat");
    expect(summary({ repeat: "daily" })).toBe("Every day");
    expect(summary({ repeat: "daily", interval: 3 })).toBe("Every 3 days");
    expect(summary({ repeat: "weekdays" })).toBe("Every weekday");
    expect(summary({ repeat: "weekly", days: ["TU"] })).toBe("Every week on Tue");
    expect(summary({ repeat: "weekly", interval: 2, days: ["WE", "MO"], ends: "until", until: "2025-06-30" }))
      .toBe("Every 2 weeks on Mon, Wed until 30 Jun");
    expect(summary({ repeat: "monthly" })).toBe("Every month on day 10");
    expect(summary({ repeat: "monthly", monthlyBy: "weekday", interval: 2 })).toBe("Every 2 months on the second Tuesday");
    expect(summary({ repeat: "weekdays", ends: "count", count: 10 })).toBe("Every weekday, 10 times");
    expect(summary({ repeat: "daily", ends: "count", count: 1 })).toBe("Every day, once");
  });

  it("names the year of an end date in another year", () => {
    expect(summary({ repeat: "daily", ends: "until", until: "2026-01-15" })).toBe("Every day until 15 Jan 2026");
  });

  it("says 'last' for the last weekday of the month", () => {
    expect(recurrenceSummary({ freq: "monthly", nth_weekday: { nth: -1, weekday: "FR" } }, START)).toBe("Every month on the last Friday");
    expect(recurrenceSummary({ freq: "monthly", month_day: -1 }, START)).toBe("Every month on the last day");
  });
});
