import { describe, expect, it } from "vitest";
import type { Occurrence, Schedule } from "../protocol/scheduling";
import { checkDraft, conflictQuery, createBody, initialDraft, updateBody, withDate, type Draft, type ScheduleTarget } from "./draft";
import { defaultRecurrenceForm } from "./recurrence";

const START = { year: 2025, month: 6, day: 2 };

function draft(changes: Partial<Draft> = {}): Draft {
  return {
    title: "Planning",
    agenda: "",
    date: "2025-06-02",
    time: "09:30",
    timezone: "Europe/Paris",
    duration: 45,
    recurrence: defaultRecurrenceForm(START),
    invitees: [{ email: "bob@example.org", required: true, cohost: false }, { email: "carol@example.org", required: false, cohost: true }],
    passcode: true,
    waitingRoom: true,
    ...changes,
  };
}

const schedule: Schedule = {
  id: "s1", uid: "u", title: "Sync", agenda: "", timezone: "America/New_York", start: "2025-06-02T09:00:00",
  duration_minutes: 30, recurrence: { freq: "weekly", interval: 1, by_weekday: ["MO"] }, rrule: "FREQ=WEEKLY;BYDAY=MO",
  first_start: "2025-06-02T13:00:00Z", last_end: null, sequence: 0, status: "confirmed", parent_id: null, role: "organizer",
  partstat: null, organizer: { id: "u1", email: "a@example.org", display_name: "A" },
  meeting: { id: "m", code: "123456789", join_url: "https://x/j/t", passcode: null, waiting_room: true },
  attendees: [], exceptions: [], created_at: "2025-05-01T00:00:00Z", updated_at: "2025-05-01T00:00:00Z",
};
const occurrence: Occurrence = {
  schedule_id: "s1", title: "Sync", start: "2025-06-09T13:00:00Z", end: "2025-06-09T13:30:00Z",
  recurrence_id: "2025-06-09T13:00:00Z", overridden: false, role: "organizer", partstat: null, timezone: "America/New_York",
  recurring: true, organizer: schedule.organizer, join_url: "https://x/j/t",
};

