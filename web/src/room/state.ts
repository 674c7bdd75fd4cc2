/**
 * The meeting as this client knows it: built from a snapshot, then kept current by events.
 *
 * Pure functions on an immutable state, so the UI can re-render on identity changes and tests
 * can drive it without a network. Events are upserts keyed by id (applying one twice is harmless).
 */
import type { ConnectionState } from "../protocol/signaling";
import type {
  ChatMessage,
  CloseReason,
  EventData,
  EventType,
  FeedInfo,
  LivestreamInfo,
  MeetingInfo,
  ParticipantInfo,
  Snapshot,
  WaitingInfo,
} from "../protocol/types";
import { applyCaption, applyCaptionsUpdated, captionsFromSnapshot, initialCaptions, type CaptionsState } from "./captions";
import {
  applyAudioQuality,
  applyBoothMessage,
  applyInterpretationUpdated,
  applySignal,
  forgetSpeaker,
  initialInterpretation,
  interpretationFromSnapshot,
  type InterpretationState,
} from "./interpretation";
import { applyAudienceUpdated, audienceFromSnapshot, initialAudience, type AudienceState } from "./audience";
import { applyLivestreamUpdated, livestreamFromSnapshot, NO_LIVESTREAM } from "./livestream";
import { applyBatch, applyCommentsUpdated, applyHidden, applyWords, commentsFromSnapshot, initialComments, type CommentsState } from "./comments";
import { applyReactionCounts, expireBursts, type Burst } from "./bursts";
import { applyQaUpdated, applyQuestion, initialQa, qaFromSnapshot, removeQuestion, type QaState } from "./qa";
import { applyPoll, initialPolls, pollsFromSnapshot, removePoll, type PollsState } from "./polls";

export type Phase = "idle" | "joining" | "waiting" | "joined" | "ended";

export interface FloatingReaction {
  key: number;
  participantId: string;
  emoji: string;
  at: number;
}

export interface EndInfo {
  reason: CloseReason | "left" | "disconnected";
  message: string;
}

export interface RoomState {
  phase: Phase;
  connection: ConnectionState;
  reconnectAttempt: number;
  /** Set when the connection was lost for good (shown with a way to rejoin). */
  connectionError: string | null;
  selfId: string | null;
  meeting: MeetingInfo | null;
  participants: ReadonlyMap<string, ParticipantInfo>;
  feeds: ReadonlyMap<number, FeedInfo>;
  chat: readonly ChatMessage[];
  unread: number;
  waiting: readonly WaitingInfo[];
  speaking: ReadonlySet<string>;
  /** The remote participant who spoke last (for the speaker view). */
  activeSpeaker: string | null;
  /** When each participant last started speaking (ms), for ordering tiles. */
  lastSpoke: ReadonlyMap<string, number>;
  reactions: readonly FloatingReaction[];
  /** Who a host spotlighted for everyone, in the host's order (only people in the meeting). */
  spotlight: readonly string[];
  /** Live captions: the meeting's CaptionsInfo, what this connection reads, the segments. */
  captions: CaptionsState;
  /** Interpretation: channels and booths, the channel listened to, booth chat, signals, audio warnings. */
  interpretation: InterpretationState;
  /** An event's audience: the count, hands (hosts), how this attendee watches, a promotion. */
  audience: AudienceState;
  /** The livestream (HLS), as the snapshot and `livestream.updated` say. */
  livestream: LivestreamInfo;
  /** Bullet comments: settings, the recent list, what waits to fly over the stage. */
  comments: CommentsState;
  /** The audience's reactions, counted by the server, as bursts over the stage. */
  bursts: readonly Burst[];
  qa: QaState;
  polls: PollsState;
  ended: EndInfo | null;
}

export function initialState(): RoomState {
  return {
    phase: "idle",
    connection: "disconnected",
    reconnectAttempt: 0,
    connectionError: null,
    selfId: null,
    meeting: null,
    participants: new Map(),
    feeds: new Map(),
    chat: [],
    unread: 0,
    waiting: [],
    speaking: new Set(),
    activeSpeaker: null,
    lastSpoke: new Map(),
    reactions: [],
    spotlight: [],
    captions: initialCaptions(),
    interpretation: initialInterpretation(),
    audience: initialAudience(),
    livestream: NO_LIVESTREAM,
    comments: initialComments(),
    bursts: [],
    qa: initialQa(),
    polls: initialPolls(),
    ended: null,
  };
}

