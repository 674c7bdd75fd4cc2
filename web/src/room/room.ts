/**
 * Room: one meeting session of this client. Owns the SignalingClient and the MediaEngine, keeps
 * the RoomState current from the server's events, and offers the actions the UI needs.
 *
 *     signaling (SignalingClient) -> Room (state, actions) -> UI
 *                 MediaEngine  <-/
 */
import { language, t } from "../i18n";
import { describeError, SignalingError } from "../protocol/errors";
import { Emitter } from "../protocol/emitter";
import { SignalingClient, type RequestOptions, type SignalingOptions } from "../protocol/signaling";
import type {
  EventType,
  IceServer,
  JoinReply,
  MeetingUpdate,
  ModerationAction,
  PersonRef,
  RequestData,
  RequestType,
  Snapshot,
  StreamRef,
} from "../protocol/types";
import type { LocalMedia } from "../engine/local";
import { MediaEngine } from "../engine/media";
import type { RemoteStream } from "../engine/subscriber";
import type { Quality } from "../engine/quality";
import { captionPrefs, expireCaptions, readingOf, setReading, type Reading } from "./captions";
import { InterpreterDesk, interpreterOf } from "./interpreter";
import { InterpretationActions, interpretationRefs, isInterpretationFeed } from "./interpretation";
import { CommentActions, PollActions, QaActions, type InteractionPort } from "./interaction";
import { applyEvent, applySnapshot, expireReactions, initialState, selfInfo, type RoomState } from "./state";
import { AudienceActions, chooseView, isAttendee, markFull, setNotice, watching, withoutHand, type AudienceView } from "./audience";
import { LivestreamActions } from "./livestream";
import type { SignalingPort } from "../engine/port";

export interface JoinParams {
  /** 9-digit code or link token. */
  meeting: string;
  passcode?: string;
  displayName?: string;
  /** An invitation's personal link (`?invite=`): the meeting knows the guest as the invitee. */
  invitation?: string;
  /** A registrant's personal link (`?registration=`): an event's audience may need it. */
  registration?: string;
}

export interface ToastAction {
  label: string;
  run: () => void;
}

export interface Toast {
  id: number;
  kind: "info" | "warn" | "error";
  text: string;
  action?: ToastAction;
  /** About people in the waiting room: the toast goes once none of them is waiting any more. */
  waiting?: readonly string[];
}

/**
 * Whether a toast still means something in `state`: a "waiting to join" toast whose people were
 * admitted (from the participants panel, say), denied or left the waiting room does not.
 */
export function isToastCurrent(toast: Toast, state: Pick<RoomState, "waiting">): boolean {
  if (!toast.waiting) return true;
  return toast.waiting.some((id) => state.waiting.some((w) => w.id === id));
}

/**
 * What this browser knows of its own link, before the signaling heartbeat would: the browser's
 * offline/online events and the media connections' ICE state.
 */
export interface LinkState {
  /** The browser says it has no network at all. */
  offline: boolean;
  /** The media connections: "interrupted" while ICE looks for a path again, "failed" when it gave up. */
  media: "ok" | "interrupted" | "failed";
}

export interface RoomEvents {
  change: RoomState;
  remote: RemoteStream[];
  quality: ReadonlyMap<string, Quality>;
  toast: Toast;
  pcstate: Record<string, string>;
  link: LinkState;
}

type HostRequest = Extract<RequestType, `host.${string}`>;

/** Audio of a participant who muted stays subscribed this long, so a quick unmute is heard. */
const AUDIO_LINGER_MS = 30_000;
/** At most this many audio streams are received at once (the most recent speakers win). */
const MAX_AUDIO_STREAMS = 48;
/**
 * When the browser goes offline or a media connection loses its path, a ping this short tells
 * whether the signaling socket still works (the heartbeat alone takes ~15 s to notice).
 */
const PROBE_TIMEOUT_MS = 2_000;

const MODERATION_TEXT: Record<ModerationAction, (by: PersonRef) => string> = {
  audio_muted: (by) => t("room.moderation.audioMuted", { name: by.display_name }),
  video_stopped: (by) => t("room.moderation.videoStopped", { name: by.display_name }),
  hand_lowered: (by) => t("room.moderation.handLowered", { name: by.display_name }),
  unmute_requested: (by) => t("room.moderation.unmuteRequested", { name: by.display_name }),
};

/** The language this participant speaks: their choice, else the UI's (one of the six). */
function spokenLanguage(): string {
  return captionPrefs.value.spoken ?? language.value;
}

