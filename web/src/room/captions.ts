/**
 * Live captions as this client shows them: the meeting's CaptionsInfo (snapshot and
 * `captions.updated`), what this connection reads, and the `caption` events kept per segment.
 *
 * Pure functions on an immutable state (like ./state), so the UI re-renders on identity changes
 * and tests drive it without a network. The rules the screen relies on:
 * - the shown stable text of a segment only grows (a late or reordered event cannot shorten it);
 * - once a segment is final, later events for it are ignored, except its translation into the
 *   language being read, which replaces the original text;
 * - the lines over the stage are the latest segments (a finished one stays a few seconds);
 *   the panel's history holds the last HISTORY_LIMIT final segments.
 *
 * The reader's own choices (the language read when captions are shown, whether they are shown,
 * the text size, the language spoken) live in CaptionPrefs, remembered in this browser.
 */
import { Emitter } from "../protocol/emitter";
import type { CaptionEvent, CaptionLanguage, CaptionsInfo, CaptionSpeaker, ParticipantInfo } from "../protocol/types";

/** What a connection reads: "off", "original" (each speaker's own words) or a language code. */
export type Reading = string;

export interface CaptionSegment {
  id: string;
  speaker: CaptionSpeaker;
  /** The text's language (null: not known). */
  language: string | null;
  sourceLanguage: string | null;
  translated: boolean;
  stable: string;
  unstable: string;
  final: boolean;
  startMs: number;
  endMs: number;
  /** When this client first saw the segment, and last saw it change (ms, the client's clock). */
  receivedAt: number;
  updatedAt: number;
}

export interface CaptionsState {
  info: CaptionsInfo;
  /** What this connection reads (as last sent and confirmed). */
  reading: Reading;
  /** The segments shown or about to be shown over the stage, by segment id. */
  live: ReadonlyMap<string, CaptionSegment>;
  /** Final segments, oldest first (insertion order), at most HISTORY_LIMIT. */
  finals: ReadonlyMap<string, CaptionSegment>;
}

/** How many final segments the panel keeps. */
export const HISTORY_LIMIT = 500;
/** A finished segment stays over the stage this long (ms). */
export const FINAL_HOLD_MS = 6_000;
/** A segment that stopped changing without becoming final (its speaker left) goes after this. */
export const STALE_MS = 30_000;
/** Lines over the stage. */
export const SHOWN_LINES = 2;

export const NO_CAPTIONS: CaptionsInfo = {
  active: false,
  available: false,
  policy: "allowed",
  started_at: null,
  started_by: null,
  transcribing: false,
  languages: [],
};

export function initialCaptions(): CaptionsState {
  return { info: NO_CAPTIONS, reading: "off", live: new Map(), finals: new Map() };
}

/**
 * From a snapshot (join, admission, resume). The segments seen so far stay: a resume keeps the
 * history, and the server's later events for the same segments still merge with them.
 */
export function captionsFromSnapshot(
  state: CaptionsState,
  info: CaptionsInfo | undefined,
  reading: string | undefined,
): CaptionsState {
  return { ...state, info: info ?? NO_CAPTIONS, reading: reading ?? "off" };
}

export function applyCaptionsUpdated(state: CaptionsState, info: CaptionsInfo): CaptionsState {
  // Turned off: what is on screen goes (the history stays for the panel).
  const live = info.active ? state.live : new Map<string, CaptionSegment>();
  return { ...state, info, live };
}

export function setReading(state: CaptionsState, reading: Reading): CaptionsState {
  if (state.reading === reading) return state;
  // Lines in another language would be a mix; the next events bring the new one.
  return { ...state, reading, live: new Map() };
}

/** Whether `event` is the translation, into what is read, of a final segment shown untranslated. */
function replacesFinal(old: CaptionSegment, event: CaptionEvent, reading: Reading): boolean {
  if (!event.final || !event.translated || event.language !== reading) return false;
  return !old.translated || old.language !== event.language;
}

