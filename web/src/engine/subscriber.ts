/**
 * Subscriber: the one receiving peer connection (multistream) for every remote stream.
 *
 * The owner says which publisher streams it wants (`setWanted`); the subscriber sends `subscribe`
 * requests for the difference, one at a time. The server is always the offerer: offers come in
 * `subscribe` replies and `subscriber.offer` events and are answered strictly one at a time, in
 * arrival order, with `subscriber.answer`. Simulcast layers are chosen per received video with
 * `subscriber.configure`.
 */
import { SignalingError } from "../protocol/errors";
import { Emitter } from "../protocol/emitter";
import type { Jsep, LayerChoice, StreamRef, SubscribedStream } from "../protocol/types";
import { answerAsDtlsServer } from "./sdp";
import type { SignalingPort } from "./port";
import { planSubscribe, streamKey } from "./subscriptions";

export interface RemoteStream extends SubscribedStream {
  track: MediaStreamTrack | null;
}

export interface SubscriberEvents {
  /** The received streams (or their tracks) changed. */
  streams: RemoteStream[];
  state: RTCPeerConnectionState;
}

export interface SubscriberOptions {
  port: SignalingPort;
  iceServers: RTCIceServer[];
}

type Layer = Omit<LayerChoice, "mid">;

/** Failures worth another try after a pause; anything else waits for the next change. */
const RETRYABLE: ReadonlySet<string> = new Set(["media_error", "media_unavailable", "internal_error", "request_timeout"]);
const MAX_RETRIES = 4;

export class Subscriber extends Emitter<SubscriberEvents> {
  pc: RTCPeerConnection | null = null;
  private streams = new Map<string, SubscribedStream>();
  private wanted = new Map<string, StreamRef>();
  private refused = new Set<string>();
  private offerChain: Promise<void> = Promise.resolve();
  private syncing = false;
  private dirty = false;
  private answered = false;
  private held: (RTCIceCandidateInit | null)[] = [];
  private layers = new Map<string, Layer>();
  private sentLayers = new Map<string, string>();
  private layerTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private retries = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  private iceServers: RTCIceServer[];

  constructor(private readonly opts: SubscriberOptions) {
    super();
    this.iceServers = opts.iceServers;
  }

  /** Used by the next connection this subscriber creates. */
  setIceServers(servers: RTCIceServer[]): void {
    this.iceServers = servers;
  }

  /** The received streams with their tracks (active ones only). */
  remoteStreams(): RemoteStream[] {
    const transceivers = this.pc?.getTransceivers() ?? [];
    const out: RemoteStream[] = [];
    for (const s of this.streams.values()) {
      if (!s.active) continue;
      const tx = transceivers.find((t) => t.mid === s.mid);
      out.push({ ...s, track: tx?.receiver.track ?? null });
    }
    return out;
  }

  /** Sets what should be received; sends `subscribe` for the difference. */
  setWanted(refs: Iterable<StreamRef>): void {
    const next = new Map<string, StreamRef>();
    for (const ref of refs) if (ref.mid) next.set(streamKey(ref.feed, ref.mid), ref);
    // Something refused before may be fine now that the set changed (e.g. a feed came back).
    for (const key of this.refused) if (!next.has(key)) this.refused.delete(key);
    this.wanted = next;
    void this.sync();
  }

  /** An offer the server sent on its own (`subscriber.offer`). */
  handleOffer(jsep: Jsep, streams: SubscribedStream[]): Promise<void> {
    return this.enqueueOffer(jsep, streams);
  }

  /** Sets the simulcast layer (or pause) for the video received on `mid`; sent in batches. */
  setLayer(mid: string, layer: Layer): void {
    this.layers.set(mid, layer);
    if (this.layerTimer === null) {
      this.layerTimer = setTimeout(() => {
        this.layerTimer = null;
        void this.flushLayers();
      }, 150);
    }
  }

  /** Re-sends the subscription after a reconnect or a server-side reset. */
  resync(): void {
    this.retries = 0;
    void this.sync();
  }

