import { describe, expect, it } from "vitest";
import { Icon } from "./icons";

function props(vnode: unknown): Record<string, unknown> {
  return (vnode as { props: Record<string, unknown> }).props;
}

describe("Icon", () => {
  it("is hidden from assistive technology when decorative", () => {
    const p = props(Icon({ name: "mic" }));
    expect(p["aria-hidden"]).toBe("true");
    expect(p.role).toBeUndefined();
    expect(p["aria-label"]).toBeUndefined();
  });

  it("is an image named by its label when it has one", () => {
    const p = props(Icon({ name: "micOff", "aria-label": "Muted", class: "muted-icon" }));
    expect(p.role).toBe("img");
    expect(p["aria-label"]).toBe("Muted");
    expect(p["aria-hidden"]).toBeUndefined();
    expect(p.class).toBe("muted-icon");
  });
});
