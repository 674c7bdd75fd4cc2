import { describe, expect, it } from "vitest";
import type { Conflict } from "../../protocol/scheduling";
import { conflictText } from "./conflicts";

const base: Conflict = {
  email: "ada@example.org",
  display_name: "Ada",
  self: true,
  occurrence_start: "2026-03-16T14:00:00Z",
  occurrence_end: "2026-03-16T14:30:00Z",
  occurrence_recurrence_id: "2026-03-16T14:00:00Z",
  source: "calendar",
  title: null,
  schedule_id: null,
  busy_recurrence_id: null,
  busy_start: "2026-03-16T14:00:00Z",
  busy_end: "2026-03-16T15:00:00Z",
};

/** The text as read, without the bidi isolates around names, titles and times. */
const plain = (text: string) => text.replace(/[\u2068\u2069]/g, "");

describe("conflictText", () => {
  it("names the user's own calendars that hold the time", () => {
    const text = conflictText({ ...base, calendars: ["Work", "Family"] }, "UTC", false, "en-GB");
    expect(plain(text)).toContain("a busy time in “Work” and “Family”");
  });

  it("says only 'another calendar' when no label is given", () => {
    const text = conflictText({ ...base, self: false, calendars: [] }, "UTC", false, "en-GB");
    expect(plain(text)).toContain("Ada has a busy time in another calendar");
  });

  it("isolates names and calendar labels for right-to-left text", () => {
    const text = conflictText({ ...base, self: false, display_name: "\u202eAda", calendars: ["عمل"] }, "UTC", false, "en-GB");
    expect(text).toContain("\u2068\u202eAda\u2069 has");
    expect(text).toContain("“\u2068عمل\u2069”");
  });
});
