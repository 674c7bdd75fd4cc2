import { describe, expect, it } from "vitest";
import type { AudienceHand, AudienceInfo } from "../protocol/types";
import { SignalingError } from "../protocol/errors";
import {
  applyAudienceUpdated,
  applyListPage,
  AudienceActions,
  audienceFromSnapshot,
  chooseView,
  cleanQuery,
  HAND_LIMIT,
  hasMore,
  hlsReason,
  initialAudience,
  initialSearch,
  isAttendee,
  isEventMode,
  markFull,
  watching,
  withoutHand,
  type AudiencePort,
} from "./audience";
import { applyEvent, initialState } from "./state";

const hand = (id: string, at: string): AudienceHand => ({ id, display_name: `A ${id}`, guest: true, raised_at: at });

describe("audience state", () => {
  it("takes the count, the view and the hands from the snapshot", () => {
    const info: AudienceInfo = { count: 1200, view: "webrtc", hands: [hand("a1", "2025-01-01T00:00:01Z")] };
    const s = audienceFromSnapshot(initialAudience(), info);
    expect(s.count).toBe(1200);
    expect(s.hands.map((h) => h.id)).toEqual(["a1"]);
    expect(watching(s)).toBe("webrtc");
    expect(audienceFromSnapshot(s, null).count).toBe(0);
  });

  it("watches HLS when the server says so, when WebRTC is full, or by choice", () => {
    let s = audienceFromSnapshot(initialAudience(), { count: 3, view: "hls", hands: null });
    expect(watching(s)).toBe("hls");
    expect(hlsReason(s)).toBe("server");
    // The attendee may still try WebRTC by hand.
    s = chooseView(s, "webrtc");
    expect(watching(s)).toBe("webrtc");
    expect(hlsReason(s)).toBeNull();
    // ... and is refused: the stream it is, whatever was chosen.
    s = markFull(s);
    expect(watching(s)).toBe("hls");
    expect(hlsReason(s)).toBe("full");
    expect(markFull(s)).toBe(s);
    // A snapshot that offers WebRTC again (a resume with room) lifts the refusal.
    s = audienceFromSnapshot(s, { count: 3, view: "webrtc", hands: null });
    expect(s.full).toBe(false);
    expect(watching(s)).toBe("webrtc");
    s = chooseView(s, "hls");
    expect(hlsReason(s)).toBe("chosen");
  });

  it("keeps the hands on an update without them (the count-only copy everyone gets)", () => {
    const s = audienceFromSnapshot(initialAudience(), { count: 2, view: "webrtc", hands: [hand("a1", "t1")] });
    const counted = applyAudienceUpdated(s, { count: 5, hands: null });
    expect(counted.count).toBe(5);
    expect(counted.hands).toBe(s.hands);
    const same = applyAudienceUpdated(counted, { count: 5, hands: null });
    expect(same).toBe(counted);
    const lowered = applyAudienceUpdated(counted, { count: 5, hands: [] });
    expect(lowered.hands).toEqual([]);
    const many = Array.from({ length: HAND_LIMIT + 20 }, (_, i) => hand(`a${i}`, `t${i}`));
    expect(applyAudienceUpdated(s, { count: 500, hands: many }).hands).toHaveLength(HAND_LIMIT);
    expect(applyAudienceUpdated(s, { count: -1, hands: null }).count).toBe(0);
  });

  it("drops a hand at once when the person is promoted", () => {
    const s = audienceFromSnapshot(initialAudience(), { count: 2, view: "webrtc", hands: [hand("a1", "t1"), hand("a2", "t2")] });
    expect(withoutHand(s, "a1").hands.map((h) => h.id)).toEqual(["a2"]);
    expect(withoutHand(s, "nobody")).toBe(s);
  });

  it("knows events and attendees", () => {
    expect(isEventMode({ mode: "event" })).toBe(true);
    expect(isEventMode({ mode: "lecture" })).toBe(true);
    expect(isEventMode({ mode: "meeting" })).toBe(false);
    expect(isEventMode(null)).toBe(false);
    expect(isAttendee({ role: "attendee" })).toBe(true);
    expect(isAttendee({ role: "participant" })).toBe(false);
  });

  it("goes through the room state: audience.updated and a promotion's snapshot", () => {
    const base = initialState();
    const counted = applyEvent(base, "audience.updated", { count: 42, hands: null });
    expect(counted.audience.count).toBe(42);
    expect(applyEvent(counted, "audience.updated", { count: 42, hands: null })).toBe(counted);
  });
});

