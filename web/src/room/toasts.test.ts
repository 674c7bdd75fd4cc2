import { describe, expect, it } from "vitest";
import type { WaitingInfo } from "../protocol/types";
import { isToastCurrent, type Toast } from "./room";

function waiting(...ids: string[]): { waiting: WaitingInfo[] } {
  return { waiting: ids.map((id) => ({ id, display_name: id.toUpperCase(), guest: false, since: "2025-01-01T00:00:00Z", from_removed_address: false })) };
}

describe("isToastCurrent", () => {
  const admitAnn: Toast = { id: 1, kind: "info", text: "ANN is waiting to join.", waiting: ["ann"] };
  const admitAll: Toast = { id: 2, kind: "info", text: "2 people are waiting to join.", waiting: ["ann", "bob"] };

  it("keeps toasts that are not about the waiting room", () => {
    expect(isToastCurrent({ id: 3, kind: "error", text: "No camera" }, waiting())).toBe(true);
  });

  it("keeps a waiting toast while that person waits", () => {
    expect(isToastCurrent(admitAnn, waiting("ann", "carl"))).toBe(true);
  });

  it("drops it once the person was admitted, denied or left the waiting room", () => {
    expect(isToastCurrent(admitAnn, waiting("carl"))).toBe(false);
    expect(isToastCurrent(admitAnn, waiting())).toBe(false);
  });

  it("keeps an 'admit all' toast while any of its people still waits", () => {
    expect(isToastCurrent(admitAll, waiting("bob"))).toBe(true);
    expect(isToastCurrent(admitAll, waiting("carl"))).toBe(false);
  });
});
