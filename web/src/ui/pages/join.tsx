import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ClientErrorCode, ConveneError, describeError } from "../../protocol/errors";
import { isHostView, type Meeting, type MeetingPublic } from "../../protocol/rest";
import { LocalMedia } from "../../engine/local";
import { Room } from "../../room/room";
import type { RoomState } from "../../room/state";
import { useEvent } from "../hooks";
import { withDefaultDevices } from "../prefs";
import { formatCode } from "../layout";
import { linkHandler, navigate } from "../router";
import { loadPrefs, rest, savePrefs, session, useSession, type Prefs } from "../session";
import { setCurrentRoom } from "../testhook";
import { MeetingView } from "../meeting/meeting";
import { Brand, Spinner } from "./common";
import { DevicePreview } from "./preview";
import { isolate, language, t as translate } from "../../i18n";
import { useT } from "../../i18n/hook";
import { LanguageMenu } from "../../i18n/menu";
import { linkCredential } from "../../protocol/registrations";
import { Registrants } from "./registrants";
import { Attendance } from "./attendance";

// Error codes with a message of their own in the catalogues ("join.error.<code>").
const JOIN_ERRORS: ReadonlySet<string> = new Set([
  "meeting_not_found", "meeting_ended", "meeting_locked", "meeting_full", "passcode_required",
  "passcode_invalid", "guests_not_allowed", "removed", "rate_limited", "media_unavailable",
  "registration_required",
]);

/** The personal credentials a join link may carry: an invitation's, a registrant's. */
function personalLinks(search: string): { invitation: string | null; registration: string | null } {
  const params = new URLSearchParams(search);
  return { invitation: linkCredential(params.get("invite")), registration: linkCredential(params.get("registration")) };
}

function joinError(code: string): string | undefined {
  return JOIN_ERRORS.has(code) ? translate(`join.error.${code}`) : undefined;
}

