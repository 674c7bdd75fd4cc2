/**
 * The Room and interpretation over a fake socket: a fresh join picks the language listened to
 * in the last meeting when it is offered, and a choice made while the connection was down is
 * sent once the connection is resumed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LocalMedia } from "../engine/local";
import type { SocketLike } from "../protocol/signaling";
import type { JoinReply, Snapshot } from "../protocol/types";
import { DEFAULT_INTERPRETATION_PREFS, interpretationPrefs } from "./interpretation";
import { Room } from "./room";
import { NO_LIVESTREAM } from "./livestream";

type Sent = { id?: string; type: string; data?: Record<string, unknown> };

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Sent[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Sent);
  }

  close(): void {
    this.readyState = 3;
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  last(type: string): Sent | undefined {
    return [...this.sent].reverse().find((m) => m.type === type);
  }

  reply(type: string, data: unknown = {}): void {
    const req = this.last(type);
    if (!req) throw new Error(`no ${type} request to reply to`);
    this.onmessage?.({ data: JSON.stringify({ id: req.id, type: "reply", data }) });
  }

  fail(type: string, code: string): void {
    const req = this.last(type);
    if (!req) throw new Error(`no ${type} request to answer`);
    this.onmessage?.({ data: JSON.stringify({ id: req.id, type: "error", error: { code, message: code, details: {} } }) });
  }

  event(type: string, data: unknown): void {
    this.onmessage?.({ data: JSON.stringify({ type, data }) });
  }
}

const NOW = "2025-01-01T00:00:00Z";

function joined(listening: string | null = null, resumed = false): JoinReply {
  const self = {
    id: "p_1",
    display_name: "Ada",
    role: "host" as const,
    guest: false,
    audio: false,
    video: false,
    audio_blocked: false,
    video_blocked: false,
    hand_raised: false,
    hand_raised_at: null,
    screen_sharing: false,
    connection: "connected" as const,
    joined_at: NOW,
    spoken_language: "en",
  };
  const snapshot: Snapshot = {
    meeting: {
      id: "m1",
      code: "123456789",
      title: "Standup",
      locked: false,
      waiting_room: false,
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
    self,
    participants: [],
    feeds: [],
    chat: [],
    waiting: [],
    ice_servers: [],
    spotlight: [],
    captions: {
      active: true,
      available: true,
      policy: "allowed",
      started_at: NOW,
      started_by: { id: "p_1", display_name: "Ada" },
      transcribing: true,
      languages: [
        { code: "en", speech: true, translation_from: ["es"] },
        { code: "es", speech: true, translation_from: ["en"] },
      ],
    },
    captions_reading: "off",
    interpretation: {
      channels: [{ language: "fr", kind: "human", booth: "fr", feeds: [], on_air: false }],
      booths: [],
      interpreters: [],
      machine_languages: [],
    },
    interpretation_listening: listening,
    audio_warnings: [],
    audience: null,
    livestream: NO_LIVESTREAM,
    comments: { enabled: false, slow_mode_seconds: 0, recent: [], words: null },
    qa: { enabled: false, anonymous: false, questions: [], voted: [], asked: [] },
    polls: [],
  };
  return { state: "joined", participant_id: "p_1", resume_token: "r1", snapshot, resumed };
}

function newRoom(): Room {
  return new Room(new LocalMedia(), {
    url: "ws://test/api/v1/signaling",
    createSocket: (url) => new FakeSocket(url),
    random: () => 0,
    pingIntervalMs: 60_000,
    pingTimeoutMs: 30_000,
  });
}

/** Lets pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Joins and answers what entering asks (publishing fails here: no WebRTC in this process). */
async function enter(room: Room): Promise<FakeSocket> {
  const joining = room.join({ meeting: "123456789", displayName: "Ada" });
  const socket = FakeSocket.all.at(-1)!;
  socket.open();
  socket.reply("join", joined());
  void joining.catch(() => undefined);
  for (let i = 0; i < 50 && !socket.last("interpretation.listen"); i++) {
    await settle();
    if (socket.last("media.state")) socket.reply("media.state");
    await vi.advanceTimersByTimeAsync(100);
  }
  return socket;
}

let window: EventTarget;

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
  window = new EventTarget();
  vi.stubGlobal("addEventListener", window.addEventListener.bind(window));
  vi.stubGlobal("removeEventListener", window.removeEventListener.bind(window));
  interpretationPrefs.set(DEFAULT_INTERPRETATION_PREFS);
});

afterEach(() => {
  interpretationPrefs.set(DEFAULT_INTERPRETATION_PREFS);
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("interpretation in the Room", () => {
  it("listens to the language of the last meeting when this one offers it", async () => {
    interpretationPrefs.set({ language: "fr" });
    const room = newRoom();
    const socket = await enter(room);
    expect(socket.last("interpretation.listen")?.data).toEqual({ channel: "fr" });
    expect(room.state.interpretation.listening).toBe("fr");
    socket.reply("interpretation.listen", { channel: "fr" });
    await settle();
    expect(room.state.interpretation.listening).toBe("fr");
    room.dispose();
  });

  it("stays on the floor when nothing was chosen before", async () => {
    const room = newRoom();
    const socket = await enter(room);
    expect(socket.last("interpretation.listen")).toBeUndefined();
    expect(room.state.interpretation.listening).toBeNull();
    room.dispose();
  });

  it("sends a choice made while reconnecting after the resume", async () => {
    const room = newRoom();
    const socket = await enter(room);
    socket.onclose?.({ code: 1006, reason: "" });
    expect(await room.interpretation.listen("fr")).toBe(false);
    expect(room.state.interpretation.listening).toBe("fr");
    let resumed: FakeSocket | undefined;
    for (let i = 0; i < 100 && !resumed; i++) {
      await vi.advanceTimersByTimeAsync(200);
      const next = FakeSocket.all.at(-1);
      if (next && next !== socket) resumed = next;
    }
    expect(resumed).toBeDefined();
    resumed!.open();
    // The server kept the floor (the choice never reached it): the client says it again.
    resumed!.reply("join", joined(null, true));
    for (let i = 0; i < 50 && !resumed!.last("interpretation.listen"); i++) {
      await settle();
      if (resumed!.last("media.state")) resumed!.reply("media.state");
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(resumed!.last("interpretation.listen")?.data).toEqual({ channel: "fr" });
    room.dispose();
  });
});
