import { describe, expect, it } from "vitest";
import type { Comment } from "../protocol/types";
import {
  applyBatch,
  applyCommentsUpdated,
  applyHidden,
  applyWords,
  commentsFromSnapshot,
  DURATION_MS,
  INCOMING_LIMIT,
  initialComments,
  laneCount,
  laneFree,
  MAX_WAIT_MS,
  parseCommentPrefs,
  pickLane,
  RECENT_LIMIT,
  takeIncoming,
  withoutIncoming,
} from "./comments";
import { applyReactionCounts, expireBursts, particlesFor, scaleFor, showsCount, BURST_MS } from "./bursts";

const ADA = { id: "p-ada", display_name: "Ada" };

function comment(id: string, text = `comment ${id}`): Comment {
  return { id, sender: ADA, text, sent_at: "2026-01-01T10:00:00Z" };
}

function batch(...ids: string[]) {
  return { items: ids.map((id) => comment(id)), received: ids.length, shown: ids.length };
}

describe("comment batches", () => {
  it("keeps each comment once, in the list and in what waits to fly", () => {
    let s = applyBatch(initialComments(), batch("a", "b"), 1000);
    s = applyBatch(s, batch("b", "c"), 1100);
    expect(s.recent.map((c) => c.id)).toEqual(["a", "b", "c"]);
    expect(s.incoming.map((i) => i.comment.id)).toEqual(["a", "b", "c"]);
    // One's own reply, then the batch carrying it: once.
    const again = applyBatch(s, batch("c"), 1200);
    expect(again).toBe(s);
  });

  it("counts what the server sampled away", () => {
    const s = applyBatch(initialComments(), { items: [comment("a")], received: 40, shown: 1 }, 0);
    expect(s.unshown).toBe(39);
    const t = applyBatch(s, { items: [comment("a")], received: 10, shown: 1 }, 0);
    expect(t.unshown).toBe(48);
  });

  it("keeps the last RECENT_LIMIT for the list and drops the oldest waiting ones", () => {
    let s = initialComments();
    for (let i = 0; i < RECENT_LIMIT + 20; i++) s = applyBatch(s, batch(`c${i}`), i);
    expect(s.recent).toHaveLength(RECENT_LIMIT);
    expect(s.recent[0]?.id).toBe("c20");
    expect(s.incoming).toHaveLength(INCOMING_LIMIT);
    expect(s.incoming.at(-1)?.comment.id).toBe(`c${RECENT_LIMIT + 19}`);
  });

  it("flies the oldest first, and drops what waited too long", () => {
    let s = applyBatch(initialComments(), batch("a", "b"), 0);
    s = applyBatch(s, batch("c"), MAX_WAIT_MS);
    const first = takeIncoming(s, MAX_WAIT_MS + 1, 5);
    expect(first.take.map((c) => c.id)).toEqual(["c"]);
    expect(first.state.incoming).toEqual([]);
    const some = takeIncoming(s, 10, 1);
    expect(some.take.map((c) => c.id)).toEqual(["a"]);
    expect(some.state.incoming.map((i) => i.comment.id)).toEqual(["b", "c"]);
    // Nothing to take, nothing expired: the same state.
    const none = takeIncoming(s, 10, 0);
    expect(none.state).toBe(s);
  });

  it("forgets what flew and what waited too long", () => {
    let s = applyBatch(initialComments(), batch("a", "b"), 0);
    s = applyBatch(s, batch("c"), 3000);
    expect(withoutIncoming(s, new Set(["c"]), 100).incoming.map((i) => i.comment.id)).toEqual(["a", "b"]);
    expect(withoutIncoming(s, new Set(), MAX_WAIT_MS + 1).incoming.map((i) => i.comment.id)).toEqual(["c"]);
    expect(withoutIncoming(s, new Set(), 100)).toBe(s);
  });

  it("removes hidden comments everywhere and never shows them again", () => {
    let s = applyBatch(initialComments(), batch("a", "b"), 0);
    s = applyHidden(s, { ids: ["a"], by: ADA });
    expect(s.recent.map((c) => c.id)).toEqual(["b"]);
    expect(s.incoming.map((i) => i.comment.id)).toEqual(["b"]);
    s = applyBatch(s, batch("a"), 10);
    expect(s.recent.map((c) => c.id)).toEqual(["b"]);
    expect(applyHidden(s, { ids: ["a"], by: ADA })).toBe(s);
  });

  it("takes settings from the snapshot and the events", () => {
    let s = commentsFromSnapshot(initialComments(), {
      enabled: true,
      slow_mode_seconds: 10,
      recent: [comment("old")],
      words: ["spam"],
    });
    expect(s).toMatchObject({ enabled: true, slowModeSeconds: 10, words: ["spam"] });
    expect(s.recent.map((c) => c.id)).toEqual(["old"]);
    // Old comments do not fly.
    expect(s.incoming).toEqual([]);
    s = applyBatch(s, batch("x"), 0);
    s = applyCommentsUpdated(s, { enabled: false, slow_mode_seconds: 0 });
    expect(s.enabled).toBe(false);
    expect(s.incoming).toEqual([]);
    expect(applyCommentsUpdated(s, { enabled: false, slow_mode_seconds: 0 })).toBe(s);
    expect(applyWords(s, { words: ["a", "b"] }).words).toEqual(["a", "b"]);
    // A participant's snapshot has no words.
    expect(commentsFromSnapshot(s, { enabled: true, slow_mode_seconds: 0, recent: [], words: null }).words).toBeNull();
  });
});

