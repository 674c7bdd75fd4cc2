/**
 * MediaEngine: every peer connection of one participant.
 *
 * - "main" publisher: microphone + camera (simulcast), created once and kept; muting and device
 *   switches only replace or disable tracks (no renegotiation).
 * - "screen" publisher: created when sharing starts, unpublished when it stops.
 * - one subscriber: receives the streams the UI wants (visible tiles, everyone's audio).
 * - quality: getStats every few seconds -> good / fair / poor per participant.
 *
 * The engine only sends requests; the Room routes `subscriber.offer` and `media.reset` to it.
 */
import { t } from "../i18n";
import { Emitter } from "../protocol/emitter";
import type { FeedInfo, IceServer, StreamRef, SubscribedStream, Jsep } from "../protocol/types";
import { describeMediaError, type LocalMedia } from "./local";
import type { SignalingPort } from "./port";
import { Publisher } from "./publisher";
import { classifyQuality, deltaRates, selectedPairRttMs, worse, type Counters, type Quality } from "./quality";
import { chooseSubstream } from "./simulcast";
import { Subscriber, type RemoteStream } from "./subscriber";

export type PcName = "main" | "screen" | "subscriber";

export interface MediaEngineEvents {
  /** Received streams or their tracks changed. */
  remote: RemoteStream[];
  /** Peer connection states changed. */
  pcstate: Record<PcName, RTCPeerConnectionState | "none">;
  /** Quality per participant id (this participant's own from its upload). */
  quality: ReadonlyMap<string, Quality>;
  screen: { sharing: boolean; track: MediaStreamTrack | null };
  /** A feed was (re)published: the server now holds default media state for it. */
  published: { source: "main" | "screen"; feed: number | null };
  error: { message: string };
}

export interface InboundVideo {
  mid: string;
  feed: number | null;
  participantId: string | null;
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  bytesReceived: number;
}

const STATS_INTERVAL_MS = 2_000;

function toRtcIceServers(servers: IceServer[]): RTCIceServer[] {
  return servers.map((s) => {
    const out: RTCIceServer = { urls: s.urls };
    if (s.username) out.username = s.username;
    if (s.credential) out.credential = s.credential;
    return out;
  });
}

export class MediaEngine extends Emitter<MediaEngineEvents> {
  private iceServers: RTCIceServer[] = [];
  private main: Publisher | null = null;
  private screen: Publisher | null = null;
  private screenTrack: MediaStreamTrack | null = null;
  private screenAudio: MediaStreamTrack | null = null;
  private readonly subscriber: Subscriber;
  private readonly pcStates: Record<PcName, RTCPeerConnectionState | "none"> = {
    main: "none",
    screen: "none",
    subscriber: "none",
  };
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private counters = new Map<string, Counters>();
  private outCounters: Counters | undefined;
  private qualities = new Map<string, Quality>();
  private feeds = new Map<number, FeedInfo>();
  private selfId: string | null = null;
  private tileHeights = new Map<number, number>();
  private closed = false;
  private readonly offLocal: () => void;

  constructor(
    private readonly port: SignalingPort,
    readonly local: LocalMedia,
  ) {
    super();
    this.subscriber = new Subscriber({ port, iceServers: this.iceServers });
    this.subscriber.on("streams", (streams) => {
      this.emit("remote", streams);
      // New streams start at the media server's default layer: choose ours at once.
      this.applyLayers();
    });
    this.subscriber.on("state", (state) => this.setPcState("subscriber", state));
    this.offLocal = local.on("track", ({ kind, track }) => {
      void this.main?.replaceTrack(kind, track);
    });
  }

  setIceServers(servers: IceServer[]): void {
    this.iceServers = toRtcIceServers(servers);
    this.subscriber.setIceServers(this.iceServers);
  }

  setSelf(participantId: string): void {
    this.selfId = participantId;
  }

  /** The meeting's feeds, kept current by the Room; used to name participants in stats. */
  setFeeds(feeds: ReadonlyMap<number, FeedInfo>): void {
    this.feeds = new Map(feeds);
  }

  get mainFeedId(): number | null {
    return this.main?.feedId ?? null;
  }

  get screenFeedId(): number | null {
    return this.screen?.feedId ?? null;
  }

  get sharing(): boolean {
    return this.screen !== null;
  }

  get connectionStates(): Readonly<Record<PcName, RTCPeerConnectionState | "none">> {
    return this.pcStates;
  }

  remoteStreams(): RemoteStream[] {
    return this.subscriber.remoteStreams();
  }

  // ---------------------------------------------------------------------------------------------
  // Publishing
  // ---------------------------------------------------------------------------------------------

