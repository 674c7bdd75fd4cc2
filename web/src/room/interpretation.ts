/**
 * Interpretation as this client knows it: the meeting's InterpretationInfo (snapshot and
 * `interpretation.updated`), the channel this connection listens to, and what interpreters and
 * hosts are told (booth chat, signals, speakers' audio warnings), kept for the UI to read.
 *
 * Pure functions on an immutable state (like ./state and ./captions), so the UI re-renders on
 * identity changes and tests drive it without a network. `InterpretationActions` holds the one
 * action with I/O (`listen`), behind a small port the Room gives it.
 *
 * The listener's own choices (the channel's language, the floor level while a channel plays) live
 * in InterpretationPrefs, remembered in this browser for the next meeting.
 */
import { Emitter } from "../protocol/emitter";
import type {
  AudioQualityEvent,
  BoothMessage,
  ChannelInfo,
  FeedInfo,
  InterpretationInfo,
  InterpretationSignalEvent,
  StreamRef,
} from "../protocol/types";

export interface InterpretationState {
  info: InterpretationInfo;
  /** The channel this connection listens to (its language), null for the floor. */
  listening: string | null;
  /** Booth chat seen by this interpreter, oldest first, at most MESSAGE_LIMIT. */
  boothMessages: readonly BoothMessage[];
  /** Interpreters' signals (slow down, audio poor), oldest first, at most SIGNAL_LIMIT. */
  signals: readonly InterpretationSignalEvent[];
  /** The latest audio rating of each speaker this client was told about, by participant id. */
  audio: ReadonlyMap<string, AudioQualityEvent>;
}

export const MESSAGE_LIMIT = 200;
export const SIGNAL_LIMIT = 50;

export const NO_INTERPRETATION: InterpretationInfo = { channels: [], booths: [], interpreters: [], machine_languages: [] };

export function initialInterpretation(): InterpretationState {
  return { info: NO_INTERPRETATION, listening: null, boothMessages: [], signals: [], audio: new Map() };
}

/**
 * From a snapshot (join, admission, resume). Chat and signals seen so far stay (a resume keeps
 * them); the audio warnings are the snapshot's, which are the speakers rated poor now.
 */
export function interpretationFromSnapshot(
  state: InterpretationState,
  info: InterpretationInfo | undefined,
  listening: string | null | undefined,
  warnings: readonly AudioQualityEvent[] | undefined,
): InterpretationState {
  const audio = new Map<string, AudioQualityEvent>();
  for (const w of warnings ?? []) audio.set(w.participant_id, w);
  return { ...state, info: info ?? NO_INTERPRETATION, listening: listening ?? null, audio };
}

export function applyInterpretationUpdated(state: InterpretationState, info: InterpretationInfo): InterpretationState {
  return { ...state, info };
}

export function applyBoothMessage(state: InterpretationState, message: BoothMessage): InterpretationState {
  const dup = state.boothMessages.some(
    (m) => m.sent_at === message.sent_at && m.sender === message.sender && m.text === message.text,
  );
  if (dup) return state;
  return { ...state, boothMessages: [...state.boothMessages, message].slice(-MESSAGE_LIMIT) };
}

export function applySignal(state: InterpretationState, signal: InterpretationSignalEvent): InterpretationState {
  return { ...state, signals: [...state.signals, signal].slice(-SIGNAL_LIMIT) };
}

export function applyAudioQuality(state: InterpretationState, event: AudioQualityEvent): InterpretationState {
  const old = state.audio.get(event.participant_id);
  if (old && old.at > event.at) return state; // a late event
  const audio = new Map(state.audio);
  audio.set(event.participant_id, event);
  return { ...state, audio };
}

/** A speaker left: their audio rating goes with them. */
export function forgetSpeaker(state: InterpretationState, participantId: string): InterpretationState {
  if (!state.audio.has(participantId)) return state;
  const audio = new Map(state.audio);
  audio.delete(participantId);
  return { ...state, audio };
}

export function setListening(state: InterpretationState, listening: string | null): InterpretationState {
  return state.listening === listening ? state : { ...state, listening };
}

/** The speakers rated poor now (for hosts and interpreters), oldest warning first. */
export function audioWarnings(state: InterpretationState): AudioQualityEvent[] {
  return [...state.audio.values()].filter((e) => e.rating === "poor").sort((a, b) => a.at.localeCompare(b.at));
}

/** The channel in `language`, if the meeting offers it. */
export function channelOf(info: InterpretationInfo, language: string | null): ChannelInfo | undefined {
  return language === null ? undefined : info.channels.find((c) => c.language === language);
}

/** The channel listened to, when the meeting offers it now. */
export function listenedChannel(state: InterpretationState): ChannelInfo | undefined {
  return channelOf(state.info, state.listening);
}

/** Whether the meeting offers any channel (the language menu is shown only then). */
export function offersChannels(info: InterpretationInfo): boolean {
  return info.channels.length > 0;
}

/** Feeds that are no participant's tile: an interpreter's channel voice and booth link. */
export function isInterpretationFeed(feed: Pick<FeedInfo, "source">): boolean {
  return feed.source === "interpretation" || feed.source === "booth";
}

const MACHINE_MID = "0";

/**
 * The streams to receive for interpretation: the audio of every feed of the channel listened to
 * (the server forwards only the live one) and, for an interpreter, their booth partners' booth
 * feeds. A channel feed not announced (yet) comes with its feed.added, except a machine voice's.
 */