/** Stable text only grows: of two versions of one segment, the one that says more. */
function mergeText(old: CaptionSegment, event: CaptionEvent): { stable: string; unstable: string } {
  if (event.stable.length >= old.stable.length) return { stable: event.stable, unstable: event.unstable };
  // An older hypothesis arrived late: keep what was settled; the tail is what goes beyond it.
  const whole = joinText(event.stable, event.unstable, event.language);
  const unstable = whole.startsWith(old.stable) ? whole.slice(old.stable.length).trim() : old.unstable;
  return { stable: old.stable, unstable: event.final ? "" : unstable };
}

function segmentOf(event: CaptionEvent, now: number, receivedAt = now): CaptionSegment {
  return {
    id: event.segment_id,
    speaker: event.speaker,
    language: event.language,
    sourceLanguage: event.source_language,
    translated: event.translated,
    stable: event.stable,
    unstable: event.final ? "" : event.unstable,
    final: event.final,
    startMs: event.start_ms,
    endMs: event.end_ms,
    receivedAt,
    updatedAt: now,
  };
}

/** Applies one `caption` event (see the module docstring for the rules). */
export function applyCaption(state: CaptionsState, event: CaptionEvent, now: number): CaptionsState {
  if (state.reading === "off") return state; // a late event after turning captions off
  const id = event.segment_id;
  const done = state.finals.get(id);
  const old = state.live.get(id) ?? done;
  let next: CaptionSegment;
  if (old?.final) {
    if (!replacesFinal(old, event, state.reading)) return state;
    next = segmentOf(event, now, old.receivedAt);
  } else if (old && !(event.translated && !old.translated)) {
    const text = mergeText(old, event);
    if (text.stable === old.stable && text.unstable === old.unstable && event.final === old.final) return state;
    next = { ...old, ...text, final: event.final, endMs: Math.max(old.endMs, event.end_ms), updatedAt: now };
  } else {
    next = segmentOf(event, now, old?.receivedAt ?? now);
  }
  const live = new Map(state.live);
  live.set(id, next);
  let finals = state.finals;
  if (next.final) {
    const updated = new Map(state.finals);
    updated.set(id, next); // a replaced translation keeps its place in the history
    while (updated.size > HISTORY_LIMIT) {
      const oldest = updated.keys().next().value;
      if (oldest === undefined) break;
      updated.delete(oldest);
    }
    finals = updated;
  }
  return { ...state, live, finals };
}

/** Drops the lines whose time over the stage is over; the same state when none is. */
export function expireCaptions(state: CaptionsState, now: number): CaptionsState {
  let live: Map<string, CaptionSegment> | null = null;
  for (const [id, s] of state.live) {
    const age = now - s.updatedAt;
    if ((s.final && age >= FINAL_HOLD_MS) || age >= STALE_MS) {
      live ??= new Map(state.live);
      live.delete(id);
    }
  }
  return live ? { ...state, live } : state;
}

/** The lines over the stage: the latest SHOWN_LINES segments, in the order they began. */
export function shownLines(state: CaptionsState, limit = SHOWN_LINES): CaptionSegment[] {
  const all = [...state.live.values()].sort((a, b) => a.receivedAt - b.receivedAt || a.startMs - b.startMs);
  return all.slice(-limit);
}

/** The panel's history, oldest first. */
export function history(state: CaptionsState): CaptionSegment[] {
  return [...state.finals.values()];
}

// Languages written without spaces between words: stable and unstable join without one.
const UNSPACED = new Set(["zh", "ja", "th", "lo", "km", "my"]);

/** Language tags compared by their primary subtag ("zh-Hans" reads as "zh"). */
export function baseLanguage(tag: string | null | undefined): string | null {
  if (!tag) return null;
  return tag.toLowerCase().split(/[-_]/)[0] ?? null;
}

/** One text from a stable head and an unstable tail, spaced as the language writes. */
export function joinText(stable: string, unstable: string, language: string | null): string {
  if (!unstable) return stable;
  if (!stable) return unstable;
  return UNSPACED.has(baseLanguage(language) ?? "") ? stable + unstable : `${stable} ${unstable}`;
}

/** Whether a line's text needs a space between its stable head and unstable tail. */
export function spaced(language: string | null): boolean {
  return !UNSPACED.has(baseLanguage(language) ?? "");
}