  /** Publishes microphone and camera (even when both are off, so turning one on is instant). */
  async publishMain(): Promise<void> {
    if (this.closed) return;
    await this.main?.stop(false);
    const state = this.local.state;
    const publisher = new Publisher({
      name: "main",
      port: this.port,
      iceServers: this.iceServers,
      simulcast: true,
      onState: (s) => this.setPcState("main", s),
      onFailed: () => void this.republishMain(),
    });
    this.main = publisher;
    // The server forwards a published stream only while the last publish said so (audio/video
    // true); muting is done here (track.enabled, no camera track) and reported with media.state,
    // so both are always published as forwardable.
    await publisher.start({
      audio: state.audioTrack,
      video: state.videoTrack,
      audioOn: true,
      videoOn: true,
    });
    this.startStats();
    this.emit("published", { source: "main", feed: publisher.feedId });
  }

  /** Starts over on "main": unpublish the old feed, publish a new one. */
  async republishMain(): Promise<void> {
    if (this.closed) return;
    const old = this.main;
    this.main = null;
    await old?.stop(true);
    try {
      await this.publishMain();
    } catch (err) {
      this.emit("error", { message: t("media.error.sendFailed", { reason: String(err) }) });
    }
  }

  /** Our published feed vanished at the server (its connection hung up there): publish again. */
  async onOwnFeedRemoved(feedId: number): Promise<void> {
    if (this.main && this.main.feedId === feedId) {
      await this.main.stop(false);
      this.main = null;
      await this.publishMain().catch(() => undefined);
    } else if (this.screen && this.screen.feedId === feedId) {
      await this.stopScreenShare(false);
    }
  }

  /**
   * Stops publishing and keeps receiving (a panelist of an event made an attendee: the server
   * already cut the feeds, so nothing is unpublished).
   */
  async stopPublishing(): Promise<void> {
    await this.stopScreenShare(false);
    const main = this.main;
    this.main = null;
    this.setPcState("main", "none");
    await main?.stop(false);
  }

