import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ClientErrorCode, SignalingError } from "./errors";
import { SignalingClient, backoffDelay, DEFAULT_BACKOFF, type SocketLike, type StateChange } from "./signaling";
import type { JoinReply } from "./types";

/** A WebSocket double: the test plays the server. */
class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: { id?: string; type: string; data: Record<string, unknown> }[] = [];
  closedWith: number | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  static last(): FakeSocket {
    const s = FakeSocket.all.at(-1);
    if (!s) throw new Error("no socket was opened");
    return s;
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }

  // --- the server's side ---
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  push(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }

  reply(type: string, data: unknown = {}): void {
    const req = [...this.sent].reverse().find((m) => m.type === type);
    if (!req) throw new Error(`no ${type} request to reply to`);
    this.push({ id: req.id, type: "reply", data });
  }

  fail(type: string, code: string, message = "no"): void {
    const req = [...this.sent].reverse().find((m) => m.type === type);
    if (!req) throw new Error(`no ${type} request to fail`);
    this.push({ id: req.id, type: "error", error: { code, message, details: { why: "test" } } });
  }

  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: "" });
  }
}

function joinReply(overrides: Partial<JoinReply> = {}): JoinReply {
  return {
    state: "joined",
    participant_id: "p_1",
    resume_token: "r1",
    snapshot: null,
    resumed: false,
    ...overrides,
  };
}

function makeClient(): { client: SignalingClient; states: StateChange[] } {
  const client = new SignalingClient({
    url: "ws://test/api/v1/signaling",
    createSocket: (url) => new FakeSocket(url),
    random: () => 0,
    requestTimeoutMs: 1_000,
    pingIntervalMs: 5_000,
    pingTimeoutMs: 2_000,
    backoff: { initialDelayMs: 100, maxDelayMs: 1_000, giveUpAfterMs: 10_000 },
  });
  const states: StateChange[] = [];
  client.on("connection.state", (s) => states.push(s));
  return { client, states };
}

async function joined(client: SignalingClient, reply = joinReply()): Promise<FakeSocket> {
  const p = client.connect({ meeting: "123456789", display_name: "Ada" });
  const sock = FakeSocket.last();
  sock.open();
  sock.reply("join", reply);
  await p;
  return sock;
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("connect and join", () => {
  it("sends join first and resolves with the reply", async () => {
    const { client, states } = makeClient();
    const p = client.connect({ meeting: "123456789", display_name: "Ada" });
    const sock = FakeSocket.last();
    expect(sock.url).toBe("ws://test/api/v1/signaling");
    sock.open();
    expect(sock.sent).toHaveLength(1);
    expect(sock.sent[0]).toMatchObject({ type: "join", data: { meeting: "123456789", display_name: "Ada" } });
    sock.reply("join", joinReply());
    await expect(p).resolves.toMatchObject({ participant_id: "p_1" });
    expect(client.state).toBe("connected");
    expect(client.participantId).toBe("p_1");
    expect(states.map((s) => s.state)).toEqual(["connecting", "connected"]);
  });

  it("rejects with the server's error code and ends disconnected", async () => {
    const { client, states } = makeClient();
    const p = client.connect({ meeting: "123456789" });
    const sock = FakeSocket.last();
    sock.open();
    sock.fail("join", "passcode_required", "This meeting needs a passcode.");
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignalingError);
    expect(err).toMatchObject({ code: "passcode_required", message: "This meeting needs a passcode.", request: "join" });
    expect((err as SignalingError).details).toEqual({ why: "test" });
    expect(client.state).toBe("disconnected");
    expect(states.at(-1)?.error?.code).toBe("passcode_required");
    expect(sock.closedWith).not.toBeNull();
  });

  it("rejects when the socket closes before the join reply", async () => {
    const { client } = makeClient();
    const p = client.connect({ meeting: "123456789" });
    FakeSocket.last().drop();
    await expect(p).rejects.toMatchObject({ code: ClientErrorCode.ConnectionLost });
    expect(client.state).toBe("disconnected");
  });
});

