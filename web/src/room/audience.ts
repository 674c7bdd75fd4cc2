/**
 * The audience of an event as this client knows it (docs/events.md): how many watch, the raised
 * hands (hosts and co-hosts only), how this attendee watches (WebRTC view-only or the HLS
 * livestream), and what a promotion or a demotion asks of the UI.
 *
 * Pure functions on an immutable state (like ./state and ./interpretation), so the UI re-renders on
 * identity changes and tests drive it without a network. `AudienceActions` holds the requests
 * (the list, promote, demote), behind a small port the Room gives it.
 */
import type {
  AttendeeInfo,
  AudienceHand,
  AudienceInfo,
  AudienceListReply,
  AudienceUpdated,
  MeetingInfo,
  ParticipantInfo,
  PersonRef,
} from "../protocol/types";

export type AudienceView = "webrtc" | "hls";

/** Why this attendee watches the livestream rather than WebRTC (or null when they do not). */
export type HlsReason = "server" | "full" | "chosen";

export interface AudienceState {
  /** Attendees watching now (the server's count, at most once a second). */
  count: number;
  /** Raised hands, oldest first (hosts and co-hosts only; empty for others). */
  hands: readonly AudienceHand[];
  /** What the server said to watch with at join (`audience.view`). */
  serverView: AudienceView;
  /** The attendee's own choice ("watching live" / "watching the stream"), null: none made. */
  chosen: AudienceView | null;
  /** WebRTC was refused for capacity (`audience_full`): WebRTC is not offered until a resume. */
  full: boolean;
  /**
   * A host just promoted this person (they go through the device check before publishing), or
   * demoted them; null once the UI dealt with it.
   */
  notice: { kind: "promoted" | "demoted"; by: PersonRef } | null;
}

export function initialAudience(): AudienceState {
  return { count: 0, hands: [], serverView: "webrtc", chosen: null, full: false, notice: null };
}

/** At most this many hands are kept (the server sends at most 100). */
export const HAND_LIMIT = 100;

/** From a snapshot (join, admission, resume, promotion). The attendee's own choice stays. */
export function audienceFromSnapshot(state: AudienceState, info: AudienceInfo | null | undefined): AudienceState {
  if (!info) return { ...state, count: 0, hands: [] };
  return {
    ...state,
    count: Math.max(0, info.count),
    hands: (info.hands ?? []).slice(0, HAND_LIMIT),
    serverView: info.view,
    // A fresh snapshot may have room over WebRTC again.
    full: info.view === "hls" ? state.full : false,
  };
}

/** `audience.updated`: the count for everyone; hosts' copies also carry the hands. */
export function applyAudienceUpdated(state: AudienceState, event: AudienceUpdated): AudienceState {
  const count = Math.max(0, event.count);
  const hands = event.hands === undefined || event.hands === null ? state.hands : event.hands.slice(0, HAND_LIMIT);
  if (count === state.count && hands === state.hands) return state;
  return { ...state, count, hands };
}

/** `subscribe` was refused with `audience_full`: the livestream it is. */
export function markFull(state: AudienceState): AudienceState {
  return state.full ? state : { ...state, full: true };
}

/** The attendee chose how to watch (by hand). */
export function chooseView(state: AudienceState, view: AudienceView): AudienceState {
  return state.chosen === view ? state : { ...state, chosen: view };
}

export function setNotice(state: AudienceState, notice: AudienceState["notice"]): AudienceState {
  return state.notice === notice ? state : { ...state, notice };
}

/**
 * How this attendee watches: WebRTC unless the server said HLS, WebRTC was refused for capacity,
 * or they chose the stream; a choice of WebRTC wins over the server's "hls" (it may be refused).
 */
export function watching(state: AudienceState): AudienceView {
  if (state.full) return "hls";
  if (state.chosen !== null) return state.chosen;
  return state.serverView;
}