/** Replaces the meeting's contents with a snapshot (join, admission or resume). */
export function applySnapshot(state: RoomState, snapshot: Snapshot): RoomState {
  const participants = new Map<string, ParticipantInfo>();
  for (const p of snapshot.participants) participants.set(p.id, p);
  participants.set(snapshot.self.id, snapshot.self);
  const feeds = new Map<number, FeedInfo>();
  for (const f of snapshot.feeds) feeds.set(f.id, f);
  const known = new Set(state.chat.map((m) => m.id));
  const fresh = snapshot.chat.filter((m) => !known.has(m.id)).length;
  return {
    ...state,
    phase: "joined",
    selfId: snapshot.self.id,
    meeting: snapshot.meeting,
    participants,
    feeds,
    chat: snapshot.chat,
    // On a resume, messages that arrived during the gap count as unread.
    unread: state.phase === "joined" ? state.unread + fresh : 0,
    waiting: snapshot.waiting,
    speaking: new Set([...state.speaking].filter((id) => participants.has(id))),
    activeSpeaker: state.activeSpeaker && participants.has(state.activeSpeaker) ? state.activeSpeaker : null,
    spotlight: (snapshot.spotlight ?? []).filter((id) => participants.has(id)),
    captions: captionsFromSnapshot(state.captions, snapshot.captions, snapshot.captions_reading),
    interpretation: interpretationFromSnapshot(
      state.interpretation,
      snapshot.interpretation,
      snapshot.interpretation_listening,
      snapshot.audio_warnings,
    ),
    audience: audienceFromSnapshot(state.audience, snapshot.audience),
    livestream: livestreamFromSnapshot(snapshot.livestream),
    comments: commentsFromSnapshot(state.comments, snapshot.comments),
    qa: qaFromSnapshot(state.qa, snapshot.qa, snapshot.self.id),
    polls: pollsFromSnapshot(state.polls, snapshot.polls),
  };
}

export interface ApplyOptions {
  /** The chat panel is open: new messages are read at once. */
  chatOpen?: boolean;
  now?: number;
  nextKey?: () => number;
}

let reactionKey = 0;

