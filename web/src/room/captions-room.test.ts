/**
 * The Room and captions over a fake socket: the join declares the language spoken, what is read
 * follows the reader's choices once in the meeting, and the captions errors have their own words.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LocalMedia } from "../engine/local";
import type { SocketLike } from "../protocol/signaling";
import type { JoinReply, Snapshot } from "../protocol/types";
import { captionPrefs, DEFAULT_CAPTION_PREFS } from "./captions";
import { Room, type Toast } from "./room";
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

function joined(): JoinReply {
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
    interpretation: { channels: [], booths: [], interpreters: [], machine_languages: [] },
    interpretation_listening: null,
    audio_warnings: [],
    audience: null,
    livestream: NO_LIVESTREAM,
    comments: { enabled: false, slow_mode_seconds: 0, recent: [], words: null },
    qa: { enabled: false, anonymous: false, questions: [], voted: [], asked: [] },
    polls: [],
  };
  return { state: "joined", participant_id: "p_1", resume_token: "r1", snapshot, resumed: false };
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
  for (let i = 0; i < 50 && !socket.last("captions.read"); i++) {
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
  captionPrefs.set(DEFAULT_CAPTION_PREFS);
});

afterEach(() => {
  captionPrefs.set(DEFAULT_CAPTION_PREFS);
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("captions in the Room", () => {
  it("declares the UI's language as spoken on joining, or the one chosen", async () => {
    const room = newRoom();
    void room.join({ meeting: "123456789", displayName: "Ada" }).catch(() => undefined);
    let socket = FakeSocket.all.at(-1)!;
    socket.open();
    expect(socket.last("join")?.data?.spoken_language).toBe("en");
    room.dispose();

    captionPrefs.set({ spoken: "fr" });
    const other = newRoom();
    void other.join({ meeting: "123456789", displayName: "Ada" }).catch(() => undefined);
    socket = FakeSocket.all.at(-1)!;
    socket.open();
    expect(socket.last("join")?.data?.spoken_language).toBe("fr");
    other.dispose();
  });

  it("sends what the reader chose after joining, then each change", async () => {
    captionPrefs.set({ show: true, language: "es" });
    const room = newRoom();
    const socket = await enter(room);
    expect(socket.last("captions.read")?.data).toEqual({ reading: "es" });
    expect(room.state.captions.reading).toBe("es");
    socket.reply("captions.read", { reading: "es" });
    await settle();
    socket.event("caption", {
      segment_id: "s1",
      speaker: { id: "p_2", display_name: "Bob" },
      language: "es",
      source_language: "en",
      translated: true,
      stable: "buenos días",
      unstable: "",
      final: true,
      start_ms: 0,
      end_ms: 900,
    });
    expect([...room.state.captions.finals.values()].map((c) => c.stable)).toEqual(["buenos días"]);

    captionPrefs.set({ show: false });
    expect(socket.last("captions.read")?.data).toEqual({ reading: "off" });
    expect(room.state.captions.reading).toBe("off");
    room.dispose();
  });

  it("says why captions cannot be turned on", async () => {
    const room = newRoom();
    const toasts: Toast[] = [];
    room.on("toast", (toast) => toasts.push(toast));
    const socket = await enter(room);
    const starting = room.captions.start();
    await settle();
    socket.fail("captions.start", "captions_forbidden");
    expect(await starting).toBe(false);
    expect(toasts.at(-1)?.text).toBe("Captions are turned off for this meeting.");
    room.dispose();
  });
});
