import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SignalingError } from "../protocol/errors";
import type { SubscribedStream } from "../protocol/types";
import type { SignalingPort } from "./port";
import { Subscriber } from "./subscriber";

/** Just enough of RTCPeerConnection to follow the order of negotiation steps. */
class FakePc {
  static log: string[] = [];
  onicecandidate: ((ev: { candidate: null }) => void) | null = null;
  ontrack: (() => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  connectionState = "new";
  private mids: string[] = [];

  async setRemoteDescription(desc: { type: string; sdp: string }): Promise<void> {
    FakePc.log.push(`remote:${desc.sdp}`);
    this.mids = desc.sdp.split(",").slice(1);
  }
  async createAnswer(): Promise<{ type: string; sdp: string }> {
    return { type: "answer", sdp: `v=0 answer to ${FakePc.log.at(-1)}` };
  }
  async setLocalDescription(desc: { sdp: string }): Promise<void> {
    FakePc.log.push(`local:${desc.sdp}`);
  }
  getTransceivers() {
    return this.mids.map((mid) => ({ mid, receiver: { track: { id: `t${mid}`, kind: "video" } } }));
  }
  close(): void {}
  getStats() {
    return Promise.resolve(new Map());
  }
}

function stream(mid: string, feed: number, feedMid = "1"): SubscribedStream {
  return { mid, feed, feed_mid: feedMid, kind: "video", participant_id: `p${feed}`, active: true };
}

type Handler = (type: string, data: unknown) => Promise<unknown>;

function fakePort(handler: Handler): SignalingPort & { sent: { type: string; data: unknown }[] } {
  const sent: { type: string; data: unknown }[] = [];
  return {
    sent,
    request: ((type: string, data: unknown) => {
      sent.push({ type, data });
      FakePc.log.push(`request:${type}`);
      return handler(type, data);
    }) as SignalingPort["request"],
    notify: ((type: string, data: unknown) => {
      sent.push({ type, data });
      return true;
    }) as SignalingPort["notify"],
  };
}

beforeEach(() => {
  FakePc.log = [];
  vi.stubGlobal("RTCPeerConnection", FakePc);
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe("Subscriber", () => {
  it("subscribes to the difference and answers the offer, sending the answer before applying it", async () => {
    const port = fakePort(async (type) => {
      if (type === "subscribe") return { jsep: { type: "offer", sdp: "v=0 offer1,0" }, streams: [stream("0", 7)] };
      return {};
    });
    const sub = new Subscriber({ port, iceServers: [] });
    const seen: number[] = [];
    sub.on("streams", (s) => seen.push(s.length));
    sub.setWanted([{ feed: 7, mid: "1" }]);
    await flush();
    expect(port.sent.map((m) => m.type)).toEqual(["subscribe", "subscriber.answer"]);
    expect(port.sent[0]?.data).toEqual({ add: [{ feed: 7, mid: "1" }], remove: [] });
    expect(FakePc.log).toEqual([
      "request:subscribe",
      "remote:v=0 offer1,0",
      "request:subscriber.answer",
      "local:v=0 answer to remote:v=0 offer1,0",
    ]);
    expect(sub.remoteStreams()).toEqual([{ ...stream("0", 7), track: { id: "t0", kind: "video" } }]);
    expect(seen.at(-1)).toBe(1);

    // Same wish again: nothing to send.
    sub.setWanted([{ feed: 7, mid: "1" }]);
    await flush();
    expect(port.sent).toHaveLength(2);
  });

  it("answers offers one at a time, in the order they came", async () => {
    let releaseFirst: () => void = () => undefined;
    const port = fakePort((type, data) => {
      if (type === "subscriber.answer") {
        const sdp = (data as { jsep: { sdp: string } }).jsep.sdp;
        if (sdp.includes("first")) return new Promise((resolve) => (releaseFirst = () => resolve({})));
      }
      return Promise.resolve({});
    });
    const sub = new Subscriber({ port, iceServers: [] });
    void sub.handleOffer({ type: "offer", sdp: "v=0 first,0" }, [stream("0", 1)]);
    void sub.handleOffer({ type: "offer", sdp: "v=0 second,0,1" }, [stream("0", 1), stream("1", 2)]);
    await flush();
    // The second offer waits until the first answer was acknowledged.
    expect(FakePc.log.filter((l) => l.startsWith("remote:"))).toEqual(["remote:v=0 first,0"]);
    releaseFirst();
    await flush();
    expect(FakePc.log.filter((l) => l.startsWith("remote:"))).toEqual(["remote:v=0 first,0", "remote:v=0 second,0,1"]);
    expect(sub.remoteStreams().map((s) => s.feed)).toEqual([1, 2]);
  });

  it("does not ask again for a feed the server does not know, and retries media errors", async () => {
    vi.useFakeTimers();
    let calls = 0;
    const port = fakePort(async (type) => {
      if (type !== "subscribe") return {};
      calls += 1;
      if (calls === 1) throw new SignalingError("feed_not_found", "gone", { feed: 9 });
      if (calls === 2) throw new SignalingError("media_error", "not yet");
      return { jsep: null, streams: [stream("0", 7)] };
    });
    const sub = new Subscriber({ port, iceServers: [] });
    sub.setWanted([
      { feed: 9, mid: "1" },
      { feed: 7, mid: "1" },
    ]);
    await flush();
    // feed 9 refused -> retried at once without it -> media_error -> retried after a pause.
    expect(port.sent.map((m) => (m.data as { add: unknown[] }).add)).toEqual([
      [{ feed: 9, mid: "1" }, { feed: 7, mid: "1" }],
      [{ feed: 7, mid: "1" }],
    ]);
    await vi.advanceTimersByTimeAsync(600);
    await flush();
    expect(port.sent).toHaveLength(3);
    expect(sub.remoteStreams().map((s) => s.feed)).toEqual([7]);
  });

  it("sends simulcast layer choices in one batch and only when they change", async () => {
    vi.useFakeTimers();
    const port = fakePort(async (type) =>
      type === "subscribe" ? { jsep: { type: "offer", sdp: "v=0 o,0,1" }, streams: [stream("0", 1), stream("1", 2)] } : {},
    );
    const sub = new Subscriber({ port, iceServers: [] });
    sub.setWanted([
      { feed: 1, mid: "1" },
      { feed: 2, mid: "1" },
    ]);
    await flush();
    sub.setLayer("0", { substream: 0, send: true });
    sub.setLayer("1", { substream: 2, send: true });
    await vi.advanceTimersByTimeAsync(200);
    const configures = port.sent.filter((m) => m.type === "subscriber.configure");
    expect(configures).toEqual([
      {
        type: "subscriber.configure",
        data: { streams: [{ mid: "0", substream: 0, send: true }, { mid: "1", substream: 2, send: true }] },
      },
    ]);
    sub.setLayer("0", { substream: 0, send: true });
    await vi.advanceTimersByTimeAsync(200);
    expect(port.sent.filter((m) => m.type === "subscriber.configure")).toHaveLength(1);
  });
});