describe("lanes", () => {
  const W = 1000;

  it("takes a comment in an empty lane", () => {
    expect(laneFree(null, 0, W, 200)).toBe(true);
    expect(pickLane([null, null], 0, W, 200)).toBe(0);
  });

  it("waits until the last comment has fully entered", () => {
    const last = { start: 0, width: 200 };
    // Speed (1000 + 200) / 8000 px/ms: 200 px plus the gap take about 1.5 s.
    expect(laneFree(last, 500, W, 200)).toBe(false);
    expect(laneFree(last, 2000, W, 200)).toBe(true);
  });

  it("keeps a faster (longer) comment from catching up a slower one", () => {
    const last = { start: 0, width: 50 };
    // Entered by 1 s, but a 900 px comment moves much faster and would overtake it.
    expect(laneFree(last, 1000, W, 900)).toBe(false);
    // Late enough, it cannot reach the tail before it leaves.
    expect(laneFree(last, DURATION_MS * 0.8, W, 900)).toBe(true);
    expect(laneFree(last, DURATION_MS, W, 900)).toBe(true);
  });

  it("picks the first free lane, or none", () => {
    const busy = { start: 0, width: 300 };
    expect(pickLane([busy, null, busy], 100, W, 100)).toBe(1);
    expect(pickLane([busy, busy], 100, W, 100)).toBe(-1);
  });

  it("fits lanes in the upper two thirds of the stage", () => {
    expect(laneCount(600, 40)).toBe(10);
    expect(laneCount(300, 40)).toBe(5);
    expect(laneCount(0, 40)).toBe(0);
    expect(laneCount(600, 0)).toBe(0);
  });
});

describe("comment prefs", () => {
  it("shows comments unless turned off", () => {
    expect(parseCommentPrefs(null).show).toBe(true);
    expect(parseCommentPrefs('{"show":false}').show).toBe(false);
    expect(parseCommentPrefs("garbage").show).toBe(true);
    expect(parseCommentPrefs("[1]").show).toBe(true);
  });
});

describe("reaction bursts", () => {
  let key = 0;
  const next = () => ++key;

  it("makes one burst per emoji counted", () => {
    const bursts = applyReactionCounts([], { counts: { "👍": 120, "🎉": 1, "❤️": 0 }, interval_ms: 500 }, 0, next);
    expect(bursts.map((b) => [b.emoji, b.count])).toEqual([["👍", 120], ["🎉", 1]]);
    expect(applyReactionCounts(bursts, { counts: {}, interval_ms: 500 }, 0, next)).toBe(bursts);
  });

  it("keeps at most 16 emoji of an interval and 24 bursts", () => {
    const counts = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`e${i}`, 1]));
    let bursts = applyReactionCounts([], { counts, interval_ms: 500 }, 0, next);
    expect(bursts).toHaveLength(16);
    bursts = applyReactionCounts(bursts, { counts, interval_ms: 500 }, 1, next);
    expect(bursts).toHaveLength(24);
  });

  it("expires old bursts", () => {
    const bursts = applyReactionCounts([], { counts: { "👍": 2 }, interval_ms: 500 }, 0, next);
    expect(expireBursts(bursts, BURST_MS - 1)).toBe(bursts);
    expect(expireBursts(bursts, BURST_MS)).toEqual([]);
  });

  it("scales with the count", () => {
    expect(particlesFor(1)).toBe(1);
    expect(particlesFor(10)).toBeGreaterThan(particlesFor(2));
    expect(particlesFor(100_000)).toBe(7);
    expect(scaleFor(1)).toBe(1);
    expect(scaleFor(1000)).toBe(2);
    expect(showsCount(9)).toBe(false);
    expect(showsCount(120)).toBe(true);
  });
});
