/**
 * The meeting room: header, stage (grid or speaker view), control bar, side panels, dialogs,
 * toasts, the connection banner and the (hidden) audio players.
 */
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import type { Quality } from "../../engine/quality";
import type { RemoteStream } from "../../engine/subscriber";
import { isHostView } from "../../protocol/rest";
import { isToastCurrent, type Room, type Toast } from "../../room/room";
import { isHostRole, selfInfo, type RoomState } from "../../room/state";
import { copyText, useDismiss, useEvent } from "../hooks";
import { useT } from "../../i18n/hook";
import { Modal } from "../dialog";
import { Icon } from "../icons";
import { formatCode, inviteText } from "../layout";
import { rest } from "../session";
import { ConnectionBanner } from "./connection-banner";
import { preloadReactionFont } from "./emoji";
import { AudioSink, DevicePickers } from "./media-views";
import { SpeakerTest } from "../pages/preview";
import { ChatPanel, ParticipantsPanel, SettingsPanel } from "./panels";
import { CaptionsControls, CaptionsHostToggle, CaptionsIndicator, CaptionsOverlay, CaptionsPanel, CaptionsPolicySetting } from "./captions";
import { Stage, tracksByFeed, type ViewMode } from "./stage";
import { togglePin } from "../layout";
import { MutedNudge } from "./muted-nudge";
import { AudioWarning } from "./audio-warning";
import { InterpretationMenu, useInterpretationMix } from "./interpretation-menu";
import { ConsoleToggle, InterpreterConsole, isSelfInterpreter } from "./console/console";
import { MachineInterpretationSetting } from "./console/host";
import { useNotices, useTabTitle } from "./notices";
import { PresentingBar } from "./presenting";
import { ViewMenu } from "./view-menu";
import { usePopover, useMenu } from "../keyboard";
import { ShortcutHelp, useShortcuts } from "../shortcuts";
import { AudienceCount, AudienceStage, LiveBadge, WatchSwitch } from "./audience/attendee-view";
import { AudiencePanel } from "./audience/audience-panel";
import { LivestreamControls } from "./audience/livestream-controls";
import { ModeSetting } from "./audience/mode";
import { PromotionNotice } from "./audience/promotion";
import { isAttendee, isEventMode, watching } from "../../room/audience";
import { CommentBar, CommentsOverlay, CommentsPanel, PollCard, PollsPanel, QaPanel, ReactionBursts, InteractionButtons, InteractionSettings } from "./interaction";

type Panel = "chat" | "people" | "settings" | "captions" | "comments" | "qa" | "polls" | "audience" | null;

const REACTIONS = ["👍", "👏", "😂", "😮", "❤️", "🎉"];

