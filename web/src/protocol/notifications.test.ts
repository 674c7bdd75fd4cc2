import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NotificationClient, type SeenStore } from "./notifications";
import type { SocketLike } from "./signaling";
import type { Notification } from "./types";

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: { id?: string; type: string }[] = [];
  closed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.closed = true;
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  push(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  reply(type: string, extra: Record<string, unknown> = { data: {} }): void {
    const req = [...this.sent].reverse().find((m) => m.type === type);
    this.push({ id: req?.id, type: "reply", ...extra });
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: "" });
  }
}

const reminder: Notification = {
  id: "r1", kind: "reminder", title: "Standup starts in 10 minutes", body: "", schedule_id: "s1",
  starts_at: "2025-06-02T09:00:00Z", url: "https://convene.example/j/abc",
};

function setup(seenStore?: SeenStore) {
  const sockets: FakeSocket[] = [];
  const client = new NotificationClient({
    seenStore,
    url: "ws://test/api/v1/signaling",
    createSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    random: () => 0,
    pingIntervalMs: 1_000,
    pingTimeoutMs: 500,
  });
  const got: Notification[] = [];
  const states: string[] = [];
  client.on("notification", (n) => got.push(n));
  client.on("state", (s) => states.push(s));
  return { client, sockets, got, states, last: () => sockets.at(-1)! };
}

describe("NotificationClient", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("subscribes without joining a meeting and delivers notifications once each", () => {
    const { client, last, got, states } = setup();
    client.start();
    last().open();
    expect(last().sent.map((m) => m.type)).toEqual(["notifications.subscribe"]);
    last().reply("notifications.subscribe");
    expect(states).toEqual(["connecting", "connected"]);
    last().push({ type: "notification", data: reminder });
    last().push({ type: "notification", data: reminder });
    last().push({ type: "participant.joined", data: {} });
    expect(got).toEqual([reminder]);
    client.stop();
    expect(last().closed).toBe(true);
  });

  it("reconnects with backoff after the connection drops, and subscribes again", async () => {
    const { client, sockets, last } = setup();
    client.start();
    last().open();
    last().reply("notifications.subscribe");
    last().drop();
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sockets).toHaveLength(2);
    last().open();
    expect(last().sent.map((m) => m.type)).toEqual(["notifications.subscribe"]);
    client.stop();
  });

  it("treats a missed ping as a lost connection", async () => {
    const { client, sockets, last } = setup();
    client.start();
    last().open();
    last().reply("notifications.subscribe");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(last().sent.at(-1)?.type).toBe("ping");
    await vi.advanceTimersByTimeAsync(500);
    expect(sockets[0]!.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sockets).toHaveLength(2);
    client.stop();
  });

  it("keeps the ids shown in its store, so a reload does not show them again", () => {
    let kept: string[] = [];
    const store: SeenStore = { load: () => kept, save: (ids) => { kept = ids; } };
    const first = setup(store);
    first.client.start();
    first.last().open();
    first.last().push({ type: "notification", data: reminder });
    expect(first.got).toEqual([reminder]);
    expect(kept).toEqual(["r1"]);
    first.client.stop();

    // The page is loaded again; the server sends the reminder again on subscribing.
    const second = setup(store);
    second.client.start();
    second.last().open();
    second.last().push({ type: "notification", data: reminder });
    const other = { ...reminder, id: "r2" };
    second.last().push({ type: "notification", data: other });
    expect(second.got).toEqual([other]);
    second.client.stop();
  });

  it("shows notifications when its store is broken", () => {
    const broken: SeenStore = {
      load: () => { throw new Error("denied"); },
      save: () => { throw new Error("quota"); },
    };
    const { client, last, got } = setup(broken);
    client.start();
    last().open();
    last().push({ type: "notification", data: reminder });
    last().push({ type: "notification", data: reminder });
    expect(got).toEqual([reminder]);
    client.stop();
  });

  it("stops when the server says the user is signed out", () => {
    const { client, last, states } = setup();
    client.start();
    last().open();
    const req = last().sent[0]!;
    last().push({ id: req.id, type: "error", error: { code: "auth_required", message: "sign in" } });
    expect(client.state).toBe("stopped");
    expect(states.at(-1)).toBe("stopped");
  });
});
