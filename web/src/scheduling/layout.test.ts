import { describe, expect, it } from "vitest";
import { groupByDay, layoutDay, snapMinutes, type Span } from "./layout";
import { fromLocal } from "./time";

const PARIS = "Europe/Paris";
const at = (d: number, h: number, m = 0, month = 6) => fromLocal({ year: 2025, month, day: d, hour: h, minute: m }, PARIS).getTime();
const ev = (id: string, start: number, end: number) => ({ id, start, end });
const span = (e: Span) => e;

describe("layoutDay", () => {
  const day = { year: 2025, month: 6, day: 2 };

  it("places meetings by their local time", () => {
    const [p] = layoutDay([ev("a", at(2, 9, 30), at(2, 10, 30))], span, day, PARIS);
    expect(p).toMatchObject({ top: 570, height: 60, column: 0, columns: 1, continuesBefore: false, continuesAfter: false });
  });

  it("puts overlapping meetings side by side, and others full width", () => {
    const placed = layoutDay([
      ev("a", at(2, 9), at(2, 10)),
      ev("b", at(2, 9, 30), at(2, 11)),
      ev("c", at(2, 10), at(2, 10, 30)),
      ev("d", at(2, 14), at(2, 15)),
    ], span, day, PARIS);
    const byId = Object.fromEntries(placed.map((p) => [p.item.id, p]));
    expect(byId.a).toMatchObject({ column: 0, columns: 2 });
    expect(byId.b).toMatchObject({ column: 1, columns: 2 });
    expect(byId.c).toMatchObject({ column: 0, columns: 2 });
    expect(byId.d).toMatchObject({ column: 0, columns: 1 });
  });

  it("cuts meetings crossing midnight and leaves other days' meetings out", () => {
    const placed = layoutDay([
      ev("late", at(1, 23), at(2, 1)),
      ev("night", at(2, 23), at(3, 0, 30)),
      ev("tomorrow", at(3, 9), at(3, 10)),
    ], span, day, PARIS);
    expect(placed.map((p) => p.item.id)).toEqual(["late", "night"]);
    expect(placed[0]).toMatchObject({ top: 0, height: 60, continuesBefore: true });
    expect(placed[1]).toMatchObject({ top: 1380, height: 60, continuesAfter: true });
  });

  it("keeps wall-clock positions on the spring-forward day of a week view", () => {
    // 30 March 2025 in Paris has no 02:00-03:00; a 10:00 meeting still sits at 10:00.
    const sunday = { year: 2025, month: 3, day: 30 };
    const placed = layoutDay([
      ev("morning", at(30, 10, 0, 3), at(30, 11, 0, 3)),
      ev("across", at(30, 1, 30, 3), at(30, 3, 30, 3)),
    ], span, sunday, PARIS);
    const byId = Object.fromEntries(placed.map((p) => [p.item.id, p]));
    expect(byId.morning).toMatchObject({ top: 600, height: 60 });
    // One real hour, drawn from 01:30 to 03:30 on the wall clock.
    expect(byId.across).toMatchObject({ top: 90, height: 120 });
  });

  it("gives short meetings a clickable height", () => {
    const [p] = layoutDay([ev("a", at(2, 9), at(2, 9, 5))], span, day, PARIS);
    expect(p!.height).toBe(20);
  });
});

describe("groupByDay", () => {
  it("groups by the viewer's local day, in order", () => {
    const items = [ev("b", at(3, 9), at(3, 10)), ev("a", at(2, 23, 30), at(3, 0, 30)), ev("c", at(3, 8), at(3, 9))];
    const groups = groupByDay(items, span, PARIS);
    expect(groups.map((g) => [g.date.day, g.items.map((i) => i.id)])).toEqual([[2, ["a"]], [3, ["c", "b"]]]);
    // In New York the late one is on the 2nd as well, but the others too.
    expect(groupByDay(items, span, "America/New_York").map((g) => g.date.day)).toEqual([2, 3]);
  });
});

describe("snapMinutes", () => {
  it("snaps a click to the half hour", () => {
    expect(snapMinutes(9 * 60 + 44)).toBe(570);
    expect(snapMinutes(-5)).toBe(0);
    expect(snapMinutes(1439)).toBe(1410);
  });
});
