/**
 * The interpreter's side of interpretation (docs/protocol.md, "Interpretation"): what the console
 * shows (pure functions over InterpretationInfo, so tests need no network) and the desk, which
 * publishes the interpreter's two audio-only feeds and sends the booth's requests.
 *
 * - `interpretation` feed: the interpreter's voice into the booth's channel. Every partner
 *   publishes it; the server forwards only the live one's, so a handover needs no renegotiation.
 * - `booth` feed: the partner link, heard by the booth's partners only. Its track is enabled only
 *   while "talk to partner" is on; like a booth console's talk-back key, talking to the partner
 *   mutes the channel microphone meanwhile.
 *
 * Both feeds carry their own microphone track (not the floor microphone of the main feed), so the
 * console's microphone and the meeting's mute button are independent: an interpreter is heard on
 * the channel, not on the floor.
 */
import { Emitter } from "../protocol/emitter";
import type {
  BoothInfo,
  FeedInfo,
  HandoverInfo,
  IceServer,
  InterpretationInfo,
  InterpreterInfo,
} from "../protocol/types";
import { describeMediaError, type LocalMedia } from "../engine/local";
import type { SignalingPort } from "../engine/port";
import { Publisher } from "../engine/publisher";

/** The six UN languages, offered first when a host names an interpreter. */
export const UN_LANGUAGES = ["ar", "zh", "en", "fr", "ru", "es"] as const;

export type SignalKind = "slow_down" | "audio_poor";

export interface Partner {
  id: string;
  name: string;
  live: boolean;
}

/** What the console shows to one interpreter. */
export interface ConsoleView {
  me: InterpreterInfo;
  booth: BoothInfo | null;
  /** The booth's languages: the output buttons (two for a pair booth). */
  outputs: string[];
  output: string | null;
  live: { id: string; name: string } | null;
  iAmLive: boolean;
  /** The booth's other interpreters present. */
  partners: Partner[];
  /** A handover asked of me (I may accept or decline), and one I asked (I may cancel). */
  incoming: HandoverInfo | null;
  outgoing: HandoverInfo | null;
}

/** The interpreter record of `selfId`, or null when they are not an interpreter. */
export function interpreterOf(info: InterpretationInfo, selfId: string | null): InterpreterInfo | null {
  if (!selfId) return null;
  return info.interpreters.find((i) => i.participant_id === selfId) ?? null;
}

export function consoleView(info: InterpretationInfo, selfId: string | null): ConsoleView | null {
  const me = interpreterOf(info, selfId);
  if (!me) return null;
  const booth = info.booths.find((b) => b.id === me.booth) ?? null;
  const names = new Map(info.interpreters.map((i) => [i.participant_id, i.display_name]));
  const liveId = booth?.live ?? null;
  const partnerIds = (booth?.partners ?? info.interpreters.filter((i) => i.booth === me.booth).map((i) => i.participant_id))
    .filter((id) => id !== me.participant_id);
  const handover = booth?.handover ?? null;
  return {
    me,
    booth,
    outputs: booth?.languages ?? me.languages,
    output: booth?.output ?? null,
    live: liveId ? { id: liveId, name: names.get(liveId) ?? "" } : null,
    iAmLive: liveId === me.participant_id,
    partners: partnerIds.map((id) => ({ id, name: names.get(id) ?? "", live: id === liveId })),
    incoming: handover && handover.to === me.participant_id ? handover : null,
    outgoing: handover && handover.from === me.participant_id ? handover : null,
  };
}

/**
 * The state the ON AIR sign shows: on air (live and the console microphone on), live but talking
 * to a partner (the channel's microphone muted meanwhile), live with the microphone off, a
 * partner live, or nobody live (the channel carries the floor).
 */
export type AirState = "on_air" | "talking" | "live_muted" | "partner_live" | "nobody_live";

export function airState(view: ConsoleView, micOn: boolean, talking = false): AirState {
  if (view.iAmLive) return micOn ? (talking ? "talking" : "on_air") : "live_muted";
  return view.live ? "partner_live" : "nobody_live";
}

/**
 * What a partner row offers: the live interpreter hands over to a partner; a partner asks the
 * live one to let them take over; nothing while a handover is pending or nobody is live (then
 * "Take" claims the booth).
 */
export function partnerAction(view: ConsoleView, partner: Partner): "hand_over" | "take_over" | null {
  if (view.incoming || view.outgoing) return null;
  if (view.iAmLive) return "hand_over";
  if (partner.live) return "take_over";
  return null;
}