/** Applies one server event; events that change nothing here return the same state. */
export function applyEvent<K extends EventType>(
  state: RoomState,
  type: K,
  data: EventData<K>,
  options: ApplyOptions = {},
): RoomState {
  const now = options.now ?? Date.now();
  // A switch on the type does not narrow `data` through a generic; `ev` does it once.
  const ev = { type, data } as { [T in EventType]: { type: T; data: EventData<T> } }[EventType];
  switch (ev.type) {
    case "participant.joined":
    case "participant.updated": {
      const participants = new Map(state.participants);
      participants.set(ev.data.participant.id, ev.data.participant);
      return { ...state, participants };
    }
    case "participant.left": {
      const id = ev.data.participant_id;
      if (!state.participants.has(id)) return state;
      const participants = new Map(state.participants);
      participants.delete(id);
      const feeds = new Map([...state.feeds].filter(([, f]) => f.participant_id !== id));
      const speaking = new Set(state.speaking);
      speaking.delete(id);
      return {
        ...state,
        participants,
        feeds,
        speaking,
        activeSpeaker: state.activeSpeaker === id ? null : state.activeSpeaker,
        // The server sends spotlight.updated too; dropping the id here keeps the stage right meanwhile.
        spotlight: state.spotlight.includes(id) ? state.spotlight.filter((s) => s !== id) : state.spotlight,
        interpretation: forgetSpeaker(state.interpretation, id),
      };
    }
    case "feed.added": {
      const feeds = new Map(state.feeds);
      feeds.set(ev.data.feed.id, ev.data.feed);
      return { ...state, feeds };
    }
    case "feed.removed": {
      if (!state.feeds.has(ev.data.feed)) return state;
      const feeds = new Map(state.feeds);
      feeds.delete(ev.data.feed);
      return { ...state, feeds };
    }
    case "meeting.updated":
      return { ...state, meeting: ev.data.meeting };
    case "chat.message": {
      if (state.chat.some((m) => m.id === ev.data.id)) return state;
      const mine = ev.data.sender.id === state.selfId;
      return {
        ...state,
        chat: [...state.chat, ev.data],
        unread: mine || options.chatOpen ? state.unread : state.unread + 1,
      };
    }
    case "reaction": {
      const key = options.nextKey ? options.nextKey() : ++reactionKey;
      const reactions = [...state.reactions, { key, participantId: ev.data.participant_id, emoji: ev.data.emoji, at: now }];
      // Keep the screen readable when many react at once.
      return { ...state, reactions: reactions.slice(-30) };
    }
    case "speaking": {
      const id = ev.data.participant_id;
      const speaking = new Set(state.speaking);
      let lastSpoke = state.lastSpoke;
      let activeSpeaker = state.activeSpeaker;
      if (ev.data.speaking) {
        speaking.add(id);
        const updated = new Map(state.lastSpoke);
        updated.set(id, now);
        lastSpoke = updated;
        if (id !== state.selfId) activeSpeaker = id;
      } else {
        speaking.delete(id);
      }
      return { ...state, speaking, lastSpoke, activeSpeaker };
    }
    case "waiting.updated":
      return { ...state, waiting: ev.data.waiting };
    case "admitted":
      return applySnapshot(state, ev.data.snapshot);
    case "closed":
      return { ...state, phase: "ended", ended: { reason: ev.data.reason, message: ev.data.message } };
    case "spotlight.updated":
      return { ...state, spotlight: ev.data.participant_ids.filter((id) => state.participants.has(id)) };
    case "media.reset":
      // Every feed is gone at the media server; they come back as people publish again.
      return { ...state, feeds: new Map() };
    case "captions.updated":
      return { ...state, captions: applyCaptionsUpdated(state.captions, ev.data) };
    case "caption": {
      const captions = applyCaption(state.captions, ev.data, now);
      return captions === state.captions ? state : { ...state, captions };
    }
    case "interpretation.updated":
      return { ...state, interpretation: applyInterpretationUpdated(state.interpretation, ev.data) };
    case "interpretation.booth_message": {
      const interpretation = applyBoothMessage(state.interpretation, ev.data);
      return interpretation === state.interpretation ? state : { ...state, interpretation };
    }
    case "interpretation.signal":
      return { ...state, interpretation: applySignal(state.interpretation, ev.data) };
    case "audio.quality": {
      const interpretation = applyAudioQuality(state.interpretation, ev.data);
      return interpretation === state.interpretation ? state : { ...state, interpretation };
    }
    case "audience.updated": {
      const audience = applyAudienceUpdated(state.audience, ev.data);
      return audience === state.audience ? state : { ...state, audience };
    }
    case "audience.promoted":
      // The panel's snapshot: this person is a panelist now (the Room starts the device check).
      return applySnapshot(state, ev.data.snapshot);
    case "livestream.updated":
      return { ...state, livestream: applyLivestreamUpdated(state.livestream, ev.data) };
    case "comments": {
      const comments = applyBatch(state.comments, ev.data, now);
      return comments === state.comments ? state : { ...state, comments };
    }
    case "comments.hidden": {
      const comments = applyHidden(state.comments, ev.data);
      return comments === state.comments ? state : { ...state, comments };
    }
    case "comments.updated": {
      const comments = applyCommentsUpdated(state.comments, ev.data);
      return comments === state.comments ? state : { ...state, comments };
    }
    case "comments.words":
      return { ...state, comments: applyWords(state.comments, ev.data) };
    case "reactions": {
      const bursts = applyReactionCounts(state.bursts, ev.data, now);
      return bursts === state.bursts ? state : { ...state, bursts };
    }
    case "qa.updated": {
      const qa = applyQaUpdated(state.qa, ev.data);
      return qa === state.qa ? state : { ...state, qa };
    }
    case "qa.question": {
      const qa = applyQuestion(state.qa, ev.data.question, state.selfId);
      return qa === state.qa ? state : { ...state, qa };
    }
    case "qa.removed": {
      const qa = removeQuestion(state.qa, ev.data.question);
      return qa === state.qa ? state : { ...state, qa };
    }
    case "poll.updated":
      return { ...state, polls: applyPoll(state.polls, ev.data.poll) };
    case "poll.deleted": {
      const polls = removePoll(state.polls, ev.data.poll);
      return polls === state.polls ? state : { ...state, polls };
    }
    case "audience.demoted":
    case "moderated":
    case "subscriber.offer":
    case "notification":
      return state;
  }
}

/** Removes reactions older than `maxAgeMs` (and reaction bursts whose time is over). */
export function expireReactions(state: RoomState, now: number, maxAgeMs = 4_000): RoomState {
  const reactions = state.reactions.filter((r) => now - r.at < maxAgeMs);
  const bursts = expireBursts(state.bursts, now);
  if (reactions.length === state.reactions.length && bursts === state.bursts) return state;
  return { ...state, reactions: reactions.length === state.reactions.length ? state.reactions : reactions, bursts };
}

export function selfInfo(state: RoomState): ParticipantInfo | null {
  return state.selfId ? (state.participants.get(state.selfId) ?? null) : null;
}

export function isHostRole(p: ParticipantInfo | null | undefined): boolean {
  return p?.role === "host" || p?.role === "cohost";
}

/** The main and screen feeds of one participant (an interpreter's channel and booth feeds are not tiles). */
export function feedsOf(state: RoomState, participantId: string): { main?: FeedInfo; screen?: FeedInfo } {
  const out: { main?: FeedInfo; screen?: FeedInfo } = {};
  for (const f of state.feeds.values()) {
    if (f.participant_id !== participantId) continue;
    if (f.source === "main" || f.source === "screen") out[f.source] = f;
  }
  return out;
}
