/**
 * A small local voice detector, for the "You're muted" nudge: energy well over the noise floor
 * for about half a second out of the last second. It runs on a clone of the microphone track,
 * because muting disables the track itself (its audio turns to silence); nothing leaves the
 * browser.
 */

export interface VoiceOptions {
  /** How often the level is read (ms). */
  stepMs?: number;
  /** The window looked at (ms) and how much of it must be voiced. */
  windowMs?: number;
  voicedMs?: number;
  /** Voiced means louder than this many times the noise floor, and than `minRms`. */
  overFloor?: number;
  minRms?: number;
}

/** The decision, apart from the audio graph: feed it one RMS level per step. */
export class VoiceDetector {
  private floor = 0.003;
  private readonly recent: boolean[] = [];
  private readonly size: number;
  private readonly needed: number;
  private readonly overFloor: number;
  private readonly minRms: number;

  constructor(options: VoiceOptions = {}) {
    const step = options.stepMs ?? 50;
    this.size = Math.max(1, Math.round((options.windowMs ?? 1_000) / step));
    this.needed = Math.max(1, Math.round((options.voicedMs ?? 500) / step));
    this.overFloor = options.overFloor ?? 4;
    this.minRms = options.minRms ?? 0.012;
  }

  /** Returns true when speech was just detected (then starts over). */
  feed(rms: number): boolean {
    const voiced = rms > this.minRms && rms > this.floor * this.overFloor;
    // The floor follows quiet moments at once and loud ones only slowly (a steady fan, a hum).
    this.floor = rms < this.floor ? Math.max(rms, 1e-4) : this.floor * 1.01;
    this.recent.push(voiced);
    if (this.recent.length > this.size) this.recent.shift();
    if (this.recent.filter(Boolean).length >= this.needed) {
      this.recent.length = 0;
      return true;
    }
    return false;
  }
}

/** Watches `track` (even while it is disabled) and calls `onSpeech` each time speech is heard. */
export function watchVoice(track: MediaStreamTrack, onSpeech: () => void, options: VoiceOptions = {}): () => void {
  const Ctx: typeof AudioContext | undefined =
    globalThis.AudioContext ?? (globalThis as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctx || track.readyState === "ended") return () => undefined;
  const probe = track.clone();
  probe.enabled = true;
  const ctx = new Ctx();
  const source = ctx.createMediaStreamSource(new MediaStream([probe]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const detector = new VoiceDetector(options);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    if (detector.feed(Math.sqrt(sum / samples.length))) onSpeech();
  }, options.stepMs ?? 50);
  void ctx.resume().catch(() => undefined);
  return () => {
    clearInterval(timer);
    source.disconnect();
    probe.stop();
    void ctx.close().catch(() => undefined);
  };
}
