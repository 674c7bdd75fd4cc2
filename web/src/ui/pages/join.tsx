import { useEffect, useMemo, useState } from "preact/hooks";
import { ClientErrorCode, ConveneError, describeError } from "../../protocol/errors";
import { isHostView, type Meeting, type MeetingPublic } from "../../protocol/rest";
import { LocalMedia } from "../../engine/local";
import { Room } from "../../room/room";
import type { RoomState } from "../../room/state";
import { useEvent } from "../hooks";
import { Icon } from "../icons";
import { formatCode } from "../layout";
import { linkHandler, navigate } from "../router";
import { loadPrefs, rest, savePrefs, useSession } from "../session";
import { setCurrentRoom } from "../testhook";
import { DevicePickers, MicLevel, VideoView } from "../meeting/media-views";
import { MeetingView } from "../meeting/meeting";
import { Brand, Spinner } from "./common";

const JOIN_ERRORS: Partial<Record<string, string>> = {
  meeting_not_found: "There is no meeting with this code or link.",
  meeting_ended: "This meeting has ended.",
  meeting_locked: "The host has locked this meeting.",
  meeting_full: "This meeting is full.",
  passcode_required: "This meeting needs a passcode.",
  passcode_invalid: "That passcode is not right.",
  guests_not_allowed: "Only signed-in users can join this meeting.",
  removed: "You were removed from this meeting and cannot join again.",
  rate_limited: "Too many attempts. Wait a moment and try again.",
  media_unavailable: "The media server is not available right now. Try again shortly.",
};

export function JoinPage({ meetingRef, enter }: { meetingRef: string; enter: boolean }) {
  const local = useMemo(() => new LocalMedia(), []);
  const room = useMemo(() => new Room(local), [local]);
  const state = useEvent(room, "change", room.state);

  useEffect(() => {
    setCurrentRoom(room);
    const onUnload = () => room.dispose();
    addEventListener("pagehide", onUnload);
    return () => {
      removeEventListener("pagehide", onUnload);
      setCurrentRoom(null);
      room.dispose();
      local.stop();
    };
  }, [room, local]);

  // Lets the e2e tests and people see the meeting's phase in the DOM.
  const phase = state.phase;
  if (phase === "joined") return <MeetingView room={room} meetingRef={meetingRef} />;
  if (phase === "waiting") return <WaitingScreen room={room} state={state} />;
  if (phase === "ended") return <EndedScreen room={room} state={state} meetingRef={meetingRef} />;
  return <JoinForm room={room} local={local} meetingRef={meetingRef} enter={enter} joining={phase === "joining"} />;
}