/** A failed captions request in words: the captions errors have messages of their own. */
function captionsError(err: unknown): string {
  if (err instanceof SignalingError) {
    if (err.code === "captions_unavailable") return t("captions.error.unavailable");
    if (err.code === "captions_forbidden") return t("captions.error.forbidden");
  }
  return describeError(err);
}

export class Room extends Emitter<RoomEvents> {
  readonly signaling: SignalingClient;
  readonly media: MediaEngine;
  /** The interpreter's feeds and booth requests (idle unless this participant is an interpreter). */
  readonly interpreter: InterpreterDesk;
  private _state: RoomState = initialState();
  private params: JoinParams | null = null;
  private chatOpen = false;
  private visibleFeeds = new Set<number>();
  private audioOffSince = new Map<string, number>();
  private toastId = 0;
  private tick: ReturnType<typeof setInterval> | null = null;
  private published = false;
  private sentMediaState: string | null = null;
  /** Promoted in an event: nothing is published until the device check is done. */
  private awaitingDeviceCheck = false;
  private iceServers: IceServer[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  private _link: LinkState = {
    offline: typeof navigator !== "undefined" && navigator.onLine === false,
    media: "ok",
  };

  constructor(
    readonly local: LocalMedia,
    signalingOptions: SignalingOptions = {},
  ) {
    super();
    this.signaling = new SignalingClient(signalingOptions);
    this.media = new MediaEngine(this.mediaPort, local);
    this.interpreter = new InterpreterDesk(this.signaling, local);
    this.wire();
    // Devices change outside the Room's own actions too (preview toggles racing the join, an
    // unplugged camera): keep the server's view in step.
    this.unsubscribe.push(local.on("change", () => void this.sendMediaState()));
    // What this connection reads follows the reader's choices (and the UI's language by default).
    this.unsubscribe.push(
      captionPrefs.on("change", () => void this.syncReading()),
      language.on("change", () => void this.syncReading()),
    );
    if (typeof addEventListener === "function") {
      const offline = () => {
        this.setLink({ ...this._link, offline: true });
        this.probe();
      };
      // Back online (Wi-Fi to mobile data...): try at once instead of waiting out the backoff,
      // and check a socket that looks connected but may have died during the outage.
      const online = () => {
        this.setLink({ ...this._link, offline: false });
        this.signaling.reconnectNow();
        this.probe();
      };
      addEventListener("offline", offline);
      addEventListener("online", online);
      this.unsubscribe.push(() => {
        removeEventListener("offline", offline);
        removeEventListener("online", online);
      });
    }
  }

  /** The browser's own view of its link (offline, media interrupted). */
  get link(): LinkState {
    return this._link;
  }

  get state(): RoomState {
    return this._state;
  }

  get participantId(): string | null {
    return this.signaling.participantId;
  }

  /**
   * Joins the meeting. Resolves once admitted or placed in the waiting room; rejects with the
   * server's SignalingError (passcode_required, meeting_locked, ...) so the join page can show it.
   */
  async join(params: JoinParams): Promise<void> {
    this.params = params;
    this.update({ ...initialState(), phase: "joining", connection: "connecting" });
    let reply: JoinReply;
    try {
      reply = await this.signaling.connect({
        meeting: params.meeting,
        ...(params.passcode ? { passcode: params.passcode } : {}),
        ...(params.displayName ? { display_name: params.displayName } : {}),
        ...(params.invitation ? { invitation: params.invitation } : {}),
        ...(params.registration ? { registration: params.registration } : {}),
        spoken_language: spokenLanguage(),
      });
    } catch (err) {
      this.update({ ...this._state, phase: "idle" });
      throw err;
    }
    this.startTick();
    if (reply.state === "waiting" || !reply.snapshot) {
      this.update({ ...this._state, phase: "waiting", selfId: reply.participant_id });
      return;
    }
    await this.enter(reply.snapshot);
  }

  /** Leaves the meeting (others see "left"). */
  async leave(): Promise<void> {
    // The server takes our feeds down on leave; unpublishing first would only delay it.
    await Promise.all([this.media.close(false), this.interpreter.stop(false)]);
    await this.signaling.leave();
    this.finish({ reason: "left", message: "" });
  }

  /** Host only: ends the meeting for everyone. */
  async endForAll(): Promise<void> {
    await this.signaling.request("host.end", {});
    // The `closed` event (reason "ended") finishes the session.
  }

  /** Last resort after the connection could not be resumed: join again from scratch. */
  async rejoin(): Promise<void> {
    const params = this.params;
    if (!params) return;
    await this.media.close(false);
    this.signaling.close();
    this.recreateMedia();
    await this.join(params);
  }

  /** Stops everything without telling the server (page unload). */
  dispose(): void {
    this.stopTick();
    void this.media.close(false);
    void this.interpreter.stop(false);
    this.signaling.close();
    for (const off of this.unsubscribe) off();
    this.removeAllListeners();
  }

  // ---------------------------------------------------------------------------------------------
  // Own media
  // ---------------------------------------------------------------------------------------------

  async setMic(on: boolean): Promise<void> {
    if (on && this.isAttendee) return; // an attendee has nothing to unmute (shortcut keys too)
    if (on) {
      // Ask first: the server may refuse (muted by a host who does not allow self-unmute).
      if (this.inMeeting) {
        try {
          await this.signaling.request("media.state", { audio: true, video: this.local.state.cameraOn });
        } catch (err) {
          this.toast("warn", err instanceof SignalingError && err.code === "muted_by_host"
            ? t("room.mutedByHost")
            : t("room.unmuteFailed", { reason: describeError(err) }));
          return;
        }
      }
      await this.local.setMic(true);
      if (!this.local.state.micOn) {
        this.toast("error", this.local.state.error ?? t("media.error.microphone.failed"));
        await this.sendMediaState();
      }
    } else {
      await this.local.setMic(false);
      await this.sendMediaState();
    }
  }

  async setCamera(on: boolean): Promise<void> {
    if (on && this.isAttendee) return;
    if (on && this.inMeeting) {
      try {
        await this.signaling.request("media.state", { audio: this.local.state.micOn, video: true });
      } catch (err) {
        this.toast("warn", err instanceof SignalingError && err.code === "muted_by_host"
          ? t("room.videoStoppedByHost")
          : t("room.videoFailed", { reason: describeError(err) }));
        return;
      }
    }
    await this.local.setCamera(on);
    if (on && !this.local.state.cameraOn) {
      this.toast("error", this.local.state.error ?? t("media.error.camera.failed"));
    }
    await this.sendMediaState();
  }

  async toggleScreenShare(): Promise<void> {
    if (this.isAttendee && !this.media.sharing) return;
    if (this.media.sharing) {
      await this.media.stopScreenShare(true);
      return;
    }
    try {
      await this.media.startScreenShare();
    } catch (err) {
      this.toast("error", err instanceof SignalingError && err.code === "screen_share_disabled"
        ? t("room.screenShareHostsOnly")
        : describeError(err));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Chat, reactions, hand
  // ---------------------------------------------------------------------------------------------

  async sendChat(text: string, to: string | null): Promise<void> {
    const clientMsgId = `m${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const reply = await this.signaling.request("chat.send", { text, ...(to ? { to } : {}), client_msg_id: clientMsgId });
    this.update(applyEvent(this._state, "chat.message", reply.message, { chatOpen: true }));
  }

  setChatOpen(open: boolean): void {
    this.chatOpen = open;
    if (open && this._state.unread > 0) this.update({ ...this._state, unread: 0 });
  }

  async react(emoji: string): Promise<void> {
    await this.signaling.request("reaction", { emoji }).catch((err: unknown) => this.toast("warn", describeError(err)));
  }

  async setHand(raised: boolean): Promise<void> {
    await this.signaling.request("hand", { raised }).catch((err: unknown) => this.toast("warn", describeError(err)));
  }

  // ---------------------------------------------------------------------------------------------
  // Host controls (the server enforces who may use them)
  // ---------------------------------------------------------------------------------------------

  host = {
    mute: (participant: string) => this.hostCall("host.mute", { participant }),
    muteAll: (allowSelfUnmute?: boolean) =>
      this.hostCall("host.mute_all", allowSelfUnmute === undefined ? {} : { allow_self_unmute: allowSelfUnmute }),
    stopVideo: (participant: string) => this.hostCall("host.stop_video", { participant }),
    askUnmute: (participant: string) => this.hostCall("host.ask_unmute", { participant }),
    lowerHand: (participant: string) => this.hostCall("host.lower_hand", { participant }),
    remove: (participant: string) => this.hostCall("host.remove", { participant }),
    setRole: (participant: string, role: "cohost" | "participant") => this.hostCall("host.set_role", { participant, role }),
    transfer: (participant: string) => this.hostCall("host.transfer", { participant }),
    admit: (participant?: string) => this.hostCall("host.admit", participant ? { participant } : {}),
    deny: (participant: string) => this.hostCall("host.deny", { participant }),
    update: (changes: MeetingUpdate) => this.hostCall("host.update", changes),
    /** Replaces who is spotlighted for everyone ([] clears it). */
    spotlight: (participantIds: string[]) => this.hostCall("host.spotlight", { participant_ids: participantIds }),
  };

  // ---------------------------------------------------------------------------------------------
  // Captions
  // ---------------------------------------------------------------------------------------------

  captions = {
    /** Host or co-host: turns captions on (or off) for everyone. */
    start: () => this.captionsCall("captions.start"),
    stop: () => this.captionsCall("captions.stop"),
    /** Declares the language this participant speaks (remembered for the next meetings). */
    speak: async (tag: string): Promise<boolean> => {
      captionPrefs.set({ spoken: tag });
      try {
        await this.signaling.request("captions.spoken", { language: tag });
        return true;
      } catch (err) {
        this.toast("error", captionsError(err));
        return false;
      }
    },
  };

  private async captionsCall(type: "captions.start" | "captions.stop"): Promise<boolean> {
    try {
      await this.signaling.request(type, {});
      return true;
    } catch (err) {
      this.toast("error", captionsError(err));
      return false;
    }
  }

  /**
   * Tells the server what this connection reads, when the reader's choices say something else.
   * The state follows at once (events already on the way are read or dropped accordingly).
   */
  private async syncReading(): Promise<void> {
    if (!this.inMeeting) return;
    const wanted: Reading = readingOf(captionPrefs.value, language.value, this._state.captions.info);
    const before = this._state.captions.reading;
    if (wanted === before) return;
    this.update({ ...this._state, captions: setReading(this._state.captions, wanted) });
    try {
      const reply = await this.signaling.request("captions.read", { reading: wanted });
      if (reply.reading !== this._state.captions.reading) {
        this.update({ ...this._state, captions: setReading(this._state.captions, reply.reading) });
      }
    } catch (err) {
      // Reading stays what the server has; the choice is tried again on the next change or join.
      if (this._state.captions.reading === wanted) {
        this.update({ ...this._state, captions: setReading(this._state.captions, before) });
      }
      this.toast("warn", captionsError(err));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Interpretation (the logic is in ./interpretation)
  // ---------------------------------------------------------------------------------------------

  readonly interpretation = new InterpretationActions({
    state: () => this._state.interpretation,
    update: (interpretation) => {
      this.update({ ...this._state, interpretation });
      this.updateSubscriptions();
    },
    connected: () => this.inMeeting,
    request: (type, data) => this.signaling.request(type, data),
    toast: (err) => this.toast("warn", describeError(err)),
  });

  // ---------------------------------------------------------------------------------------------
  // Audience interaction: bullet comments, Q&A, polls (the logic is in ./interaction)
  // ---------------------------------------------------------------------------------------------

  private readonly interactionPort: InteractionPort = {
    comments: () => this._state.comments,
    qa: () => this._state.qa,
    polls: () => this._state.polls,
    selfId: () => this._state.selfId,
    setComments: (comments) => this.update({ ...this._state, comments }),
    setQa: (qa) => this.update({ ...this._state, qa }),
    setPolls: (polls) => this.update({ ...this._state, polls }),
    request: (type, data) => this.signaling.request(type, data),
  };

  readonly comments = new CommentActions(this.interactionPort);
  readonly qa = new QaActions(this.interactionPort);
  readonly polls = new PollActions(this.interactionPort);

  /** The UI's own changes to the interaction state (a poll card closed, comments taken to fly). */
  updateInteraction(changes: Partial<Pick<RoomState, "comments" | "polls">>): void {
    this.update({ ...this._state, ...changes });
  }

  // ---------------------------------------------------------------------------------------------
  // Events: the audience (the logic is in ./audience) and the livestream (./livestream)
  // ---------------------------------------------------------------------------------------------

  /** Hosts: the audience list, "Allow to speak" (promote) and "Move to audience" (demote). */
  readonly audience = new AudienceActions({
    request: ((type: "audience.list" | "host.promote" | "host.demote", data: never) =>
      this.signaling.request(type, data)) as ConstructorParameters<typeof AudienceActions>[0]["request"],
    toast: (err) => this.toast("error", describeError(err)),
    lowered: (id) => this.update({ ...this._state, audience: withoutHand(this._state.audience, id) }),
  });

  /** Hosts: start and stop the livestream. */
  readonly livestream = new LivestreamActions({
    request: ((type: "livestream.start" | "livestream.stop", data: never) =>
      this.signaling.request(type, data)) as ConstructorParameters<typeof LivestreamActions>[0]["request"],
    toast: (err) => this.toast("error", describeError(err)),
  });

  /** This participant is an event's attendee (watches only). */
  get isAttendee(): boolean {
    return isAttendee(selfInfo(this._state));
  }

  /**
   * An attendee switches between "watching live" (WebRTC, under a second behind) and "watching the
   * stream" (HLS, a few seconds behind). Choosing WebRTC again after it was full tries once more.
   */
  watchWith(view: AudienceView): void {
    const before = this._state.audience;
    const audience = { ...chooseView(before, view), full: view === "webrtc" ? false : before.full };
    this.update({ ...this._state, audience });
    this.updateSubscriptions();
  }

  /**
   * After the device check of a promotion: publish the microphone and camera as chosen there.
   * Also what closing that dialog does (with the devices as they are).
   */
  async joinPanel(): Promise<void> {
    this.update({ ...this._state, audience: setNotice(this._state.audience, null) });
    if (!this.awaitingDeviceCheck) return;
    this.awaitingDeviceCheck = false;
    if (this.isAttendee || this._state.phase !== "joined") return;
    try {
      await this.media.publishMain();
      this.published = true;
    } catch (err) {
      this.toast("error", t("media.error.sendFailed", { reason: describeError(err) }));
    }
    await this.sendMediaState(true);
    this.updateSubscriptions();
  }

  /** The UI showed a demotion's notice. */
  dismissAudienceNotice(): void {
    this.update({ ...this._state, audience: setNotice(this._state.audience, null) });
  }

  /** A panelist from now on: the device check comes first, then `joinPanel` publishes. */
  private async onPromoted(by: PersonRef): Promise<void> {
    this.awaitingDeviceCheck = true;
    // A panelist watches live: the stream would be seconds behind the people they talk with.
    const audience = setNotice({ ...chooseView(this._state.audience, "webrtc"), full: false }, { kind: "promoted", by });
    this.update({ ...this._state, audience });
    this.media.setFeeds(this._state.feeds);
    this.updateSubscriptions();
    this.toast("info", t("audience.promotedToast", { name: by.display_name }));
    // A lecture (or mute on entry) lets a student onto the panel muted: the device check
    // starts with the microphone off, and they unmute when ready to speak.
    if (selfInfo(this._state)?.audio_blocked && this.local.state.micOn) await this.local.setMic(false);
  }

  /** An attendee again: the server cut our feeds; stop the devices and keep watching. */
  private async onDemoted(by: PersonRef): Promise<void> {
    this.awaitingDeviceCheck = false;
    this.published = false;
    this.sentMediaState = null;
    const state = this._state;
    const self = selfInfo(state);
    const participants = new Map(state.participants);
    if (self) participants.set(self.id, { ...self, role: "attendee", audio: false, video: false, hand_raised: false, hand_raised_at: null });
    this.update({
      ...state,
      participants,
      chat: [],
      unread: 0,
      waiting: [],
      audience: setNotice(state.audience, { kind: "demoted", by }),
    });
    await this.media.stopPublishing();
    await this.local.setMic(false);
    await this.local.setCamera(false);
    this.updateSubscriptions();
  }

  /** `subscribe` was refused for capacity: play the livestream instead. */
  private onAudienceFull(): void {
    if (this._state.audience.full) return;
    this.update({ ...this._state, audience: markFull(this._state.audience) });
    this.toast("info", t("audience.fullToast"));
    this.updateSubscriptions();
  }

  /** A media server restart for someone who publishes nothing: a fresh subscriber is enough. */
  private async freshMedia(): Promise<void> {
    await this.media.close(false);
    this.recreateMedia();
    this.media.setIceServers(this.iceServers);
    if (this._state.selfId) this.media.setSelf(this._state.selfId);
    this.media.setFeeds(this._state.feeds);
    this.updateSubscriptions();
  }

  /** The signaling client as the media engine sees it: a full audience is noticed on the way. */
  private readonly mediaPort: SignalingPort = {
    request: <K extends RequestType>(type: K, data: RequestData<K>, options?: RequestOptions) =>
      this.signaling.request(type, data, options).catch((err: unknown) => {
        if (type === "subscribe" && err instanceof SignalingError && err.code === "audience_full") this.onAudienceFull();
        throw err;
      }),
    notify: <K extends RequestType>(type: K, data: RequestData<K>) => this.signaling.notify(type, data),
  };

  private async hostCall<K extends HostRequest>(type: K, data: RequestData<K>): Promise<boolean> {
    try {
      await this.signaling.request(type, data);
      return true;
    } catch (err) {
      this.toast("error", describeError(err));
      return false;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // What to receive
  // ---------------------------------------------------------------------------------------------

  /** The UI reports which participants' tiles are on screen (their camera video is received). */
  setVisibleParticipants(ids: Iterable<string>, screenFeed: number | null = null): void {
    const visible = new Set<number>();
    const wanted = new Set(ids);
    for (const f of this._state.feeds.values()) {
      if (f.source === "main" && wanted.has(f.participant_id)) visible.add(f.id);
    }
    if (screenFeed !== null) visible.add(screenFeed);
    this.visibleFeeds = visible;
    this.updateSubscriptions();
  }

  /** Tells the engine how big a feed's tile is, for the simulcast layer. */
  setTileHeight(feed: number, height: number): void {
    this.media.setTileHeight(feed, height);
  }

  private updateSubscriptions(): void {
    if (!this.published && this._state.phase !== "joined") return;
    const state = this._state;
    // An attendee playing the livestream receives nothing over WebRTC (the stream has it all).
    if (this.isAttendee && watching(state.audience) === "hls") {
      this.media.setWanted([]);
      return;
    }
    const now = Date.now();
    const refs: StreamRef[] = [];
    const audioCandidates: { ref: StreamRef; rank: number }[] = [];
    for (const feed of state.feeds.values()) {
      // Channel and booth feeds are received only as interpretation asks (below).
      if (feed.participant_id === state.selfId || isInterpretationFeed(feed)) continue;
      const owner = state.participants.get(feed.participant_id);
      for (const stream of feed.streams) {
        const ref = { feed: feed.id, mid: stream.mid };
        if (stream.kind === "video") {
          if (this.visibleFeeds.has(feed.id) || feed.source === "screen") refs.push(ref);
        } else if (feed.source === "screen") {
          refs.push(ref);
        } else {
          const off = this.audioOffSince.get(feed.participant_id);
          const audible = owner?.audio || (off !== undefined && now - off < AUDIO_LINGER_MS);
          if (audible) audioCandidates.push({ ref, rank: state.lastSpoke.get(feed.participant_id) ?? 0 });
        }
      }
    }
    audioCandidates.sort((a, b) => b.rank - a.rank);
    for (const c of audioCandidates.slice(0, MAX_AUDIO_STREAMS)) refs.push(c.ref);
    refs.push(...interpretationRefs(state.interpretation, state.feeds, state.selfId));
    this.media.setWanted(refs);
  }

  // ---------------------------------------------------------------------------------------------
  // Internals
  // ---------------------------------------------------------------------------------------------

  private get inMeeting(): boolean {
    return this._state.phase === "joined" && this.signaling.state === "connected";
  }

  private async enter(snapshot: Snapshot): Promise<void> {
    this.update(applySnapshot(this._state, snapshot));
    this.iceServers = snapshot.ice_servers;
    this.media.setIceServers(snapshot.ice_servers);
    this.interpreter.setIceServers(snapshot.ice_servers);
    this.media.setSelf(snapshot.self.id);
    this.media.setFeeds(this._state.feeds);
    // A meeting that mutes on entry blocks our audio; start muted rather than be refused later.
    if (snapshot.self.audio_blocked && this.local.state.micOn) await this.local.setMic(false);
    if (snapshot.self.video_blocked && this.local.state.cameraOn) await this.local.setCamera(false);
    // An event's attendee watches only (the server never takes a feed from them); a panelist of an
    // event publishes after the device check (see `joinPanel`).
    if (!isAttendee(snapshot.self) && !this.awaitingDeviceCheck) {
      try {
        await this.media.publishMain();
        this.published = true;
      } catch (err) {
        this.toast("error", t("media.error.sendFailed", { reason: describeError(err) }));
      }
      // Publishing marks both as on at the server; say what they really are.
      await this.sendMediaState(true);
    } else if (isAttendee(snapshot.self)) {
      await this.local.setMic(false);
      await this.local.setCamera(false);
    }
    this.updateSubscriptions();
    await this.syncReading();
    await this.interpretation.afterSnapshot(null, false);
    this.syncInterpreter();
  }

  /** Publishes the interpreter's feeds while this participant is one (and only then). */
  private syncInterpreter(): void {
    const state = this._state;
    this.interpreter.sync(state.phase === "joined" && interpreterOf(state.interpretation.info, state.selfId) !== null);
  }

  private wire(): void {
    const s = this.signaling;
    const on = <K extends EventType>(type: K) =>
      this.unsubscribe.push(
        s.on(type, (data) => {
          this.onEvent(type, data);
        }),
      );
    for (const type of [
      "participant.joined",
      "participant.updated",
      "participant.left",
      "feed.added",
      "feed.removed",
      "meeting.updated",
      "chat.message",
      "reaction",
      "speaking",
      "waiting.updated",
      "admitted",
      "moderated",
      "closed",
      "subscriber.offer",
      "media.reset",
      "spotlight.updated",
      "captions.updated",
      "caption",
      "interpretation.updated",
      "interpretation.booth_message",
      "interpretation.signal",
      "audio.quality",
      "audience.updated",
      "audience.promoted",
      "audience.demoted",
      "livestream.updated",
      "comments",
      "comments.hidden",
      "comments.updated",
      "comments.words",
      "reactions",
      "qa.updated",
      "qa.question",
      "qa.removed",
      "poll.updated",
      "poll.deleted",
    ] as const) {
      on(type);
    }
    this.unsubscribe.push(
      s.on("connection.state", (change) => {
        const next: RoomState = {
          ...this._state,
          connection: change.state,
          reconnectAttempt: change.attempt ?? 0,
          connectionError:
            change.state === "disconnected" && change.error && this._state.phase !== "ended"
              ? describeError(change.error)
              : change.state === "connected"
                ? null
                : this._state.connectionError,
        };
        this.update(next);
      }),
      s.on("connection.joined", (reply) => {
        if (!reply.resumed) return;
        void this.onResumed(reply);
      }),
    );
    this.wireMedia();
  }

  private wireMedia(): void {
    this.media.on("remote", (streams) => this.emit("remote", streams));
    this.media.on("quality", (q) => this.emit("quality", q));
    this.media.on("pcstate", (states) => {
      this.emit("pcstate", states);
      this.onPcState(states);
    });
    this.media.on("error", ({ message }) => this.toast("error", message));
    this.media.on("screen", () => this.update({ ...this._state }));
    this.media.on("published", ({ source }) => {
      if (source === "main" && this.published) void this.sendMediaState(true);
    });
  }

  /** ICE of the main publisher or the subscriber lost its path: say so, and check the socket. */
  private onPcState(states: Record<string, string>): void {
    const watched = [states.main, states.subscriber];
    const media: LinkState["media"] = watched.includes("failed")
      ? "failed"
      : watched.includes("disconnected")
        ? "interrupted"
        : "ok";
    if (media === this._link.media) return;
    this.setLink({ ...this._link, media });
    if (media !== "ok") this.probe();
  }

  /**
   * A ping with a short timeout: when it gets no reply the signaling client treats the socket as
   * lost at once and starts resuming (see SignalingClient.send).
   */
  private probe(): void {
    if (this.signaling.state !== "connected") return;
    this.signaling.request("ping", {}, { timeoutMs: PROBE_TIMEOUT_MS }).catch(() => undefined);
  }

  private setLink(link: LinkState): void {
    this._link = link;
    this.emit("link", link);
  }

  private recreateMedia(): void {
    // A fresh engine for a fresh session (the old one is closed).
    (this as { media: MediaEngine }).media = new MediaEngine(this.mediaPort, this.local);
    this.published = false;
    if (this._link.media !== "ok") this.setLink({ ...this._link, media: "ok" });
    this.wireMedia();
  }

  private async onResumed(reply: JoinReply): Promise<void> {
    if (reply.state === "waiting" || !reply.snapshot) {
      this.update({ ...this._state, phase: "waiting" });
      return;
    }
    const wasJoined = this._state.phase === "joined";
    const listening = this._state.interpretation.listening;
    this.update(applySnapshot(this._state, reply.snapshot));
    this.media.setFeeds(this._state.feeds);
    if (!wasJoined) {
      await this.enter(reply.snapshot);
      return;
    }
    const own = reply.snapshot.feeds.filter((f) => f.participant_id === reply.participant_id);
    await this.media.afterResume(own);
    if (!this.interpreter.listedIn(own)) void this.interpreter.republish();
    this.syncInterpreter();
    await this.sendMediaState(true);
    this.updateSubscriptions();
    // The server kept what we read; a choice made while the connection was down is sent now.
    await this.syncReading();
    await this.interpretation.afterSnapshot(listening, true);
  }

  private onEvent<K extends EventType>(type: K, data: Parameters<typeof applyEvent<K>>[2]): void {
    const before = this._state;
    const after = applyEvent(before, type, data, { chatOpen: this.chatOpen });
    if (after !== before) this.update(after);
    if (type === "interpretation.updated") this.syncInterpreter();
    const ev = { type, data } as { [T in EventType]: { type: T; data: Parameters<typeof applyEvent<T>>[2] } }[EventType];
    switch (ev.type) {
      case "admitted":
        void this.enter(ev.data.snapshot);
        break;
      case "participant.updated": {
        const p = ev.data.participant;
        const old = before.participants.get(p.id);
        if (old?.audio && !p.audio) this.audioOffSince.set(p.id, Date.now());
        if (p.audio) this.audioOffSince.delete(p.id);
        if (!old || old.audio !== p.audio) this.updateSubscriptions();
        break;
      }
      case "feed.added":
      case "participant.left":
        this.media.setFeeds(this._state.feeds);
        this.updateSubscriptions();
        break;
      case "feed.removed":
        this.media.setFeeds(this._state.feeds);
        if (ev.data.participant_id === this._state.selfId && !this.isAttendee) void this.media.onOwnFeedRemoved(ev.data.feed);
        this.updateSubscriptions();
        break;
      case "moderated":
        void this.onModerated(ev.data.action, ev.data.by);
        break;
      case "audience.promoted":
        void this.onPromoted(ev.data.by);
        break;
      case "audience.demoted":
        void this.onDemoted(ev.data.by);
        break;
      case "interpretation.updated":
        // A channel's feeds changed (a handover, a machine voice replaced): follow them.
        this.updateSubscriptions();
        break;
      case "captions.updated":
        // The languages offered may change what "the UI's language" means for reading.
        void this.syncReading();
        break;
      case "waiting.updated": {
        const known = new Set(before.waiting.map((w) => w.id));
        const fresh = ev.data.waiting.filter((w) => !known.has(w.id));
        const first = fresh[0];
        if (first && this._state.phase === "joined") {
          const text = fresh.length === 1
            ? t("room.waitingOne", { name: first.display_name })
            : t("room.waitingMany", { count: fresh.length });
          this.toast("info", text, fresh.length === 1
            ? { label: t("panels.admit"), run: () => void this.host.admit(first.id) }
            : { label: t("panels.admitAll"), run: () => void this.host.admit() },
            fresh.map((w) => w.id));
        }
        break;
      }
      case "closed":
        void this.media.close(false);
        void this.interpreter.stop(false);
        this.stopTick();
        break;
      case "subscriber.offer":
        void this.media.handleSubscriberOffer(ev.data.jsep, ev.data.streams);
        break;
      case "media.reset":
        this.media.setFeeds(this._state.feeds);
        if (this._state.phase === "joined" && (this.isAttendee || !this.published)) {
          // Nothing of ours to publish again: a fresh subscriber is all it takes.
          void this.freshMedia();
        } else if (this._state.phase === "joined") {
          void this.media.resetAll().catch((err: unknown) => this.toast("error", describeError(err)));
          void this.interpreter.republish();
        }
        break;
      default:
        break;
    }
  }

  private async onModerated(action: ModerationAction, by: PersonRef): Promise<void> {
    if (action === "audio_muted") {
      await this.local.setMic(false);
    } else if (action === "video_stopped") {
      await this.local.setCamera(false);
    }
    if (action === "unmute_requested") {
      this.toast("info", MODERATION_TEXT[action](by), { label: t("nudge.unmute"), run: () => void this.setMic(true) });
    } else {
      this.toast("info", MODERATION_TEXT[action](by));
    }
  }

  /** Tells the server our microphone and camera state when it differs from what it was told. */
  private async sendMediaState(force = false): Promise<void> {
    if (!this.inMeeting || this.isAttendee || !this.published) return;
    const { micOn, cameraOn } = this.local.state;
    const key = `${micOn}:${cameraOn}`;
    if (!force && this.sentMediaState === key) return;
    this.sentMediaState = key;
    try {
      await this.signaling.request("media.state", { audio: micOn, video: cameraOn });
    } catch {
      this.sentMediaState = null; // try again on the next change or resume
    }
  }

  private finish(ended: RoomState["ended"]): void {
    this.stopTick();
    this.update({ ...this._state, phase: "ended", ended });
  }

  private startTick(): void {
    if (this.tick !== null) return;
    this.tick = setInterval(() => {
      const now = Date.now();
      const expired = expireReactions(this._state, now);
      const captions = expireCaptions(expired.captions, now);
      if (expired !== this._state || captions !== expired.captions) this.update({ ...expired, captions });
      if (this.audioOffSince.size > 0) this.updateSubscriptions();
    }, 1_000);
  }

  private stopTick(): void {
    if (this.tick !== null) clearInterval(this.tick);
    this.tick = null;
  }

  private update(state: RoomState): void {
    this._state = state;
    this.emit("change", state);
  }

  toast(kind: Toast["kind"], text: string, action?: ToastAction, waiting?: readonly string[]): void {
    const toast: Toast = { id: ++this.toastId, kind, text };
    if (action) toast.action = action;
    if (waiting) toast.waiting = waiting;
    this.emit("toast", toast);
  }
}
