/**
 * The Room's own view of its link: the browser's offline/online events and the media
 * connections' ICE state show at once, and each makes a short ping tell whether the signaling
 * socket still works (a dead one is dropped and resumed, not left to the ~15 s heartbeat).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LocalMedia } from "../engine/local";
import type { SocketLike } from "../protocol/signaling";
import type { JoinReply } from "../protocol/types";
import { Room, type LinkState } from "./room";

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: { id?: string; type: string }[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as { id?: string; type: string });
  }

  close(): void {
    this.readyState = 3;
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  reply(type: string, data: unknown = {}): void {
    const req = [...this.sent].reverse().find((m) => m.type === type);
    if (!req) throw new Error(`no ${type} request to reply to`);
    this.onmessage?.({ data: JSON.stringify({ id: req.id, type: "reply", data }) });
  }

  count(type: string): number {
    return this.sent.filter((m) => m.type === type).length;
  }
}

const WAITING: JoinReply = {
  state: "waiting",
  participant_id: "p_1",
  resume_token: "r1",
  snapshot: null,
  resumed: false,
};

let window: EventTarget;

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
  window = new EventTarget();
  vi.stubGlobal("addEventListener", window.addEventListener.bind(window));
  vi.stubGlobal("removeEventListener", window.removeEventListener.bind(window));
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

async function waitingRoom(): Promise<{ room: Room; socket: FakeSocket; links: LinkState[] }> {
  const room = new Room(new LocalMedia(), {
    url: "ws://test/api/v1/signaling",
    createSocket: (url) => new FakeSocket(url),
    random: () => 0,
    pingIntervalMs: 10_000,
    pingTimeoutMs: 6_000,
    backoff: { initialDelayMs: 100, maxDelayMs: 1_000, giveUpAfterMs: 60_000 },
  });
  const links: LinkState[] = [];
  room.on("link", (link) => links.push(link));
  const joining = room.join({ meeting: "123456789", displayName: "Ada" });
  const socket = FakeSocket.all.at(-1)!;
  socket.open();
  socket.reply("join", WAITING);
  await joining;
  return { room, socket, links };
}

describe("the browser's offline and online events", () => {
  it("show at once, and a dead socket is dropped after the short probe", async () => {
    const { room, socket, links } = await waitingRoom();
    expect(room.link).toEqual({ offline: false, media: "ok" });

    window.dispatchEvent(new Event("offline"));
    expect(room.link.offline).toBe(true);
    expect(links.at(-1)).toEqual({ offline: true, media: "ok" });
    expect(socket.count("ping")).toBe(1);

    // No answer within 2 s: the socket counts as lost and the client starts resuming.
    await vi.advanceTimersByTimeAsync(2_100);
    expect(room.signaling.state).toBe("reconnecting");
    expect(room.state.connection).toBe("reconnecting");

    // Back online: a resume is tried at once, not after the backoff.
    const before = FakeSocket.all.length;
    window.dispatchEvent(new Event("online"));
    expect(room.link.offline).toBe(false);
    expect(FakeSocket.all.length).toBe(before + 1);
    room.dispose();
  });

  it("keep a socket that still answers", async () => {
    const { room, socket } = await waitingRoom();
    window.dispatchEvent(new Event("offline"));
    socket.reply("ping");
    await vi.advanceTimersByTimeAsync(3_000);
    expect(room.signaling.state).toBe("connected");
    expect(room.link.offline).toBe(true);
    room.dispose();
  });
});

describe("ICE state of the media connections", () => {
  it("says interrupted, then failed, then ok, and probes the socket when it goes bad", async () => {
    const { room, socket, links } = await waitingRoom();
    const emit = (states: Record<string, string>) =>
      (room.media as unknown as { emit: (type: string, payload: unknown) => void }).emit("pcstate", states);

    emit({ main: "disconnected", screen: "none", subscriber: "connected" });
    expect(room.link.media).toBe("interrupted");
    expect(socket.count("ping")).toBe(1);
    socket.reply("ping");

    emit({ main: "disconnected", screen: "none", subscriber: "failed" });
    expect(room.link.media).toBe("failed");
    emit({ main: "connected", screen: "none", subscriber: "connected" });
    expect(room.link.media).toBe("ok");
    expect(links.map((l) => l.media)).toEqual(["interrupted", "failed", "ok"]);
    room.dispose();
  });
});
