/**
 * Publisher: one sending peer connection, "main" (microphone + camera with simulcast) or
 * "screen" (screen share, optionally with its audio).
 *
 * Flow: offer -> `publish` -> answer from the reply. Local ICE candidates are held back until the
 * reply arrives (the server has a media handle by then) and then sent with `trickle`. A failed
 * connection first tries an ICE restart (a new offer with `iceRestart` through `publish` again);
 * if that does not recover, the owner republishes from scratch (`unpublish` + a new connection).
 */
import type { SignalingPort } from "./port";
import { SIMULCAST_ENCODINGS, preferVp8 } from "./simulcast";

export type PublisherName = "main" | "screen" | "interpretation" | "booth";

export interface PublisherOptions {
  name: PublisherName;
  port: SignalingPort;
  iceServers: RTCIceServer[];
  /** Send the camera as three simulcast encodings. */
  simulcast: boolean;
  /** Audio only (an interpreter's feeds): no video sender at all. */
  audioOnly?: boolean;
  onState: (state: RTCPeerConnectionState) => void;
  /** The connection did not recover by ICE restart: the owner should republish. */
  onFailed: () => void;
}

export interface PublishTracks {
  audio: MediaStreamTrack | null;
  video: MediaStreamTrack | null;
  audioOn: boolean;
  videoOn: boolean;
}

const DISCONNECTED_GRACE_MS = 4_000;
const RESTART_GRACE_MS = 10_000;

export class Publisher {
  readonly name: PublisherName;
  pc: RTCPeerConnection | null = null;
  feedId: number | null = null;
  private audioTx: RTCRtpTransceiver | null = null;
  private videoTx: RTCRtpTransceiver | null = null;
  private readonly stream = new MediaStream();
  private canTrickle = false;
  private held: (RTCIceCandidateInit | null)[] = [];
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private restarting = false;
  private closed = false;
  private lastAudioOn = true;
  private lastVideoOn = true;

  constructor(private readonly opts: PublisherOptions) {
    this.name = opts.name;
  }

  /** Creates the connection with one audio and one video sender and publishes it. */
  async start(tracks: PublishTracks): Promise<void> {
    const pc = new RTCPeerConnection({ iceServers: this.opts.iceServers, bundlePolicy: "max-bundle" });
    this.pc = pc;
    pc.onicecandidate = (ev) => this.onCandidate(ev.candidate ? ev.candidate.toJSON() : null);
    pc.onconnectionstatechange = () => this.onConnectionState(pc);

    const streams = [this.stream];
    this.audioTx = pc.addTransceiver(tracks.audio ?? "audio", { direction: "sendonly", streams });
    if (!this.opts.audioOnly) {
      const videoInit: RTCRtpTransceiverInit = { direction: "sendonly", streams };
      if (this.opts.simulcast) videoInit.sendEncodings = SIMULCAST_ENCODINGS.map((e) => ({ ...e }));
      this.videoTx = pc.addTransceiver(tracks.video ?? "video", videoInit);
      if (this.opts.simulcast) preferVp8(this.videoTx);
    }
    if (this.name === "screen" && tracks.video && "contentHint" in tracks.video) {
      tracks.video.contentHint = "detail";
    }
    await this.negotiate(tracks.audioOn, tracks.videoOn, false);
  }

  /** Swaps the track a sender sends (device switch, camera on/off); no renegotiation. */
  async replaceTrack(kind: "audio" | "video", track: MediaStreamTrack | null): Promise<void> {
    const tx = kind === "audio" ? this.audioTx : this.videoTx;
    if (!tx || this.closed) return;
    await tx.sender.replaceTrack(track);
  }

  /** Offers again with new ICE credentials through `publish` (which renegotiates the feed). */
  async iceRestart(audioOn: boolean, videoOn: boolean): Promise<void> {
    if (!this.pc || this.closed || this.restarting) return;
    this.restarting = true;
    try {
      await this.negotiate(audioOn, videoOn, true);
    } finally {
      this.restarting = false;
    }
  }

  /** Closes the connection; with `unpublish`, tells the server the feed is gone. */
  async stop(unpublish: boolean): Promise<void> {
    this.closed = true;
    this.clearRestartTimer();
    const pc = this.pc;
    this.pc = null;
    if (pc) {
      pc.onicecandidate = null;
      pc.onconnectionstatechange = null;
      pc.close();
    }
    if (unpublish && this.feedId !== null) {
      this.feedId = null;
      try {
        await this.opts.port.request("unpublish", { source: this.name });
      } catch {
        // Already gone on the server (or the connection is down and the server cleans up).
      }
    }
  }

  /** Outbound statistics of this connection (null when there is none). */
  stats(): Promise<RTCStatsReport> | null {
    return this.pc ? this.pc.getStats() : null;
  }

  private async negotiate(audioOn: boolean, videoOn: boolean, iceRestart: boolean): Promise<void> {
    const pc = this.pc;
    if (!pc) return;
    this.canTrickle = false;
    this.lastAudioOn = audioOn;
    this.lastVideoOn = videoOn;
    const offer = await pc.createOffer(iceRestart ? { iceRestart: true } : {});
    await pc.setLocalDescription(offer);
    const reply = await this.opts.port.request("publish", {
      source: this.name,
      jsep: { type: "offer", sdp: offer.sdp ?? "" },
      audio: audioOn,
      video: videoOn,
    });
    if (this.closed || pc !== this.pc) return;
    await pc.setRemoteDescription({ type: "answer", sdp: reply.jsep.sdp });
    this.feedId = reply.feed;
    this.canTrickle = true;
    const held = this.held;
    this.held = [];
    for (const candidate of held) this.sendCandidate(candidate);
  }

  private onCandidate(candidate: RTCIceCandidateInit | null): void {
    if (this.canTrickle) this.sendCandidate(candidate);
    else this.held.push(candidate);
  }

  private sendCandidate(candidate: RTCIceCandidateInit | null): void {
    const data = candidate
      ? {
          pc: this.name,
          candidate: {
            candidate: candidate.candidate ?? "",
            sdpMid: candidate.sdpMid ?? null,
            sdpMLineIndex: candidate.sdpMLineIndex ?? null,
          },
        }
      : { pc: this.name, candidate: null };
    this.opts.port.notify("trickle", data);
  }

  private onConnectionState(pc: RTCPeerConnection): void {
    if (pc !== this.pc) return;
    const state = pc.connectionState;
    this.opts.onState(state);
    if (state === "connected") {
      this.clearRestartTimer();
    } else if (state === "disconnected") {
      // Often a short network change that ICE recovers from alone; restart if it lasts.
      this.armRestart(DISCONNECTED_GRACE_MS);
    } else if (state === "failed") {
      this.armRestart(0);
    }
  }

  private armRestart(delayMs: number): void {
    if (this.restartTimer !== null) return;
    this.restartTimer = setTimeout(() => {
      const pc = this.pc;
      if (!pc || pc.connectionState === "connected") {
        this.restartTimer = null;
        return;
      }
      this.iceRestart(this.lastAudioOn, this.lastVideoOn).catch(() => undefined);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (this.pc && this.pc.connectionState !== "connected") this.opts.onFailed();
      }, RESTART_GRACE_MS);
    }, delayMs);
  }

  private clearRestartTimer(): void {
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }
}