export function MeetingView({ room, meetingRef }: { room: Room; meetingRef: string }) {
  const state = useEvent(room, "change", room.state);
  const remote = useEvent(room, "remote", [] as RemoteStream[]);
  const quality = useEvent(room, "quality", new Map() as ReadonlyMap<string, Quality>);
  const local = useEvent(room.local, "change", room.local.state);
  const [panel, setPanel] = useState<Panel>(null);
  const [view, setView] = useState<ViewMode>("grid");
  const [dialog, setDialog] = useState<"leave" | "invite" | "shortcuts" | null>(null);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [audioBlocked, setAudioBlocked] = useState(false);
  // Tiles pinned by this person, for themselves (beside whoever a host spotlighted).
  const [pins, setPins] = useState<string[]>([]);
  // Interpreters see their console beside the stage unless they hide it.
  const [consoleOn, setConsoleOn] = useState(true);
  const onPin = useCallback((id: string) => setPins((list) => togglePin(list, id)), []);
  useNotices(room, panel === "chat", () => setPanel("chat"));
  useTabTitle(state);
  const self = selfInfo(state);
  const moderator = isHostRole(self);
  // An event's attendee watches the program big, without publishing controls (./audience).
  const attendee = isAttendee(self);
  const event = isEventMode(state.meeting);
  const streaming = attendee && watching(state.audience) === "hls";
  const tracks = useMemo(() => tracksByFeed(remote), [remote]);
  const localScreen = room.media.screenShareTrack;

  useEffect(preloadReactionFont, []);

  // Toasts come and go by themselves; ones with an action stay a little longer.
  useEffect(
    () =>
      room.on("toast", (toast) => {
        setToasts((list) => [...list.slice(-3), toast]);
        setTimeout(() => setToasts((list) => list.filter((t) => t.id !== toast.id)), toast.action ? 10_000 : 6_000);
      }),
    [room],
  );

  // "X is waiting to join" goes as soon as X is admitted (from the panel too), denied or leaves.
  useEffect(() => {
    setToasts((list) => {
      const current = list.filter((t) => isToastCurrent(t, state));
      return current.length === list.length ? list : current;
    });
  }, [state.waiting]);

  // A new screen share takes the stage, as people expect.
  const sharing = [...state.feeds.values()].some((f) => f.source === "screen") || !!localScreen;
  useEffect(() => {
    if (sharing || attendee) setView("speaker");
  }, [sharing, attendee]);

  // Keyboard shortcuts (not while typing; listed in the help that `?` opens).
  useShortcuts({
    mic: () => void room.setMic(!room.local.state.micOn),
    camera: () => void room.setCamera(!room.local.state.cameraOn),
    hand: () => void room.setHand(!selfInfo(room.state)?.hand_raised),
    chat: () => !attendee && setPanel((p) => (p === "chat" ? null : "chat")),
    people: () => setPanel((p) => (p === "people" ? null : "people")),
    help: () => setDialog("shortcuts"),
    close: () => setPanel(null),
  });

  const closePanel = useCallback(() => setPanel(null), []);
  const t = useT();
  const audioTracks = remote.filter((s) => s.kind === "audio" && s.track);
  // While a language channel plays, WebAudio mixes the floor under it (see interpretation-menu).
  const mixing = useInterpretationMix(room, state, remote, local.speakerDeviceId);

  return (
    <div class={`meeting ${panel ? "with-panel" : ""}`} data-testid="meeting-room" data-participant-id={state.selfId ?? ""}
      data-role={self?.role ?? ""}>
      <ConnectionBanner room={room} state={state} />
      {audioBlocked && (
        <div class="banner show" role="status">
          <span>{t("meeting.soundPaused")}</span>
          <button type="button" class="btn small" data-testid="enable-audio"
            onClick={() => {
              for (const el of document.querySelectorAll<HTMLAudioElement>(".audio-sinks audio")) void el.play().catch(() => undefined);
              setAudioBlocked(false);
            }}>
            {t("meeting.turnOnSound")}
          </button>
        </div>
      )}
      <PresentingBar room={room} />
      <header class="meeting-head">
        <div class="meeting-title">
          {state.meeting?.locked && <Icon name="lock" size={16} aria-label={t("meeting.locked")} />}
          <h1 data-testid="meeting-title" dir="auto"><bdi>{state.meeting?.title ?? t("join.meetingFallback")}</bdi></h1>
          <span class="muted small meeting-code" dir="ltr">{state.meeting ? formatCode(state.meeting.code) : ""}</span>
          <CaptionsIndicator state={state} />
          <LiveBadge state={state} />
          <AudienceCount state={state} />
        </div>
        <div class="row">
          <button type="button" class="btn ghost small" data-testid="invite-button" aria-label={t("meeting.invitePeople")} onClick={() => setDialog("invite")}>
            <Icon name="info" size={16} /> <span class="btn-label">{t("meeting.invite")}</span>
          </button>
          <ViewMenu />
          {!attendee && <button type="button" class="btn ghost small" data-testid="view-toggle"
            aria-label={view === "grid" ? t("meeting.toSpeakerView") : t("meeting.toGridView")}
            onClick={() => setView(view === "grid" ? "speaker" : "grid")}>
            <Icon name={view === "grid" ? "speaker" : "grid"} size={16} />{" "}
            <span class="btn-label">{view === "grid" ? t("meeting.speakerView") : t("meeting.gridView")}</span>
          </button>}
          <button type="button" class="btn ghost small shortcuts-button" data-testid="shortcuts-button" aria-haspopup="dialog"
            aria-label={t("shortcuts.title")} aria-keyshortcuts="?" onClick={() => setDialog("shortcuts")}>
            <Icon name="keyboard" size={16} /> <span class="btn-label">{t("shortcuts.button")}</span>
          </button>
          <ConsoleToggle state={state} on={consoleOn} onToggle={() => setConsoleOn(!consoleOn)} />
          <CaptionsHostToggle room={room} state={state} />
          {moderator && event && (
            <button type="button" class="btn ghost small audience-button" data-testid="audience-button" aria-pressed={panel === "audience"}
              onClick={() => setPanel(panel === "audience" ? null : "audience")}>
              <Icon name="people" size={16} /> <span class="btn-label">{t("audience.button")}</span>
              {state.audience.hands.length > 0 && <span class="count" data-testid="audience-hands-count" aria-hidden="true">{state.audience.hands.length}</span>}
              {state.audience.hands.length > 0 && <span class="sr-only">{t("audience.handsWaiting", { count: state.audience.hands.length })}</span>}
            </button>
          )}
          {moderator && (
            <button type="button" class="btn ghost small" data-testid="settings-button" aria-label={t("meeting.settings")} aria-pressed={panel === "settings"}
              onClick={() => setPanel(panel === "settings" ? null : "settings")}>
              <Icon name="settings" size={16} /> <span class="btn-label">{t("nav.settings")}</span>
            </button>
          )}
        </div>
      </header>
      <main class="meeting-body">
        <AudienceStage room={room} state={state}>
          <Stage room={room} state={state} view={attendee ? "speaker" : view} tracks={tracks} quality={quality}
            localVideo={local.cameraOn ? local.videoTrack : null} localScreen={localScreen} localMicOn={local.micOn}
            pins={pins} onPin={onPin} />
        </AudienceStage>
        {/* The stream carries its own subtitles, in time with its (later) picture. */}
        {!streaming && <CaptionsOverlay state={state} />}
        <CommentsOverlay room={room} state={state} />
        <ReactionBursts state={state} />
        <PollCard room={room} state={state} />
        {consoleOn && isSelfInterpreter(state) && <InterpreterConsole room={room} state={state} />}
        {panel === "chat" && <ChatPanel room={room} state={state} onClose={closePanel} />}
        {panel === "people" && <ParticipantsPanel room={room} state={state} onClose={closePanel} />}
        {panel === "settings" && moderator && (
          <SettingsPanel room={room} state={state} onClose={closePanel}>
            <CaptionsPolicySetting room={room} state={state} />
            <MachineInterpretationSetting room={room} state={state} />
            <InteractionSettings room={room} state={state} />
            <ModeSetting room={room} state={state} />
            {!event && <LivestreamControls room={room} state={state} />}
          </SettingsPanel>
        )}
        {panel === "captions" && <CaptionsPanel state={state} onClose={closePanel} />}
        {panel === "audience" && moderator && <AudiencePanel room={room} state={state} onClose={closePanel} />}
        {panel === "comments" && <CommentsPanel room={room} state={state} onClose={closePanel} />}
        {panel === "qa" && <QaPanel room={room} state={state} onClose={closePanel} />}
        {panel === "polls" && <PollsPanel room={room} state={state} onClose={closePanel} />}
      </main>
      <CommentBar room={room} state={state} panelOpen={panel === "comments"}
        onTogglePanel={() => setPanel(panel === "comments" ? null : "comments")} />
      <ControlBar room={room} state={state} panel={panel} setPanel={setPanel} onLeave={() => {
        if (self?.role === "host") setDialog("leave");
        else void room.leave();
      }} />
      {dialog === "leave" && <LeaveDialog room={room} state={state} onClose={() => setDialog(null)} />}
      {dialog === "invite" && <InviteDialog state={state} meetingRef={meetingRef} onClose={() => setDialog(null)} />}
      {dialog === "shortcuts" && <ShortcutHelp onClose={() => setDialog(null)} />}
      <PromotionNotice room={room} state={state} />
      <MutedNudge room={room} state={state} />
      <AudioWarning room={room} state={state} />
      <div class="toasts" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} class={`toast ${t.kind}`} role={t.kind === "error" ? "alert" : "status"} data-testid="toast">
            <span>{t.text}</span>
            {t.action && (
              <button type="button" class="btn small" data-testid="toast-action" onClick={() => {
                t.action?.run();
                setToasts((list) => list.filter((x) => x.id !== t.id));
              }}>{t.action.label}</button>
            )}
          </div>
        ))}
      </div>
      <div class="audio-sinks" aria-hidden="true">
        {audioTracks.map((s) => s.track && (
          <AudioSink key={`${s.mid}-${s.track.id}`} track={s.track} sinkId={local.speakerDeviceId}
            muted={mixing && state.feeds.get(s.feed)?.source !== "booth"} onBlocked={() => setAudioBlocked(true)} />
        ))}
      </div>
    </div>
  );
}

