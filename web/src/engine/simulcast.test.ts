import { describe, expect, it } from "vitest";
import { chooseSubstream, layerHeights, SIMULCAST_ENCODINGS } from "./simulcast";
import { classifyQuality, deltaRates, worse } from "./quality";
import { planSubscribe, streamKey } from "./subscriptions";

describe("simulcast encodings", () => {
  it("lists three rids high to low with scale 1/2/4", () => {
    expect(SIMULCAST_ENCODINGS.map((e) => [e.rid, e.scaleResolutionDownBy])).toEqual([
      ["h", 1],
      ["m", 2],
      ["l", 4],
    ]);
  });
});

describe("chooseSubstream", () => {
  it("picks the smallest layer that fills the tile", () => {
    expect(layerHeights(720)).toEqual([180, 360, 720]);
    expect(chooseSubstream({ tileHeight: 120 })).toBe(0);
    expect(chooseSubstream({ tileHeight: 200 })).toBe(0); // 180 >= 200 * 0.85
    expect(chooseSubstream({ tileHeight: 300 })).toBe(1);
    expect(chooseSubstream({ tileHeight: 500 })).toBe(2);
    expect(chooseSubstream({ tileHeight: 1000 })).toBe(2);
  });
  it("accounts for the device pixel ratio", () => {
    expect(chooseSubstream({ tileHeight: 150, devicePixelRatio: 1 })).toBe(0);
    expect(chooseSubstream({ tileHeight: 150, devicePixelRatio: 2 })).toBe(1);
    expect(chooseSubstream({ tileHeight: 300, devicePixelRatio: 3 })).toBe(2);
  });
  it("steps down on a fair link and to the lowest on a poor one", () => {
    expect(chooseSubstream({ tileHeight: 700, quality: "fair" })).toBe(1);
    expect(chooseSubstream({ tileHeight: 100, quality: "fair" })).toBe(0);
    expect(chooseSubstream({ tileHeight: 700, quality: "poor" })).toBe(0);
    expect(chooseSubstream({ tileHeight: 700, quality: "good" })).toBe(2);
  });
});

describe("quality", () => {
  it("classifies by loss and round-trip time", () => {
    expect(classifyQuality({ loss: 0, rttMs: 40 })).toBe("good");
    expect(classifyQuality({ loss: 0.03, rttMs: 40 })).toBe("fair");
    expect(classifyQuality({ loss: 0, rttMs: 300 })).toBe("fair");
    expect(classifyQuality({ loss: 0.1, rttMs: 40 })).toBe("poor");
    expect(classifyQuality({ loss: 0, rttMs: 800 })).toBe("poor");
    expect(classifyQuality({ loss: null, rttMs: null })).toBe("unknown");
    expect(classifyQuality({ loss: 0, rttMs: 40, kbps: 0, expectFlow: true })).toBe("poor");
  });
  it("computes loss and bitrate between samples", () => {
    const a = { packetsReceived: 100, packetsLost: 0, bytes: 0, timestamp: 0 };
    const b = { packetsReceived: 190, packetsLost: 10, bytes: 125_000, timestamp: 1_000 };
    expect(deltaRates(undefined, b)).toEqual({ loss: null, kbps: null });
    expect(deltaRates(a, b)).toEqual({ loss: 0.1, kbps: 1000 });
  });
  it("keeps the worse of two", () => {
    expect(worse("good", "poor")).toBe("poor");
    expect(worse("unknown", "fair")).toBe("fair");
  });
});

describe("planSubscribe", () => {
  const stream = (mid: string, feed: number, feedMid: string, active = true) => ({
    mid,
    feed,
    feed_mid: feedMid,
    kind: "video" as const,
    participant_id: null,
    active,
  });
  it("adds what is wanted and not received, removes what is received and not wanted", () => {
    const wanted = new Map([
      [streamKey(1, "0"), { feed: 1, mid: "0" }],
      [streamKey(2, "1"), { feed: 2, mid: "1" }],
    ]);
    const plan = planSubscribe(wanted, [stream("0", 1, "0"), stream("1", 3, "1"), stream("2", 2, "1", false)]);
    expect(plan).toEqual({ add: [{ feed: 2, mid: "1" }], remove: [{ feed: 3, mid: "1" }] });
  });
  it("does not ask again for refused streams", () => {
    const wanted = new Map([[streamKey(9, "0"), { feed: 9, mid: "0" }]]);
    expect(planSubscribe(wanted, [], new Set([streamKey(9, "0")]))).toEqual({ add: [], remove: [] });
  });
});
