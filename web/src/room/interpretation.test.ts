import { describe, expect, it } from "vitest";
import type { AudioQualityEvent, FeedInfo, InterpretationInfo, ParticipantInfo } from "../protocol/types";
import {
  applyAudioQuality,
  applyBoothMessage,
  applyInterpretationUpdated,
  applySignal,
  audioWarnings,
  InterpretationActions,
  initialChoice,
  initialInterpretation,
  interpretationFromSnapshot,
  interpretationPrefs,
  interpretationRefs,
  isInterpretationFeed,
  parseInterpretationPrefs,
  SIGNAL_LIMIT,
  type InterpretationState,
} from "./interpretation";
import { applyEvent, feedsOf, initialState } from "./state";

const NOW = "2025-01-01T00:00:00Z";

const info: InterpretationInfo = {
  channels: [
    { language: "ar", kind: "machine", booth: null, feeds: [90], on_air: true },
    { language: "fr", kind: "human", booth: "en-fr", feeds: [20, 21], on_air: true },
  ],
  booths: [
    {
      id: "en-fr",
      languages: ["en", "fr"],
      output: "fr",
      live: "i1",
      partners: ["i1", "i2"],
      handover: null,
    },
  ],
  interpreters: [
    { participant_id: "i1", display_name: "Iris", languages: ["en", "fr"], booth: "en-fr" },
    { participant_id: "i2", display_name: "Ivo", languages: ["en", "fr"], booth: "en-fr" },
  ],
  machine_languages: ["ar"],
};

function feed(id: number, participant: string, source: FeedInfo["source"], channel: string | null = null): FeedInfo {
  return {
    id,
    participant_id: participant,
    source,
    streams: [
      { mid: "0", kind: "audio", simulcast: false, codec: "opus" },
      ...(source === "main" ? [{ mid: "1", kind: "video" as const, simulcast: true, codec: "vp8" }] : []),
    ],
    channel,
  };
}

const feeds = new Map<number, FeedInfo>([
  [10, feed(10, "a", "main")],
  [20, feed(20, "i1", "interpretation", "fr")],
  [21, feed(21, "i2", "interpretation", "fr")],
  [30, feed(30, "i1", "booth", "en-fr")],
  [31, feed(31, "i2", "booth", "en-fr")],
]);

function quality(participant: string, rating: AudioQualityEvent["rating"], at = NOW): AudioQualityEvent {
  return { participant_id: participant, rating, issues: rating === "poor" ? ["clipping"] : [], source: "client", at };
}

describe("interpretation state", () => {
  it("comes from the snapshot and follows interpretation.updated", () => {
    const s = interpretationFromSnapshot(initialInterpretation(), info, "fr", [quality("a", "poor")]);
    expect(s.listening).toBe("fr");
    expect(audioWarnings(s).map((w) => w.participant_id)).toEqual(["a"]);
    const off = applyInterpretationUpdated(s, { ...info, channels: [] });
    expect(off.info.channels).toEqual([]);
    expect(off.listening).toBe("fr");
  });

  it("keeps booth chat without duplicates and bounds the signals", () => {
    const msg = { booth: "en-fr", sender: "i1", display_name: "Iris", text: "water?", sent_at: NOW };
    let s = applyBoothMessage(initialInterpretation(), msg);
    expect(applyBoothMessage(s, msg)).toBe(s);
    for (let i = 0; i < SIGNAL_LIMIT + 5; i += 1) {
      s = applySignal(s, { kind: "slow_down", sender: "i1", display_name: "Iris", booth: "en-fr", to: null, sent_at: NOW });
    }
    expect(s.boothMessages).toHaveLength(1);
    expect(s.signals).toHaveLength(SIGNAL_LIMIT);
  });

  it("keeps the latest audio rating per speaker; only poor ones are warnings", () => {
    let s = applyAudioQuality(initialInterpretation(), quality("a", "poor", "2025-01-01T00:00:01Z"));
    s = applyAudioQuality(s, quality("a", "good", "2025-01-01T00:00:02Z"));
    expect(audioWarnings(s)).toEqual([]);
    // A late event does not bring an old rating back.
    expect(applyAudioQuality(s, quality("a", "poor", "2025-01-01T00:00:00Z"))).toBe(s);
  });

  it("receives every feed of the channel listened to, and booth feeds for partners", () => {
    const listening = interpretationFromSnapshot(initialInterpretation(), info, "fr", []);
    expect(interpretationRefs(listening, feeds, "me")).toEqual([
      { feed: 20, mid: "0" },
      { feed: 21, mid: "0" },
    ]);
    // A machine voice's feed is never announced: its one audio stream is asked for.
    const machine = interpretationFromSnapshot(initialInterpretation(), info, "ar", []);
    expect(interpretationRefs(machine, feeds, "me")).toEqual([{ feed: 90, mid: "0" }]);
    const floor = interpretationFromSnapshot(initialInterpretation(), info, null, []);
    expect(interpretationRefs(floor, feeds, "me")).toEqual([]);
    // An interpreter hears the partner's booth feed, never their own feeds.
    expect(interpretationRefs(floor, feeds, "i1")).toEqual([{ feed: 31, mid: "0" }]);
    expect(interpretationRefs(listening, feeds, "i1")).toEqual([
      { feed: 21, mid: "0" },
      { feed: 31, mid: "0" },
    ]);
  });

  it("pre-selects the remembered language only when it is offered", () => {
    expect(initialChoice(info, null, "fr")).toBe("fr");
    expect(initialChoice(info, null, "de")).toBeNull();
    expect(initialChoice(info, "ar", "fr")).toBe("ar");
  });

  it("parses stored choices defensively", () => {
    expect(parseInterpretationPrefs("{bad")).toEqual({ language: null, floorLevel: 0.2 });
    expect(parseInterpretationPrefs('{"language":"fr","floorLevel":3}')).toEqual({ language: "fr", floorLevel: 1 });
    expect(parseInterpretationPrefs('{"language":"<x>","floorLevel":-1}')).toEqual({ language: null, floorLevel: 0 });
  });
});