export function interpretationRefs(
  state: InterpretationState,
  feeds: ReadonlyMap<number, FeedInfo>,
  selfId: string | null,
): StreamRef[] {
  const refs: StreamRef[] = [];
  const add = (id: number) => {
    const feed = feeds.get(id);
    if (!feed) {
      // A machine voice's feed has no participant and is never announced: it is audio only,
      // its one stream at mid "0" (as every media-server-side publisher's first stream).
      if (listenedChannel(state)?.kind === "machine") refs.push({ feed: id, mid: MACHINE_MID });
      return;
    }
    if (feed.participant_id === selfId) return;
    for (const s of feed.streams) if (s.kind === "audio") refs.push({ feed: id, mid: s.mid });
  };
  for (const id of listenedChannel(state)?.feeds ?? []) add(id);
  const booth = state.info.booths.find((b) => selfId !== null && b.partners.includes(selfId));
  if (booth) {
    for (const f of feeds.values()) if (f.source === "booth" && f.channel === booth.id) add(f.id);
  }
  const seen = new Set<string>();
  return refs.filter((r) => {
    const key = `${r.feed}:${r.mid ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The feed ids whose audio belongs to the channel listened to (for the mix). */
export function channelFeedIds(state: InterpretationState): ReadonlySet<number> {
  return new Set(listenedChannel(state)?.feeds ?? []);
}

/**
 * What to pick on entering a meeting: the server's choice when it has one (a resume), else the
 * language remembered from the last meeting when this one offers it, else the floor.
 */
export function initialChoice(info: InterpretationInfo, serverChoice: string | null, remembered: string | null): string | null {
  if (serverChoice !== null) return serverChoice;
  if (remembered !== null && channelOf(info, remembered)) return remembered;
  return null;
}

// -- The listener's choices, remembered in this browser ------------------------------------------

export interface InterpretationPrefs {
  /** The language listened to last (null: the floor). */
  language: string | null;
  /** The floor's volume while a channel speaks, 0-1 (0: off). */
  floorLevel: number;
}

export const DEFAULT_FLOOR_LEVEL = 0.2;
export const DEFAULT_INTERPRETATION_PREFS: InterpretationPrefs = { language: null, floorLevel: DEFAULT_FLOOR_LEVEL };

const TAG = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/;

export function parseInterpretationPrefs(raw: string | null | undefined): InterpretationPrefs {
  let value: unknown;
  try {
    value = JSON.parse(raw ?? "{}");
  } catch {
    return DEFAULT_INTERPRETATION_PREFS;
  }
  if (!value || typeof value !== "object") return DEFAULT_INTERPRETATION_PREFS;
  const r = value as Record<string, unknown>;
  const language = typeof r.language === "string" && TAG.test(r.language) ? r.language : null;
  const level = typeof r.floorLevel === "number" && Number.isFinite(r.floorLevel) ? r.floorLevel : DEFAULT_FLOOR_LEVEL;
  return { language, floorLevel: Math.min(1, Math.max(0, level)) };
}

const PREFS_KEY = "convene.interpretation";

class InterpretationPrefsStore extends Emitter<{ change: InterpretationPrefs }> {
  value: InterpretationPrefs = load();

  set(changes: Partial<InterpretationPrefs>): void {
    this.value = parseInterpretationPrefs(JSON.stringify({ ...this.value, ...changes }));
    try {
      globalThis.localStorage?.setItem(PREFS_KEY, JSON.stringify(this.value));
    } catch {
      // Private browsing: the choice lasts for this page only.
    }
    this.emit("change", this.value);
  }
}

function load(): InterpretationPrefs {
  try {
    return parseInterpretationPrefs(globalThis.localStorage?.getItem(PREFS_KEY));
  } catch {
    return DEFAULT_INTERPRETATION_PREFS;
  }
}

/** This browser's interpretation choices. */
export const interpretationPrefs = new InterpretationPrefsStore();

// -- The listen action ---------------------------------------------------------------------------

/** What InterpretationActions needs of the Room. */
export interface InterpretationPort {
  state(): InterpretationState;
  /** Replaces the interpretation part of the room's state (the Room re-subscribes). */
  update(state: InterpretationState): void;
  /** Whether the connection can send requests now. */
  connected(): boolean;
  request(type: "interpretation.listen", data: { channel: string | null }): Promise<{ channel: string | null }>;
  toast(error: unknown): void;
}

export class InterpretationActions {
  /** A choice made while the connection was down, sent on the next resume. */
  private pending = false;

  constructor(private readonly port: InterpretationPort) {}

  /**
   * Listens to a channel (`null`: the floor). The state changes at once, so the subscription
   * follows (the Room subscribes to the channel's feeds and drops the previous ones); the server
   * is told, and its answer is what stays.
   */
  async listen(channel: string | null, remember = true): Promise<boolean> {
    if (remember) interpretationPrefs.set({ language: channel });
    const before = this.port.state().listening;
    this.port.update(setListening(this.port.state(), channel));
    if (!this.port.connected()) {
      this.pending = true;
      return false;
    }
    try {
      const reply = await this.port.request("interpretation.listen", { channel });
      this.pending = false;
      this.port.update(setListening(this.port.state(), reply.channel));
      return true;
    } catch (err) {
      if (this.port.state().listening === channel) this.port.update(setListening(this.port.state(), before));
      this.port.toast(err);
      return false;
    }
  }

  /**
   * After a join or a resume (the state holds the snapshot's choice): send a choice made while
   * the connection was down, or on a fresh join pick the language remembered from the last meeting.
   */
  async afterSnapshot(wanted: string | null, resumed: boolean): Promise<void> {
    const state = this.port.state();
    if (resumed) {
      if (this.pending && wanted !== state.listening) await this.listen(wanted, false);
      this.pending = false;
      return;
    }
    const choice = initialChoice(state.info, state.listening, interpretationPrefs.value.language);
    if (choice !== state.listening) await this.listen(choice, false);
  }
}
