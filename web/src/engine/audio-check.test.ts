import { describe, expect, it } from "vitest";
import {
  CLIPPING_POOR,
  frameSize,
  measure,
  percentile,
  powerSpectrum,
  rateMeasures,
  rawAudioConstraints,
  report,
  unprocessed,
  withRawClipping,
} from "./audio-check";

const RATE = 48_000;

/** A deterministic stand-in for noise (a small LCG, uniform in [-1, 1]). */
function noise(seed = 7): () => number {
  let x = seed;
  return () => {
    x = (x * 1664525 + 1013904223) % 4294967296;
    return (x / 4294967296) * 2 - 1;
  };
}

/**
 * Voiced "syllables": harmonics of a pitch with a natural roll-off (about -6 dB per
 * octave from 500 Hz), a breath of noise on each (the fricatives), 0.3 s pauses between them, and
 * a faint room tone throughout. `maxHz` cuts every component above it (a band-limited chain).
 */
const made = new Map<string, Float32Array>();

function speech(seconds: number, opts: { maxHz?: number; minHz?: number; gain?: number; room?: number } = {}): Float32Array {
  // Made once per shape (synthesis is the slow part) and scaled; callers get a copy.
  const { gain = 0.03, ...shape } = opts;
  const key = JSON.stringify([seconds, shape]);
  let unit = made.get(key);
  if (!unit) {
    unit = synthesise(seconds, { ...shape, room: shape.room === undefined ? undefined : shape.room / gain });
    made.set(key, unit);
  }
  return unit.map((s) => s * gain);
}

function synthesise(seconds: number, opts: { maxHz?: number; minHz?: number; room?: number | undefined }): Float32Array {
  const { maxHz = 12_000, minHz = 0 } = opts;
  const gain = 1;
  const room = opts.room ?? 0.003;
  const out = new Float32Array(Math.round(seconds * RATE));
  const rnd = noise();
  const syllable = 0.4;
  const pause = 0.3;
  for (let i = 0; i < out.length; i++) {
    const t = i / RATE;
    const k = Math.floor(t / (syllable + pause));
    const inSyllable = t - k * (syllable + pause);
    let s = 0;
    if (inSyllable < syllable) {
      const f0 = 110 + 40 * Math.sin(k * 1.7); // a pitch per syllable
      const env = Math.sin((Math.PI * inSyllable) / syllable);
      for (let h = 1; h * f0 < Math.min(maxHz, RATE / 2); h++) {
        const f = h * f0;
        if (f < minHz) continue;
        s += (env * Math.sin(2 * Math.PI * f * t + h)) / Math.max(1, f / 500);
      }
      // Fricative noise, only when the band lets it through (white noise is wideband).
      if (maxHz > 8000) s += 0.05 * env * rnd();
    }
    out[i] = gain * s + room * rnd();
  }
  return out;
}

