import { afterEach, describe, expect, it } from "vitest";
import { language, type Language } from "../i18n";
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
    expect(validateRecurrence(form({ repeat: "daily", ends: "count", count: 0 }), START)).toBe("Repeat 1 to 1,000 times.");
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
  afterEach(() => language.setAccount(null));

  /** The summary of a form starting on START, in a language. */
  const summary = (lang: Language, f: Partial<RecurrenceForm>) => {
    language.setAccount(lang);
    return recurrenceSummary(formToSpec(form(f), START), START);
  };
  const biweekly: Partial<RecurrenceForm> = { repeat: "weekly", interval: 2, days: ["WE", "MO"], ends: "count", count: 10 };

  it("reads like a sentence in English", () => {
    expect(summary("en", {})).toBe("Does not repeat");
    expect(summary("en", { repeat: "daily" })).toBe("Every day");
    expect(summary("en", { repeat: "daily", interval: 3 })).toBe("Every 3 days");
    expect(summary("en", { repeat: "weekdays" })).toBe("Every weekday");
    expect(summary("en", { repeat: "weekly", days: ["TU"] })).toBe("Every week on Tuesday");
    expect(summary("en", biweekly)).toBe("Every 2 weeks on Monday and Wednesday, 10 times");
    expect(summary("en", { repeat: "weekly", days: ["FR", "MO", "WE"], ends: "until", until: "2025-06-30" }))
      .toBe("Every week on Monday, Wednesday, and Friday until June 30");
    expect(summary("en", { repeat: "monthly" })).toBe("Every month on day 10");
    expect(summary("en", { repeat: "monthly", monthlyBy: "weekday", interval: 2 })).toBe("Every 2 months on the second Tuesday");
    expect(summary("en", { repeat: "weekdays", ends: "count", count: 10 })).toBe("Every weekday, 10 times");
    expect(summary("en", { repeat: "daily", ends: "count", count: 1 })).toBe("Every day, once");
  });

  it("names the year of an end date in another year", () => {
    expect(summary("en", { repeat: "daily", ends: "until", until: "2026-01-15" })).toBe("Every day until January 15, 2026");
    expect(summary("fr", { repeat: "daily", ends: "until", until: "2026-01-15" })).toBe("Tous les jours jusqu’au 15 janvier 2026");
  });

  it("says 'last' for the last weekday and the last day of the month", () => {
    language.setAccount("en");
    expect(recurrenceSummary({ freq: "monthly", nth_weekday: { nth: -1, weekday: "FR" } }, START)).toBe("Every month on the last Friday");
    expect(recurrenceSummary({ freq: "monthly", month_day: -1 }, START)).toBe("Every month on the last day");
  });

  it("reads naturally in French", () => {
    expect(summary("fr", {})).toBe("Ne se répète pas");
    expect(summary("fr", { repeat: "daily" })).toBe("Tous les jours");
    expect(summary("fr", { repeat: "daily", interval: 3 })).toBe("Tous les 3 jours");
    expect(summary("fr", biweekly)).toBe("Toutes les 2 semaines le lundi et le mercredi, 10 fois");
    expect(summary("fr", { repeat: "weekly", days: ["TU"], ends: "until", until: "2025-06-30" }))
      .toBe("Toutes les semaines le mardi jusqu’au 30 juin");
    expect(summary("fr", { repeat: "monthly", monthlyBy: "weekday" })).toBe("Tous les mois le deuxième mardi");
    expect(recurrenceSummary({ freq: "monthly", month_day: 1 }, START)).toBe("Tous les mois le 1er");
    expect(summary("fr", { repeat: "monthly", interval: 2 })).toBe("Tous les 2 mois le 10");
    expect(summary("fr", { repeat: "daily", ends: "count", count: 1 })).toBe("Tous les jours, une fois");
  });

  it("reads naturally in Russian: plural forms and the weekday's gender", () => {
    expect(summary("ru", { repeat: "daily" })).toBe("Каждый день");
    expect(summary("ru", { repeat: "daily", interval: 2 })).toBe("Каждые 2 дня");
    expect(summary("ru", { repeat: "daily", interval: 5 })).toBe("Каждые 5 дней");
    expect(summary("ru", { repeat: "daily", interval: 21 })).toBe("Каждый 21 день");
    expect(summary("ru", biweekly)).toBe("Каждые 2 недели: понедельник и среда, 10 раз");
    expect(summary("ru", { repeat: "weekly", days: ["TU"], ends: "count", count: 3 })).toBe("Каждую неделю: вторник, 3 раза");
    expect(summary("ru", { repeat: "monthly", monthlyBy: "weekday" })).toBe("Каждый второй вторник месяца");
    expect(summary("ru", { repeat: "monthly", monthlyBy: "weekday", interval: 3 })).toBe("Каждый второй вторник месяца, раз в 3 месяца");
    expect(recurrenceSummary({ freq: "monthly", nth_weekday: { nth: -1, weekday: "FR" } }, START)).toBe("Каждая последняя пятница месяца");
    expect(recurrenceSummary({ freq: "monthly", nth_weekday: { nth: 1, weekday: "SU" } }, START)).toBe("Каждое первое воскресенье месяца");
    expect(summary("ru", { repeat: "monthly" })).toBe("Каждый месяц, 10-го числа");
    expect(summary("ru", { repeat: "daily", ends: "until", until: "2025-06-30" })).toBe("Каждый день до 30 июня включительно");
  });

  it("reads naturally in Arabic: dual and plural forms", () => {
    expect(summary("ar", {})).toBe("لا يتكرر");
    expect(summary("ar", { repeat: "weekly", days: ["TU"] })).toBe("كل أسبوع يوم الثلاثاء");
    expect(plainDigits(summary("ar", biweekly))).toBe("كل أسبوعين يومَي الاثنين والأربعاء، 10 مرات");
    expect(plainDigits(summary("ar", { repeat: "daily", interval: 3 }))).toBe("كل 3 أيام");
    expect(plainDigits(summary("ar", { repeat: "daily", interval: 11 }))).toBe("كل 11 يومًا");
    expect(summary("ar", { repeat: "daily", ends: "count", count: 2 })).toBe("كل يوم، مرتين");
    expect(summary("ar", { repeat: "monthly", monthlyBy: "weekday", interval: 2 })).toBe("كل شهرين في يوم الثلاثاء الثاني من الشهر");
    expect(summary("ar", { repeat: "daily", ends: "until", until: "2025-06-30" }))
      .toBe(`كل يوم حتى ${new Intl.DateTimeFormat("ar", { day: "numeric", month: "long", timeZone: "UTC" }).format(Date.UTC(2025, 5, 30, 12))}`);
  });

  it("reads naturally in Chinese and Spanish", () => {
    expect(summary("zh", biweekly)).toBe("每 2 周的星期一和星期三，共 10 次");
    expect(summary("zh", { repeat: "weekly", days: ["TU"] })).toBe("每周的星期二");
    expect(summary("zh", { repeat: "monthly" })).toBe("每月 10 日");
    expect(summary("zh", { repeat: "monthly", monthlyBy: "weekday" })).toBe("每月的第二个星期二");
    expect(summary("zh", { repeat: "daily", ends: "until", until: "2025-06-30" })).toBe("每天，直到 6月30日");
    expect(summary("es", biweekly)).toBe("Cada 2 semanas el lunes y el miércoles, 10 veces");
    expect(summary("es", { repeat: "monthly", monthlyBy: "weekday" })).toBe("Todos los meses el segundo martes");
    expect(summary("es", { repeat: "daily", ends: "until", until: "2025-06-30" })).toBe("Todos los días hasta el 30 de junio");
  });

  it("says what to fix in the UI's language", () => {
    language.setAccount("fr");
    expect(validateRecurrence(form({ repeat: "weekly", interval: 60 }), START)).toBe("L’intervalle doit être compris entre 1 et 52 semaines.");
    language.setAccount("ru");
    expect(validateRecurrence(form({ repeat: "weekly", days: [] }), START)).toBe("Выберите хотя бы один день недели.");
  });
});

/** Arabic text with its digits as ASCII (Intl writes Arabic-Indic digits in some engines, Latin in others). */
function plainDigits(text: string): string {
  return text.replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660));
}