function JoinForm({ room, local, meetingRef, enter, joining }: {
  room: Room;
  local: LocalMedia;
  meetingRef: string;
  enter: boolean;
  joining: boolean;
}) {
  const info = useSession();
  const localState = useEvent(local, "change", local.state);
  const [meeting, setMeeting] = useState<Meeting | MeetingPublic | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const prefs = useMemo(loadPrefs, []);
  const [displayName, setDisplayName] = useState(prefs.displayName);
  const [passcode, setPasscode] = useState("");
  const [needPasscode, setNeedPasscode] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const byCode = /^\d{9}$/.test(meetingRef);

  useEffect(() => {
    rest.getMeeting(meetingRef).then(setMeeting, (err: unknown) =>
      setLoadError(err instanceof ConveneError ? (JOIN_ERRORS[err.code] ?? err.message) : describeError(err)),
    );
  }, [meetingRef]);

  useEffect(() => {
    if (info && !displayName) setDisplayName(info.user.display_name);
  }, [info]); // only when the session arrives, not on every keystroke

  // Start the preview with the devices used last time.
  useEffect(() => {
    if (prefs.mic) void local.setMic(true);
    if (prefs.camera) void local.setCamera(true);
  }, [local, prefs]);

  useEffect(() => {
    if (meeting && !isHostView(meeting) && byCode && meeting.requires_passcode) setNeedPasscode(true);
  }, [meeting, byCode]);

  const isGuest = info === null;
  const join = async (ev?: Event) => {
    ev?.preventDefault();
    setError(null);
    const name = displayName.trim();
    if (isGuest && !name) {
      setError("Enter your name.");
      return;
    }
    savePrefs({ displayName: name, mic: localState.micOn, camera: localState.cameraOn });
    try {
      await room.join({
        meeting: meetingRef,
        ...(passcode.trim() ? { passcode: passcode.trim() } : {}),
        ...(name ? { displayName: name } : {}),
      });
    } catch (err) {
      if (err instanceof ConveneError) {
        if (err.code === "passcode_required" || err.code === "passcode_invalid") setNeedPasscode(true);
        setError(JOIN_ERRORS[err.code] ?? (err.code === ClientErrorCode.ConnectionLost || err.code === ClientErrorCode.Timeout
          ? "Could not reach the meeting. Check your connection and try again."
          : err.message));
      } else {
        setError(describeError(err));
      }
    }
  };

  // "New meeting" enters at once; the host can fix devices inside.
  const [autoTried, setAutoTried] = useState(false);
  useEffect(() => {
    if (enter && !autoTried && info !== undefined) {
      setAutoTried(true);
      navigate(`/j/${meetingRef}`, { replace: true });
      void join();
    }
  }, [enter, autoTried, info]); // join() reads the latest form state itself

  const title = meeting?.title ?? (loadError ? "Meeting" : "");
  const guestsBlocked = meeting && isGuest && !meeting.allow_guests;

  return (
    <div class="page">
      <header class="topbar"><Brand /></header>
      <main class="join" aria-labelledby="join-title">
        <section class="join-preview card">
          <div class="preview-video">
            {localState.cameraOn && localState.videoTrack ? (
              <VideoView track={localState.videoTrack} mirror testid="join-preview" />
            ) : (
              <div class="preview-off" data-testid="join-preview">Camera is off</div>
            )}
          </div>
          <div class="row center">
            <button type="button" class={`round ${localState.micOn ? "" : "off"}`} data-testid="join-mic-toggle"
              aria-pressed={localState.micOn} aria-label={localState.micOn ? "Turn microphone off" : "Turn microphone on"}
              onClick={() => void local.setMic(!localState.micOn)}>
              <Icon name={localState.micOn ? "mic" : "micOff"} />
            </button>
            <button type="button" class={`round ${localState.cameraOn ? "" : "off"}`} data-testid="join-camera-toggle"
              aria-pressed={localState.cameraOn} aria-label={localState.cameraOn ? "Turn camera off" : "Turn camera on"}
              onClick={() => void local.setCamera(!localState.cameraOn)}>
              <Icon name={localState.cameraOn ? "cam" : "camOff"} />
            </button>
            <MicLevel track={localState.micOn ? localState.audioTrack : null} />
          </div>
          {localState.error && <p class="warn" role="status">{localState.error}</p>}
          <DevicePickers local={local} />
        </section>
        <form class="card form join-form" onSubmit={join} data-testid="join-form">
          <h1 id="join-title" data-testid="join-meeting-title">{title || "Join meeting"}</h1>
          {meeting && (
            <p class="muted">
              {isHostView(meeting) ? "You are the host." : `Hosted by ${meeting.host_name}`} · {formatCode(meeting.code)}
            </p>
          )}
          {!meeting && !loadError && <Spinner label="Looking up the meeting…" />}
          {loadError && <p class="error" role="alert">{loadError}</p>}
          {meeting?.status === "ended" && <p class="warn">This meeting has ended.</p>}
          {guestsBlocked ? (
            <p class="warn">
              Only signed-in users can join.{" "}
              <a href={`/signin?next=${encodeURIComponent(`/j/${meetingRef}`)}`} onClick={linkHandler(`/signin?next=${encodeURIComponent(`/j/${meetingRef}`)}`)}>Sign in</a>
            </p>
          ) : null}
          <label>
            Your name
            <input type="text" autoComplete="name" maxLength={64} required={isGuest} value={displayName}
              data-testid="join-display-name" onInput={(e) => setDisplayName(e.currentTarget.value)} />
          </label>
          {needPasscode && (
            <label>
              Passcode
              <input type="text" autoComplete="off" maxLength={32} value={passcode} data-testid="join-passcode"
                onInput={(e) => setPasscode(e.currentTarget.value)} />
            </label>
          )}
          {error && <p class="error" role="alert" data-testid="join-error">{error}</p>}
          <button class="btn primary big" type="submit" disabled={joining} data-testid="join-button">
            {joining ? "Joining…" : "Join"}
          </button>
          {isGuest && (
            <p class="muted small">
              Joining as a guest.{" "}
              <a href={`/signin?next=${encodeURIComponent(`/j/${meetingRef}`)}`} onClick={linkHandler(`/signin?next=${encodeURIComponent(`/j/${meetingRef}`)}`)}>Sign in</a>
            </p>
          )}
        </form>
      </main>
    </div>
  );
}

function WaitingScreen({ room, state }: { room: Room; state: RoomState }) {
  return (
    <div class="page narrow">
      <Brand />
      <section class="card center-text" data-testid="waiting-screen" aria-live="polite">
        <Spinner label="Waiting for the host to let you in…" />
        <p class="muted">You'll enter the meeting as soon as the host admits you.</p>
        <ConnectionNote state={state} />
        <button class="btn ghost" type="button" data-testid="waiting-leave" onClick={() => void room.leave()}>
          Leave
        </button>
      </section>
    </div>
  );
}

function ConnectionNote({ state }: { state: RoomState }) {
  return (
    <p class="muted small" data-testid="connection-state" data-state={state.connection}>
      {state.connection === "reconnecting" ? "Reconnecting…" : state.connectionError ?? ""}
    </p>
  );
}

const ENDED_TEXT: Record<string, string> = {
  removed: "You were removed from the meeting.",
  denied: "The host did not let you in.",
  ended: "The host ended the meeting for everyone.",
  replaced: "You joined this meeting from another tab or device.",
  timeout: "Your connection to the meeting timed out.",
  left: "You left the meeting.",
  disconnected: "You were disconnected from the meeting.",
};

function EndedScreen({ room, state, meetingRef }: { room: Room; state: RoomState; meetingRef: string }) {
  const reason = state.ended?.reason ?? "left";
  const canRejoin = reason === "left" || reason === "timeout" || reason === "disconnected";
  return (
    <div class="page narrow">
      <Brand />
      <section class="card center-text" data-testid="ended-screen" data-reason={reason} role="status">
        <h1>{ENDED_TEXT[reason] ?? "The meeting is over for you."}</h1>
        {state.ended?.message && <p class="muted">{state.ended.message}</p>}
        <div class="row center">
          {canRejoin && (
            <button class="btn primary" type="button" data-testid="rejoin-button"
              onClick={() => {
                room.dispose();
                // A fresh page (and Room) for the same meeting.
                navigate("/", { replace: true });
                navigate(`/j/${meetingRef}`);
              }}>
              Rejoin
            </button>
          )}
          <a class="btn" href="/" onClick={linkHandler("/")} data-testid="home-link">Back to home</a>
        </div>
      </section>
    </div>
  );
}
