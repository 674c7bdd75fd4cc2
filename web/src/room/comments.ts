/**
 * Bullet comments as this client shows them: the meeting's settings (snapshot and
 * `comments.updated`), the batches of `comments` events, hidden comments, and where each comment
 * flies over the stage.
 *
 * Pure functions on an immutable state (like ./state), so the UI re-renders on identity changes
 * and tests drive it without a network. The rules the screen relies on:
 * - a comment is kept once per id (a batch seen twice, or one's own reply and the batch that
 *   carries it, shows it once);
 * - a hidden comment goes from everywhere at once, and never comes back (a late batch with it);
 * - `recent` (the accessible list in the panel) keeps the last RECENT_LIMIT comments;
 * - `incoming` holds what has not flown yet; the overlay takes from it as lanes free up, and
 *   what waited too long is dropped (a density limit: the screen is never a wall of text).
 *
 * Lanes (`pickLane`): a comment flies right to left in DURATION_MS whatever its length, so a
 * longer one is faster; a lane takes a new comment once the last one in it has fully entered
 * (plus a gap) and the new one cannot catch it up before it has left.
 *
 * The viewer's own choice (comments shown over the video or not) lives in CommentPrefs,
 * remembered in this browser.
 */
import { Emitter } from "../protocol/emitter";
import type { Comment, CommentsBatch, CommentsHidden, CommentsInfo, CommentsUpdated, CommentsWords } from "../protocol/types";

export interface CommentsState {
  enabled: boolean;
  slowModeSeconds: number;
  /** The word filter (hosts and co-hosts only; null for everyone else). */
  words: readonly string[] | null;
  /** The last comments, oldest first (the list view). */
  recent: readonly Comment[];
  /** Comments not yet flown over the stage, oldest first, with when they arrived (ms). */
  incoming: readonly Incoming[];
  /** Ids hidden by a host: never shown again. */
  hidden: ReadonlySet<string>;
  /** Comments the server left out of batches (sampled away when many came at once). */
  unshown: number;
}

export interface Incoming {
  comment: Comment;
  at: number;
}

/** Comments kept for the list view. */
export const RECENT_LIMIT = 200;
/** Comments waiting for a lane: more than this and the oldest are dropped. */
export const INCOMING_LIMIT = 60;
/** A comment that could not fly within this time is dropped (ms). */
export const MAX_WAIT_MS = 4_000;
/** The time a comment takes to cross the stage (ms). */
export const DURATION_MS = 8_000;
/** The space kept between two comments in a lane (px). */
export const LANE_GAP_PX = 24;
/** At most this many lanes, and this many comments over the stage at once. */
export const MAX_LANES = 10;
export const MAX_FLYING = 40;
/** Comment text, as the server limits it. */
export const COMMENT_MAX_LENGTH = 100;

export function initialComments(): CommentsState {
  return {
    enabled: false,
    slowModeSeconds: 0,
    words: null,
    recent: [],
    incoming: [],
    hidden: new Set(),
    unshown: 0,
  };
}

/**
 * From a snapshot (join, admission, resume): the settings and the recent comments. The list seen
 * so far stays (a resume keeps it) and the snapshot's are merged in; nothing from a snapshot
 * flies (they are old).
 */
export function commentsFromSnapshot(state: CommentsState, info: CommentsInfo | null | undefined): CommentsState {
  if (!info) return { ...initialComments(), recent: state.recent, hidden: state.hidden };
  const recent = merge(state.recent, (info.recent ?? []).filter((c) => !state.hidden.has(c.id)));
  return {
    ...state,
    enabled: info.enabled ?? false,
    slowModeSeconds: info.slow_mode_seconds ?? 0,
    words: info.words ?? null,
    recent,
  };
}

function merge(list: readonly Comment[], fresh: readonly Comment[]): readonly Comment[] {
  if (fresh.length === 0) return list;
  const known = new Set(list.map((c) => c.id));
  const added = fresh.filter((c) => !known.has(c.id));
  if (added.length === 0) return list;
  const all = [...list, ...added];
  return all.length > RECENT_LIMIT ? all.slice(-RECENT_LIMIT) : all;
}

/** A `comments` batch (or one's own comment from the reply, as a batch of one). */
export function applyBatch(state: CommentsState, batch: CommentsBatch, now: number): CommentsState {
  const known = new Set(state.recent.map((c) => c.id));
  for (const i of state.incoming) known.add(i.comment.id);
  const fresh: Comment[] = [];
  for (const c of batch.items) {
    if (known.has(c.id) || state.hidden.has(c.id)) continue;
    known.add(c.id);
    fresh.push(c);
  }
  const unshown = state.unshown + Math.max(0, batch.received - batch.shown);
  if (fresh.length === 0) return unshown === state.unshown ? state : { ...state, unshown };
  let incoming = [...state.incoming, ...fresh.map((comment) => ({ comment, at: now }))];
  if (incoming.length > INCOMING_LIMIT) incoming = incoming.slice(-INCOMING_LIMIT);
  return { ...state, recent: merge(state.recent, fresh), incoming, unshown };
}

/** `comments.hidden`: the comments go from the list and from what waits to fly. */
export function applyHidden(state: CommentsState, event: CommentsHidden): CommentsState {
  const ids = event.ids.filter((id) => !state.hidden.has(id));
  if (ids.length === 0) return state;
  const hidden = new Set(state.hidden);
  for (const id of ids) hidden.add(id);
  return {
    ...state,
    hidden,
    recent: state.recent.filter((c) => !hidden.has(c.id)),
    incoming: state.incoming.filter((i) => !hidden.has(i.comment.id)),
  };
}

