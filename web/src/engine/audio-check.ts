/**
 * Is this microphone good enough for an interpreter? The browser's half of the audio-quality
 * check (docs/protocol.md, "Audio quality"); the server's worker computes the same measures with
 * the same thresholds (src/convene/audio/quality.py, whose docstring explains them).
 *
 * The audio is cut into frames (~32-43 ms). A frame is speech when its level is at least 10 dB
 * above the noise floor (the 10th percentile of the frame levels) and within 25 dB of the loud
 * frames (the 95th percentile); the others are pauses. Over the speech frames: the level (RMS,
 * dBFS), the share of samples at or above 0.99 of full scale (clipping) and the spectrum: the
 * energy above 4 kHz relative to 300 Hz-4 kHz (a telephone-band microphone leaves little there).
 * The noise floor is the RMS of the quietest frames.
 *
 * `measure` and `rateMeasures` are pure (tested with synthetic buffers); `AudioMonitor` feeds them from
 * a WebAudio AnalyserNode on a live track.
 *
 * In the meeting the track rated is the one sent, after the browser's echo cancellation, noise
 * suppression and gain control: what the interpreters hear. Gain control hides clipping, though: it
 * scales the flattened waveform back under full scale, so no sample reads as clipped. So the
 * meeting also opens the same microphone a second time with that processing off
 * (`openRawMicrophone`), never sent, and takes the clipping share from it (`withRawClipping`).
 */
import type { AudioQualityReport } from "../protocol/types.gen";

export type AudioRating = AudioQualityReport["rating"];
export type AudioIssue = NonNullable<AudioQualityReport["issues"]>[number];

export const FRAME_SECONDS = 0.032;
export const SPEECH_ABOVE_FLOOR_DB = 10;
export const SPEECH_BELOW_PEAK_DB = 25;
export const MIN_SPEECH_SECONDS = 1;
export const NOISE_ONLY_SECONDS = 3;
export const SILENCE_DBFS = -100;
export const QUIET_FAIR_DBFS = -35;
export const QUIET_POOR_DBFS = -45;
export const SNR_FAIR_DB = 20;
export const SNR_POOR_DB = 15;
export const CLIP_LEVEL = 0.99;
export const CLIPPING_FAIR = 0.0001;
export const CLIPPING_POOR = 0.001;
export const HIGH_BAND_FAIR_DB = -30;
export const HIGH_BAND_POOR_DB = -40;
const BANDWIDTH_SHARE = 0.999;
const TOP_HZ = 15_000;

/** One frame's figures (`spectrum`: linear power per FFT bin, bin `i` at `i * rate / size`). */
export interface Frame {
  power: number;
  clipped: number;
  samples: number;
  spectrum: Float32Array;
}

export interface AudioMeasures {
  seconds: number;
  speechSeconds: number;
  levelDbfs: number | null;
  noiseDbfs: number | null;
  clipping: number;
  highBandDb: number | null;
  bandwidthHz: number | null;
}

export interface RatingResult {
  rating: AudioRating;
  issues: AudioIssue[];
}

const db = (power: number): number => (power > 0 ? Math.max(SILENCE_DBFS, 10 * Math.log10(power)) : SILENCE_DBFS);

/** numpy's default (linear) percentile. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** The frame size for a sample rate: the power of two nearest to 32 ms. */
export function frameSize(rate: number): number {
  return 2 ** Math.round(Math.log2(FRAME_SECONDS * rate));
}

/** Power spectrum of a Hann-windowed frame (its length a power of two). */
export function powerSpectrum(samples: Float32Array): Float32Array {
  const n = samples.length;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < n; i++) re[i] = samples[i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)));
  // Iterative radix-2 FFT.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(angle * k);
        const wi = Math.sin(angle * k);
        const a = i + k;
        const b = a + len / 2;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
  const out = new Float32Array(n / 2 + 1);
  for (let i = 0; i <= n / 2; i++) out[i] = re[i]! * re[i]! + im[i]! * im[i]!;
  return out;
}

