/**
 * The listener's mix while a language channel plays: the floor (everyone's remote audio) turned
 * down under the channel (the interpreter's voice), back up when the channel is not on air or has
 * been silent for a moment, down again when the interpreter speaks.
 *
 * The decisions are pure functions (`floorTarget`, `nextActivity`) so they are tested without
 * audio; `ChannelMix` applies them with WebAudio: one source and gain per remote track, the
 * channel's tracks through an AnalyserNode for their level. Chromium feeds a remote WebRTC stream
 * into WebAudio only while the stream is also attached to a media element, so the caller keeps a
 * (muted) element per track.
 */

/** The floor's level under a speaking channel by default (the listener may change it, or 0: off). */
export const DEFAULT_DUCK = 0.2;
/** RMS (full scale 1) above which the channel counts as speaking (about -46 dBFS). */
export const SPEECH_RMS = 0.005;
/** The channel counts as silent after this long without speech (ms). */
export const SILENCE_HOLD_MS = 1_500;
/** Time constant of the gain ramps (s): a change is ~95 % done after three of them (~0.3 s). */
export const RAMP_TIME_CONSTANT = 0.1;
/** How often the channel's level is read (ms). */
const TICK_MS = 50;

export interface MixInput {
  /** A channel is listened to and its audio is received. */
  listening: boolean;
  /** The channel's `on_air`. */
  onAir: boolean;
  /** The channel's voice was heard within SILENCE_HOLD_MS. */
  speaking: boolean;
  /** The floor level under the channel, 0-1. */
  duck: number;
}

/** The floor's gain: ducked only while a channel listened to is on air and speaking. */
export function floorTarget(input: MixInput): number {
  if (!input.listening || !input.onAir || !input.speaking) return 1;
  return Math.min(1, Math.max(0, input.duck));
}

/** Root mean square of samples (full scale 1). */
export function rms(samples: ArrayLike<number>): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i += 1) {
    const v = samples[i] ?? 0;
    sum += v * v;
  }
  return Math.sqrt(sum / samples.length);
}

export interface Activity {
  /** When the channel's voice was last above the threshold (ms), null: never. */
  lastVoiceAt: number | null;
}

/** The channel's activity after one level reading at `now`. */
export function nextActivity(prev: Activity, level: number, now: number, threshold = SPEECH_RMS): Activity {
  return level >= threshold ? { lastVoiceAt: now } : prev;
}

/** Whether the channel is speaking: its voice was heard less than `holdMs` ago. */
export function isSpeaking(activity: Activity, now: number, holdMs = SILENCE_HOLD_MS): boolean {
  return activity.lastVoiceAt !== null && now - activity.lastVoiceAt < holdMs;
}

/** What the mix does now, for tests and diagnostics. */
export interface MixSnapshot {
  /** The mix plays (a channel is listened to and received); otherwise media elements play as usual. */
  active: boolean;
  /** The floor's gain now and where it is going. */
  floor: number;
  floorTarget: number;
  channel: number;
  speaking: boolean;
  onAir: boolean;
  duck: number;
  /** Remote tracks in the mix. */
  floorTracks: number;
  channelTracks: number;
}

interface Source {
  track: MediaStreamTrack;
  node: MediaStreamAudioSourceNode;
}

type SinkContext = AudioContext & { setSinkId?: (id: string) => Promise<void> };

/**
 * Plays the floor's and the channel's remote tracks through WebAudio with the ducking applied.
 * `update` is called with the current tracks and channel state whenever they change.
 */
export class ChannelMix {
  private ctx: SinkContext | null = null;
  private floorGain: GainNode | null = null;
  private channelGain: GainNode | null = null;
  private analyser: AnalyserNode | null = null;
  private sources = new Map<string, Source>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private activity: Activity = { lastVoiceAt: null };
  private buffer: Float32Array<ArrayBuffer> = new Float32Array(1024);
  private input: MixInput = { listening: false, onAir: false, speaking: false, duck: DEFAULT_DUCK };
  private target = 1;
  private sinkId: string | null = null;

  /** Whether this browser can mix (WebAudio with remote streams). */
  static supported(): boolean {
    return typeof AudioContext === "function";
  }

