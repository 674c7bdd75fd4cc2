import { describe, expect, it } from "vitest";
import { DEFAULT_DUCK, floorTarget, isSpeaking, nextActivity, rms, SILENCE_HOLD_MS, SPEECH_RMS } from "./mix";

describe("the interpretation mix", () => {
  const base = { listening: true, onAir: true, speaking: true, duck: DEFAULT_DUCK };

  it("ducks the floor only while a channel on air speaks", () => {
    expect(floorTarget(base)).toBe(0.2);
    expect(floorTarget({ ...base, listening: false })).toBe(1);
    expect(floorTarget({ ...base, onAir: false })).toBe(1);
    expect(floorTarget({ ...base, speaking: false })).toBe(1);
  });

  it("uses the listener's level, off included, within 0-1", () => {
    expect(floorTarget({ ...base, duck: 0 })).toBe(0);
    expect(floorTarget({ ...base, duck: 0.55 })).toBe(0.55);
    expect(floorTarget({ ...base, duck: 4 })).toBe(1);
    expect(floorTarget({ ...base, duck: -1 })).toBe(0);
  });

  it("counts the channel silent after the hold time without speech", () => {
    let a = nextActivity({ lastVoiceAt: null }, 0, 0);
    expect(isSpeaking(a, 0)).toBe(false);
    a = nextActivity(a, SPEECH_RMS * 4, 100);
    expect(isSpeaking(a, 100)).toBe(true);
    a = nextActivity(a, SPEECH_RMS / 10, 200);
    expect(isSpeaking(a, 100 + SILENCE_HOLD_MS - 1)).toBe(true);
    expect(isSpeaking(a, 100 + SILENCE_HOLD_MS)).toBe(false);
  });

  it("measures the level as RMS", () => {
    expect(rms([])).toBe(0);
    expect(rms([0.5, -0.5, 0.5, -0.5])).toBeCloseTo(0.5);
    expect(rms(new Float32Array(128))).toBe(0);
  });
});
