/**
 * The Room in an event over a fake socket: an attendee publishes nothing, plays the livestream
 * when WebRTC is full, publishes after the device check once promoted, and stops when demoted.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LocalMedia } from "../engine/local";
import type { SocketLike } from "../protocol/signaling";
import type { JoinReply, ParticipantInfo, Snapshot } from "../protocol/types";
import { watching } from "./audience";
import { NO_LIVESTREAM } from "./livestream";
import { Room } from "./room";

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

function person(id: string, role: ParticipantInfo["role"], changes: Partial<ParticipantInfo> = {}): ParticipantInfo {
  return {
    id,
    display_name: id,
    role,
    guest: true,
    audio: false,
    video: false,
    audio_blocked: false,
    video_blocked: false,
    hand_raised: false,
    hand_raised_at: null,
    screen_sharing: false,
    connection: "connected",
    joined_at: NOW,
    spoken_language: "en",
    ...changes,
  };
}

function snapshot(role: ParticipantInfo["role"], view: "webrtc" | "hls" = "webrtc"): Snapshot {
  return {
    meeting: {
      id: "m1",
      code: "123456789",
      title: "Town hall",
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
      mode: "event",
    },
    self: person("me", role),
    participants: [person("host", "host", { audio: true })],
    feeds: [{ id: 7, participant_id: "host", source: "main", streams: [{ mid: "0", kind: "audio", simulcast: false }] }] as Snapshot["feeds"],
    chat: [],
    waiting: [],
    ice_servers: [],
    spotlight: [],
    captions: { active: false, available: false, policy: "allowed", started_at: null, started_by: null, transcribing: false, languages: [] },
    captions_reading: "off",
    interpretation: { channels: [], booths: [], interpreters: [], machine_languages: [] },
    interpretation_listening: null,
    audio_warnings: [],
    audience: { count: 1, view, hands: null },
    livestream: NO_LIVESTREAM,
    comments: { enabled: false, slow_mode_seconds: 0, recent: [], words: null },
    qa: { enabled: false, anonymous: false, questions: [], voted: [], asked: [] },
    polls: [],
  } as Snapshot;
}

function joined(role: ParticipantInfo["role"], view: "webrtc" | "hls" = "webrtc"): JoinReply {
  return { state: "joined", participant_id: "me", resume_token: "r1", snapshot: snapshot(role, view), resumed: false };
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

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await vi.advanceTimersByTimeAsync(50);
}

async function enter(room: Room, reply: JoinReply): Promise<FakeSocket> {
  const joining = room.join({ meeting: "123456789", displayName: "Me" });
  const socket = FakeSocket.all.at(-1)!;
  socket.open();
  socket.reply("join", reply);
  await joining.catch(() => undefined);
  await settle();
  return socket;
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
  const window = new EventTarget();
  vi.stubGlobal("addEventListener", window.addEventListener.bind(window));
  vi.stubGlobal("removeEventListener", window.removeEventListener.bind(window));
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("an attendee in the Room", () => {
  it("publishes nothing, subscribes to the panel, and plays the stream when WebRTC is full", async () => {
    const room = newRoom();
    const publish = vi.spyOn(room.media, "publishMain");
    const socket = await enter(room, joined("attendee"));
    expect(room.isAttendee).toBe(true);
    expect(publish).not.toHaveBeenCalled();
    expect(socket.last("media.state")).toBeUndefined();
    // The host's voice is asked for over WebRTC; every seat is taken.
    expect(socket.last("subscribe")?.data).toEqual({ add: [{ feed: 7, mid: "0" }], remove: [] });
    const toasts: string[] = [];
    room.on("toast", (t) => toasts.push(t.text));
    socket.fail("subscribe", "audience_full");
    await settle();
    expect(room.state.audience.full).toBe(true);
    expect(watching(room.state.audience)).toBe("hls");
    expect(toasts).toHaveLength(1);
    // The microphone cannot be turned on (the shortcut key neither).
    await room.setMic(true);
    expect(socket.last("media.state")).toBeUndefined();
    // By hand, "watching live" tries WebRTC again.
    room.watchWith("webrtc");
    await settle();
    expect(watching(room.state.audience)).toBe("webrtc");
    room.dispose();
  });

  it("watches the stream when the server says so, receiving nothing over WebRTC", async () => {
    const room = newRoom();
    const socket = await enter(room, joined("attendee", "hls"));
    expect(watching(room.state.audience)).toBe("hls");
    expect(socket.last("subscribe")).toBeUndefined();
    room.dispose();
  });

  it("publishes only after the device check once promoted, and stops when demoted", async () => {
    const room = newRoom();
    const publish = vi.spyOn(room.media, "publishMain").mockResolvedValue(undefined);
    const socket = await enter(room, joined("attendee", "hls"));
    socket.event("audience.promoted", { by: { id: "host", display_name: "Host" }, snapshot: snapshot("participant") });
    await settle();
    expect(room.isAttendee).toBe(false);
    expect(room.state.audience.notice).toEqual({ kind: "promoted", by: { id: "host", display_name: "Host" } });
    // A panelist watches live.
    expect(watching(room.state.audience)).toBe("webrtc");
    expect(publish).not.toHaveBeenCalled();
    const joining = room.joinPanel();
    await settle();
    if (socket.last("media.state")) socket.reply("media.state");
    await joining;
    expect(publish).toHaveBeenCalledTimes(1);
    expect(room.state.audience.notice).toBeNull();
    // Closing the dialog again does not publish twice.
    await room.joinPanel();
    expect(publish).toHaveBeenCalledTimes(1);

    const stop = vi.spyOn(room.media, "stopPublishing");
    socket.event("audience.demoted", { by: { id: "host", display_name: "Host" } });
    await settle();
    expect(stop).toHaveBeenCalledTimes(1);
    expect(room.isAttendee).toBe(true);
    expect(room.state.audience.notice?.kind).toBe("demoted");
    room.dispose();
  });
});
