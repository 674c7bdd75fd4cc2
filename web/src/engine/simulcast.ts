/**
 * Camera simulcast: what the publisher sends and which layer each subscriber tile asks for.
 *
 * The camera goes out as three VP8 encodings. Janus reads the rids of the offer in "h-m-l"
 * order by default (the first rid is the highest quality), so the encodings are listed that way;
 * Janus numbers substreams from the lowest: substream 0 = "l" (1/4 size), 1 = "m" (1/2), 2 = "h".
 */
import type { Quality } from "./quality";

export type Substream = 0 | 1 | 2;

export const CAMERA_CAPTURE = { width: 1280, height: 720, frameRate: 30 } as const;

export const SIMULCAST_ENCODINGS: readonly RTCRtpEncodingParameters[] = [
  { rid: "h", active: true, scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
  { rid: "m", active: true, scaleResolutionDownBy: 2, maxBitrate: 450_000 },
  { rid: "l", active: true, scaleResolutionDownBy: 4, maxBitrate: 150_000 },
];

/** Height in pixels of each substream for a source `sourceHeight` pixels tall. */
export function layerHeights(sourceHeight: number = CAMERA_CAPTURE.height): [number, number, number] {
  return [sourceHeight / 4, sourceHeight / 2, sourceHeight];
}

export interface LayerChoiceInput {
  /** Tile height in CSS pixels (0 when hidden). */
  tileHeight: number;
  devicePixelRatio?: number;
  sourceHeight?: number;
  /** Receive quality of this stream; a poor link steps the layer down. */
  quality?: Quality;
}

/**
 * The smallest layer that fills the tile without visible upscaling (15 % slack), stepped down
 * one layer on a fair link and to the lowest on a poor one.
 */
export function chooseSubstream(input: LayerChoiceInput): Substream {
  const needed = Math.max(0, input.tileHeight) * (input.devicePixelRatio ?? 1);
  const heights = layerHeights(input.sourceHeight);
  let choice: Substream = 2;
  for (const layer of [0, 1, 2] as const) {
    if (heights[layer] >= needed * 0.85) {
      choice = layer;
      break;
    }
  }
  if (input.quality === "poor") return 0;
  if (input.quality === "fair" && choice > 0) return (choice - 1) as Substream;
  return choice;
}

/** Puts VP8 first among the codecs a transceiver may send (simulcast is best supported there). */
export function preferVp8(transceiver: RTCRtpTransceiver): void {
  const caps = typeof RTCRtpSender !== "undefined" ? RTCRtpSender.getCapabilities?.("video") : null;
  if (!caps || typeof transceiver.setCodecPreferences !== "function") return;
  const vp8 = caps.codecs.filter((c) => c.mimeType.toLowerCase() === "video/vp8");
  if (vp8.length === 0) return;
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== "video/vp8");
  try {
    transceiver.setCodecPreferences([...vp8, ...rest]);
  } catch {
    // Some browsers refuse preferences they consider invalid; the default order still works.
  }
}