/** A frame's figures from its samples (`spectrum`: given, e.g. by an AnalyserNode, or computed). */
export function frameOf(samples: Float32Array, spectrum?: Float32Array): Frame {
  let sum = 0;
  let clipped = 0;
  for (const s of samples) {
    sum += s * s;
    if (Math.abs(s) >= CLIP_LEVEL) clipped++;
  }
  return { power: sum / samples.length, clipped, samples: samples.length, spectrum: spectrum ?? powerSpectrum(samples) };
}

/** The measures of a run of frames of `size` samples at `rate` Hz. */
export function measureFrames(frames: readonly Frame[], rate: number, size: number): AudioMeasures {
  const seconds = (frames.length * size) / rate;
  if (frames.length === 0) {
    return { seconds, speechSeconds: 0, levelDbfs: null, noiseDbfs: null, clipping: 0, highBandDb: null, bandwidthHz: null };
  }
  const levels = frames.map((f) => Math.max(SILENCE_DBFS, f.power > 0 ? 10 * Math.log10(f.power) : SILENCE_DBFS));
  const floor = percentile(levels, 10);
  const peak = percentile(levels, 95);
  const threshold = Math.max(floor + SPEECH_ABOVE_FLOOR_DB, peak - SPEECH_BELOW_PEAK_DB, SILENCE_DBFS + 10);
  const speech = frames.filter((_, i) => levels[i]! >= threshold);
  const mean = (xs: readonly Frame[]) => xs.reduce((s, f) => s + f.power, 0) / xs.length;
  if (speech.length === 0) {
    return { seconds, speechSeconds: 0, levelDbfs: null, noiseDbfs: db(mean(frames)), clipping: 0, highBandDb: null, bandwidthHz: null };
  }
  const quiet = frames.filter((_, i) => levels[i]! <= floor);
  const clipped = speech.reduce((s, f) => s + f.clipped, 0);
  const samples = speech.reduce((s, f) => s + f.samples, 0);
  const [highBandDb, bandwidthHz] = spectrumFigures(speech, rate);
  return {
    seconds,
    speechSeconds: (speech.length * size) / rate,
    levelDbfs: db(mean(speech)),
    noiseDbfs: db(mean(quiet)),
    clipping: samples > 0 ? clipped / samples : 0,
    highBandDb,
    bandwidthHz,
  };
}

function spectrumFigures(frames: readonly Frame[], rate: number): [number | null, number | null] {
  const bins = frames[0]!.spectrum.length;
  const hzPerBin = rate / (2 * (bins - 1));
  const total = new Float64Array(bins);
  for (const f of frames) for (let i = 0; i < bins; i++) total[i]! += f.spectrum[i]!;
  const top = Math.min(TOP_HZ, rate / 2);
  let low = 0;
  let high = 0;
  let all = 0;
  for (let i = 0; i < bins; i++) {
    const hz = i * hzPerBin;
    if (hz >= 300 && hz < 4000) low += total[i]!;
    if (hz >= 4000 && hz <= top) high += total[i]!;
    if (hz >= 100 && hz <= top) all += total[i]!;
  }
  if (low <= 0) return [null, null];
  const highBand = high > 0 ? 10 * Math.log10(high / low) : SILENCE_DBFS;
  let sum = 0;
  let edge = 0;
  for (let i = 0; i < bins; i++) {
    const hz = i * hzPerBin;
    if (hz < 100 || hz > top) continue;
    sum += total[i]!;
    edge = hz;
    if (sum >= BANDWIDTH_SHARE * all) break;
  }
  return [highBand, Math.round(edge)];
}

/** The measures of mono samples in [-1, 1] at `rate` Hz. */
export function measure(samples: Float32Array, rate: number): AudioMeasures {
  const size = frameSize(rate);
  const frames: Frame[] = [];
  for (let at = 0; at + size <= samples.length; at += size) frames.push(frameOf(samples.subarray(at, at + size)));
  return measureFrames(frames, rate, size);
}

