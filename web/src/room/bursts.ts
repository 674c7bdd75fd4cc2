/**
 * Reaction bursts: in an event the server counts the audience's reactions and sends, every
 * half second, one `reactions {counts, interval_ms}`; each emoji of it becomes a burst over the
 * stage (a few emoji floating up, more and bigger for a bigger count, "×120" beside a big one).
 *
 * Pure functions on an immutable list, like ./state.
 */
import type { ReactionCounts } from "../protocol/types";

export interface Burst {
  key: number;
  emoji: string;
  count: number;
  at: number;
}

/** At most this many distinct emoji per interval (the server's limit too), and bursts at once. */
export const MAX_EMOJI_PER_INTERVAL = 16;
export const MAX_BURSTS = 24;
/** A burst stays on screen this long (ms). */
export const BURST_MS = 3_500;
/** From this count on, a burst shows its number. */
export const LABEL_FROM = 10;

let burstKey = 0;

/** Adds the bursts of one `reactions` event (emoji with a count of at least one). */
export function applyReactionCounts(
  bursts: readonly Burst[],
  event: ReactionCounts,
  now: number,
  nextKey: () => number = () => ++burstKey,
): readonly Burst[] {
  const fresh: Burst[] = [];
  for (const [emoji, raw] of Object.entries(event.counts)) {
    const count = Math.floor(Number(raw));
    if (!emoji || !Number.isFinite(count) || count < 1) continue;
    fresh.push({ key: nextKey(), emoji, count, at: now });
    if (fresh.length >= MAX_EMOJI_PER_INTERVAL) break;
  }
  if (fresh.length === 0) return bursts;
  // The oldest bursts make room for new ones.
  const all = [...bursts, ...fresh];
  if (all.length <= MAX_BURSTS) return all;
  return all.slice(-MAX_BURSTS);
}

/** Removes bursts older than BURST_MS; the same list when none is. */
export function expireBursts(bursts: readonly Burst[], now: number, maxAgeMs = BURST_MS): readonly Burst[] {
  const kept = bursts.filter((b) => now - b.at < maxAgeMs);
  return kept.length === bursts.length ? bursts : kept;
}

/** How many emoji float up for a count: 1 for one, up to 7 for a thousand or more. */
export function particlesFor(count: number): number {
  if (count <= 1) return 1;
  return Math.min(7, 1 + Math.ceil(Math.log2(count) * 0.7));
}

/** The size of a burst's emoji, 1 (one reaction) to 2 (a thousand or more). */
export function scaleFor(count: number): number {
  if (count <= 1) return 1;
  return Math.min(2, 1 + Math.log10(count) / 3);
}

/** Whether a burst shows its count ("×120"). */
export function showsCount(count: number): boolean {
  return count >= LABEL_FROM;
}