export function JoinPage({ meetingRef, enter }: { meetingRef: string; enter: boolean }) {
  // The devices chosen in the settings, if any, are the first ones opened.
  const local = useMemo(() => withDefaultDevices(new LocalMedia()), []);
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

/** What the REST lookup found: the meeting, that it cannot be joined, or that it failed. */
type Lookup =
  | { kind: "loading" }
  | { kind: "found"; meeting: Meeting | MeetingPublic }
  // `attendanceOf`: an ended event's id, for its host to read the attendance.
  | { kind: "gone"; code: "meeting_not_found" | "meeting_ended"; attendanceOf?: string }
  | { kind: "failed"; message: string };

function lookupError(err: unknown): Lookup {
  if (err instanceof ConveneError) {
    if (err.code === "meeting_not_found" || err.code === "meeting_ended") return { kind: "gone", code: err.code };
    return { kind: "failed", message: joinError(err.code) ?? err.message };
  }
  return { kind: "failed", message: describeError(err) };
}

/**
 * Starts the preview with the devices to use. The one place that chooses them: the last
 * meeting's microphone and camera switches (the devices themselves are LocalMedia's choice).
 */
function startPreview(local: LocalMedia, prefs: Prefs): void {
  if (prefs.mic) void local.setMic(true);
  if (prefs.camera) void local.setCamera(true);
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
  const [lookup, setLookup] = useState<Lookup>({ kind: "loading" });
  const [lookups, setLookups] = useState(0);
  const prefs = useMemo(loadPrefs, []);
  const [displayName, setDisplayName] = useState(prefs.displayName);
  const [passcode, setPasscode] = useState("");
  const [needPasscode, setNeedPasscode] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [mustRegister, setMustRegister] = useState(false);
  // Read once: the address may lose its query later (?enter=1).
  const [personal] = useState(() => personalLinks(location.search));
  const joinRef = useRef<HTMLButtonElement>(null);
  const byCode = /^\d{9}$/.test(meetingRef);
  const meeting = lookup.kind === "found" ? lookup.meeting : null;

  // Look the meeting up before anything else: no camera and no Join for one that cannot be joined.
  useEffect(() => {
    let current = true;
    setLookup({ kind: "loading" });
    rest.getMeeting(meetingRef).then(
      (found) => current && setLookup(found.status === "ended"
        ? { kind: "gone", code: "meeting_ended", attendanceOf: hostsEvent(found) ? found.id : undefined }
        : { kind: "found", meeting: found }),
      (err: unknown) => current && setLookup(lookupError(err)),
    );
    return () => {
      current = false;
    };
  }, [meetingRef, lookups]);

  useEffect(() => {
    if (info && !displayName) setDisplayName(info.user.display_name);
  }, [info]); // only when the session arrives, not on every keystroke

  const joinable = lookup.kind === "found";
  // In an event most people only watch: no devices before entering (a promoted attendee gets the
  // device check then). Hosts, and those the server says join on the panel, check them as usual.
  const watchOnly =
    !!meeting && !isHostView(meeting) && meeting.mode !== undefined && meeting.mode !== "meeting" && meeting.panelist !== true;
  useEffect(() => {
    if (joinable && !watchOnly) startPreview(local, prefs);
  }, [local, prefs, joinable, watchOnly]);

  // The meeting went away (ended, or never was): the devices go off with the form.
  const gone = lookup.kind === "gone";
  useEffect(() => {
    if (gone) local.stop();
  }, [local, gone]);

  useEffect(() => {
    if (meeting && !isHostView(meeting) && byCode && meeting.requires_passcode) setNeedPasscode(true);
  }, [meeting, byCode]);

  // Straight from "New meeting": the host checks devices and name here too, one key press from
  // entering (the address loses its ?enter=1 so that a reload does not count as a new meeting).
  const [fromNewMeeting] = useState(enter);
  useEffect(() => {
    if (enter) navigate(`/j/${meetingRef}`, { replace: true });
  }, [enter, meetingRef]);
  useEffect(() => {
    if (fromNewMeeting && joinable) joinRef.current?.focus();
  }, [fromNewMeeting, joinable]);

  const isGuest = info === null;
  const join = async (ev?: Event) => {
    ev?.preventDefault();
    setError(null);
    const name = displayName.trim();
    // A registrant joins by the name they registered with.
    if (isGuest && !name && !personal.registration) {
      setError(t("join.error.enterName"));
      return;
    }
    if (!personal.registration) savePrefs({ displayName: name });
    try {
      await room.join({
        meeting: meetingRef,
        ...(passcode.trim() ? { passcode: passcode.trim() } : {}),
        ...(name ? { displayName: name } : {}),
        ...(personal.invitation ? { invitation: personal.invitation } : {}),
        ...(personal.registration ? { registration: personal.registration } : {}),
      });
    } catch (err) {
      if (err instanceof ConveneError) {
        if (err.code === "meeting_not_found" || err.code === "meeting_ended") {
          setLookup({ kind: "gone", code: err.code });
          return;
        }
        if (err.code === "passcode_required" || err.code === "passcode_invalid") setNeedPasscode(true);
        setMustRegister(err.code === "registration_required");
        setError(joinError(err.code) ?? (err.code === ClientErrorCode.ConnectionLost || err.code === ClientErrorCode.Timeout
          ? t("join.error.unreachable")
          : err.message));
      } else {
        setError(describeError(err));
      }
    }
  };

  const header = (
    <header class="topbar">
      <Brand />
      <LanguageMenu testid="join-language" onChange={(chosen) => chosen && language.choose(chosen)} />
    </header>
  );

  if (lookup.kind === "gone") {
    return (
      <div class="page">
        {header}
        <main class="page narrow">
          <section class="card center-text" data-testid="join-unavailable" data-reason={lookup.code} role="alert">
            <h1 data-testid="join-unavailable-message">{t(`join.error.${lookup.code}`)}</h1>
            <p class="muted">{lookup.code === "meeting_ended" ? t("join.endedHint") : t("join.notFoundHint")}</p>
            <a class="btn primary" href="/" onClick={linkHandler("/")} data-testid="home-link">{t("ended.home")}</a>
          </section>
          {lookup.attendanceOf && <section class="card"><Attendance meetingId={lookup.attendanceOf} /></section>}
        </main>
      </div>
    );
  }

  const title = meeting?.title ?? (lookup.kind === "failed" ? t("join.meetingFallback") : "");
  const guestsBlocked = meeting && isGuest && !meeting.allow_guests;

  return (
    <div class="page">
      {header}
      <main class="join" aria-labelledby="join-title">
        {watchOnly ? null : joinable ? <DevicePreview local={local} prefix="join" /> : <div class="join-preview card preview-pending" />}
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
          {watchOnly && <p class="muted" data-testid="join-event-note">{t("audience.joinNote")}</p>}
          {lookup.kind === "loading" && <Spinner label={t("join.lookingUp")} />}
          {lookup.kind === "failed" && (
            <div class="row">
              <p class="error" role="alert" data-testid="join-lookup-error">{lookup.message}</p>
              <button type="button" class="btn small" data-testid="join-lookup-retry" onClick={() => setLookups((n) => n + 1)}>
                {t("join.tryAgain")}
              </button>
            </div>
          )}
          {guestsBlocked ? (
            <p class="warn">
              {t("join.signedInOnly")}{" "}
              <a href={`/signin?next=${encodeURIComponent(`/j/${meetingRef}`)}`} onClick={linkHandler(`/signin?next=${encodeURIComponent(`/j/${meetingRef}`)}`)}>{t("auth.signIn")}</a>
            </p>
          ) : null}
          {/* A registrant is known by the name they registered with. */}
          {!personal.registration && (
            <label>
              {t("join.yourName")}
              <input type="text" autoComplete="name" maxLength={64} required={isGuest} value={displayName}
                data-testid="join-display-name" onInput={(e) => setDisplayName(e.currentTarget.value)} />
            </label>
          )}
          {needPasscode && (
            <label>
              {t("join.passcode")}
              <input type="text" autoComplete="off" maxLength={32} value={passcode} data-testid="join-passcode"
                onInput={(e) => setPasscode(e.currentTarget.value)} />
            </label>
          )}
          {error && <p class="error" role="alert" data-testid="join-error">{error}</p>}
          {(mustRegister || (watchOnly && !personal.registration && !!meeting.registration && meeting.registration !== "off")) && (
            <p>
              <a href={`/events/${meetingRef}/register`} onClick={linkHandler(`/events/${meetingRef}/register`)}
                data-testid="join-register">{t("join.register")}</a>
            </p>
          )}
          <button class="btn primary big" type="submit" ref={joinRef} disabled={joining || !joinable} data-testid="join-button">
            {joining ? t("join.joining") : t("join.join")}
          </button>
          {isGuest && (
            <p class="muted small">
              {t("join.asGuest")}{" "}
              <a href={`/signin?next=${encodeURIComponent(`/j/${meetingRef}`)}`} onClick={linkHandler(`/signin?next=${encodeURIComponent(`/j/${meetingRef}`)}`)}>{t("auth.signIn")}</a>
            </p>
          )}
        </form>
        {meeting && isHostView(meeting) && meeting.mode !== undefined && meeting.mode !== "meeting" && (
          <Registrants meeting={meeting} />
        )}
      </main>
    </div>
  );
}

function WaitingScreen({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  return (
    <div class="page">
      <header class="topbar">
        <Brand />
      </header>
      <main class="join" aria-label={t("waiting.spinner")}>
        <h1 class="sr-only">{t("waiting.spinner")}</h1>
        <DevicePreview local={room.local} prefix="waiting" />
        <section class="card center-text waiting-card" data-testid="waiting-screen" aria-live="polite">
          <Spinner label={t("waiting.spinner")} />
          <p class="muted">{t("waiting.note")}</p>
          <p class="muted small">{t("waiting.preview")}</p>
          <ConnectionNote room={room} state={state} />
          <button class="btn ghost" type="button" data-testid="waiting-leave" onClick={() => void room.leave()}>
            {t("waiting.leave")}
          </button>
        </section>
      </main>
    </div>
  );
}

function ConnectionNote({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const link = useEvent(room, "link", room.link);
  const text = link.offline
    ? t("connection.offline")
    : state.connection === "reconnecting"
      ? t("connection.reconnecting")
      : state.connectionError ?? "";
  return (
    <p class="muted small" data-testid="connection-state" data-state={state.connection}
      data-offline={link.offline ? "true" : "false"}>
      {text}
    </p>
  );
}

// Reasons with a message of their own in the catalogues ("ended.<reason>").
const ENDED_REASONS: ReadonlySet<string> = new Set([
  "removed", "denied", "ended", "replaced", "timeout", "left", "disconnected", "signed_out",
]);

/** Is this the host's view of an event or a lecture (which keeps an attendance list)? */
function hostsEvent(meeting: Meeting | MeetingPublic): meeting is Meeting {
  return isHostView(meeting) && meeting.mode !== undefined && meeting.mode !== "meeting";
}

function EndedScreen({ room, state, meetingRef }: { room: Room; state: RoomState; meetingRef: string }) {
  const reason = state.ended?.reason ?? "left";
  // The host of an event or lecture reads its attendance when it is over.
  const self = state.selfId ? state.participants.get(state.selfId) : undefined;
  const attendanceOf = self?.role === "host" && state.meeting && state.meeting.mode !== "meeting" ? state.meeting.id : null;
  const canRejoin = reason === "left" || reason === "timeout" || reason === "disconnected";
  const t = useT();
  return (
    <main class="page narrow">
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
          {reason === "signed_out" && (
            <button class="btn primary" type="button" data-testid="signin-again"
              onClick={() => {
                room.dispose();
                session.set(null); // the server ended the session this page knew
                navigate(`/signin?next=${encodeURIComponent(`/j/${meetingRef}`)}`, { replace: true, fresh: true });
              }}>
              {t("auth.signIn")}
            </button>
          )}
          <a class="btn" href="/" onClick={linkHandler("/")} data-testid="home-link">{t("ended.home")}</a>
        </div>
      </section>
      {attendanceOf && <section class="card"><Attendance meetingId={attendanceOf} /></section>}
    </main>
  );
}
