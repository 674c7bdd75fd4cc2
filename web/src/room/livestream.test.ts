import { describe, expect, it } from "vitest";
import type { LivestreamInfo } from "../protocol/types";
import {
  applyLivestreamUpdated,
  audioTrackFor,
  health,
  isPlayable,
  isRunning,
  playlistUrl,
  watchPath,
  withLatestToken,
  LivestreamActions,
  livestreamFromSnapshot,
  maskRtmpUrl,
  NO_LIVESTREAM,
  rtmpProblem,
  sameStream,
  subtitleTrackFor,
  type LivestreamPort,
} from "./livestream";
import { applyEvent, initialState } from "./state";

const live = (changes: Partial<LivestreamInfo> = {}): LivestreamInfo => ({
  ...NO_LIVESTREAM,
  state: "live",
  available: true,
  url: "https://x.example/api/v1/live/m1/tok1/master.m3u8",
  audio: [null, "fr"],
  subtitles: ["en"],
  ...changes,
});

describe("livestream state", () => {
  it("is off without a snapshot field and follows livestream.updated", () => {
    expect(livestreamFromSnapshot(undefined)).toBe(NO_LIVESTREAM);
    const next = live();
    expect(applyLivestreamUpdated(NO_LIVESTREAM, next)).toBe(next);
    const s = applyEvent(initialState(), "livestream.updated", next);
    expect(s.livestream.state).toBe("live");
    expect(isPlayable(s.livestream)).toBe(true);
    expect(isPlayable(NO_LIVESTREAM)).toBe(false);
    expect(isPlayable(live({ state: "failed" }))).toBe(false);
    expect(isRunning(live({ state: "starting", url: null }))).toBe(true);
    expect(isRunning(live({ state: "stopping" }))).toBe(false);
  });

  it("says the health: live, restarting, stale", () => {
    expect(health(live())).toBe("live");
    expect(health(live({ health: { restarts: 0, segment_age_seconds: 1.2, last_error: null } }))).toBe("live");
    expect(health(live({ health: { restarts: 2, segment_age_seconds: 9, last_error: "ffmpeg exited" } }))).toBe("restarting");
    expect(health(live({ health: { restarts: 0, segment_age_seconds: 30, last_error: null } }))).toBe("stale");
    expect(health(live({ state: "failed" }))).toBe("failed");
    expect(health(NO_LIVESTREAM)).toBe("off");
  });

  it("knows a fresh token for the same stream", () => {
    const a = "https://x.example/api/v1/live/m1/tok1/master.m3u8";
    expect(sameStream(a, "https://x.example/api/v1/live/m1/tok2/master.m3u8")).toBe(true);
    expect(sameStream(a, "https://x.example/api/v1/live/m2/tok1/master.m3u8")).toBe(false);
    expect(sameStream(a, null)).toBe(false);
    expect(sameStream(null, null)).toBe(true);
  });
});

describe("RTMP URL", () => {
  it("finds what the server refuses", () => {
    expect(rtmpProblem("rtmp://live.example.com/app/key")).toBeNull();
    expect(rtmpProblem("rtmps://a.b:443/app/key")).toBeNull();
    expect(rtmpProblem("rtmp://[::1]:1935/app")).toBeNull();
    expect(rtmpProblem("https://live.example.com/app")).toBe("scheme");
    expect(rtmpProblem("rtmp:///app")).toBe("host");
    expect(rtmpProblem("rtmp://a b/app")).toBe("spaces");
    expect(rtmpProblem(`rtmp://a.example/${"k".repeat(1000)}`)).toBe("long");
  });

  it("masks the key and any password", () => {
    expect(maskRtmpUrl("rtmp://live.example.com/app/secret-key")).toBe("rtmp://live.example.com/…");
    expect(maskRtmpUrl("RTMPS://user:pw@live.example.com:443/app/key")).toBe("rtmps://live.example.com/…");
    expect(maskRtmpUrl("nonsense")).toBe("rtmp://?/…");
    expect(maskRtmpUrl("rtmp://live.example.com/zq9")).not.toContain("zq9");
  });
});

describe("renditions", () => {
  const audio = [
    { lang: "en", name: "Floor", default: true },
    { lang: "fr", name: "Français" },
    { lang: "en", name: "English" },
    { lang: "ar-EG", name: "العربية" },
  ];

  it("picks the audio rendition of the channel listened to, the floor otherwise", () => {
    expect(audioTrackFor(audio, null)).toBe(0);
    expect(audioTrackFor(audio, "fr")).toBe(1);
    // A channel in the floor's own language is its own rendition, not the floor.
    expect(audioTrackFor(audio, "en")).toBe(2);
    expect(audioTrackFor(audio, "ar")).toBe(3);
    expect(audioTrackFor(audio, "zh")).toBe(0);
    expect(audioTrackFor([], "fr")).toBe(-1);
    expect(audioTrackFor([{ lang: "und" }, { lang: "es" }], "es")).toBe(1);
  });

  it("picks the subtitle track of the captions read", () => {
    const subs = [{ lang: "en" }, { lang: "fr" }];
    expect(subtitleTrackFor(subs, "off")).toBe(-1);
    expect(subtitleTrackFor(subs, "fr")).toBe(1);
    expect(subtitleTrackFor(subs, "fr-CA")).toBe(1);
    expect(subtitleTrackFor(subs, "ru")).toBe(-1);
    expect(subtitleTrackFor(subs, "original", "fr")).toBe(1);
    expect(subtitleTrackFor(subs, "original")).toBe(0);
    expect(subtitleTrackFor([], "fr")).toBe(-1);
  });
});