/** The rating of these measures (null: not enough speech to tell). */
export function rateMeasures(m: AudioMeasures): RatingResult | null {
  if (m.speechSeconds < MIN_SPEECH_SECONDS || m.levelDbfs === null) {
    // No speech stands out, yet the microphone is loud: speech drowned in noise.
    if (m.seconds >= NOISE_ONLY_SECONDS && (m.noiseDbfs ?? SILENCE_DBFS) > QUIET_POOR_DBFS) {
      return { rating: "poor", issues: ["noisy"] };
    }
    return null;
  }
  const poor: AudioIssue[] = [];
  const fair: AudioIssue[] = [];
  const check = (issue: AudioIssue, isPoor: boolean, isFair: boolean) => {
    if (isPoor) poor.push(issue);
    else if (isFair) fair.push(issue);
  };
  check("quiet", m.levelDbfs < QUIET_POOR_DBFS, m.levelDbfs < QUIET_FAIR_DBFS);
  check("clipping", m.clipping >= CLIPPING_POOR, m.clipping >= CLIPPING_FAIR);
  if (m.noiseDbfs !== null) {
    const snr = m.levelDbfs - m.noiseDbfs;
    check("noisy", snr < SNR_POOR_DB, snr < SNR_FAIR_DB);
  }
  if (m.highBandDb !== null) check("narrowband", m.highBandDb < HIGH_BAND_POOR_DB, m.highBandDb < HIGH_BAND_FAIR_DB);
  return { rating: poor.length ? "poor" : fair.length ? "fair" : "good", issues: [...poor, ...fair] };
}

/** Audio constraints for `deviceId` (the default microphone when none) with the browser's
 * processing off: the microphone as it is. */
export function rawAudioConstraints(deviceId: string | null | undefined): MediaTrackConstraints {
  return {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    echoCancellation: false,
    noiseSuppression: false,
    autoGainControl: false,
  };
}

/** Whether a track's settings say that gain control is off (unknown: taken as on). */
export function unprocessed(settings: MediaTrackSettings): boolean {
  return settings.autoGainControl === false;
}

/**
 * The microphone of `track` opened again without processing, for analysis only; null when the
 * browser refuses or cannot turn gain control off (then it would hide clipping just the same).
 * Browsers that cannot turn gain control off are not asked at all: some of them hand a page one
 * capture of a microphone at a time, and a second would silence the track sent.
 */
export async function openRawMicrophone(track: MediaStreamTrack): Promise<MediaStreamTrack | null> {
  if (typeof navigator === "undefined" || !navigator.mediaDevices?.getUserMedia) return null;
  if (navigator.mediaDevices.getSupportedConstraints?.().autoGainControl !== true) return null;
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: rawAudioConstraints(track.getSettings().deviceId) });
  } catch {
    return null;
  }
  const raw = stream.getAudioTracks()[0] ?? null;
  if (!raw || !unprocessed(raw.getSettings()) || track.readyState === "ended") {
    for (const t of stream.getTracks()) t.stop();
    return null;
  }
  return raw;
}

/**
 * The measures of the track sent, with the clipping share of the raw microphone when it is higher
 * (gain control brings a clipped waveform under full scale in the track sent).
 */
export function withRawClipping(sent: AudioMeasures, raw: AudioMeasures | null): AudioMeasures {
  if (!raw || raw.speechSeconds === 0) return sent;
  return { ...sent, clipping: Math.max(sent.clipping, raw.clipping) };
}

/** The `audio.quality` request for a rating and the measures behind it. */
export function report(result: RatingResult, m: AudioMeasures): AudioQualityReport {
  const clamp = (v: number) => Math.max(-160, Math.min(0, v));
  return {
    rating: result.rating,
    issues: result.issues,
    ...(m.levelDbfs !== null ? { level_dbfs: clamp(m.levelDbfs) } : {}),
    ...(m.noiseDbfs !== null ? { noise_dbfs: clamp(m.noiseDbfs) } : {}),
    clipping: Math.min(1, m.clipping),
    ...(m.bandwidthHz !== null ? { bandwidth_hz: Math.min(48_000, m.bandwidthHz) } : {}),
  };
}

