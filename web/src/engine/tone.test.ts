import { describe, expect, it } from "vitest";
import { toneWav } from "./tone";

describe("toneWav", () => {
  it("writes a mono 16-bit PCM WAV of the asked length", () => {
    const wav = toneWav({ notes: [440, 880], noteMs: 100, sampleRate: 8_000 });
    const view = new DataView(wav.buffer);
    const text = (at: number) => String.fromCharCode(...wav.slice(at, at + 4));
    expect(text(0)).toBe("RIFF");
    expect(text(8)).toBe("WAVE");
    expect(view.getUint16(20, true)).toBe(1);
    expect(view.getUint16(22, true)).toBe(1);
    expect(view.getUint32(24, true)).toBe(8_000);
    expect(view.getUint16(34, true)).toBe(16);
    expect(view.getUint32(40, true)).toBe(2 * 1_600);
    expect(wav.length).toBe(44 + 2 * 1_600);
    expect(view.getUint32(4, true)).toBe(wav.length - 8);
  });

  it("fades in and out and stays within the volume", () => {
    const wav = toneWav({ notes: [440], noteMs: 200, sampleRate: 8_000, volume: 0.5 });
    const view = new DataView(wav.buffer);
    const samples = (wav.length - 44) / 2;
    const at = (i: number) => view.getInt16(44 + i * 2, true);
    expect(at(0)).toBe(0);
    expect(Math.abs(at(samples - 1))).toBeLessThanOrEqual(1);
    let peak = 0;
    for (let i = 0; i < samples; i++) peak = Math.max(peak, Math.abs(at(i)));
    expect(peak).toBeGreaterThan(0.4 * 32_767);
    expect(peak).toBeLessThanOrEqual(Math.ceil(0.5 * 32_767));
  });
});