const RTL_LANGUAGES = new Set(["ar", "he", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb"]);

/** The direction text of a language is written in (unknown: let the text decide). */
export function directionOfTag(tag: string | null): "rtl" | "ltr" | "auto" {
  const base = baseLanguage(tag);
  if (!base) return "auto";
  return RTL_LANGUAGES.has(base) ? "rtl" : "ltr";
}

// -- What the reader can read -----------------------------------------------------------------

/**
 * The spoken languages of the people present (other than the reader) whose speech cannot be put
 * into `language`: not that language itself, and not among its translation sources.
 */
export function untranslatable(
  language: CaptionLanguage,
  participants: Iterable<ParticipantInfo>,
  selfId: string | null,
): string[] {
  const from = new Set(language.translation_from.map((l) => baseLanguage(l)));
  const target = baseLanguage(language.code);
  const missing = new Set<string>();
  for (const p of participants) {
    if (p.id === selfId) continue;
    const spoken = baseLanguage(p.spoken_language);
    if (!spoken || spoken === target || from.has(spoken)) continue;
    missing.add(spoken);
  }
  return [...missing].sort();
}

/** The offered language a tag stands for (by primary subtag), if any. */
export function offered(info: CaptionsInfo, tag: string | null | undefined): CaptionLanguage | undefined {
  const base = baseLanguage(tag);
  return base ? info.languages.find((l) => baseLanguage(l.code) === base) : undefined;
}

/** Whether speech in `tag` will be captioned (a model for it is installed). */
export function hasSpeechModel(info: CaptionsInfo, tag: string | null | undefined): boolean {
  return offered(info, tag)?.speech ?? false;
}

// -- The reader's choices, remembered in this browser --------------------------------------------

export type CaptionSize = "small" | "medium" | "large";
export const CAPTION_SIZES: readonly CaptionSize[] = ["small", "medium", "large"];

export interface CaptionPrefs {
  /** Captions shown (reading something) or not. */
  show: boolean;
  /** What is read while shown: "original" or a language; null: the UI's language. */
  language: string | null;
  size: CaptionSize;
  /** The language spoken; null: the UI's language. */
  spoken: string | null;
}

export const DEFAULT_CAPTION_PREFS: CaptionPrefs = { show: false, language: null, size: "medium", spoken: null };

const TAG = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/;

/** Parses what was stored (anything unexpected falls back to the default). */
export function parseCaptionPrefs(raw: string | null | undefined): CaptionPrefs {
  let value: unknown;
  try {
    value = JSON.parse(raw ?? "{}");
  } catch {
    return DEFAULT_CAPTION_PREFS;
  }
  if (!value || typeof value !== "object") return DEFAULT_CAPTION_PREFS;
  const r = value as Record<string, unknown>;
  const tag = (v: unknown) => (typeof v === "string" && TAG.test(v) ? v : null);
  const language = r.language === "original" ? "original" : tag(r.language);
  const size = CAPTION_SIZES.find((s) => s === r.size) ?? "medium";
  return { show: r.show === true, language, size, spoken: tag(r.spoken) };
}

/**
 * What to read, from the choices: "off", "original" or a language. Without a choice, the UI's
 * language when the meeting offers it (or offers nothing yet), else each speaker's own words.
 */
export function readingOf(prefs: CaptionPrefs, uiLanguage: string, info?: CaptionsInfo): Reading {
  if (!prefs.show) return "off";
  if (prefs.language) return prefs.language;
  if (info && info.languages.length > 0 && !offered(info, uiLanguage)) return "original";
  return uiLanguage;
}

const PREFS_KEY = "convene.captions";

class CaptionPrefsStore extends Emitter<{ change: CaptionPrefs }> {
  value: CaptionPrefs = load();

  set(changes: Partial<CaptionPrefs>): void {
    this.value = { ...this.value, ...changes };
    try {
      globalThis.localStorage?.setItem(PREFS_KEY, JSON.stringify(this.value));
    } catch {
      // Private browsing: the choice lasts for this page only.
    }
    this.emit("change", this.value);
  }
}

function load(): CaptionPrefs {
  try {
    return parseCaptionPrefs(globalThis.localStorage?.getItem(PREFS_KEY));
  } catch {
    return DEFAULT_CAPTION_PREFS;
  }
}

/** This browser's caption choices (nobody else sees them; the server is told what is read). */
export const captionPrefs = new CaptionPrefsStore();