export interface MonitorUpdate {
  /** The last frame's level for a meter, 0..1. */
  level: number;
  measures: AudioMeasures;
  result: RatingResult | null;
}

/**
 * Watches a live track: an AnalyserNode read once per frame; `onUpdate` gets the level and the
 * measures over the last `windowSeconds` (all since the start when 0) every `updateMs`. With
 * `raw` (the same microphone unprocessed, see `openRawMicrophone`), a second analyser reads it
 * and the clipping share comes from it when higher (`withRawClipping`).
 */
export class AudioMonitor {
  private ctx: AudioContext | null = null;
  private sources: MediaStreamAudioSourceNode[] = [];
  private timers: ReturnType<typeof setInterval>[] = [];
  private frames: Frame[] = [];
  private rawFrames: Frame[] = [];
  private lastLevel = 0;

  constructor(
    private readonly track: MediaStreamTrack,
    private readonly options: {
      windowSeconds: number;
      updateMs: number;
      onUpdate: (u: MonitorUpdate) => void;
      raw?: MediaStreamTrack | null;
    },
  ) {}

  start(): boolean {
    const Ctx: typeof AudioContext | undefined =
      globalThis.AudioContext ?? (globalThis as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Ctx) return false;
    const ctx = new Ctx();
    this.ctx = ctx;
    const size = frameSize(ctx.sampleRate) > 2048 ? 2048 : Math.max(512, frameSize(ctx.sampleRate));
    const rate = ctx.sampleRate;
    const keep = this.options.windowSeconds > 0 ? Math.ceil((this.options.windowSeconds * rate) / size) : Infinity;
    const reader = (track: MediaStreamTrack, into: Frame[], metered: boolean) => {
      const source = ctx.createMediaStreamSource(new MediaStream([track]));
      this.sources.push(source);
      const analyser = ctx.createAnalyser();
      analyser.fftSize = size;
      analyser.smoothingTimeConstant = 0;
      source.connect(analyser);
      const samples = new Float32Array(size);
      const decibels = new Float32Array(size / 2);
      return () => {
        analyser.getFloatTimeDomainData(samples);
        analyser.getFloatFrequencyData(decibels);
        // The analyser's spectrum (dB, Blackman window) as linear power; the Nyquist bin is 0.
        const spectrum = new Float32Array(size / 2 + 1);
        for (let i = 0; i < size / 2; i++) spectrum[i] = Number.isFinite(decibels[i]!) ? 10 ** (decibels[i]! / 10) : 0;
        const frame = frameOf(samples, spectrum);
        into.push(frame);
        if (into.length > keep) into.splice(0, into.length - keep);
        if (metered) this.lastLevel = Math.min(1, Math.sqrt(Math.sqrt(frame.power) * 8));
      };
    };
    const readers = [reader(this.track, this.frames, true)];
    const raw = this.options.raw;
    if (raw) readers.push(reader(raw, this.rawFrames, false));
    const read = () => {
      if (ctx.state !== "running") return;
      for (const r of readers) r();
    };
    const update = () => {
      const sent = measureFrames(this.frames, rate, size);
      const measures = raw ? withRawClipping(sent, measureFrames(this.rawFrames, rate, size)) : sent;
      this.options.onUpdate({ level: this.track.enabled ? this.lastLevel : 0, measures, result: rateMeasures(measures) });
    };
    void ctx.resume().catch(() => undefined);
    this.timers.push(setInterval(read, (1000 * size) / rate));
    this.timers.push(setInterval(update, this.options.updateMs));
    return true;
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const s of this.sources) s.disconnect();
    this.sources = [];
    void this.ctx?.close().catch(() => undefined);
    this.ctx = null;
  }
}
