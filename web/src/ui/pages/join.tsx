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
import { isolate, language, t as translate } from "../../i18n";
import { useT } from "../../i18n/hook";
import { LanguageMenu } from "../../i18n/menu";

// Error codes with a message of their own in the catalogues ("join.error.<code>").
const JOIN_ERRORS: ReadonlySet<string> = new Set([
  "meeting_not_found", "meeting_ended", "meeting_locked", "meeting_full", "passcode_required",
  "passcode_invalid", "guests_not_allowed", "removed", "rate_limited", "media_unavailable",
]);

function joinError(code: string): string | undefined {
  return JOIN_ERRORS.has(code) ? translate(`join.error.${code}`) : undefined;
}

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
  const t = useT();
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
      setLoadError(err instanceof ConveneError ? (joinError(err.code) ?? err.message) : describeError(err)),
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
      setError(t("join.error.enterName"));
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
        setError(joinError(err.code) ?? (err.code === ClientErrorCode.ConnectionLost || err.code === ClientErrorCode.Timeout
          ? t("join.error.unreachable")
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

  const title = meeting?.title ?? (loadError ? t("join.meetingFallback") : "");
  const guestsBlocked = meeting && isGuest && !meeting.allow_guests;

  return (
    <div class="page">
      <header class="topbar">
        <Brand />
        <LanguageMenu testid="join-language" onChange={(chosen) => chosen && language.choose(chosen)} />
      </header>
      <main class="join" aria-labelledby="join-title">
        <section class="join-preview card">
          <div class="preview-video">
            {localState.cameraOn && localState.videoTrack ? (
              <VideoView track={localState.videoTrack} mirror testid="join-preview" />
            ) : (
              <div class="preview-off" data-testid="join-preview">{t("join.cameraOff")}</div>
            )}
          </div>
          <div class="row center">
            <button type="button" class={`round ${localState.micOn ? "" : "off"}`} data-testid="join-mic-toggle"
              aria-pressed={localState.micOn} aria-label={localState.micOn ? t("join.micOff") : t("join.micOn")}
              onClick={() => void local.setMic(!localState.micOn)}>
              <Icon name={localState.micOn ? "mic" : "micOff"} />
            </button>
            <button type="button" class={`round ${localState.cameraOn ? "" : "off"}`} data-testid="join-camera-toggle"
              aria-pressed={localState.cameraOn} aria-label={localState.cameraOn ? t("join.cameraOffAction") : t("join.cameraOn")}
              onClick={() => void local.setCamera(!localState.cameraOn)}>
              <Icon name={localState.cameraOn ? "cam" : "camOff"} />
            </button>
            <MicLevel track={localState.micOn ? localState.audioTrack : null} />
          </div>
          {localState.error && <p class="warn" role="status">{localState.error}</p>}
          <DevicePickers local={local} />
        </section>
        <form class="card form join-form" onSubmit={join} data-testid="join-form">
          <h1 id="join-title" data-testid="join-meeting-title"><bdi>{title || t("join.heading")}</bdi></h1>
          {meeting && (
            <p class="muted">
              {isHostView(meeting) ? t("join.youAreHost") : t("join.hostedBy", { name: isolate(meeting.host_name) })}
              {" · "}
              {/* Digits read left to right whatever the page's direction. */}
              <bdi dir="ltr" class="meeting-code-value" data-testid="join-meeting-code" title={t("join.code")}>
                {formatCode(meeting.code)}
              </bdi>
            </p>
          )}
          {!meeting && !loadError && <Spinner label={t("join.lookingUp")} />}
          {loadError && <p class="error" role="alert">{loadError}</p>}
          {meeting?.status === "ended" && <p class="warn">{t("join.ended")}</p>}
          {guestsBlocked ? (
            <p class="warn">
              {t("join.signedInOnly")}{" "}
              <a href={`/signin?next=${encodeURIComponent(`/j/${meetingRef}`)}`} onClick={linkHandler(`/signin?next=${encodeURIComponent(`/j/${meetingRef}`)}`)}>{t("auth.signIn")}</a>
            </p>
          ) : null}
          <label>
            {t("join.yourName")}
            <input type="text" autoComplete="name" maxLength={64} required={isGuest} value={displayName}
              data-testid="join-display-name" onInput={(e) => setDisplayName(e.currentTarget.value)} />
          </label>
          {needPasscode && (
            <label>
              {t("join.passcode")}
              <input type="text" autoComplete="off" maxLength={32} value={passcode} data-testid="join-passcode"
                onInput={(e) => setPasscode(e.currentTarget.value)} />
            </label>
          )}
          {error && <p class="error" role="alert" data-testid="join-error">{error}</p>}
          <button class="btn primary big" type="submit" disabled={joining} data-testid="join-button">
            {joining ? t("join.joining") : t("join.join")}
          </button>
          {isGuest && (
            <p class="muted small">
              {t("join.asGuest")}{" "}
              <a href={`/signin?next=${encodeURIComponent(`/j/${meetingRef}`)}`} onClick={linkHandler(`/signin?next=${encodeURIComponent(`/j/${meetingRef}`)}`)}>{t("auth.signIn")}</a>
            </p>
          )}
        </form>
      </main>
    </div>
  );
}

function WaitingScreen({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  return (
    <div class="page narrow">
      <Brand />
      <section class="card center-text" data-testid="waiting-screen" aria-live="polite">
        <Spinner label={t("waiting.spinner")} />
        <p class="muted">{t("waiting.note")}</p>
        <ConnectionNote state={state} />
        <button class="btn ghost" type="button" data-testid="waiting-leave" onClick={() => void room.leave()}>
          {t("waiting.leave")}
        </button>
      </section>
    </div>
  );
}

function ConnectionNote({ state }: { state: RoomState }) {
  const t = useT();
  return (
    <p class="muted small" data-testid="connection-state" data-state={state.connection}>
      {state.connection === "reconnecting" ? t("connection.reconnecting") : state.connectionError ?? ""}
    </p>
  );
}

// Reasons with a message of their own in the catalogues ("ended.<reason>").
const ENDED_REASONS: ReadonlySet<string> = new Set([
  "removed", "denied", "ended", "replaced", "timeout", "left", "disconnected",
]);

function EndedScreen({ room, state, meetingRef }: { room: Room; state: RoomState; meetingRef: string }) {
  const reason = state.ended?.reason ?? "left";
  const canRejoin = reason === "left" || reason === "timeout" || reason === "disconnected";
  const t = useT();
  return (
    <div class="page narrow">
      <Brand />
      <section class="card center-text" data-testid="ended-screen" data-reason={reason} role="status">
        <h1>{ENDED_REASONS.has(reason) ? t(`ended.${reason}`) : t("ended.other")}</h1>
        {state.ended?.message && <p class="muted">{state.ended.message}</p>}
        <div class="row center">
          {canRejoin && (
            <button class="btn primary" type="button" data-testid="rejoin-button"
              onClick={() => {
                room.dispose();
                // A fresh page (and Room) for the same meeting.
                navigate(`/j/${meetingRef}`, { replace: true, fresh: true });
              }}>
              {t("ended.rejoin")}
            </button>
          )}
          <a class="btn" href="/" onClick={linkHandler("/")} data-testid="home-link">{t("ended.home")}</a>
        </div>
      </section>
    </div>
  );
}
