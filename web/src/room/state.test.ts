import { describe, expect, it } from "vitest";
import type { ChatMessage, ParticipantInfo, Snapshot } from "../protocol/types";
import { applyEvent, applySnapshot, expireReactions, feedsOf, initialState, isHostRole, selfInfo } from "./state";
import { NO_LIVESTREAM } from "./livestream";

const NOW = "2025-01-01T00:00:00Z";

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
    joined_at: NOW,
    spoken_language: null,
    ...extra,
  };
}

function message(id: string, from: string, text = "hi"): ChatMessage {
  return { id, sender: { id: from, display_name: from }, to: null, text, sent_at: NOW };
}

const snapshot: Snapshot = {
  meeting: {
    id: "m1",
    code: "123456789",
    title: "Standup",
    locked: false,
    waiting_room: true,
    allow_guests: true,
    allow_self_unmute: true,
    mute_on_entry: false,
    chat: "everyone",
    screen_share: "everyone",
    max_participants: 300,
    guest_succession: false,
    started_at: NOW,
    captions: "allowed",
    mode: "meeting",
  },
  self: person("me", { role: "host" }),
  participants: [person("a"), person("b")],
  feeds: [{ id: 10, participant_id: "a", source: "main", streams: [{ mid: "0", kind: "audio", simulcast: false, codec: "opus" }], channel: null }],
  chat: [message("c1", "a")],
  waiting: [],
  ice_servers: [],
  spotlight: [],
  captions: { active: false, available: false, policy: "allowed", started_at: null, started_by: null, transcribing: false, languages: [] },
  captions_reading: "off",
  interpretation: { channels: [], booths: [], interpreters: [], machine_languages: [] },
  interpretation_listening: null,
  audio_warnings: [],
  audience: null,
  livestream: NO_LIVESTREAM,
  comments: { enabled: false, slow_mode_seconds: 0, recent: [], words: null },
  qa: { enabled: false, anonymous: false, questions: [], voted: [], asked: [] },
  polls: [],
};

describe("room state", () => {
  const joined = applySnapshot(initialState(), snapshot);

  it("builds from a snapshot, self included", () => {
    expect(joined.phase).toBe("joined");
    expect([...joined.participants.keys()].sort()).toEqual(["a", "b", "me"]);
    expect(selfInfo(joined)?.role).toBe("host");
    expect(isHostRole(selfInfo(joined))).toBe(true);
    expect(feedsOf(joined, "a").main?.id).toBe(10);
    expect(joined.unread).toBe(0);
  });

  it("upserts participants and removes them with their feeds", () => {
    let s = applyEvent(joined, "participant.joined", { participant: person("c") });
    s = applyEvent(s, "participant.updated", { participant: person("c", { hand_raised: true }) });
    expect(s.participants.get("c")?.hand_raised).toBe(true);
    s = applyEvent(s, "participant.left", { participant_id: "a", reason: "left" });
    expect(s.participants.has("a")).toBe(false);
    expect(s.feeds.size).toBe(0);
    // Applying it twice is harmless.
    expect(applyEvent(s, "participant.left", { participant_id: "a", reason: "left" })).toBe(s);
  });

  it("deduplicates chat by id and counts unread unless the panel is open or it is ours", () => {
    let s = applyEvent(joined, "chat.message", message("c2", "b"));
    s = applyEvent(s, "chat.message", message("c2", "b"));
    expect(s.chat.map((m) => m.id)).toEqual(["c1", "c2"]);
    expect(s.unread).toBe(1);
    s = applyEvent(s, "chat.message", message("c3", "me"));
    expect(s.unread).toBe(1);
    s = applyEvent(s, "chat.message", message("c4", "a"), { chatOpen: true });
    expect(s.unread).toBe(1);
  });

  it("tracks speakers and the active (remote) speaker", () => {
    let s = applyEvent(joined, "speaking", { participant_id: "a", speaking: true }, { now: 5 });
    expect(s.activeSpeaker).toBe("a");
    expect(s.lastSpoke.get("a")).toBe(5);
    s = applyEvent(s, "speaking", { participant_id: "me", speaking: true });
    expect(s.activeSpeaker).toBe("a");
    s = applyEvent(s, "speaking", { participant_id: "a", speaking: false });
    expect(s.speaking.has("a")).toBe(false);
    expect(s.activeSpeaker).toBe("a");
  });

  it("expires floating reactions", () => {
    let s = applyEvent(joined, "reaction", { participant_id: "a", emoji: "👍" }, { now: 1_000 });
    expect(s.reactions).toHaveLength(1);
    s = expireReactions(s, 6_000);
    expect(s.reactions).toHaveLength(0);
  });

  it("ends on closed, and forgets feeds on media.reset", () => {
    expect(applyEvent(joined, "media.reset", { reason: "restart" }).feeds.size).toBe(0);
    const ended = applyEvent(joined, "closed", { reason: "ended", message: "" });
    expect(ended.phase).toBe("ended");
    expect(ended.ended).toEqual({ reason: "ended", message: "" });
  });

  it("keeps the spotlight from the snapshot and events, without people who left", () => {
    const s = applySnapshot(initialState(), { ...snapshot, spotlight: ["b", "gone"] });
    expect(s.spotlight).toEqual(["b"]);
    const updated = applyEvent(s, "spotlight.updated", { participant_ids: ["a", "b"], by: { id: "me", display_name: "me" } });
    expect(updated.spotlight).toEqual(["a", "b"]);
    const left = applyEvent(updated, "participant.left", { participant_id: "a", reason: "left" });
    expect(left.spotlight).toEqual(["b"]);
  });

  it("counts messages that arrived during a resume gap as unread", () => {
    const resumed = applySnapshot(joined, { ...snapshot, chat: [message("c1", "a"), message("c5", "b")] });
    expect(resumed.unread).toBe(1);
  });
});
