/**
 * `window.__convene`: read-only diagnostics for end-to-end tests and for people debugging a call
 * from the browser console. It exposes state and statistics, never a way to act.
 */
import type { InboundVideo } from "../engine/media";
import { currentMix, type MixSnapshot } from "../engine/mix";
import type { ConnectionState } from "../protocol/signaling";
import type { Room } from "../room/room";
import type { Phase } from "../room/state";

export interface ConveneDiagnostics {
  /** Sum of framesDecoded over the subscriber connection's inbound video. */
  inboundVideoFramesDecoded(): Promise<number>;
  /** Received video per participant id (frames decoded, size, bytes). */
  inboundVideoByParticipant(): Promise<Record<string, Omit<InboundVideo, "participantId">[]>>;
  /** Sent camera encodings (rid, frames encoded, size). */
  outboundVideo(): Promise<{ rid: string; framesEncoded: number; frameWidth: number; frameHeight: number }[]>;
  /** The signaling connection's state. */
  connectionState(): ConnectionState;
  /** idle, joining, waiting, joined or ended. */
  phase(): Phase;
  participantId(): string | null;
  /** Peer connection states: main, screen, subscriber ("none" when absent). */
  peerConnections(): Record<string, string>;
  /** Streams received on the subscriber connection. */
  subscribedStreams(): { mid: string; feed: number; feed_mid: string; kind: string; participant_id: string | null }[];
  /** Participant ids in the meeting, as this client sees them. */
  participants(): string[];
  /** Quality per participant id. */
  quality(): Record<string, string>;
  /** Every WebRTC statistic of one peer connection, as plain objects. */
  rawStats(pc: "main" | "screen" | "subscriber"): Promise<Record<string, unknown>[]>;
  /** The subscriber connection's transceivers (mid, kind, direction). */
  subscriberTransceivers(): { mid: string | null; direction: string; currentDirection: string | null; kind: string }[];
  /** The interpretation mix: the floor's and the channel's gains now (null: no mix on screen). */
  interpretationMix(): MixSnapshot | null;
}

let current: Room | null = null;

export function setCurrentRoom(room: Room | null): void {
  current = room;
}

export function installTestHook(): void {
  const hook: ConveneDiagnostics = {
    async inboundVideoFramesDecoded() {
      const list = (await current?.media.inboundVideo()) ?? [];
      return list.reduce((sum, v) => sum + v.framesDecoded, 0);
    },
    async inboundVideoByParticipant() {
      const out: Record<string, Omit<InboundVideo, "participantId">[]> = {};
      for (const { participantId, ...rest } of (await current?.media.inboundVideo()) ?? []) {
        const key = participantId ?? "unknown";
        (out[key] ??= []).push(rest);
      }
      return out;
    },
    async outboundVideo() {
      return (await current?.media.outboundVideo()) ?? [];
    },
    connectionState: () => current?.signaling.state ?? "disconnected",
    phase: () => current?.state.phase ?? "idle",
    participantId: () => current?.participantId ?? null,
    peerConnections: () => ({ ...(current?.media.connectionStates ?? {}) }),
    subscribedStreams: () =>
      (current?.media.remoteStreams() ?? []).map(({ mid, feed, feed_mid, kind, participant_id }) => ({
        mid,
        feed,
        feed_mid,
        kind,
        participant_id,
      })),
    participants: () => [...(current?.state.participants.keys() ?? [])],
    quality: () => Object.fromEntries(current?.media.quality ?? []),
    rawStats: async (pc) => (await current?.media.rawStats(pc)) ?? [],
    subscriberTransceivers: () => current?.media.subscriberTransceivers() ?? [],
    interpretationMix: () => currentMix()?.snapshot() ?? null,
  };
  if ("__convene" in window) return; // a development reload runs this module again
  Object.defineProperty(window, "__convene", { value: Object.freeze(hook), writable: false, configurable: false });
}

declare global {
  interface Window {
    readonly __convene: ConveneDiagnostics;
  }
}
