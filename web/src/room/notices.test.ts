import { afterEach, describe, expect, it, vi } from "vitest";
import type { ChatMessage, ParticipantInfo } from "../protocol/types";
import { noticesBetween, PresenceBatcher, Throttle, type Notice } from "./notices";
import { initialState, type RoomState } from "./state";

function person(id: string, extra: Partial<ParticipantInfo> = {}): ParticipantInfo {
  return {
    id,
    display_name: id.toUpperCase(),
    role: "participant",
    guest: false,
    audio: false,
    video: false,
    audio_blocked: false,
    video_blocked: false,
    hand_raised: false,
    hand_raised_at: null,
    screen_sharing: false,
    connection: "connected",
    joined_at: "2025-01-01T00:00:00Z",
    spoken_language: null,
    ...extra,
  };
}

function room(people: ParticipantInfo[], chat: ChatMessage[] = []): RoomState {
  return { ...initialState(), phase: "joined", selfId: "me", participants: new Map(people.map((p) => [p.id, p])), chat };
}

function msg(id: string, from: string): ChatMessage {
  return { id, sender: { id: from, display_name: from.toUpperCase() }, to: null, text: `hi from ${from}`, sent_at: "2025-01-01T00:00:00Z" };
}

describe("noticesBetween", () => {
  const me = person("me");
  it("tells of others joining, leaving and raising a hand, never of oneself", () => {
    const before = room([me, person("ann"), person("bob")]);
    const after = room([{ ...me, hand_raised: true }, { ...person("ann"), hand_raised: true }, person("cy")]);
    expect(noticesBetween(before, after, false)).toEqual([
      { kind: "hand", participantId: "ann", name: "ANN" },
      { kind: "joined", names: ["CY"] },
      { kind: "left", names: ["BOB"] },
    ]);
  });
  it("tells of chat from others only while the chat is closed", () => {
    const before = room([me, person("ann")]);
    const after = room([me, person("ann")], [msg("1", "ann"), msg("2", "me")]);
    expect(noticesBetween(before, after, false)).toEqual([{ kind: "chat", message: msg("1", "ann") }]);
    expect(noticesBetween(before, after, true)).toEqual([]);
  });
  it("tells a participant a host put them in the spotlight, once", () => {
    const before = room([me, person("ann")]);
    const after = { ...before, spotlight: ["me"] };
    expect(noticesBetween(before, after, false)).toEqual([{ kind: "spotlightYou" }]);
    expect(noticesBetween(after, { ...after, spotlight: ["me", "ann"] }, false)).toEqual([]);
    expect(noticesBetween(before, { ...before, spotlight: ["ann"] }, false)).toEqual([]);
  });
  it("says nothing about the people already there on entering", () => {
    const before = { ...initialState(), phase: "joining" as const };
    expect(noticesBetween(before, room([me, person("ann")]), false)).toEqual([]);
  });
});

describe("PresenceBatcher", () => {
  afterEach(() => vi.useRealTimers());
  it("gathers joins and leaves into one notice each", () => {
    vi.useFakeTimers();
    const out: Notice[] = [];
    const batch = new PresenceBatcher((n) => out.push(n), 1000);
    batch.add({ kind: "joined", names: ["A"] });
    batch.add({ kind: "joined", names: ["B", "C"] });
    batch.add({ kind: "left", names: ["D"] });
    expect(out).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(out).toEqual([{ kind: "joined", names: ["A", "B", "C"] }, { kind: "left", names: ["D"] }]);
    batch.add({ kind: "joined", names: ["E"] });
    batch.dispose();
    vi.advanceTimersByTime(2000);
    expect(out).toHaveLength(2);
  });
});

describe("Throttle", () => {
  it("lets one through per key per interval", () => {
    const th = new Throttle(1000);
    expect(th.allow("a", 0)).toBe(true);
    expect(th.allow("a", 500)).toBe(false);
    expect(th.allow("b", 500)).toBe(true);
    expect(th.allow("a", 1500)).toBe(true);
  });
});