describe("LivestreamActions", () => {
  it("starts with or without an RTMP URL and stops; a refusal is said", async () => {
    const calls: [string, unknown][] = [];
    const toasts: unknown[] = [];
    let fail = false;
    const port: LivestreamPort = {
      request: ((type: string, data: unknown) => {
        calls.push([type, data]);
        return fail ? Promise.reject(new Error("no worker")) : Promise.resolve({});
      }) as LivestreamPort["request"],
      toast: (e) => toasts.push(e),
    };
    const actions = new LivestreamActions(port);
    expect(await actions.start()).toBe(true);
    expect(await actions.start("  rtmp://a.example/app/key ")).toBe(true);
    expect(await actions.start("   ")).toBe(true);
    expect(await actions.stop()).toBe(true);
    expect(calls).toEqual([
      ["livestream.start", {}],
      ["livestream.start", { rtmp_url: "rtmp://a.example/app/key" }],
      ["livestream.start", {}],
      ["livestream.stop", {}],
    ]);
    fail = true;
    expect(await actions.stop()).toBe(false);
    expect(toasts).toHaveLength(1);
  });
});

describe("watch page", () => {
  it("maps a playlist URL to its watch page and back, refusing odd names", () => {
    expect(watchPath("/api/v1/live/m1/tok_1-2/master.m3u8")).toBe("/live/m1/tok_1-2");
    expect(watchPath("https://x.example/api/v1/live/m1/t.2/master.m3u8?x=1")).toBe("/live/m1/t.2");
    expect(watchPath("/elsewhere/master.m3u8")).toBeNull();
    expect(watchPath(null)).toBeNull();
    expect(playlistUrl("m1", "tok")).toBe("/api/v1/live/m1/tok/master.m3u8");
    expect(playlistUrl("..", "tok")).toBeNull();
    expect(playlistUrl("m1", "a/b")).toBeNull();
    expect(playlistUrl("m1", "%2e%2e")).toBeNull();
    expect(playlistUrl("m1", "")).toBeNull();
  });
});

describe("fresh tokens", () => {
  it("puts the newest token into the stream's file URLs, and only theirs", () => {
    const latest = "/api/v1/live/m1/new/master.m3u8";
    expect(withLatestToken("https://h.example/api/v1/live/m1/old/stream_0_12.ts", latest)).toBe("https://h.example/api/v1/live/m1/new/stream_0_12.ts");
    expect(withLatestToken("https://h.example/api/v1/live/m1/new/a.vtt", latest)).toBe("https://h.example/api/v1/live/m1/new/a.vtt");
    expect(withLatestToken("https://h.example/api/v1/live/m2/old/a.ts", latest)).toBe("https://h.example/api/v1/live/m2/old/a.ts");
    expect(withLatestToken("https://cdn.example/x/a.ts", latest)).toBe("https://cdn.example/x/a.ts");
  });
});

// -- Fuzzing the parsers with seeded random input --------------------------------------------

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PIECES = ["rtmp", "rtmps", "RTMP", "://", ":", "/", "@", "[", "]", "?", "#", " ", "\u0000", "\t", "..", "%2f", "a", "live.example.com", "key-123", "é", "\u202e", "1935", "::1", "user:pw"];

function randomText(next: () => number): string {
  let out = "";
  const n = Math.floor(next() * 12);
  for (let i = 0; i < n; i++) out += PIECES[Math.floor(next() * PIECES.length)];
  return out;
}

describe("parsers under random input", () => {
  it("never throw, never show what follows the host, and keep their shapes", () => {
    const next = prng(20251204);
    for (let i = 0; i < 5_000; i++) {
      const raw = randomText(next);
      const problem = rtmpProblem(raw);
      expect([null, "scheme", "host", "spaces", "long"]).toContain(problem);
      const masked = maskRtmpUrl(raw);
      expect(masked).toMatch(/^rtmps?:\/\/[^/]*\/…$/);
      // What was after the host (the stream key) never shows.
      const secret = "SECRET-KEY";
      if (problem === null) expect(maskRtmpUrl(`${raw}/${secret}`)).not.toContain(secret);
      const watch = watchPath(`/api/v1/live/${raw}/${randomText(next)}/master.m3u8`);
      if (watch !== null) expect(watch).toMatch(/^\/live\/[A-Za-z0-9._~=-]+\/[A-Za-z0-9._~=-]+$/);
      const rewritten = withLatestToken(`/api/v1/live/m1/${randomText(next)}/x.ts`, `/api/v1/live/m1/${raw}/master.m3u8`);
      expect(typeof rewritten).toBe("string");
    }
  });
});
