import { describe, expect, it } from "vitest";
import type { ParticipantInfo } from "../protocol/types";
import { language } from "../i18n";
import {
  chosenTilesPerPage,
  featuredIds,
  fitGrid,
  formatCode,
  initials,
  inviteText,
  orderParticipants,
  paginate,
  parseMeetingRef,
  tilesPerPage,
  togglePin,
  withoutSelf,
} from "./layout";

function person(id: string, joined: number): ParticipantInfo {
  return {
    id,
    display_name: id,
    role: "participant",
    guest: false,
    audio: false,
    video: false,
    audio_blocked: false,
    video_blocked: false,
    hand_raised: false,
    hand_raised_at: null,
    screen_sharing: false,
    connection: "connected",
    joined_at: new Date(Date.UTC(2025, 0, 1, 0, 0, joined)).toISOString(),
    spoken_language: null,
  };
}

describe("fitGrid", () => {
  it("puts four tiles in two by two on a 16:9 area", () => {
    expect(fitGrid(4, 1600, 900, 16 / 9, 0)).toMatchObject({ cols: 2, rows: 2, tileWidth: 800 });
  });
  it("uses one row for two tiles on a wide area and one column on a tall one", () => {
    expect(fitGrid(2, 1600, 500, 16 / 9, 0)).toMatchObject({ cols: 2, rows: 1 });
    expect(fitGrid(2, 400, 900, 16 / 9, 0)).toMatchObject({ cols: 1, rows: 2 });
  });
});

describe("tilesPerPage", () => {
  it("fits more tiles on a large screen than on a small one", () => {
    const big = tilesPerPage(1900, 950);
    const small = tilesPerPage(1000, 600);
    expect(big).toBeGreaterThan(small);
    expect(big).toBeLessThanOrEqual(25);
    expect(fitGrid(big, 1900, 950).tileWidth).toBeGreaterThanOrEqual(200);
  });
  it("stacks a phone screen in one column", () => {
    expect(tilesPerPage(390, 640)).toBe(2);
    expect(tilesPerPage(390, 200)).toBe(1);
  });
  it("never returns zero", () => {
    expect(tilesPerPage(0, 0)).toBe(1);
    expect(tilesPerPage(100, 50)).toBe(1);
  });
});

describe("paginate", () => {
  const items = Array.from({ length: 23 }, (_, i) => i);
  it("slices pages and counts them", () => {
    expect(paginate(items, 9, 0)).toEqual({ items: [0, 1, 2, 3, 4, 5, 6, 7, 8], page: 0, pages: 3 });
    expect(paginate(items, 9, 2).items).toEqual([18, 19, 20, 21, 22]);
  });
  it("clamps a page that no longer exists (people left)", () => {
    expect(paginate(items.slice(0, 5), 9, 2)).toMatchObject({ page: 0, pages: 1 });
    expect(paginate([], 9, 0)).toEqual({ items: [], page: 0, pages: 1 });
  });
});

describe("orderParticipants", () => {
  const people = ["a", "b", "c", "d", "e", "f"].map((id, i) => person(id, i));
  it("puts self first, then join order", () => {
    const order = orderParticipants(people, "d", new Map(), 9, 0);
    expect(order.map((p) => p.id)).toEqual(["d", "a", "b", "c", "e", "f"]);
  });
  it("moves a recent speaker from a later page onto the first", () => {
    const now = 100_000;
    const order = orderParticipants(people, "a", new Map([["f", now - 1_000]]), 3, now);
    expect(order.slice(0, 3).map((p) => p.id)).toEqual(["a", "b", "f"]);
    expect(order).toHaveLength(6);
    expect(new Set(order.map((p) => p.id)).size).toBe(6);
  });
  it("ignores speakers from long ago", () => {
    const order = orderParticipants(people, "a", new Map([["f", 0]]), 3, 1_000_000);
    expect(order.slice(0, 3).map((p) => p.id)).toEqual(["a", "b", "c"]);
  });
});