function ControlBar({ room, state, panel, setPanel, onLeave }: {
  room: Room;
  state: RoomState;
  panel: Panel;
  setPanel: (p: Panel) => void;
  onLeave: () => void;
}) {
  const local = useEvent(room.local, "change", room.local.state);
  const self = selfInfo(state);
  const [menu, setMenu] = useState<"devices" | "reactions" | null>(null);
  const closeMenu = useCallback(() => setMenu(null), []);
  const menuRef = useDismiss<HTMLDivElement>(menu !== null, closeMenu);
  const popup = (which: "devices" | "reactions") => (open: boolean) =>
    setMenu((m) => (open ? which : m === which ? null : m));
  const reactionsMenu = useMenu(menu === "reactions", popup("reactions"), { orientation: "horizontal" });
  const devicesPopover = usePopover(menu === "devices", popup("devices"));
  const sharing = room.media.sharing;
  const canShare = typeof navigator !== "undefined" && !!navigator.mediaDevices?.getDisplayMedia;
  const shareAllowed = state.meeting?.screen_share !== "hosts" || isHostRole(self);
  const waitingCount = isHostRole(self) ? state.waiting.length : 0;
  // An event's attendee has nothing to publish and no chat with the panel.
  const attendee = isAttendee(self);
  const t = useT();

  return (
    <nav class="controls" aria-label={t("controls.label")} ref={menuRef} data-attendee={attendee ? "true" : "false"}>
      {attendee && (
        <div class="control-group">
          <WatchSwitch room={room} state={state} />
        </div>
      )}
      {!attendee && <div class="control-group">
        <button type="button" class={`control ${local.micOn ? "" : "off"}`} data-testid="mute-button"
          data-muted={local.micOn ? "false" : "true"} aria-pressed={!local.micOn} aria-keyshortcuts="M"
          onClick={() => void room.setMic(!local.micOn)}>
          <Icon name={local.micOn ? "mic" : "micOff"} />
          <span class="control-label">{local.micOn ? t("controls.mute") : t("controls.unmute")}</span>
        </button>
        <button type="button" class={`control ${local.cameraOn ? "" : "off"}`} data-testid="camera-button"
          data-camera={local.cameraOn ? "on" : "off"} aria-pressed={!local.cameraOn} aria-keyshortcuts="V"
          onClick={() => void room.setCamera(!local.cameraOn)}>
          <Icon name={local.cameraOn ? "cam" : "camOff"} />
          <span class="control-label">{local.cameraOn ? t("controls.stopVideo") : t("controls.startVideo")}</span>
        </button>
        <button type="button" class="control narrow" data-testid="devices-button" aria-haspopup="dialog"
          aria-expanded={menu === "devices"} aria-label={t("controls.chooseDevices")}
          ref={devicesPopover.buttonRef} onKeyDown={devicesPopover.onButtonKeyDown}
          onClick={() => setMenu(menu === "devices" ? null : "devices")}>
          <Icon name="settings" />
        </button>
        {menu === "devices" && (
          <div class="popover devices-popover" role="dialog" aria-label={t("controls.devices")} data-testid="devices-popover"
            ref={devicesPopover.popupRef} onKeyDown={devicesPopover.onPopupKeyDown}>
            <DevicePickers local={room.local} compact />
            <SpeakerTest local={room.local} />
          </div>
        )}
      </div>}
      <div class="control-group">
        {canShare && !attendee && (
          <button type="button" class={`control ${sharing ? "active" : ""}`} data-testid="share-screen-button"
            aria-pressed={sharing} disabled={!shareAllowed && !sharing}
            title={shareAllowed ? undefined : t("controls.shareHostsOnly")}
            onClick={() => void room.toggleScreenShare()}>
            <Icon name="screen" />
            <span class="control-label">{sharing ? t("controls.stopShare") : t("controls.share")}</span>
          </button>
        )}
        <div class="menu-wrap">
          <button type="button" class="control" data-testid="reactions-button" aria-haspopup="menu"
            aria-expanded={menu === "reactions"} ref={reactionsMenu.buttonRef} onKeyDown={reactionsMenu.onButtonKeyDown}
            onClick={() => setMenu(menu === "reactions" ? null : "reactions")}>
            <Icon name="smile" />
            <span class="control-label">{t("controls.react")}</span>
          </button>
          {menu === "reactions" && (
            <div class="popover reactions-popover" role="menu" aria-label={t("controls.reactions")} aria-orientation="horizontal"
              data-testid="reactions-menu" ref={reactionsMenu.popupRef} onKeyDown={reactionsMenu.onPopupKeyDown}>
              {REACTIONS.map((emoji) => (
                <button key={emoji} type="button" role="menuitem" tabIndex={-1} class="emoji" data-testid="reaction-option"
                  data-emoji={emoji} aria-label={t("controls.reactWith", { emoji })}
                  onClick={() => {
                    setMenu(null);
                    void room.react(emoji);
                  }}>
                  {emoji}
                </button>
              ))}
            </div>
          )}
        </div>
        <button type="button" class={`control ${self?.hand_raised ? "active" : ""}`} data-testid="raise-hand-button"
          aria-pressed={!!self?.hand_raised} aria-keyshortcuts="H" onClick={() => void room.setHand(!self?.hand_raised)}>
          <Icon name="hand" />
          <span class="control-label">{self?.hand_raised ? t("controls.lowerHand") : t("controls.raiseHand")}</span>
        </button>
        <InterpretationMenu room={room} state={state} />
        <CaptionsControls room={room} state={state} panelOpen={panel === "captions"}
          onTogglePanel={() => setPanel(panel === "captions" ? null : "captions")} />
        {!attendee && <button type="button" class={`control ${panel === "chat" ? "active" : ""}`} data-testid="chat-button"
          aria-pressed={panel === "chat"} aria-keyshortcuts="C"
          onClick={() => setPanel(panel === "chat" ? null : "chat")}>
          <Icon name="chat" />
          {/* The name is the visible label; the badge is said in words. */}
          <span class="control-label">{t("controls.chat")}</span>
          {state.unread > 0 && <span class="count" data-testid="chat-unread" aria-hidden="true">{state.unread > 99 ? "99+" : state.unread}</span>}
          {state.unread > 0 && <span class="sr-only">{t("controls.unread", { count: state.unread })}</span>}
        </button>}
        <InteractionButtons state={state} panel={panel} toggle={(p) => setPanel(panel === p ? null : p)} />
        <button type="button" class={`control ${panel === "people" ? "active" : ""}`} data-testid="participants-button"
          aria-pressed={panel === "people"} aria-keyshortcuts="P"
          onClick={() => setPanel(panel === "people" ? null : "people")}>
          <Icon name="people" />
          <span class="control-label">{t("controls.people", { count: state.participants.size })}</span>
          {waitingCount > 0 && <span class="count" data-testid="waiting-count" aria-hidden="true">{waitingCount}</span>}
          {waitingCount > 0 && <span class="sr-only">{t("controls.waiting", { count: waitingCount })}</span>}
        </button>
      </div>
      <div class="control-group leave-group">
        <button type="button" class="control leave" data-testid="leave-button" onClick={onLeave}>
          <Icon name="leave" />
          <span class="control-label">{t("waiting.leave")}</span>
        </button>
      </div>
    </nav>
  );
}

