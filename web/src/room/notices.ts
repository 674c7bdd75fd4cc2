/**
 * Notices: what changed in the meeting that is worth a toast (and, if chosen, a sound): a raised
 * hand, people joining or leaving, a chat message while the chat is closed.
 *
 * `noticesBetween` compares two states (pure, so tests need no network). Joins and leaves are
 * gathered for a moment by a `PresenceBatcher`, so a busy meeting gets "5 people joined", not
 * five toasts.
 */
import type { ChatMessage, InterpretationSignalEvent } from "../protocol/types";
import type { RoomState } from "./state";

export type Notice =
  | { kind: "hand"; participantId: string; name: string }
  | { kind: "joined"; names: string[] }
  | { kind: "left"; names: string[] }
  | { kind: "chat"; message: ChatMessage }
  /** A host put this participant in the spotlight (everyone sees them on the main stage). */
  | { kind: "spotlightYou" }
  /** An interpreter asks a speaker to slow down (or says their audio is poor): for that speaker and the hosts. */
  | { kind: "signal"; signal: InterpretationSignalEvent; toYou: boolean; speaker: string | null };

/** What happened between `before` and `after` that this participant should be told. */
export function noticesBetween(before: RoomState, after: RoomState, chatOpen: boolean): Notice[] {
  // Entering, resuming into a new seat or leaving: no notices for the people already there.
  if (before.phase !== "joined" || after.phase !== "joined" || before.selfId !== after.selfId) return [];
  const self = after.selfId;
  const out: Notice[] = [];
  if (before.participants !== after.participants) {
    const joined: string[] = [];
    for (const [id, p] of after.participants) {
      const old = before.participants.get(id);
      if (!old) {
        if (id !== self) joined.push(p.display_name);
      } else if (p.hand_raised && !old.hand_raised && id !== self) {
        out.push({ kind: "hand", participantId: id, name: p.display_name });
      }
    }
    const left = [...before.participants.values()].filter((p) => p.id !== self && !after.participants.has(p.id));
    if (joined.length) out.push({ kind: "joined", names: joined });
    if (left.length) out.push({ kind: "left", names: left.map((p) => p.display_name) });
  }
  if (self && after.spotlight.includes(self) && !before.spotlight.includes(self)) out.push({ kind: "spotlightYou" });
  if (before.interpretation.signals !== after.interpretation.signals) {
    const known = new Set(before.interpretation.signals);
    const me = self ? after.participants.get(self) : undefined;
    const moderator = me?.role === "host" || me?.role === "cohost";
    for (const s of after.interpretation.signals) {
      if (known.has(s) || s.sender === self) continue;
      const toYou = s.to !== null && s.to === self;
      if (!toYou && !moderator) continue;
      const speaker = s.to ? (after.participants.get(s.to)?.display_name ?? null) : null;
      out.push({ kind: "signal", signal: s, toYou, speaker });
    }
  }
  if (!chatOpen && before.chat !== after.chat) {
    const known = new Set(before.chat.map((m) => m.id));
    for (const m of after.chat) {
      if (!known.has(m.id) && m.sender.id !== self) out.push({ kind: "chat", message: m });
    }
  }
  return out;
}

/** Gathers joins and leaves for `windowMs`, then hands them on as one notice of each kind. */
export class PresenceBatcher {
  private joined: string[] = [];
  private left: string[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** `windowMs`: how long to gather, asked at the first join or leave of each batch. */
  constructor(
    private readonly flush: (notice: Notice) => void,
    private readonly windowMs: number | (() => number) = 1_500,
  ) {}

  add(notice: Extract<Notice, { kind: "joined" | "left" }>): void {
    (notice.kind === "joined" ? this.joined : this.left).push(...notice.names);
    this.timer ??= setTimeout(() => this.emit(), typeof this.windowMs === "number" ? this.windowMs : this.windowMs());
  }

  private emit(): void {
    this.timer = null;
    const joined = this.joined;
    const left = this.left;
    this.joined = [];
    this.left = [];
    if (joined.length) this.flush({ kind: "joined", names: joined });
    if (left.length) this.flush({ kind: "left", names: left });
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.joined = [];
    this.left = [];
  }
}

/** Allows one notice per key at most every `intervalMs` (a hand raised and lowered again and again). */
export class Throttle {
  private readonly last = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  allow(key: string, now: number): boolean {
    const last = this.last.get(key);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.last.set(key, now);
    return true;
  }
}