  /**
   * Sets the tracks: `floor` (every participant's audio) and `channel` (the channel's voice), the
   * channel's on-air state, the floor level and the output device.
   */
  update(opts: {
    floor: readonly MediaStreamTrack[];
    channel: readonly MediaStreamTrack[];
    onAir: boolean;
    duck: number;
    sinkId: string | null;
  }): void {
    // Nothing is mixed before a channel plays (the media elements play the floor as usual).
    const ctx = opts.channel.length > 0 ? this.context() : this.ctx;
    if (!ctx || !this.floorGain || !this.channelGain || !this.analyser) return;
    const wanted = new Map<string, { track: MediaStreamTrack; to: AudioNode }>();
    // Without a channel the media elements play the floor again: nothing stays in the graph.
    const floor = opts.channel.length > 0 ? opts.floor : [];
    for (const t of floor) wanted.set(`f:${t.id}`, { track: t, to: this.floorGain });
    for (const t of opts.channel) wanted.set(`c:${t.id}`, { track: t, to: this.analyser });
    for (const [key, s] of this.sources) {
      if (wanted.get(key)?.track !== s.track) {
        s.node.disconnect();
        this.sources.delete(key);
      }
    }
    for (const [key, w] of wanted) {
      if (this.sources.has(key)) continue;
      const node = ctx.createMediaStreamSource(new MediaStream([w.track]));
      node.connect(w.to);
      this.sources.set(key, { track: w.track, node });
    }
    this.input = { ...this.input, listening: opts.channel.length > 0, onAir: opts.onAir, duck: opts.duck };
    if (opts.sinkId !== this.sinkId) {
      this.sinkId = opts.sinkId;
      if (ctx.setSinkId) ctx.setSinkId(opts.sinkId ?? "").catch(() => undefined);
    }
    if (ctx.state === "suspended") ctx.resume().catch(() => undefined);
    this.step();
    if (this.timer === null) this.timer = setInterval(() => this.step(), TICK_MS);
  }

  /** The mix now (gains read off the audio graph). */
  snapshot(): MixSnapshot {
    return {
      active: this.ctx !== null && this.input.listening,
      floor: this.floorGain?.gain.value ?? 1,
      floorTarget: this.target,
      channel: this.channelGain?.gain.value ?? 1,
      speaking: this.input.speaking,
      onAir: this.input.onAir,
      duck: this.input.duck,
      floorTracks: [...this.sources.keys()].filter((k) => k.startsWith("f:")).length,
      channelTracks: [...this.sources.keys()].filter((k) => k.startsWith("c:")).length,
    };
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const s of this.sources.values()) s.node.disconnect();
    this.sources.clear();
    void this.ctx?.close().catch(() => undefined);
    this.ctx = null;
    this.floorGain = this.channelGain = this.analyser = null;
  }

  private context(): SinkContext | null {
    if (this.ctx) return this.ctx;
    if (!ChannelMix.supported()) return null;
    const ctx: SinkContext = new AudioContext();
    this.ctx = ctx;
    this.floorGain = ctx.createGain();
    this.channelGain = ctx.createGain();
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.buffer = new Float32Array(this.analyser.fftSize);
    this.floorGain.connect(ctx.destination);
    // A silent input keeps the floor's gain processed (its ramps run, its value reads true)
    // while no floor track is connected.
    const idle = ctx.createConstantSource();
    idle.offset.value = 0;
    idle.connect(this.floorGain);
    idle.start();
    this.analyser.connect(this.channelGain);
    this.channelGain.connect(ctx.destination);
    return ctx;
  }

  private step(): void {
    if (!this.ctx || !this.analyser || !this.floorGain) return;
    const now = performance.now();
    let level = 0;
    if (this.input.listening) {
      this.analyser.getFloatTimeDomainData(this.buffer);
      level = rms(this.buffer);
    }
    this.activity = nextActivity(this.activity, level, now);
    this.input = { ...this.input, speaking: isSpeaking(this.activity, now) };
    const target = floorTarget(this.input);
    if (target !== this.target) {
      this.target = target;
      this.floorGain.gain.cancelScheduledValues(this.ctx.currentTime);
      this.floorGain.gain.setTargetAtTime(target, this.ctx.currentTime, RAMP_TIME_CONSTANT);
    }
  }
}

let current: ChannelMix | null = null;

/** The mix of the meeting on screen, if any (read by the diagnostics hook). */
export function currentMix(): ChannelMix | null {
  return current;
}

export function setCurrentMix(mix: ChannelMix | null): void {
  current = mix;
}
