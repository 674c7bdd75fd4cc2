/**
 * The meeting's livestream as this client knows it (docs/protocol.md, "Livestream"): the
 * LivestreamInfo of the snapshot and of `livestream.updated`, plus what the HLS player needs to
 * follow the listener's choices (which audio rendition is the interpretation channel listened to,
 * which subtitle track is the captions language read).
 *
 * Pure functions (tests drive them without a network); `LivestreamActions` holds the host's two
 * requests behind a small port the Room gives it.
 */
import type { LivestreamInfo } from "../protocol/types";

export const NO_LIVESTREAM: LivestreamInfo = {
  state: "off",
  available: false,
  started_at: null,
  by: null,
  url: null,
  expires_at: null,
  audio: [],
  subtitles: [],
  rtmp: "off",
  rtmp_target: null,
  health: { restarts: 0, segment_age_seconds: null, last_error: null },
};

export function livestreamFromSnapshot(info: LivestreamInfo | null | undefined): LivestreamInfo {
  return info ?? NO_LIVESTREAM;
}

/**
 * `livestream.updated`. The URL's token changes with each event: the player keeps playing the
 * playlist it has (see `sameStream`) and takes the fresh URL on its next load.
 */
export function applyLivestreamUpdated(_state: LivestreamInfo, info: LivestreamInfo): LivestreamInfo {
  return info;
}

/** Whether there is a playlist to play (live, or coming back after a restart of ffmpeg). */
export function isPlayable(info: LivestreamInfo): boolean {
  return info.url !== null && (info.state === "live" || info.state === "starting");
}

/** Whether a host may press Stop (the stream runs or is being set up). */
export function isRunning(info: LivestreamInfo): boolean {
  return info.state === "starting" || info.state === "live";
}

/** Two URLs of the same stream differ only in their token (a fresh one comes with each event). */
export function sameStream(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return streamKey(a) === streamKey(b);
}