describe("requests", () => {
  it("correlates replies by id, whatever their order", async () => {
    const { client } = makeClient();
    const sock = await joined(client);
    const a = client.request("chat.send", { text: "one" });
    const b = client.request("hand", { raised: true });
    const [reqA, reqB] = sock.sent.slice(1);
    expect(reqA?.id).not.toBe(reqB?.id);
    sock.push({ id: reqB?.id, type: "reply", data: {} });
    const message = { id: "m1", sender: { id: "p_1", display_name: "Ada" }, to: null, text: "one", sent_at: "2025-01-01T00:00:00Z" };
    sock.push({ id: reqA?.id, type: "reply", data: { message } });
    await expect(a).resolves.toEqual({ message });
    await expect(b).resolves.toEqual({});
  });

  it("maps error replies to SignalingError with code, message and details", async () => {
    const { client } = makeClient();
    const sock = await joined(client);
    const p = client.request("host.mute", { participant: "p_2" });
    sock.fail("host.mute", "forbidden", "Only hosts can do that.");
    await expect(p).rejects.toMatchObject({
      name: "SignalingError",
      code: "forbidden",
      message: "Only hosts can do that.",
      details: { why: "test" },
      request: "host.mute",
    });
  });

  it("times out and ignores a late reply", async () => {
    const { client } = makeClient();
    const sock = await joined(client);
    const p = client.request("reaction", { emoji: "👍" });
    const caught = p.catch((e: unknown) => e);
    vi.advanceTimersByTime(1_001);
    expect(await caught).toMatchObject({ code: ClientErrorCode.Timeout, request: "reaction" });
    sock.reply("reaction");
    expect(client.state).toBe("connected");
  });

  it("honours a per-request timeout", async () => {
    const { client } = makeClient();
    await joined(client);
    const caught = client.request("ping", {}, { timeoutMs: 50 }).catch((e: unknown) => e);
    vi.advanceTimersByTime(51);
    expect(await caught).toMatchObject({ code: ClientErrorCode.Timeout });
  });

  it("fails at once when not connected", async () => {
    const { client } = makeClient();
    await expect(client.request("hand", { raised: true })).rejects.toMatchObject({
      code: ClientErrorCode.NotConnected,
    });
  });

  it("rejects in-flight requests when the connection drops", async () => {
    const { client } = makeClient();
    const sock = await joined(client);
    const p = client.request("chat.send", { text: "hi" });
    sock.drop();
    await expect(p).rejects.toMatchObject({ code: ClientErrorCode.ConnectionLost });
  });
});

describe("events", () => {
  it("emits typed server events", async () => {
    const { client } = makeClient();
    const sock = await joined(client);
    const speaking = vi.fn();
    client.on("speaking", speaking);
    sock.push({ type: "speaking", data: { participant_id: "p_2", speaking: true } });
    expect(speaking).toHaveBeenCalledWith({ participant_id: "p_2", speaking: true });
  });

  it("does not reconnect after the server's closed event", async () => {
    const { client, states } = makeClient();
    const sock = await joined(client);
    const closed = vi.fn();
    client.on("closed", closed);
    sock.push({ type: "closed", data: { reason: "removed", message: "" } });
    sock.drop(1000);
    expect(closed).toHaveBeenCalledWith({ reason: "removed", message: "" });
    expect(client.state).toBe("disconnected");
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(states.map((s) => s.state)).not.toContain("reconnecting");
  });
});

describe("heartbeat", () => {
  it("pings while connected and treats a missing pong as a lost connection", async () => {
    const { client } = makeClient();
    const sock = await joined(client);
    vi.advanceTimersByTime(5_000);
    expect(sock.sent.at(-1)?.type).toBe("ping");
    sock.reply("ping");
    vi.advanceTimersByTime(5_000);
    expect(sock.sent.filter((m) => m.type === "ping")).toHaveLength(2);
    vi.advanceTimersByTime(2_001); // no pong this time
    expect(client.state).toBe("reconnecting");
    expect(sock.closedWith).not.toBeNull();
  });
});