/** A meeting dialog: the shared Modal (focus kept inside, Escape closes, focus returns). */
function Dialog({ title, onClose, children, testid, initialFocus }: {
  title: string;
  onClose: () => void;
  children: preact.ComponentChildren;
  testid: string;
  initialFocus?: string;
}) {
  return (
    <Modal title={title} onClose={onClose} testid={testid} closeOnOutside initialFocus={initialFocus}>
      {children}
    </Modal>
  );
}

function LeaveDialog({ room, state, onClose }: { room: Room; state: RoomState; onClose: () => void }) {
  const others = [...state.participants.values()].filter((p) => p.id !== state.selfId);
  const [heir, setHeir] = useState("");
  const [busy, setBusy] = useState(false);
  const t = useT();
  return (
    <Dialog title={t("leave.title")} onClose={onClose} testid="leave-dialog"
      initialFocus='[data-testid="leave-meeting-button"]'>
      <p class="muted">{t("leave.hostNote")}</p>
      <button type="button" class="btn danger big" data-testid="end-for-all-button" disabled={busy}
        onClick={() => {
          setBusy(true);
          room.endForAll().catch(() => setBusy(false));
        }}>
        {t("leave.endForAll")}
      </button>
      {others.length > 0 && (
        <label>
          {t("leave.transfer")}
          <select value={heir} data-testid="transfer-host-select" onChange={(e) => setHeir(e.currentTarget.value)}>
            <option value="">{t("leave.letMeetingChoose")}</option>
            {others.map((p) => <option key={p.id} value={p.id} dir="auto">{p.display_name}</option>)}
          </select>
        </label>
      )}
      <button type="button" class="btn big" data-testid="leave-meeting-button" disabled={busy}
        onClick={async () => {
          setBusy(true);
          if (heir) await room.host.transfer(heir);
          await room.leave();
        }}>
        {t("leave.leave")}
      </button>
      <button type="button" class="btn ghost" onClick={onClose}>{t("common.cancel")}</button>
    </Dialog>
  );
}

