import { describe, expect, it } from "vitest";
import type { CaptionEvent, CaptionsInfo, ParticipantInfo } from "../protocol/types";
import {
  applyCaption,
  applyCaptionsUpdated,
  captionsFromSnapshot,
  DEFAULT_CAPTION_PREFS,
  directionOfTag,
  expireCaptions,
  FINAL_HOLD_MS,
  hasSpeechModel,
  history,
  HISTORY_LIMIT,
  initialCaptions,
  joinText,
  parseCaptionPrefs,
  readingOf,
  setReading,
  shownLines,
  STALE_MS,
  untranslatable,
  type CaptionsState,
} from "./captions";
import { applyEvent, initialState } from "./state";

const ADA = { id: "p-ada", display_name: "Ada" };
const LEILA = { id: "p-leila", display_name: "Leila" };

function event(segment: string, stable: string, extra: Partial<CaptionEvent> = {}): CaptionEvent {
  return {
    segment_id: segment,
    speaker: ADA,
    language: "en",
    source_language: "en",
    translated: false,
    stable,
    unstable: "",
    final: false,
    start_ms: 0,
    end_ms: 1000,
    ...extra,
  };
}

const INFO: CaptionsInfo = {
  active: true,
  available: true,
  policy: "allowed",
  started_at: "2025-01-01T00:00:00Z",
  started_by: ADA,
  transcribing: true,
  languages: [
    { code: "en", speech: true, translation_from: ["es", "fr"] },
    { code: "es", speech: true, translation_from: ["en"] },
    { code: "ar", speech: false, translation_from: ["en"] },
  ],
};

function reading(value: string): CaptionsState {
  return captionsFromSnapshot(initialCaptions(), INFO, value);
}

function person(id: string, spoken: string | null): ParticipantInfo {
  return {
    id,
    display_name: id,
    role: "participant",
    guest: false,
    audio: true,
    video: false,
    audio_blocked: false,
    video_blocked: false,
    hand_raised: false,
    hand_raised_at: null,
    screen_sharing: false,
    connection: "connected",
    joined_at: "2025-01-01T00:00:00Z",
    spoken_language: spoken,
  };
}

describe("caption segments", () => {
  it("grow from partials into a final, one line per segment", () => {
    let s = reading("original");
    s = applyCaption(s, event("s1", "", { unstable: "hello" }), 1);
    s = applyCaption(s, event("s1", "hello", { unstable: "wor" }), 2);
    s = applyCaption(s, event("s1", "hello world", { unstable: "how" }), 3);
    expect(shownLines(s).map((l) => [l.stable, l.unstable, l.final])).toEqual([["hello world", "how", false]]);
    s = applyCaption(s, event("s1", "hello world how are you", { final: true, end_ms: 2500 }), 4);
    const [line] = shownLines(s);
    expect(line).toMatchObject({ stable: "hello world how are you", unstable: "", final: true, endMs: 2500 });
    expect(history(s).map((h) => h.stable)).toEqual(["hello world how are you"]);
  });

  it("never shows the stable text shorter (a late, older event)", () => {
    let s = reading("original");
    s = applyCaption(s, event("s1", "the quick brown", { unstable: "fox" }), 1);
    s = applyCaption(s, event("s1", "the quick", { unstable: "brown fox jumps" }), 2);
    const [line] = shownLines(s);
    expect(line?.stable).toBe("the quick brown");
    expect(line?.unstable).toBe("fox jumps");
    // Even a final that says less keeps what was settled.
    s = applyCaption(s, event("s1", "the quick", { final: true }), 3);
    expect(shownLines(s)[0]).toMatchObject({ stable: "the quick brown", final: true });
  });

  it("ignores an old event for a segment after its final", () => {
    let s = reading("original");
    s = applyCaption(s, event("s1", "done", { final: true }), 1);
    const after = applyCaption(s, event("s1", "do", { unstable: "ne and more" }), 2);
    expect(after).toBe(s);
    expect(applyCaption(s, event("s1", "done", { final: true }), 3)).toBe(s);
  });

  it("replaces a final original with its translation into the language read", () => {
    let s = reading("es");
    s = applyCaption(s, event("s1", "good morning", { final: true }), 1);
    s = applyCaption(s, event("s2", "next one", { final: true }), 2);
    s = applyCaption(s, event("s1", "buenos días", { final: true, translated: true, language: "es" }), 3);
    expect(history(s).map((h) => [h.id, h.stable, h.language, h.translated])).toEqual([
      ["s1", "buenos días", "es", true],
      ["s2", "next one", "en", false],
    ]);
    // A translation into another language (read earlier, still in flight) does not.
    const stale = applyCaption(s, event("s2", "le suivant", { final: true, translated: true, language: "fr" }), 4);
    expect(stale).toBe(s);
  });

  it("takes a translation that arrives alone (a reader of another language)", () => {
    let s = reading("es");
    s = applyCaption(s, event("s1", "hola a todos", { final: true, translated: true, language: "es" }), 5);
    expect(shownLines(s)[0]).toMatchObject({ stable: "hola a todos", translated: true, language: "es", sourceLanguage: "en" });
  });

  it("shows the latest two segments, a finished one for a few seconds", () => {
    let s = reading("original");
    s = applyCaption(s, event("a", "one", { final: true }), 0);
    s = applyCaption(s, event("b", "two", { speaker: LEILA }), 10);
    s = applyCaption(s, event("c", "three"), 20);
    expect(shownLines(s).map((l) => l.id)).toEqual(["b", "c"]);
    expect(expireCaptions(s, 1000)).toBe(s);
    s = expireCaptions(s, FINAL_HOLD_MS);
    expect([...s.live.keys()]).toEqual(["b", "c"]);
    // A segment left unfinished (its speaker went) goes too, later.
    s = expireCaptions(s, 20 + STALE_MS);
    expect(s.live.size).toBe(0);
    expect(history(s).map((h) => h.id)).toEqual(["a"]);
  });

  it("keeps a bounded history, oldest first", () => {
    let s = reading("original");
    for (let i = 0; i < HISTORY_LIMIT + 20; i++) s = applyCaption(s, event(`s${i}`, `text ${i}`, { final: true }), i);
    const h = history(s);
    expect(h).toHaveLength(HISTORY_LIMIT);
    expect(h[0]?.id).toBe("s20");
    expect(h.at(-1)?.id).toBe(`s${HISTORY_LIMIT + 19}`);
  });

  it("drops events while reading nothing, and the lines when captions stop", () => {
    const off = reading("off");
    expect(applyCaption(off, event("s1", "hi"), 1)).toBe(off);
    let s = applyCaption(reading("original"), event("s1", "hi", { final: true }), 1);
    s = applyCaptionsUpdated(s, { ...INFO, active: false });
    expect(s.live.size).toBe(0);
    expect(history(s)).toHaveLength(1);
    expect(setReading(s, "original")).toBe(s);
    expect(setReading(applyCaption(s, event("s2", "x"), 2), "es").live.size).toBe(0);
  });

  it("comes from the snapshot and the events through the room state", () => {
    let state = applyEvent(initialState(), "captions.updated", INFO);
    expect(state.captions.info.active).toBe(true);
    state = { ...state, captions: setReading(state.captions, "original") };
    state = applyEvent(state, "caption", event("s1", "hi"), { now: 5 });
    expect(shownLines(state.captions)[0]?.receivedAt).toBe(5);
    // Nothing new: the same state (no re-render).
    expect(applyEvent(state, "caption", event("s1", "hi"), { now: 6 })).toBe(state);
  });
});