/** Why the livestream plays (for the words under the switch), null while on WebRTC. */
export function hlsReason(state: AudienceState): HlsReason | null {
  if (watching(state) !== "hls") return null;
  if (state.full) return "full";
  return state.chosen === "hls" ? "chosen" : "server";
}

/** Whether the meeting is an event or a lecture (panelists and an audience). */
export function isEventMode(meeting: Pick<MeetingInfo, "mode"> | null | undefined): boolean {
  return !!meeting && meeting.mode !== undefined && meeting.mode !== "meeting";
}

export function isAttendee(p: Pick<ParticipantInfo, "role"> | null | undefined): boolean {
  return p?.role === "attendee";
}

/** Raised hands not yet acted on, without someone no longer in the audience. */
export function withoutHand(state: AudienceState, attendeeId: string): AudienceState {
  if (!state.hands.some((h) => h.id === attendeeId)) return state;
  return { ...state, hands: state.hands.filter((h) => h.id !== attendeeId) };
}

// -- Searching the audience (hosts) --------------------------------------------------------------

export const LIST_PAGE = 50;

/** A search of the audience as the panel shows it: the query, the pages loaded, the total. */
export interface AudienceSearch {
  query: string;
  attendees: readonly AttendeeInfo[];
  total: number;
  loading: boolean;
  error: string | null;
}

export function initialSearch(query = ""): AudienceSearch {
  return { query, attendees: [], total: 0, loading: false, error: null };
}

/** Appends a page of `audience.list` for the same query (a stale query's page is dropped). */
export function applyListPage(search: AudienceSearch, query: string, offset: number, reply: AudienceListReply): AudienceSearch {
  if (query !== search.query) return search;
  const head = search.attendees.slice(0, offset);
  const seen = new Set(head.map((a) => a.id));
  const fresh = reply.attendees.filter((a) => !seen.has(a.id));
  return { ...search, attendees: [...head, ...fresh], total: Math.max(0, reply.total), loading: false, error: null };
}

export function hasMore(search: AudienceSearch): boolean {
  return search.attendees.length < search.total;
}

/** A search query as sent: trimmed, at most 64 characters, no control characters. */
export function cleanQuery(raw: string): string {
  let out = "";
  for (const ch of raw) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) continue;
    out += ch;
  }
  return [...out.trim()].slice(0, 64).join("").trim();
}

// -- Requests ------------------------------------------------------------------------------------

/** What AudienceActions needs of the Room. */
export interface AudiencePort {
  request(type: "audience.list", data: { query?: string; offset?: number; limit?: number }): Promise<AudienceListReply>;
  request(type: "host.promote" | "host.demote", data: { participant: string }): Promise<unknown>;
  toast(error: unknown): void;
  /** Drops a raised hand from the state at once (the next `audience.updated` confirms it). */
  lowered(attendeeId: string): void;
}

export class AudienceActions {
  constructor(private readonly port: AudiencePort) {}

  /** One page of the audience matching `query` (names), for hosts and co-hosts. */
  async list(query: string, offset = 0, limit = LIST_PAGE): Promise<AudienceListReply> {
    const q = cleanQuery(query);
    return this.port.request("audience.list", { ...(q ? { query: q } : {}), offset: Math.max(0, offset), limit: Math.min(100, Math.max(1, limit)) });
  }

  /** "Allow to speak": the attendee becomes a panelist. */
  async promote(attendeeId: string): Promise<boolean> {
    try {
      await this.port.request("host.promote", { participant: attendeeId });
      this.port.lowered(attendeeId);
      return true;
    } catch (err) {
      this.port.toast(err);
      return false;
    }
  }

  /** "Move to audience": a panelist (not a host or co-host) becomes an attendee. */
  async demote(participantId: string): Promise<boolean> {
    try {
      await this.port.request("host.demote", { participant: participantId });
      return true;
    } catch (err) {
      this.port.toast(err);
      return false;
    }
  }
}