describe("audience search", () => {
  const a = (id: string) => ({ id, display_name: id, guest: false, joined_at: "t", hand_raised_at: null });

  it("appends pages for the same query and drops a stale query's page", () => {
    let s = initialSearch("ann");
    s = applyListPage(s, "ann", 0, { attendees: [a("1"), a("2")], total: 3 });
    expect(hasMore(s)).toBe(true);
    s = applyListPage(s, "ann", 2, { attendees: [a("2"), a("3")], total: 3 });
    expect(s.attendees.map((x) => x.id)).toEqual(["1", "2", "3"]);
    expect(hasMore(s)).toBe(false);
    expect(applyListPage(s, "bob", 0, { attendees: [a("9")], total: 1 })).toBe(s);
    // A first page again (a new search with the same text) replaces the list.
    s = applyListPage(s, "ann", 0, { attendees: [a("3")], total: 1 });
    expect(s.attendees.map((x) => x.id)).toEqual(["3"]);
  });

  it("cleans the query", () => {
    expect(cleanQuery("  Ann\u0000 \u0007")).toBe("Ann");
    expect([...cleanQuery("é".repeat(100))]).toHaveLength(64);
    // Cut at 64 characters, then trimmed again.
    expect(cleanQuery(`${"a".repeat(63)} b`)).toBe("a".repeat(63));
  });
});

describe("AudienceActions", () => {
  function port() {
    const calls: [string, unknown][] = [];
    const toasts: unknown[] = [];
    const lowered: string[] = [];
    let fail: unknown = null;
    const p: AudiencePort = {
      request: ((type: string, data: unknown) => {
        calls.push([type, data]);
        if (fail) return Promise.reject(fail);
        return Promise.resolve(type === "audience.list" ? { attendees: [], total: 0 } : {});
      }) as AudiencePort["request"],
      toast: (e) => toasts.push(e),
      lowered: (id) => lowered.push(id),
    };
    return { p, calls, toasts, lowered, failWith: (e: unknown) => (fail = e) };
  }

  it("lists with a clean, bounded request", async () => {
    const { p, calls } = port();
    const actions = new AudienceActions(p);
    await actions.list("  x ", -5, 1000);
    await actions.list("");
    expect(calls).toEqual([
      ["audience.list", { query: "x", offset: 0, limit: 100 }],
      ["audience.list", { offset: 0, limit: 50 }],
    ]);
  });

  it("promotes (the hand goes at once) and demotes; a refusal is said", async () => {
    const t = port();
    const actions = new AudienceActions(t.p);
    expect(await actions.promote("a1")).toBe(true);
    expect(t.lowered).toEqual(["a1"]);
    expect(await actions.demote("p1")).toBe(true);
    expect(t.calls.map((c) => c[0])).toEqual(["host.promote", "host.demote"]);
    const err = new SignalingError("meeting_full", "full");
    t.failWith(err);
    expect(await actions.promote("a2")).toBe(false);
    expect(t.toasts).toEqual([err]);
    expect(t.lowered).toEqual(["a1"]);
  });
});

describe("the search query under random input", () => {
  it("is never longer than 64 characters, never has control characters, never starts or ends with a space", () => {
    let s = 7;
    const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31), s / 2 ** 31);
    for (let i = 0; i < 3_000; i++) {
      let raw = "";
      const n = Math.floor(next() * 120);
      for (let j = 0; j < n; j++) raw += String.fromCodePoint(Math.floor(next() ** 3 * 0x2ffff));
      const q = cleanQuery(raw);
      expect([...q].length).toBeLessThanOrEqual(64);
      expect(/[\u0000-\u001f\u007f]/.test(q)).toBe(false);
      expect(q).toBe(q.trim());
    }
  });
});