describe("scheduling form -> API", () => {
  const create: ScheduleTarget = { kind: "create" };

  it("creates with the wall-clock start in the chosen zone, the recurrence spec and the invitees", () => {
    const d = draft({ recurrence: { ...defaultRecurrenceForm(START), repeat: "weekly", interval: 2, days: ["WE", "MO"], ends: "count", count: 6 } });
    expect(createBody(d, checkDraft(d, create))).toEqual({
      title: "Planning",
      agenda: "",
      timezone: "Europe/Paris",
      start: "2025-06-02T09:30:00",
      duration_minutes: 45,
      recurrence: { freq: "weekly", interval: 2, by_weekday: ["MO", "WE"], count: 6 },
      attendees: [{ email: "bob@example.org", required: true, cohost: false }, { email: "carol@example.org", required: false, cohost: true }],
      passcode: null,
      waiting_room: true,
    });
    expect(createBody(draft({ passcode: false }), checkDraft(draft(), create)).passcode).toBe("");
  });

  it("previews conflicts with only what decides them, so typing a title asks nothing new", () => {
    const a = conflictQuery(draft({ title: "A" }), checkDraft(draft({ title: "A" }), create), create);
    const b = conflictQuery(draft({ title: "B", agenda: "x", passcode: false }), checkDraft(draft({ title: "B" }), create), create);
    expect(a).toEqual(b);
    expect(a).toEqual({
      timezone: "Europe/Paris", start: "2025-06-02T09:30:00", duration_minutes: 45, recurrence: null,
      attendees: ["bob@example.org", "carol@example.org"],
    });
  });

  it("does not preview a form that cannot be read", () => {
    expect(conflictQuery(draft({ time: "" }), checkDraft(draft({ time: "" }), create), create)).toBeNull();
    const bad = draft({ recurrence: { ...defaultRecurrenceForm(START), repeat: "weekly", days: [] } });
    expect(conflictQuery(bad, checkDraft(bad, create), create)).toBeNull();
    expect(checkDraft(draft({ title: "  " }), create).errors.title).toMatch(/title/);
    // 02:30 on 30 March 2025 does not exist in Paris; 02:30 on 26 October happens twice.
    const gap = draft({ date: "2025-03-30", time: "02:30" });
    expect(checkDraft(gap, create).errors.when).toMatch(/does not exist/);
    expect(conflictQuery(gap, checkDraft(gap, create), create)).toBeNull();
    expect(checkDraft(draft({ date: "2025-10-26", time: "02:30" }), create).errors.when).toMatch(/happens twice/);
  });

  it("edits one occurrence: its time only, named by its recurrence id", () => {
    const target: ScheduleTarget = { kind: "edit", schedule, scope: "this", occurrence };
    const d = initialDraft(target, "Europe/Paris");
    expect(d).toMatchObject({ date: "2025-06-09", time: "09:00", timezone: "America/New_York", duration: 30 });
    const moved = { ...d, time: "10:00" };
    expect(updateBody(moved, checkDraft(moved, target), target)).toEqual({
      scope: "this",
      occurrence: "2025-06-09T13:00:00Z",
      title: "Sync",
      agenda: "",
      timezone: "America/New_York",
      start: "2025-06-09T10:00:00",
      duration_minutes: 30,
    });
    expect(conflictQuery(moved, checkDraft(moved, target), target)).toEqual({
      timezone: "America/New_York", start: "2025-06-09T10:00:00", duration_minutes: 30, recurrence: null, attendees: [],
      schedule_id: "s1", scope: "this", occurrence: "2025-06-09T13:00:00Z",
    });
  });

  it("edits the series with its recurrence and invitees, and room options only when they change", () => {
    const target: ScheduleTarget = { kind: "edit", schedule, scope: "all", occurrence };
    const d = initialDraft(target, "Europe/Paris");
    expect(d.recurrence).toMatchObject({ repeat: "weekly", days: ["MO"] });
    const body = updateBody({ ...d, passcode: true }, checkDraft(d, target), target, () => "424242");
    expect(body).toMatchObject({
      scope: "all",
      start: "2025-06-02T09:00:00",
      recurrence: { freq: "weekly", interval: 1, by_weekday: ["MO"] },
      attendees: [],
      passcode: "424242",
    });
    expect(body).not.toHaveProperty("occurrence");
    expect(body).not.toHaveProperty("waiting_room");
  });

  it("starts this-and-following from the chosen occurrence, without room options", () => {
    const target: ScheduleTarget = { kind: "edit", schedule, scope: "following", occurrence };
    const d = initialDraft(target, "Europe/Paris");
    const body = updateBody({ ...d, passcode: true, waitingRoom: false }, checkDraft(d, target), target);
    expect(body).toMatchObject({ scope: "following", occurrence: "2025-06-09T13:00:00Z", start: "2025-06-09T09:00:00" });
    expect(body).not.toHaveProperty("passcode");
    expect(body).not.toHaveProperty("waiting_room");
  });

  it("suggests the next half hour in the user's zone for a new meeting", () => {
    const now = Date.UTC(2025, 5, 2, 7, 10);
    expect(initialDraft({ kind: "create" }, "Europe/Paris", now)).toMatchObject({ date: "2025-06-02", time: "09:30", timezone: "Europe/Paris" });
    expect(initialDraft({ kind: "create", start: Date.UTC(2025, 5, 3, 8) }, "Asia/Tokyo")).toMatchObject({ date: "2025-06-03", time: "17:00" });
  });
});

describe("moving the start date", () => {
  it("moves a weekly recurrence still on the old weekday alone, and keeps days the user chose", () => {
    // 2 June 2025 is a Monday, 4 June a Wednesday.
    const weekly = draft({ recurrence: { ...defaultRecurrenceForm(START), repeat: "weekly" } });
    expect(weekly.recurrence.days).toEqual(["MO"]);
    expect(withDate(weekly, "2025-06-04").recurrence.days).toEqual(["WE"]);
    const chosen = draft({ recurrence: { ...defaultRecurrenceForm(START), repeat: "weekly", days: ["MO", "FR"] } });
    expect(withDate(chosen, "2025-06-04").recurrence.days).toEqual(["MO", "FR"]);
    expect(withDate(weekly, "").date).toBe("");
  });
});
