import { describe, expect, it } from "vitest";
import { shortcutOf } from "./shortcuts";

const key = (k: string, code: string, shiftKey = false) => ({ key: k, code, shiftKey });

describe("shortcutOf", () => {
  it("reads the letters as typed", () => {
    expect(shortcutOf(key("m", "KeyM"))).toBe("mic");
    expect(shortcutOf(key("V", "KeyV", true))).toBe("camera");
    expect(shortcutOf(key("h", "KeyH"))).toBe("hand");
    expect(shortcutOf(key("c", "KeyC"))).toBe("chat");
    expect(shortcutOf(key("p", "KeyP"))).toBe("people");
    expect(shortcutOf(key("x", "KeyX"))).toBeNull();
  });

  it("reads the key's place on Russian and Arabic layouts", () => {
    expect(shortcutOf(key("ь", "KeyM"))).toBe("mic");
    expect(shortcutOf(key("ر", "KeyV"))).toBe("camera");
  });

  it("opens the help with ? wherever the layout puts it", () => {
    expect(shortcutOf(key("?", "Slash", true))).toBe("help");
    expect(shortcutOf(key("?", "KeyM", true))).toBe("help"); // French AZERTY: Shift and the comma key
    expect(shortcutOf(key("؟", "Slash", true))).toBe("help"); // Arabic
    expect(shortcutOf(key("/", "Slash"))).toBeNull();
  });

  it("ignores keys that are not letters", () => {
    expect(shortcutOf(key("Enter", "Enter"))).toBeNull();
    expect(shortcutOf(key("1", "Digit1"))).toBeNull();
  });
});