/** The languages a host may name an interpreter for: the six UN languages, then the meeting's caption languages. */
export function assignableLanguages(captionLanguages: readonly string[]): string[] {
  const out: string[] = [...UN_LANGUAGES];
  for (const code of captionLanguages) if (!out.includes(code)) out.push(code);
  return out;
}

/** A host's choice in the "Make interpreter" dialog as `interpretation.assign` languages, or null when invalid. */
export function assignment(first: string, second: string): string[] | null {
  const a = first.trim();
  const b = second.trim();
  if (!a) return null;
  if (!b) return [a];
  return a === b ? null : [a, b];
}

/** The speaker a signal is for: whoever spoke last (not an interpreter, not me), else null (the server sends it to the hosts). */
export function currentSpeaker(
  lastSpoke: ReadonlyMap<string, number>,
  info: InterpretationInfo,
  selfId: string | null,
): string | null {
  const interpreters = new Set(info.interpreters.map((i) => i.participant_id));
  let best: string | null = null;
  let bestAt = -Infinity;
  for (const [id, at] of lastSpoke) {
    if (id === selfId || interpreters.has(id)) continue;
    if (at > bestAt) {
      best = id;
      bestAt = at;
    }
  }
  return best;
}

// -----------------------------------------------------------------------------------------------
// The desk: the interpreter's feeds and requests
// -----------------------------------------------------------------------------------------------

export interface DeskState {
  /** The feeds are published (or being published): the participant is an interpreter. */
  active: boolean;
  /** The console microphone (the channel feed's track) is on. */
  micOn: boolean;
  /** "Talk to partner" is on (the booth feed's track is enabled, the channel's muted). */
  talking: boolean;
  /** The channel feed's connection: "none" before it exists. */
  pc: RTCPeerConnectionState | "none";
  error: string | null;
}

export interface DeskEvents {
  change: DeskState;
}

function toRtc(servers: IceServer[]): RTCIceServer[] {
  return servers.map((s) => {
    const out: RTCIceServer = { urls: s.urls };
    if (s.username) out.username = s.username;
    if (s.credential) out.credential = s.credential;
    return out;
  });
}

export class InterpreterDesk extends Emitter<DeskEvents> {
  private _state: DeskState = { active: false, micOn: false, talking: false, pc: "none", error: null };
  private iceServers: RTCIceServer[] = [];
  private channel: Publisher | null = null;
  private booth: Publisher | null = null;
  private channelTrack: MediaStreamTrack | null = null;
  private boothTrack: MediaStreamTrack | null = null;
  private starting: Promise<void> | null = null;
  private offLocalTrack: (() => void) | null = null;

  constructor(
    private readonly port: SignalingPort,
    private readonly local: LocalMedia,
  ) {
    super();
  }

  get state(): DeskState {
    return this._state;
  }

  setIceServers(servers: IceServer[]): void {
    this.iceServers = toRtc(servers);
  }

  /**
   * Follows whether this participant is an interpreter: publishes both feeds on becoming one,
   * takes them down when no longer one.
   */
  sync(isInterpreter: boolean): void {
    if (isInterpreter && !this._state.active) void this.start();
    else if (!isInterpreter && this._state.active) void this.stop(true);
  }