describe("reconnect", () => {
  it("resumes with the last resume token after backoff, then with the new one", async () => {
    const { client, states } = makeClient();
    const first = await joined(client, joinReply({ resume_token: "r1" }));
    const rejoined = vi.fn();
    client.on("connection.joined", rejoined);

    first.drop();
    expect(client.state).toBe("reconnecting");
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(100); // initial backoff
    const second = FakeSocket.last();
    expect(second).not.toBe(first);
    second.open();
    expect(second.sent[0]).toMatchObject({
      type: "join",
      data: { meeting: "123456789", display_name: "Ada", resume: "r1" },
    });
    second.reply("join", joinReply({ resume_token: "r2", resumed: true }));
    await vi.runOnlyPendingTimersAsync();
    expect(client.state).toBe("connected");
    expect(rejoined).toHaveBeenCalledWith(expect.objectContaining({ resumed: true }));

    second.drop();
    vi.advanceTimersByTime(100);
    const third = FakeSocket.last();
    third.open();
    expect(third.sent[0]?.data.resume).toBe("r2");
    expect(states.map((s) => s.state)).toEqual([
      "connecting",
      "connected",
      "reconnecting",
      "connected",
      "reconnecting",
    ]);
  });

  it("backs off exponentially between failed attempts", async () => {
    const { client } = makeClient();
    const first = await joined(client);
    first.drop();
    vi.advanceTimersByTime(100);
    FakeSocket.last().drop(); // attempt 1 fails before opening
    await Promise.resolve();
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(199);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1); // 200 ms
    expect(FakeSocket.all).toHaveLength(3);
    FakeSocket.last().drop();
    await Promise.resolve();
    vi.advanceTimersByTime(400);
    expect(FakeSocket.all).toHaveLength(4);
  });

  it("retries on a transient join error", async () => {
    const { client } = makeClient();
    const first = await joined(client);
    first.drop();
    vi.advanceTimersByTime(100);
    const second = FakeSocket.last();
    second.open();
    second.fail("join", "internal_error");
    await vi.advanceTimersByTimeAsync(200);
    expect(FakeSocket.all).toHaveLength(3);
    expect(client.state).toBe("reconnecting");
  });

  it("stops on a fatal join error such as resume_invalid", async () => {
    const { client, states } = makeClient();
    const first = await joined(client);
    first.drop();
    vi.advanceTimersByTime(100);
    const second = FakeSocket.last();
    second.open();
    second.fail("join", "resume_invalid", "Your seat is gone.");
    await vi.advanceTimersByTimeAsync(0);
    expect(client.state).toBe("disconnected");
    expect(states.at(-1)?.error?.code).toBe("resume_invalid");
    await vi.advanceTimersByTimeAsync(30_000);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("gives up after the configured time", async () => {
    const { client, states } = makeClient();
    const first = await joined(client);
    first.drop();
    for (let i = 0; i < 40 && client.state === "reconnecting"; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      const last = FakeSocket.last();
      if (last.readyState === 0 && last.onclose) last.drop();
    }
    expect(client.state).toBe("disconnected");
    expect(states.at(-1)?.error?.code).toBe(ClientErrorCode.ConnectionLost);
  });

  it("close() stops reconnecting and rejects pending requests", async () => {
    const { client } = makeClient();
    const sock = await joined(client);
    const p = client.request("chat.send", { text: "bye" });
    client.close();
    await expect(p).rejects.toMatchObject({ code: ClientErrorCode.Closed });
    expect(sock.closedWith).toBe(1000);
    vi.advanceTimersByTime(10_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(client.state).toBe("disconnected");
  });

  it("leave() sends leave before closing", async () => {
    const { client } = makeClient();
    const sock = await joined(client);
    const p = client.leave();
    expect(sock.sent.at(-1)?.type).toBe("leave");
    sock.reply("leave");
    await p;
    expect(client.state).toBe("disconnected");
  });
});

describe("backoffDelay", () => {
  it("doubles up to the maximum and applies jitter", () => {
    const opts = { ...DEFAULT_BACKOFF, initialDelayMs: 500, maxDelayMs: 8_000, jitter: 0.5 };
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, opts, () => 0))).toEqual([
      500, 1_000, 2_000, 4_000, 8_000, 8_000,
    ]);
    expect(backoffDelay(1, opts, () => 1)).toBe(500);
  });
});

describe("notify", () => {
  it("sends without an id and only while connected", async () => {
    const { client } = makeClient();
    expect(client.notify("trickle", { pc: "main", candidate: null })).toBe(false);
    const sock = await joined(client);
    expect(client.notify("trickle", { pc: "main", candidate: null })).toBe(true);
    expect(sock.sent.at(-1)).toEqual({ type: "trickle", data: { pc: "main", candidate: null } });
  });
});
