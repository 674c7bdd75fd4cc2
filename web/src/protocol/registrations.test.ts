import { describe, expect, it } from "vitest";
import { linkCredential } from "./registrations";

describe("linkCredential", () => {
  it("keeps an <id>.<token> from a personal link and nothing else", () => {
    expect(linkCredential("0b6f6c1e-2a4f-4a8e-9b1f-3c2d1e0f9a8b.AbC-_123")).toBe("0b6f6c1e-2a4f-4a8e-9b1f-3c2d1e0f9a8b.AbC-_123");
    for (const bad of [null, undefined, "", "nodot", ".x", "x.", "a.b.c", "a b.c", `${"a".repeat(65)}.b`, "a.<script>"]) {
      expect(linkCredential(bad)).toBeNull();
    }
  });
});