/** `comments.updated`: on or off for everyone, the slow mode. */
export function applyCommentsUpdated(state: CommentsState, event: CommentsUpdated): CommentsState {
  if (state.enabled === event.enabled && state.slowModeSeconds === event.slow_mode_seconds) return state;
  return {
    ...state,
    enabled: event.enabled,
    slowModeSeconds: event.slow_mode_seconds,
    // Turned off: nothing more flies.
    incoming: event.enabled ? state.incoming : [],
  };
}

/** `comments.words` (hosts and co-hosts only), or the words of a `comments.settings` reply. */
export function applyWords(state: CommentsState, event: CommentsWords): CommentsState {
  return { ...state, words: event.words };
}

/**
 * Takes up to `count` comments that may fly now (the oldest first) and drops those that waited
 * longer than MAX_WAIT_MS. Returns what to fly and the state without them.
 */
export function takeIncoming(state: CommentsState, now: number, count: number): { take: Comment[]; state: CommentsState } {
  const waiting = state.incoming.filter((i) => now - i.at <= MAX_WAIT_MS);
  if (count <= 0) {
    return { take: [], state: waiting.length === state.incoming.length ? state : { ...state, incoming: waiting } };
  }
  const take = waiting.slice(0, count).map((i) => i.comment);
  const rest = waiting.slice(count);
  if (take.length === 0 && rest.length === state.incoming.length) return { take, state };
  return { take, state: { ...state, incoming: rest } };
}

/**
 * What waits to fly without the comments now flying (`taken`) and without those that waited
 * longer than MAX_WAIT_MS; the same state when that is nothing.
 */
export function withoutIncoming(state: CommentsState, taken: ReadonlySet<string>, now: number): CommentsState {
  const incoming = state.incoming.filter((i) => !taken.has(i.comment.id) && now - i.at <= MAX_WAIT_MS);
  return incoming.length === state.incoming.length ? state : { ...state, incoming };
}

// -- Lanes ---------------------------------------------------------------------------------------

/** A comment in flight: when it started (ms) and its width (px). */
export interface Flight {
  start: number;
  width: number;
}

/** Pixels a comment of `width` travels per ms on a stage of `stageWidth`. */
export function speedOf(stageWidth: number, width: number, durationMs = DURATION_MS): number {
  return (stageWidth + width) / durationMs;
}

/** Whether a lane whose last comment is `last` can take a comment of `width` at `now`. */
export function laneFree(
  last: Flight | null | undefined,
  now: number,
  stageWidth: number,
  width: number,
  durationMs = DURATION_MS,
  gap = LANE_GAP_PX,
): boolean {
  if (!last) return true;
  const elapsed = now - last.start;
  if (elapsed >= durationMs) return true;
  const v0 = speedOf(stageWidth, last.width, durationMs);
  // The last one has fully entered, with a gap behind it.
  if (v0 * elapsed < last.width + gap) return false;
  const v1 = speedOf(stageWidth, width, durationMs);
  if (v1 <= v0) return true;
  // A faster one must not reach the last one's tail before that tail leaves the stage.
  const leftAt = last.start + durationMs;
  return v1 * (leftAt - now) <= stageWidth - gap;
}

/** The first lane that can take a comment of `width` now, or -1 when none can. */
export function pickLane(
  lanes: readonly (Flight | null | undefined)[],
  now: number,
  stageWidth: number,
  width: number,
  durationMs = DURATION_MS,
): number {
  for (let i = 0; i < lanes.length; i++) {
    if (laneFree(lanes[i], now, stageWidth, width, durationMs)) return i;
  }
  return -1;
}

/** How many lanes fit on a stage of `height` with lines of `lineHeight` (the upper two thirds). */
export function laneCount(height: number, lineHeight: number, max = MAX_LANES): number {
  if (lineHeight <= 0) return 0;
  return Math.max(0, Math.min(max, Math.floor((height * 2) / 3 / lineHeight)));
}

// -- The viewer's choice, remembered in this browser --------------------------------------------

export interface CommentPrefs {
  /** Comments fly over the video (off: only the list in the panel shows them). */
  show: boolean;
}

export const DEFAULT_COMMENT_PREFS: CommentPrefs = { show: true };

export function parseCommentPrefs(raw: string | null | undefined): CommentPrefs {
  try {
    const value: unknown = JSON.parse(raw ?? "{}");
    if (!value || typeof value !== "object") return DEFAULT_COMMENT_PREFS;
    return { show: (value as Record<string, unknown>).show !== false };
  } catch {
    return DEFAULT_COMMENT_PREFS;
  }
}

const PREFS_KEY = "convene.comments";

class CommentPrefsStore extends Emitter<{ change: CommentPrefs }> {
  value: CommentPrefs = load();

  set(changes: Partial<CommentPrefs>): void {
    this.value = { ...this.value, ...changes };
    try {
      globalThis.localStorage?.setItem(PREFS_KEY, JSON.stringify(this.value));
    } catch {
      // Private browsing: the choice lasts for this page only.
    }
    this.emit("change", this.value);
  }
}

function load(): CommentPrefs {
  try {
    return parseCommentPrefs(globalThis.localStorage?.getItem(PREFS_KEY));
  } catch {
    return DEFAULT_COMMENT_PREFS;
  }
}

/** This browser's choice of seeing comments over the video (nobody else sees it). */
export const commentPrefs = new CommentPrefsStore();