function InviteDialog({ state, meetingRef, onClose }: { state: RoomState; meetingRef: string; onClose: () => void }) {
  const [url, setUrl] = useState<string | null>(/^\d{9}$/.test(meetingRef) ? null : `${location.origin}/j/${meetingRef}`);
  const [passcode, setPasscode] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const code = state.meeting?.code ?? "";
  const t = useT();

  // The host's REST view has the link and the passcode; others share what they know.
  useEffect(() => {
    rest.getMeeting(meetingRef).then((m) => {
      if (isHostView(m)) {
        setUrl(m.join_url);
        setPasscode(m.passcode);
      }
    }, () => undefined);
  }, [meetingRef]);

  const text = inviteText({ title: state.meeting?.title ?? "Meeting", url, code, passcode });
  return (
    <Dialog title={t("meeting.invitePeople")} onClose={onClose} testid="invite-dialog">
      <dl class="invite">
        {url && (<><dt>{t("invite.link")}</dt><dd data-testid="invite-link" dir="ltr">{url}</dd></>)}
        <dt>{t("join.code")}</dt>
        <dd data-testid="invite-code" dir="ltr">{formatCode(code)}</dd>
        {passcode && (<><dt>{t("join.passcode")}</dt><dd data-testid="invite-passcode" dir="ltr">{passcode}</dd></>)}
      </dl>
      <pre class="invite-text" data-testid="invite-text">{text}</pre>
      <div class="row">
        <button type="button" class="btn primary" data-testid="copy-invite-button"
          onClick={async () => {
            setCopied(await copyText(text));
            setTimeout(() => setCopied(false), 2000);
          }}>
          <Icon name="copy" size={16} /> {copied ? t("home.copied") : t("home.copyInvite")}
        </button>
        <button type="button" class="btn ghost" onClick={onClose}>{t("common.close")}</button>
      </div>
    </Dialog>
  );
}