function streamKey(url: string): string {
  // /api/v1/live/{meeting}/{token}/{file}: everything but the token (and any query).
  const path = url.split(/[?#]/, 1)[0] ?? url;
  const parts = path.split("/");
  const at = parts.lastIndexOf("live");
  if (at >= 0 && parts.length > at + 3) parts.splice(at + 2, 1);
  return parts.join("/");
}

const SEGMENT = /^[A-Za-z0-9._~=-]{1,256}$/;

/** The master playlist of a meeting's livestream for a token (the watch page's source). */
export function playlistUrl(meeting: string, token: string): string | null {
  if (!SEGMENT.test(meeting) || !SEGMENT.test(token) || meeting.startsWith(".") || token.startsWith(".")) return null;
  return `/api/v1/live/${meeting}/${token}/master.m3u8`;
}

/** The watch page (`/live/{meeting}/{token}`) for a playlist URL, to share with people who only watch. */
export function watchPath(url: string | null): string | null {
  if (url === null) return null;
  const match = /\/api\/v1\/live\/([^/?#]+)\/([^/?#]+)\/[^/?#]+$/.exec(url.split(/[?#]/, 1)[0] ?? "");
  if (!match || playlistUrl(match[1]!, match[2]!) === null) return null;
  return `/live/${match[1]!}/${match[2]!}`;
}

/**
 * A livestream file's URL with the token of `latest` (the newest playlist URL): files named in a
 * playlist loaded with an older token keep loading after that token expired. Other URLs pass as
 * they are.
 */
export function withLatestToken(url: string, latest: string): string {
  const pattern = /\/api\/v1\/live\/([^/?#]+)\/([^/?#]+)\//;
  const fresh = pattern.exec(latest);
  const old = pattern.exec(url);
  if (!fresh || !old || old[1] !== fresh[1] || old[2] === fresh[2]) return url;
  return url.replace(pattern, `/api/v1/live/${old[1]!}/${fresh[2]!}/`);
}

/** The health the host sees: the state, and "restarting" while ffmpeg was restarted and no segment is fresh. */
export type Health = "off" | "starting" | "live" | "restarting" | "stale" | "failed" | "stopping";

/** A segment this old (seconds) means the stream stalled (segments are 1 s long). */
export const STALE_SECONDS = 6;

export function health(info: LivestreamInfo): Health {
  if (info.state !== "live") return info.state;
  const age = info.health.segment_age_seconds;
  if (age !== null && age > STALE_SECONDS) return info.health.restarts > 0 ? "restarting" : "stale";
  return "live";
}

// -- RTMP ------------------------------------------------------------------------------------

export const MAX_RTMP_URL = 1000;

export type RtmpProblem = "scheme" | "host" | "spaces" | "long";

/** What the server will refuse in an RTMP URL (checked before sending, to say it in words). */
export function rtmpProblem(raw: string): RtmpProblem | null {
  const value = raw.trim();
  if (value.length > MAX_RTMP_URL) return "long";
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (code <= 0x20 || code === 0x7f) return "spaces";
  }
  const match = /^(rtmps?):\/\/([^/?#]*)/i.exec(value);
  if (!match) return "scheme";
  const authority = (match[2] ?? "").split("@").pop() ?? "";
  const host = authority.startsWith("[") ? authority.slice(0, authority.indexOf("]") + 1) : authority.split(":")[0] ?? "";
  if (!/^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]{2,45}\]$/.test(host)) return "host";
  return null;
}

/** An RTMP URL as it may be shown: scheme and host, never the stream key or a password. */
export function maskRtmpUrl(raw: string): string {
  const match = /^(rtmps?):\/\/([^/?#]*)/i.exec(raw.trim());
  if (!match) return "rtmp://?/…";
  const authority = (match[2] ?? "").split("@").pop() ?? "";
  const host = authority.startsWith("[") ? authority.slice(0, authority.indexOf("]") + 1) : authority.split(":")[0] ?? "";
  return `${(match[1] ?? "rtmp").toLowerCase()}://${host || "?"}/…`;
}

// -- Renditions ------------------------------------------------------------------------------

/** An hls.js audio or subtitle track, as much of it as the choice needs. */
export interface TrackLike {
  lang?: string | undefined;
  name?: string | undefined;
  default?: boolean | undefined;
}

function primary(tag: string | undefined): string {
  return (tag ?? "").toLowerCase().split("-")[0] ?? "";
}

function findLanguage(tracks: readonly TrackLike[], language: string): number {
  const exact = tracks.findIndex((t) => (t.lang ?? "").toLowerCase() === language.toLowerCase());
  if (exact >= 0) return exact;
  return tracks.findIndex((t) => primary(t.lang) === primary(language));
}

/**
 * The audio rendition for the channel listened to (`listening`: a language, null for the floor).
 * The floor is the DEFAULT rendition (the first when none says so); a channel the stream does not
 * carry (added after it started) plays the floor.
 */
export function audioTrackFor(tracks: readonly TrackLike[], listening: string | null): number {
  if (tracks.length === 0) return -1;
  const byDefault = tracks.findIndex((t) => t.default);
  const floor = byDefault >= 0 ? byDefault : 0;
  if (listening === null) return floor;
  // The floor may be in the channel's language too: the channel is another rendition.
  const others = tracks.map((t, i) => ({ lang: t.lang, i })).filter(({ i }) => i !== floor);
  const exact = others.find((t) => (t.lang ?? "").toLowerCase() === listening.toLowerCase());
  const loose = others.find((t) => primary(t.lang) === primary(listening));
  return (exact ?? loose)?.i ?? floor;
}

/**
 * The subtitle track for the captions reading (`off`, `original`, or a language). "original"
 * is the spoken language, which the stream carries as the floor's language (or the first track).
 */
export function subtitleTrackFor(tracks: readonly TrackLike[], reading: string, original: string | null = null): number {
  if (tracks.length === 0 || reading === "off") return -1;
  if (reading === "original") {
    if (original) {
      const i = findLanguage(tracks, original);
      if (i >= 0) return i;
    }
    return 0;
  }
  return findLanguage(tracks, reading);
}

// -- Requests --------------------------------------------------------------------------------

export interface LivestreamPort {
  request(type: "livestream.start", data: { rtmp_url?: string }): Promise<unknown>;
  request(type: "livestream.stop", data: Record<string, never>): Promise<unknown>;
  toast(error: unknown): void;
}

export class LivestreamActions {
  constructor(private readonly port: LivestreamPort) {}

  /** Starts the livestream, also pushed to `rtmpUrl` when given (checked by the caller). */
  async start(rtmpUrl?: string): Promise<boolean> {
    const url = rtmpUrl?.trim();
    try {
      await this.port.request("livestream.start", url ? { rtmp_url: url } : {});
      return true;
    } catch (err) {
      this.port.toast(err);
      return false;
    }
  }

  async stop(): Promise<boolean> {
    try {
      await this.port.request("livestream.stop", {});
      return true;
    } catch (err) {
      this.port.toast(err);
      return false;
    }
  }
}
