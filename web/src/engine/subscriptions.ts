/**
 * Pure helpers for the subscriber connection: which streams to add and remove.
 */
import type { StreamRef, SubscribedStream } from "../protocol/types";

/** One publisher-side stream: feed id + the publisher's mid. */
export function streamKey(feed: number, feedMid: string): string {
  return `${feed}:${feedMid}`;
}

export interface SubscribePlan {
  add: StreamRef[];
  remove: StreamRef[];
}

/**
 * The `subscribe` request that turns what is received (`streams`, the server's list for the
 * subscriber connection) into what is wanted. Keys in `skip` (refused before) are not added again.
 */
export function planSubscribe(
  wanted: ReadonlyMap<string, StreamRef>,
  streams: Iterable<SubscribedStream>,
  skip: ReadonlySet<string> = new Set(),
): SubscribePlan {
  const have = new Map<string, StreamRef>();
  for (const s of streams) {
    if (s.active) have.set(streamKey(s.feed, s.feed_mid), { feed: s.feed, mid: s.feed_mid });
  }
  const add: StreamRef[] = [];
  const remove: StreamRef[] = [];
  for (const [key, ref] of wanted) if (!have.has(key) && !skip.has(key)) add.push(ref);
  for (const [key, ref] of have) if (!wanted.has(key)) remove.push(ref);
  return { add, remove };
}