describe("caption text", () => {
  it("joins stable and unstable as the language writes", () => {
    expect(joinText("hello", "world", "en")).toBe("hello world");
    expect(joinText("你好", "世界", "zh")).toBe("你好世界");
    expect(joinText("", "tail", "en")).toBe("tail");
    expect(joinText("head", "", null)).toBe("head");
  });

  it("gives each line its direction from its language", () => {
    expect(directionOfTag("ar")).toBe("rtl");
    expect(directionOfTag("ar-EG")).toBe("rtl");
    expect(directionOfTag("en")).toBe("ltr");
    expect(directionOfTag(null)).toBe("auto");
  });
});

describe("what can be read", () => {
  it("names the present speakers' languages a language cannot be reached from", () => {
    const people = [person("me", "ar"), person("a", "en"), person("b", "ru"), person("c", "es"), person("d", null)];
    const [en, es, ar] = INFO.languages;
    expect(untranslatable(en!, people, "me")).toEqual(["ru"]);
    expect(untranslatable(es!, people, "me")).toEqual(["ru"]);
    expect(untranslatable(ar!, people, "me")).toEqual(["es", "ru"]);
  });

  it("knows which spoken languages have a speech model", () => {
    expect(hasSpeechModel(INFO, "en-GB")).toBe(true);
    expect(hasSpeechModel(INFO, "ar")).toBe(false);
    expect(hasSpeechModel(INFO, "zh")).toBe(false);
    expect(hasSpeechModel(INFO, null)).toBe(false);
  });
});

describe("caption prefs", () => {
  it("parse what was stored, falling back to the defaults", () => {
    expect(parseCaptionPrefs(null)).toEqual(DEFAULT_CAPTION_PREFS);
    expect(parseCaptionPrefs("not json")).toEqual(DEFAULT_CAPTION_PREFS);
    expect(parseCaptionPrefs('{"show":true,"language":"es","size":"large","spoken":"fr"}')).toEqual({
      show: true,
      language: "es",
      size: "large",
      spoken: "fr",
    });
    expect(parseCaptionPrefs('{"show":"yes","language":"<b>","size":"huge","spoken":3}')).toEqual(DEFAULT_CAPTION_PREFS);
    expect(parseCaptionPrefs('{"language":"original"}').language).toBe("original");
  });

  it("read off when hidden, else the choice or the UI's language", () => {
    expect(readingOf(DEFAULT_CAPTION_PREFS, "fr")).toBe("off");
    expect(readingOf({ ...DEFAULT_CAPTION_PREFS, show: true }, "fr")).toBe("fr");
    expect(readingOf({ ...DEFAULT_CAPTION_PREFS, show: true, language: "original" }, "fr")).toBe("original");
    // The UI's language, when the meeting cannot caption in it: each speaker's own words.
    expect(readingOf({ ...DEFAULT_CAPTION_PREFS, show: true }, "zh", INFO)).toBe("original");
    expect(readingOf({ ...DEFAULT_CAPTION_PREFS, show: true }, "es", INFO)).toBe("es");
  });
});