describe("meeting references", () => {
  it("formats codes in groups of three", () => {
    expect(formatCode("123456789")).toBe("123 456 789");
    expect(formatCode("12345")).toBe("12345");
  });
  it("reads codes, tokens and links", () => {
    expect(parseMeetingRef(" 123 456 789 ")).toEqual({ ref: "123456789", byCode: true });
    expect(parseMeetingRef("123-456-789")).toEqual({ ref: "123456789", byCode: true });
    expect(parseMeetingRef("https://meet.example.org/j/Ab3_xYz9-k")).toEqual({ ref: "Ab3_xYz9-k", byCode: false });
    expect(parseMeetingRef("https://meet.example.org/j/123456789")).toEqual({ ref: "123456789", byCode: true });
    expect(parseMeetingRef("12345")).toBeNull();
    expect(parseMeetingRef("not a code!")).toBeNull();
    expect(parseMeetingRef("")).toBeNull();
  });
  it("writes invite text with link, code and passcode", () => {
    const text = inviteText({ title: "Standup", url: "https://x.test/j/tok", code: "123456789", passcode: "424242" });
    expect(text).toBe("Join my Convene meeting: Standup\nhttps://x.test/j/tok\nMeeting code: 123 456 789\nPasscode: 424242");
  });
  it("writes invite text in Arabic with the code, passcode and link left to right", () => {
    language.setAccount("ar");
    try {
      const text = inviteText({ title: "Standup", url: "https://x.test/j/tok", code: "123456789", passcode: "424242" });
      expect(text.split("\n")).toEqual([
        "انضم إلى اجتماعي على Convene: \u2068Standup\u2069",
        "\u2066https://x.test/j/tok\u2069",
        "رمز الاجتماع: \u2066123 456 789\u2069",
        "رمز المرور: \u2066424242\u2069",
      ]);
    } finally {
      language.setAccount(null);
    }
  });
  it("makes initials", () => {
    expect(initials("Ada Lovelace")).toBe("AL");
    expect(initials("grace")).toBe("G");
    expect(initials("  ")).toBe("?");
  });
});

describe("featuredIds and pins", () => {
  const present = new Set(["a", "b", "c", "d", "e", "f"]);
  it("puts the spotlight first, then pins, each once, only people present", () => {
    expect(featuredIds(["b"], ["c", "b", "gone"], present)).toEqual(["b", "c"]);
    expect(featuredIds([], [], present)).toEqual([]);
    expect(featuredIds(["gone"], [], present)).toEqual([]);
  });
  it("keeps at most four on the stage", () => {
    expect(featuredIds(["a", "b", "c"], ["d", "e"], present)).toEqual(["a", "b", "c", "d"]);
  });
  it("toggles a pin and keeps the newest four", () => {
    expect(togglePin([], "a")).toEqual(["a"]);
    expect(togglePin(["a", "b"], "a")).toEqual(["b"]);
    expect(togglePin(["a", "b", "c", "d"], "e")).toEqual(["b", "c", "d", "e"]);
  });
});

describe("chosenTilesPerPage and withoutSelf", () => {
  it("follows the choice when it fits and the screen when it does not", () => {
    expect(chosenTilesPerPage("auto", 1900, 950)).toBe(tilesPerPage(1900, 950));
    expect(chosenTilesPerPage(4, 1900, 950)).toBe(4);
    expect(chosenTilesPerPage(25, 390, 640)).toBeLessThan(25);
    expect(chosenTilesPerPage(9, 0, 0)).toBe(1);
  });
  it("hides the self-view unless it is the only tile", () => {
    const people = [person("me", 0), person("ann", 1)];
    expect(withoutSelf(people, "me", true).map((p) => p.id)).toEqual(["ann"]);
    expect(withoutSelf(people, "me", false).map((p) => p.id)).toEqual(["me", "ann"]);
    expect(withoutSelf([person("me", 0)], "me", true).map((p) => p.id)).toEqual(["me"]);
  });
});