describe("room state with interpretation", () => {
  it("keeps channel and booth feeds off the participant tiles", () => {
    let s = initialState();
    for (const f of feeds.values()) s = applyEvent(s, "feed.added", { feed: f });
    expect(feedsOf(s, "i1")).toEqual({});
    expect(feedsOf(s, "a").main?.id).toBe(10);
    expect([...s.feeds.values()].filter(isInterpretationFeed)).toHaveLength(4);
  });

  it("routes the interpretation events into the store", () => {
    let s = applyEvent(initialState(), "interpretation.updated", info);
    s = applyEvent(s, "audio.quality", quality("a", "poor"));
    expect(s.interpretation.info.channels).toHaveLength(2);
    expect(audioWarnings(s.interpretation)).toHaveLength(1);
    s = { ...s, participants: new Map([["a", {} as ParticipantInfo]]) };
    s = applyEvent(s, "participant.left", { participant_id: "a", reason: "left" });
    expect(audioWarnings(s.interpretation)).toHaveLength(0);
  });
});

describe("listen", () => {
  function harness(connected = true, fail = false) {
    let state: InterpretationState = interpretationFromSnapshot(initialInterpretation(), info, null, []);
    const sent: (string | null)[] = [];
    const errors: unknown[] = [];
    const actions = new InterpretationActions({
      state: () => state,
      update: (next) => {
        state = next;
      },
      connected: () => connected,
      request: (_type, data) => {
        sent.push(data.channel);
        return fail ? Promise.reject(new Error("no")) : Promise.resolve({ channel: data.channel });
      },
      toast: (err) => errors.push(err),
    });
    return {
      actions,
      sent,
      errors,
      get: () => state,
      setConnected: (c: boolean) => (connected = c),
      snapshot: (listening: string | null) => (state = { ...state, listening }),
    };
  }

  it("sends the choice, keeps it and remembers it", async () => {
    const h = harness();
    expect(await h.actions.listen("fr")).toBe(true);
    expect(h.sent).toEqual(["fr"]);
    expect(h.get().listening).toBe("fr");
    expect(interpretationPrefs.value.language).toBe("fr");
  });

  it("goes back to the previous choice when the server refuses", async () => {
    const h = harness(true, true);
    expect(await h.actions.listen("fr")).toBe(false);
    expect(h.get().listening).toBeNull();
    expect(h.errors).toHaveLength(1);
  });

  it("sends a choice made while disconnected after the resume", async () => {
    const h = harness(false);
    await h.actions.listen("fr");
    expect(h.sent).toEqual([]);
    h.setConnected(true);
    // The resume's snapshot says the floor (what the server kept): the choice is sent again.
    h.snapshot(null);
    await h.actions.afterSnapshot("fr", true);
    expect(h.sent).toEqual(["fr"]);
  });

  it("picks the remembered language on a fresh join", async () => {
    interpretationPrefs.set({ language: "fr" });
    const h = harness();
    await h.actions.afterSnapshot(null, false);
    expect(h.sent).toEqual(["fr"]);
  });
});