  private scheduleRetry(delayMs: number): void {
    if (this.retryTimer !== null || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.sync();
    }, delayMs);
  }

  /** Forgets everything (the server dropped our subscription, e.g. media.reset). */
  reset(): void {
    this.closePc();
    this.streams.clear();
    this.sentLayers.clear();
    this.refused.clear();
    this.answered = false;
    this.held = [];
    this.emit("streams", []);
  }

  close(): void {
    this.closed = true;
    if (this.layerTimer !== null) clearTimeout(this.layerTimer);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.closePc();
  }

  stats(): Promise<RTCStatsReport> | null {
    return this.pc ? this.pc.getStats() : null;
  }

  // ----------------------------------------------------------------------------------------

  private async sync(): Promise<void> {
    if (this.syncing) {
      this.dirty = true;
      return;
    }
    this.syncing = true;
    try {
      do {
        this.dirty = false;
        const plan = planSubscribe(this.wanted, this.streams.values(), this.refused);
        if (plan.add.length === 0 && plan.remove.length === 0) {
          this.retries = 0;
          break;
        }
        if (this.closed) break;
        try {
          const reply = await this.opts.port.request(
            "subscribe",
            { add: plan.add.slice(0, 512), remove: plan.remove.slice(0, 512) },
            { timeoutMs: 20_000 },
          );
          if (reply.jsep) await this.enqueueOffer(reply.jsep, reply.streams);
          else this.setStreams(reply.streams);
          // What was asked for and still did not come (e.g. the feed has no such mid) is not
          // asked for again, so a refusal can never turn into a request loop.
          const have = new Set(reply.streams.filter((s) => s.active).map((s) => streamKey(s.feed, s.feed_mid)));
          for (const ref of plan.add) {
            const key = streamKey(ref.feed, ref.mid ?? "");
            if (!have.has(key)) this.refused.add(key);
          }
        } catch (err) {
          if (!(err instanceof SignalingError)) throw err;
          if (err.code === "feed_not_found" && typeof err.details.feed === "number") {
            // That feed just went away; its feed.removed event follows. Retry without it.
            for (const ref of plan.add) if (ref.feed === err.details.feed) this.refused.add(streamKey(ref.feed, ref.mid ?? ""));
            this.dirty = true;
          } else if (err.code === "invalid_request" || err.code === "feed_not_found") {
            for (const ref of plan.add) this.refused.add(streamKey(ref.feed, ref.mid ?? ""));
          } else if (RETRYABLE.has(err.code) && this.retries < MAX_RETRIES) {
            // The media server may not know a feed that was announced a moment ago: try again.
            this.retries += 1;
            this.scheduleRetry(500 * 2 ** (this.retries - 1));
            break;
          } else {
            // Disconnected, or still failing: the owner calls resync() when things are back.
            console.warn("subscribe failed", err.code, err.message);
            break;
          }
        }
      } while (this.dirty);
    } finally {
      this.syncing = false;
    }
  }

  private enqueueOffer(jsep: Jsep, streams: SubscribedStream[]): Promise<void> {
    const run = this.offerChain.then(() => this.applyOffer(jsep, streams));
    this.offerChain = run.catch((err: unknown) => {
      console.warn("could not apply the subscriber offer", err);
    });
    return this.offerChain;
  }

  private async applyOffer(jsep: Jsep, streams: SubscribedStream[]): Promise<void> {
    if (this.closed) return;
    const pc = this.pc ?? this.createPc();
    this.answered = false;
    await pc.setRemoteDescription({ type: "offer", sdp: jsep.sdp });
    const created = await pc.createAnswer();
    const answer: RTCSessionDescriptionInit = { type: "answer", sdp: answerAsDtlsServer(created.sdp ?? "") };
    // The answer goes to the server before it is applied here: applying it starts ICE, and Janus
    // must have it before our connectivity checks reach it (a connection that comes up before
    // Janus processed the answer was seen to stay silent).
    await this.opts.port.request("subscriber.answer", { jsep: { type: "answer", sdp: answer.sdp ?? "" } });
    await pc.setLocalDescription(answer);
    this.setStreams(streams);
    this.answered = true;
    const held = this.held;
    this.held = [];
    for (const c of held) this.sendCandidate(c);
    // A mid may now carry another feed than before: send its layer choice again.
    this.sentLayers.clear();
    if (this.layers.size > 0) void this.flushLayers();
  }

  private setStreams(streams: SubscribedStream[]): void {
    const next = new Map<string, SubscribedStream>();
    for (const s of streams) next.set(s.mid, s);
    for (const [mid, s] of next) {
      const old = this.streams.get(mid);
      if (!old || old.feed !== s.feed || old.feed_mid !== s.feed_mid) this.layers.delete(mid);
    }
    this.streams = next;
    this.emit("streams", this.remoteStreams());
  }

  private createPc(): RTCPeerConnection {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: "max-bundle" });
    this.pc = pc;
    pc.onicecandidate = (ev) => {
      const c = ev.candidate ? ev.candidate.toJSON() : null;
      if (this.answered) this.sendCandidate(c);
      else this.held.push(c);
    };
    pc.ontrack = () => this.emit("streams", this.remoteStreams());
    pc.onconnectionstatechange = () => {
      if (pc === this.pc) this.emit("state", pc.connectionState);
    };
    return pc;
  }

  private sendCandidate(c: RTCIceCandidateInit | null): void {
    this.opts.port.notify("trickle", {
      pc: "subscriber",
      candidate: c
        ? { candidate: c.candidate ?? "", sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null }
        : null,
    });
  }

  private async flushLayers(): Promise<void> {
    const changes: LayerChoice[] = [];
    for (const [mid, layer] of this.layers) {
      const s = this.streams.get(mid);
      if (!s || !s.active || s.kind !== "video") continue;
      const sig = JSON.stringify(layer);
      if (this.sentLayers.get(mid) === sig) continue;
      changes.push({ mid, ...layer });
    }
    if (changes.length === 0 || !this.pc) return;
    try {
      await this.opts.port.request("subscriber.configure", { streams: changes.slice(0, 512) });
      for (const c of changes) {
        const { mid, ...layer } = c;
        this.sentLayers.set(mid, JSON.stringify(layer));
      }
    } catch (err) {
      console.warn("subscriber.configure failed", err);
    }
  }

  private closePc(): void {
    const pc = this.pc;
    this.pc = null;
    if (!pc) return;
    pc.onicecandidate = null;
    pc.ontrack = null;
    pc.onconnectionstatechange = null;
    pc.close();
  }
}
