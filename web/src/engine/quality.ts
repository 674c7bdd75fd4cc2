/**
 * Connection quality from WebRTC statistics: packet loss, round-trip time and bitrate.
 */
export type Quality = "good" | "fair" | "poor" | "unknown";

export interface QualityInput {
  /** Fraction of packets lost over the last interval, 0..1 (null when nothing was expected). */
  loss: number | null;
  /** Round-trip time in milliseconds (null when unknown). */
  rttMs: number | null;
  /** Received or sent bitrate in kbit/s over the last interval (null when unknown). */
  kbps?: number | null;
  /** The stream should be flowing (video on); no bitrate then means trouble. */
  expectFlow?: boolean;
}

export const THRESHOLDS = {
  fair: { loss: 0.02, rttMs: 250 },
  poor: { loss: 0.08, rttMs: 500 },
} as const;

export function classifyQuality(input: QualityInput): Quality {
  const { loss, rttMs } = input;
  if (loss === null && rttMs === null) return "unknown";
  if (input.expectFlow && input.kbps !== undefined && input.kbps !== null && input.kbps < 5) return "poor";
  if ((loss ?? 0) >= THRESHOLDS.poor.loss || (rttMs ?? 0) >= THRESHOLDS.poor.rttMs) return "poor";
  if ((loss ?? 0) >= THRESHOLDS.fair.loss || (rttMs ?? 0) >= THRESHOLDS.fair.rttMs) return "fair";
  return "good";
}

/** The worse of two qualities ("unknown" counts as no information). */
export function worse(a: Quality, b: Quality): Quality {
  const rank: Record<Quality, number> = { unknown: -1, good: 0, fair: 1, poor: 2 };
  return rank[a] >= rank[b] ? a : b;
}

export interface Counters {
  packetsReceived: number;
  packetsLost: number;
  bytes: number;
  timestamp: number;
}

/** Loss fraction and kbit/s between two readings of the same stream's counters. */
export function deltaRates(prev: Counters | undefined, cur: Counters): { loss: number | null; kbps: number | null } {
  if (!prev) return { loss: null, kbps: null };
  const received = cur.packetsReceived - prev.packetsReceived;
  const lost = Math.max(0, cur.packetsLost - prev.packetsLost);
  const expected = received + lost;
  const seconds = (cur.timestamp - prev.timestamp) / 1000;
  return {
    loss: expected > 0 ? lost / expected : null,
    kbps: seconds > 0 ? ((cur.bytes - prev.bytes) * 8) / 1000 / seconds : null,
  };
}

/** Round-trip time (ms) of the selected ICE candidate pair in a stats report. */
export function selectedPairRttMs(report: RTCStatsReport): number | null {
  let transportPair: string | undefined;
  report.forEach((s: RTCStats & Record<string, unknown>) => {
    if (s.type === "transport" && typeof s.selectedCandidatePairId === "string") {
      transportPair = s.selectedCandidatePairId;
    }
  });
  let rtt: number | null = null;
  report.forEach((s: RTCStats & Record<string, unknown>) => {
    if (s.type !== "candidate-pair") return;
    const chosen = transportPair ? s.id === transportPair : s.nominated === true && s.state === "succeeded";
    if (chosen && typeof s.currentRoundTripTime === "number") rtt = s.currentRoundTripTime * 1000;
  });
  return rtt;
}