describe("audio check: the pure measures", () => {
  it("frames about 32 ms long, a power of two", () => {
    expect(frameSize(48_000)).toBe(2048);
    expect(frameSize(16_000)).toBe(512);
    expect(frameSize(44_100)).toBe(1024);
  });

  it("percentiles as numpy computes them", () => {
    expect(percentile([1, 2, 3, 4, 5], 10)).toBeCloseTo(1.4);
    expect(percentile([5, 1, 3], 50)).toBe(3);
  });

  it("an FFT that puts a tone in its bin", () => {
    const n = 1024;
    const x = new Float32Array(n).map((_, i) => Math.sin((2 * Math.PI * 64 * i) / n));
    const p = powerSpectrum(x);
    const peak = p.indexOf(Math.max(...p));
    expect(peak).toBe(64);
  });

  it("rates clean wideband speech good", () => {
    const m = measure(speech(6), RATE);
    expect(m.speechSeconds).toBeGreaterThan(2);
    expect(m.clipping).toBe(0);
    expect(m.bandwidthHz!).toBeGreaterThan(4000);
    expect(rateMeasures(m)).toEqual({ rating: "good", issues: [] });
  });

  it("rates clipped speech poor", () => {
    const hot = speech(6).map((s) => Math.max(-1, Math.min(1, s * 12)));
    const m = measure(hot, RATE);
    expect(m.clipping).toBeGreaterThan(CLIPPING_POOR);
    const r = rateMeasures(m)!;
    expect(r.rating).toBe("poor");
    expect(r.issues).toContain("clipping");
  });

  it("rates telephone-band speech (300-3,400 Hz) poor: narrowband", () => {
    const m = measure(speech(6, { minHz: 300, maxHz: 3400 }), RATE);
    expect(m.bandwidthHz!).toBeLessThan(3600);
    expect(rateMeasures(m)).toEqual({ rating: "poor", issues: ["narrowband"] });
  });

  it("rates speech in noise poor, quiet speech poor or fair", () => {
    const rnd = noise(3);
    const noisy = speech(6).map((s) => s + 0.02 * rnd());
    expect(rateMeasures(measure(noisy, RATE))).toEqual({ rating: "poor", issues: ["noisy"] });
    const quiet = measure(speech(6, { gain: 0.003 }), RATE);
    expect(rateMeasures(quiet)).toEqual({ rating: "poor", issues: ["quiet"] });
    const soft = measure(speech(6, { gain: 0.01 }), RATE);
    expect(rateMeasures(soft)).toEqual({ rating: "fair", issues: ["quiet"] });
  });

  it("has no rating without speech, and calls a loud steady noise poor", () => {
    expect(rateMeasures(measure(new Float32Array(RATE * 4), RATE))).toBeNull();
    expect(rateMeasures(measure(new Float32Array(100), RATE))).toBeNull();
    const rnd = noise(5);
    const hiss = new Float32Array(RATE * 4).map(() => 0.1 * rnd());
    expect(rateMeasures(measure(hiss, RATE))).toEqual({ rating: "poor", issues: ["noisy"] });
  });

  it("reports within the protocol's bounds", () => {
    const m = measure(speech(6), RATE);
    const r = report(rateMeasures(m)!, m);
    expect(r.rating).toBe("good");
    expect(r.level_dbfs!).toBeLessThan(0);
    expect(r.level_dbfs!).toBeGreaterThan(-40);
    expect(r.clipping).toBe(0);
    expect(r.bandwidth_hz!).toBeGreaterThan(4000);
  });
});

describe("audio check in the meeting: clipping from the raw microphone", () => {
  it("asks for the same device with the processing off", () => {
    expect(rawAudioConstraints("mic-1")).toEqual({
      deviceId: { exact: "mic-1" },
      echoCancellation: false,
      noiseSuppression: false,
      autoGainControl: false,
    });
    expect(rawAudioConstraints(undefined)).toEqual({ echoCancellation: false, noiseSuppression: false, autoGainControl: false });
    expect(rawAudioConstraints("")).not.toHaveProperty("deviceId");
  });

  it("takes a capture as raw only when its settings say gain control is off", () => {
    expect(unprocessed({ autoGainControl: false })).toBe(true);
    expect(unprocessed({})).toBe(false);
    expect(unprocessed({ autoGainControl: true })).toBe(false);
  });

  it("catches clipping that gain control scaled under full scale in the track sent", () => {
    const hot = speech(6).map((s) => Math.max(-1, Math.min(1, s * 12)));
    // What gain control sends: the same flattened waveform, a quarter of full scale.
    const sent = measure(hot.map((s) => s * 0.25), RATE);
    expect(sent.clipping).toBe(0);
    expect(rateMeasures(sent)!.issues).not.toContain("clipping");
    const both = withRawClipping(sent, measure(hot, RATE));
    expect(both.clipping).toBeGreaterThan(CLIPPING_POOR);
    expect(both.levelDbfs).toBe(sent.levelDbfs);
    const r = rateMeasures(both)!;
    expect(r.rating).toBe("poor");
    expect(r.issues).toContain("clipping");
  });

  it("keeps the track sent's figures when the raw microphone has nothing to say", () => {
    const sent = measure(speech(6), RATE);
    expect(withRawClipping(sent, null)).toBe(sent);
    expect(withRawClipping(sent, measure(new Float32Array(RATE * 4), RATE))).toBe(sent);
    const clean = withRawClipping(sent, measure(speech(6), RATE));
    expect(rateMeasures(clean)).toEqual({ rating: "good", issues: [] });
  });
});
