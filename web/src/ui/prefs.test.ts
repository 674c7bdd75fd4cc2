import { beforeEach, describe, expect, it, vi } from "vitest";

class MemoryStorage {
  private items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

beforeEach(() => {
  vi.stubGlobal("localStorage", new MemoryStorage());
});

function fakeLocal() {
  const calls: string[] = [];
  return {
    calls,
    selectMic: (id: string) => {
      calls.push(`mic:${id}`);
      return Promise.resolve();
    },
    selectCamera: (id: string) => {
      calls.push(`camera:${id}`);
      return Promise.resolve();
    },
    selectSpeaker: (id: string) => {
      calls.push(`speaker:${id}`);
    },
  };
}

describe("default devices", () => {
  it("applies the kinds that have a default and leaves the others alone", async () => {
    const { saveDefaultDevices, withDefaultDevices, defaultDevices } = await import("./prefs");
    const untouched = fakeLocal();
    expect(withDefaultDevices(untouched)).toBe(untouched);
    expect(untouched.calls).toEqual([]);

    saveDefaultDevices({ mic: "mic-2", camera: null, speaker: "spk-1" });
    expect(defaultDevices()).toEqual({ mic: "mic-2", camera: null, speaker: "spk-1" });
    const local = fakeLocal();
    withDefaultDevices(local);
    expect(local.calls).toEqual(["mic:mic-2", "speaker:spk-1"]);
  });

  it("ignores what it did not write", async () => {
    const { defaultDevices } = await import("./prefs");
    localStorage.setItem("convene.defaultDevices", "{not json");
    expect(defaultDevices()).toEqual({ mic: null, camera: null, speaker: null });
    localStorage.setItem("convene.defaultDevices", JSON.stringify({ mic: 3, camera: "", speaker: "s" }));
    expect(defaultDevices()).toEqual({ mic: null, camera: null, speaker: "s" });
  });
});

describe("theme", () => {
  it("is remembered and tells its listeners", async () => {
    const { theme } = await import("./prefs");
    const seen: string[] = [];
    const off = theme.on("change", (value) => seen.push(value));
    theme.set("light");
    theme.set("system");
    off();
    expect(seen).toEqual(["light", "system"]);
    expect(localStorage.getItem("convene.theme")).toBe("system");
  });
});
