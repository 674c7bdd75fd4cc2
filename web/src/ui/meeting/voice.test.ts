import { describe, expect, it } from "vitest";
import { VoiceDetector } from "./voice";

function run(detector: VoiceDetector, levels: number[]): number {
  return levels.filter((l) => detector.feed(l)).length;
}

describe("VoiceDetector", () => {
  it("hears half a second of speech over a quiet room", () => {
    const d = new VoiceDetector();
    expect(run(d, Array(20).fill(0.002))).toBe(0);
    expect(run(d, Array(12).fill(0.08))).toBe(1);
  });
  it("ignores silence, short clicks and a steady hum it has learnt", () => {
    expect(run(new VoiceDetector(), Array(200).fill(0))).toBe(0);
    // A 20 ms beep every half second (Chromium's fake microphone) is one step in ten.
    const beeps = Array.from({ length: 200 }, (_, i) => (i % 10 === 0 ? 0.3 : 0.001));
    expect(run(new VoiceDetector(), beeps)).toBe(0);
    const hum = new VoiceDetector();
    run(hum, Array(100).fill(0.02)); // five seconds to learn it
    expect(run(hum, Array(200).fill(0.02))).toBe(0);
  });
  it("hears syllables with short pauses between them", () => {
    const d = new VoiceDetector();
    run(d, Array(20).fill(0.002));
    const speech = Array.from({ length: 40 }, (_, i) => (i % 4 === 3 ? 0.002 : 0.1));
    expect(run(d, speech)).toBeGreaterThanOrEqual(1);
  });
});