  /** Publishes the channel and booth feeds (each its own peer connection, audio only). */
  async start(): Promise<void> {
    if (this.starting) return this.starting;
    this.update({ active: true, error: null });
    this.starting = this.publishBoth().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  /** Takes both feeds down (with `unpublish`, tells the server) and releases the microphone. */
  async stop(unpublish: boolean): Promise<void> {
    const channel = this.channel;
    const booth = this.booth;
    this.channel = null;
    this.booth = null;
    this.offLocalTrack?.();
    this.offLocalTrack = null;
    this.channelTrack?.stop();
    this.boothTrack?.stop();
    this.channelTrack = null;
    this.boothTrack = null;
    this.update({ active: false, micOn: false, talking: false, pc: "none" });
    await Promise.all([channel?.stop(unpublish), booth?.stop(unpublish)]);
  }

  /** The media server restarted, or our feeds vanished after a resume: publish again. */
  async republish(): Promise<void> {
    if (!this._state.active) return;
    const { micOn, talking } = this._state;
    await this.stop(false);
    await this.start();
    this.setMic(micOn);
    this.setTalk(talking);
  }

  /** Whether `feeds` (a resume's snapshot) still lists both of our feeds. */
  listedIn(feeds: readonly FeedInfo[]): boolean {
    const ids = new Set(feeds.map((f) => f.id));
    return (this.channel?.feedId == null || ids.has(this.channel.feedId)) && (this.booth?.feedId == null || ids.has(this.booth.feedId));
  }

  get feedIds(): number[] {
    return [this.channel?.feedId, this.booth?.feedId].filter((id): id is number => typeof id === "number");
  }

  /** The console microphone: what the channel hears when this interpreter is live. */
  setMic(on: boolean): void {
    this.update({ micOn: on });
    this.applyTracks();
  }

  /** "Talk to partner": the partner link on, the channel microphone muted meanwhile. */
  setTalk(on: boolean): void {
    this.update({ talking: on });
    this.applyTracks();
  }

  output(language: string): Promise<unknown> {
    return this.port.request("interpretation.output", { language });
  }

  /** Claims a booth nobody is live in, and opens the console microphone. */
  async take(): Promise<void> {
    await this.port.request("interpretation.take", {});
    this.setMic(true);
  }

  handover(to: string): Promise<unknown> {
    return this.port.request("interpretation.handover", { to });
  }

  /** Accepts a handover asked of me; when I become the live one, my microphone opens. */
  async accept(): Promise<void> {
    await this.port.request("interpretation.handover.accept", {});
    this.setMic(true);
  }

  cancel(): Promise<unknown> {
    return this.port.request("interpretation.handover.cancel", {});
  }

  signal(kind: SignalKind, to: string | null): Promise<unknown> {
    return this.port.request("interpretation.signal", to ? { kind, to } : { kind });
  }

  boothChat(text: string): Promise<unknown> {
    return this.port.request("interpretation.booth_chat", { text });
  }

  private async publishBoth(): Promise<void> {
    try {
      const track = await this.openMic();
      if (!this._state.active) {
        track.stop();
        return;
      }
      this.channelTrack = track;
      this.boothTrack = track.clone();
      this.applyTracks();
      // The participant picked another microphone: the console follows.
      this.offLocalTrack ??= this.local.on("track", ({ kind }) => {
        if (kind === "audio") void this.switchMic();
      });
      this.channel = this.publisher("interpretation");
      this.booth = this.publisher("booth");
      await this.channel.start({ audio: this.channelTrack, video: null, audioOn: true, videoOn: false });
      await this.booth.start({ audio: this.boothTrack, video: null, audioOn: true, videoOn: false });
    } catch (err) {
      this.update({ error: err instanceof Error ? err.message : String(err) });
    }
  }

  private async switchMic(): Promise<void> {
    if (!this.channel || !this.booth) return;
    let track: MediaStreamTrack;
    try {
      track = await this.openMic();
    } catch (err) {
      this.update({ error: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (!this.channel || !this.booth) {
      track.stop();
      return;
    }
    const old = [this.channelTrack, this.boothTrack];
    this.channelTrack = track;
    this.boothTrack = track.clone();
    this.applyTracks();
    await Promise.all([this.channel.replaceTrack("audio", this.channelTrack), this.booth.replaceTrack("audio", this.boothTrack)]);
    for (const t of old) t?.stop();
  }

  private publisher(name: "interpretation" | "booth"): Publisher {
    const publisher: Publisher = new Publisher({
      name,
      port: this.port,
      iceServers: this.iceServers,
      simulcast: false,
      audioOnly: true,
      onState: (s) => {
        if (name === "interpretation" && publisher === this.channel) this.update({ pc: s });
      },
      onFailed: () => void this.republish(),
    });
    return publisher;
  }

  /** A microphone track of our own, from the device the participant chose. */
  private async openMic(): Promise<MediaStreamTrack> {
    const device = this.local.state.micDeviceId;
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { ...(device ? { deviceId: { ideal: device } } : {}), echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (err) {
      throw new Error(describeMediaError("microphone", err));
    }
    const track = stream.getAudioTracks()[0];
    if (!track) throw new Error(describeMediaError("microphone", new DOMException("", "NotFoundError")));
    return track;
  }

  private applyTracks(): void {
    const { micOn, talking } = this._state;
    if (this.channelTrack) this.channelTrack.enabled = micOn && !talking;
    if (this.boothTrack) this.boothTrack.enabled = talking;
  }

  private update(changes: Partial<DeskState>): void {
    this._state = { ...this._state, ...changes };
    this.emit("change", this._state);
  }
}
