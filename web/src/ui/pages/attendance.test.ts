import { describe, expect, it } from "vitest";
import { formatAttendanceTime } from "./attendance";

describe("formatAttendanceTime", () => {
  const start = new Date(2026, 11, 3, 9, 0).toISOString();

  it("gives the time only on the session's own day", () => {
    const later = new Date(2026, 11, 3, 9, 45).toISOString();
    const shown = formatAttendanceTime(later, "en", start);
    expect(shown).toMatch(/9:45/);
    expect(shown).not.toMatch(/2026/);
  });

  it("gives the date too on another day or with no session to compare with", () => {
    const nextDay = new Date(2026, 11, 4, 0, 5).toISOString();
    expect(formatAttendanceTime(nextDay, "en", start)).toMatch(/2026/);
    expect(formatAttendanceTime(start, "en")).toMatch(/2026/);
  });

  it("follows the UI's language and keeps a time it cannot read as it came", () => {
    const later = new Date(2026, 11, 3, 21, 5).toISOString();
    expect(formatAttendanceTime(later, "fr", start)).toMatch(/21:05/);
    expect(formatAttendanceTime("not a time", "en", start)).toBe("not a time");
  });
});