  /** Asks for a screen (or window/tab) and publishes it on the "screen" connection. */
  async startScreenShare(): Promise<void> {
    if (this.screen || this.closed) return;
    if (!navigator.mediaDevices?.getDisplayMedia) {
      throw new Error(t("media.error.screenUnsupported"));
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: true });
    } catch (err) {
      if (err instanceof DOMException && err.name === "NotAllowedError") return; // cancelled
      throw new Error(describeMediaError("screen", err));
    }
    const video = stream.getVideoTracks()[0] ?? null;
    const audio = stream.getAudioTracks()[0] ?? null;
    if (!video) return;
    this.screenTrack = video;
    this.screenAudio = audio;
    // The browser's own "Stop sharing" button ends the track.
    video.addEventListener("ended", () => void this.stopScreenShare(true));
    const publisher = new Publisher({
      name: "screen",
      port: this.port,
      iceServers: this.iceServers,
      simulcast: false,
      onState: (s) => this.setPcState("screen", s),
      onFailed: () => void this.stopScreenShare(true),
    });
    this.screen = publisher;
    this.emit("screen", { sharing: true, track: video });
    try {
      await publisher.start({ audio, video, audioOn: !!audio, videoOn: true });
    } catch (err) {
      await this.stopScreenShare(true);
      throw err;
    }
  }

  async stopScreenShare(unpublish = true): Promise<void> {
    const publisher = this.screen;
    this.screen = null;
    this.screenTrack?.stop();
    this.screenAudio?.stop();
    this.screenTrack = null;
    this.screenAudio = null;
    this.setPcState("screen", "none");
    this.emit("screen", { sharing: false, track: null });
    await publisher?.stop(unpublish);
  }

  get screenShareTrack(): MediaStreamTrack | null {
    return this.screenTrack;
  }

  // ---------------------------------------------------------------------------------------------
  // Subscribing
  // ---------------------------------------------------------------------------------------------

  /** Sets the streams to receive (publisher-side refs). Our own feeds are never subscribed. */
  setWanted(refs: StreamRef[]): void {
    const own = new Set([this.main?.feedId, this.screen?.feedId]);
    this.subscriber.setWanted(refs.filter((r) => !own.has(r.feed)));
  }

  handleSubscriberOffer(jsep: Jsep, streams: SubscribedStream[]): Promise<void> {
    return this.subscriber.handleOffer(jsep, streams);
  }

  /**
   * The UI tells how tall (CSS pixels) the tile showing `feed` is, 0 when not shown; the engine
   * picks the simulcast layer (and pauses video nobody sees).
   */
  setTileHeight(feed: number, height: number): void {
    this.tileHeights.set(feed, height);
    this.applyLayers();
  }

  private applyLayers(): void {
    const dpr = typeof devicePixelRatio === "number" ? devicePixelRatio : 1;
    for (const s of this.subscriber.remoteStreams()) {
      if (s.kind !== "video") continue;
      const height = this.tileHeights.get(s.feed);
      if (height === undefined) continue;
      const feed = this.feeds.get(s.feed);
      const simulcast = feed?.streams.find((x) => x.mid === s.feed_mid)?.simulcast ?? false;
      if (height <= 0) {
        this.subscriber.setLayer(s.mid, { send: false });
        continue;
      }
      const quality = s.participant_id ? this.qualities.get(s.participant_id) : undefined;
      if (simulcast) {
        const input = { tileHeight: height, devicePixelRatio: dpr, ...(quality ? { quality } : {}) };
        this.subscriber.setLayer(s.mid, { substream: chooseSubstream(input), send: true });
      } else {
        this.subscriber.setLayer(s.mid, { send: true });
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Recovery
  // ---------------------------------------------------------------------------------------------

  /**
   * After a signaling resume: the server kept our media handles. Keep working connections; publish
   * again when the snapshot lost our feed or the connection is dead; re-send the subscription.
   */
  async afterResume(ownFeeds: FeedInfo[]): Promise<void> {
    const mainAlive = this.main?.pc && ["connected", "connecting", "new"].includes(this.main.pc.connectionState);
    const listed = ownFeeds.some((f) => f.source === "main" && f.id === this.main?.feedId);
    if (this.main && (!listed || !mainAlive)) {
      await this.main.stop(listed);
      this.main = null;
      await this.publishMain().catch((err: unknown) => this.emit("error", { message: String(err) }));
    }
    if (this.screen && !ownFeeds.some((f) => f.source === "screen" && f.id === this.screen?.feedId)) {
      await this.stopScreenShare(false);
    }
    this.subscriber.resync();
  }

  /** `media.reset`: the media server restarted; nothing of ours exists there any more. */
  async resetAll(): Promise<void> {
    const sharing = this.screen !== null;
    await this.main?.stop(false);
    this.main = null;
    if (this.screen) {
      await this.screen.stop(false);
      this.screen = null;
    }
    this.subscriber.reset();
    this.setPcState("main", "none");
    this.setPcState("screen", "none");
    this.setPcState("subscriber", "none");
    await this.publishMain();
    if (sharing && this.screenTrack) {
      const publisher = new Publisher({
        name: "screen",
        port: this.port,
        iceServers: this.iceServers,
        simulcast: false,
        onState: (s) => this.setPcState("screen", s),
        onFailed: () => void this.stopScreenShare(true),
      });
      this.screen = publisher;
      await publisher
        .start({ audio: this.screenAudio, video: this.screenTrack, audioOn: !!this.screenAudio, videoOn: true })
        .catch(() => this.stopScreenShare(false));
    }
    this.subscriber.resync();
  }

  /** Closes every connection (the local devices stay with their owner). */
  async close(unpublish: boolean): Promise<void> {
    this.closed = true;
    this.stopStats();
    this.offLocal();
    await this.stopScreenShare(unpublish).catch(() => undefined);
    await this.main?.stop(unpublish).catch(() => undefined);
    this.main = null;
    this.subscriber.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Statistics
  // ---------------------------------------------------------------------------------------------

  /** Received video per subscriber mid, for diagnostics and tests. */
  async inboundVideo(): Promise<InboundVideo[]> {
    const report = await this.subscriber.stats();
    if (!report) return [];
    const byMid = new Map(this.subscriber.remoteStreams().map((s) => [s.mid, s]));
    const out: InboundVideo[] = [];
    report.forEach((s: RTCStats & Record<string, unknown>) => {
      if (s.type !== "inbound-rtp" || s.kind !== "video") return;
      const mid = typeof s.mid === "string" ? s.mid : "";
      const stream = byMid.get(mid);
      out.push({
        mid,
        feed: stream?.feed ?? null,
        participantId: stream?.participant_id ?? this.feeds.get(stream?.feed ?? -1)?.participant_id ?? null,
        framesDecoded: typeof s.framesDecoded === "number" ? s.framesDecoded : 0,
        frameWidth: typeof s.frameWidth === "number" ? s.frameWidth : 0,
        frameHeight: typeof s.frameHeight === "number" ? s.frameHeight : 0,
        bytesReceived: typeof s.bytesReceived === "number" ? s.bytesReceived : 0,
      });
    });
    return out;
  }

  /** Outbound video encodings of the main connection (rid -> frames and size). */
  async outboundVideo(): Promise<{ rid: string; framesEncoded: number; frameWidth: number; frameHeight: number }[]> {
    const report = await this.main?.stats();
    if (!report) return [];
    const out: { rid: string; framesEncoded: number; frameWidth: number; frameHeight: number }[] = [];
    report.forEach((s: RTCStats & Record<string, unknown>) => {
      if (s.type !== "outbound-rtp" || s.kind !== "video") return;
      out.push({
        rid: typeof s.rid === "string" ? s.rid : "",
        framesEncoded: typeof s.framesEncoded === "number" ? s.framesEncoded : 0,
        frameWidth: typeof s.frameWidth === "number" ? s.frameWidth : 0,
        frameHeight: typeof s.frameHeight === "number" ? s.frameHeight : 0,
      });
    });
    return out;
  }

  /** Every statistic of one connection as plain objects (diagnostics). */
  async rawStats(pc: PcName): Promise<Record<string, unknown>[]> {
    const source = pc === "subscriber" ? this.subscriber : pc === "main" ? this.main : this.screen;
    const report = await source?.stats();
    const out: Record<string, unknown>[] = [];
    report?.forEach((s: RTCStats) => out.push({ ...s }));
    return out;
  }

  /** Directions and mids of the subscriber's transceivers (diagnostics). */
  subscriberTransceivers(): { mid: string | null; direction: string; currentDirection: string | null; kind: string }[] {
    return (this.subscriber.pc?.getTransceivers() ?? []).map((t) => ({
      mid: t.mid,
      direction: t.direction,
      currentDirection: t.currentDirection ?? null,
      kind: t.receiver.track.kind,
    }));
  }

  get quality(): ReadonlyMap<string, Quality> {
    return this.qualities;
  }

  private startStats(): void {
    if (this.statsTimer !== null) return;
    this.statsTimer = setInterval(() => void this.sampleStats(), STATS_INTERVAL_MS);
  }

  private stopStats(): void {
    if (this.statsTimer !== null) clearInterval(this.statsTimer);
    this.statsTimer = null;
  }

  private async sampleStats(): Promise<void> {
    const next = new Map<string, Quality>();
    try {
      const sub = await this.subscriber.stats();
      if (sub) {
        const rtt = selectedPairRttMs(sub);
        const byMid = new Map(this.subscriber.remoteStreams().map((s) => [s.mid, s]));
        sub.forEach((s: RTCStats & Record<string, unknown>) => {
          if (s.type !== "inbound-rtp") return;
          const stream = byMid.get(typeof s.mid === "string" ? s.mid : "");
          const pid = stream?.participant_id ?? this.feeds.get(stream?.feed ?? -1)?.participant_id;
          if (!stream || !pid) return;
          const cur: Counters = {
            packetsReceived: Number(s.packetsReceived ?? 0),
            packetsLost: Number(s.packetsLost ?? 0),
            bytes: Number(s.bytesReceived ?? 0),
            timestamp: s.timestamp,
          };
          const { loss, kbps } = deltaRates(this.counters.get(s.id), cur);
          this.counters.set(s.id, cur);
          const q = classifyQuality({ loss, rttMs: rtt, kbps });
          next.set(pid, worse(next.get(pid) ?? "unknown", q));
        });
      }
      const out = await this.main?.stats();
      if (out && this.selfId) {
        let lost = 0;
        let received = 0;
        let rttMs: number | null = null;
        let bytes = 0;
        out.forEach((s: RTCStats & Record<string, unknown>) => {
          if (s.type === "remote-inbound-rtp") {
            lost += Number(s.packetsLost ?? 0);
            if (typeof s.roundTripTime === "number") rttMs = Math.max(rttMs ?? 0, s.roundTripTime * 1000);
          } else if (s.type === "outbound-rtp") {
            received += Number(s.packetsSent ?? 0);
            bytes += Number(s.bytesSent ?? 0);
          }
        });
        const cur: Counters = { packetsReceived: received, packetsLost: lost, bytes, timestamp: Date.now() };
        const { loss } = deltaRates(this.outCounters, cur);
        this.outCounters = cur;
        next.set(this.selfId, classifyQuality({ loss, rttMs: rttMs ?? selectedPairRttMs(out) }));
      }
    } catch {
      return; // A connection closed under us; the next sample will do.
    }
    const changed =
      next.size !== this.qualities.size || [...next].some(([k, v]) => this.qualities.get(k) !== v);
    this.qualities = next;
    if (changed) {
      this.emit("quality", next);
      this.applyLayers();
    }
  }

  private setPcState(pc: PcName, state: RTCPeerConnectionState | "none"): void {
    if (this.pcStates[pc] === state) return;
    this.pcStates[pc] = state;
    this.emit("pcstate", { ...this.pcStates });
  }
}
