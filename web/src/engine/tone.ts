/**
 * A short test tone as a WAV file, for the speaker test: played by an `<audio>` element, it goes
 * to the output chosen with `setSinkId` (Web Audio's own output choice is not yet everywhere).
 */

export interface ToneOptions {
  /** Pitch of each note in Hz, played one after the other. */
  notes?: readonly number[];
  /** Length of each note. */
  noteMs?: number;
  sampleRate?: number;
  /** Peak amplitude, 0..1. */
  volume?: number;
}

/** A mono 16-bit PCM WAV of a few soft notes, each faded in and out so that nothing clicks. */
export function toneWav(options: ToneOptions = {}): Uint8Array<ArrayBuffer> {
  const notes = options.notes ?? [660, 880];
  const noteMs = options.noteMs ?? 250;
  const rate = options.sampleRate ?? 22_050;
  const volume = options.volume ?? 0.4;
  const perNote = Math.round((rate * noteMs) / 1000);
  const samples = perNote * notes.length;
  const fade = Math.min(Math.round(rate * 0.02), Math.floor(perNote / 2));
  const bytes = new Uint8Array(44 + samples * 2);
  const view = new DataView(bytes.buffer);
  const text = (offset: number, s: string) => {
    for (let i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i));
  };
  text(0, "RIFF");
  view.setUint32(4, 36 + samples * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true); // size of the fmt chunk
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true); // bytes per second
  view.setUint16(32, 2, true); // bytes per frame
  view.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  view.setUint32(40, samples * 2, true);
  notes.forEach((hz, n) => {
    for (let i = 0; i < perNote; i++) {
      const envelope = Math.min(1, i / fade, (perNote - 1 - i) / fade);
      const value = Math.sin((2 * Math.PI * hz * i) / rate) * volume * Math.max(0, envelope);
      view.setInt16(44 + (n * perNote + i) * 2, Math.round(value * 32_767), true);
    }
  });
  return bytes;
}
