import { useEffect, useState } from "preact/hooks";
import { describeError } from "../../protocol/errors";
import type { Meeting } from "../../protocol/rest";
import { copyText, useAction } from "../hooks";
import { Icon } from "../icons";
import { formatCode, inviteText, parseMeetingRef } from "../layout";
import { linkHandler, navigate } from "../router";
import { rest, useSession } from "../session";
import { useUserZone } from "../prefs";
import { lazy } from "../lazy";
import { addDays, formatLocalDate, formatIsoDate, startOfDay, today } from "../../scheduling/time";
import { groupByDay } from "../../scheduling/layout";
import { OccurrenceRow, useOccurrences } from "../scheduling/occurrences";
import { InterpretersEditor } from "../interpreters/editor";
import { Spinner, TopBar } from "./common";
import { ResendLink } from "./verify";
import { isolate } from "../../i18n";
import { useT } from "../../i18n/hook";
import { ModeSelect, type MeetingMode } from "../meeting/audience/mode";

export function HomePage() {
  const info = useSession();
  const t = useT();
  return (
    <div class="page">
      <TopBar current="home" />
      {info === undefined ? <Spinner label={t("common.loading")} /> : info === null ? <SignedOut /> : <SignedIn />}
    </div>
  );
}

function SignedOut() {
  const t = useT();
  return (
    <main class="home">
      <section class="hero">
        <h1>{t("home.heroTitle")}</h1>
        <p class="muted">{t("home.heroText", { count: 300 })}</p>
        <div class="row">
          <a class="btn primary" href="/signin" onClick={linkHandler("/signin")} data-testid="goto-signin">{t("auth.signIn")}</a>
          <a class="btn" href="/signup" onClick={linkHandler("/signup")} data-testid="goto-signup">{t("auth.signUp")}</a>
        </div>
      </section>
      <JoinByCode />
    </main>
  );
}

function SignedIn() {
  const t = useT();
  const [meetings, setMeetings] = useState<Meeting[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const reload = () => {
    rest.listMeetings().then(setMeetings, (err: unknown) => setError(describeError(err)));
  };
  useEffect(reload, []);

  return (
    <main class="home">
      <h1 class="sr-only">{t("nav.meetings")}</h1>
      <ResendLink />
      <div class="home-actions">
        <NewMeeting onCreated={(m) => navigate(`/j/${m.link_token}?enter=1`)} />
        <JoinByCode />
      </div>
      <Upcoming />
      <section class="card" aria-labelledby="my-meetings-title">
        <h2 id="my-meetings-title">{t("home.myMeetings")}</h2>
        {error && <p class="error" role="alert">{error}</p>}
        {meetings === null && !error && <Spinner label={t("home.loadingMeetings")} />}
        {meetings?.length === 0 && <p class="muted">{t("home.noMeetings")}</p>}
        <ul class="meeting-list" data-testid="meeting-list">
          {meetings?.map((m) => <MeetingItem key={m.id} meeting={m} onDeleted={reload} />)}
        </ul>
      </section>
    </main>
  );
}

const ScheduleDialog = lazy(() => import("../scheduling/schedule-dialog").then((m) => m.ScheduleDialog));

function NewMeeting({ onCreated }: { onCreated: (m: Meeting) => void }) {
  const [open, setOpen] = useState(false);
  const [title, setTitle] = useState("");
  const [passcode, setPasscode] = useState(true);
  const [waitingRoom, setWaitingRoom] = useState(true);
  const [allowGuests, setAllowGuests] = useState(true);
  const [mode, setMode] = useState<MeetingMode>("meeting");
  const { busy, error, run } = useAction();
  const t = useT();

  const [scheduling, setScheduling] = useState(false);

  if (!open) {
    return (
      <section class="card">
        <h2>{t("home.startMeeting")}</h2>
        <div class="start-actions">
          <button class="btn primary big" type="button" data-testid="new-meeting-button" onClick={() => setOpen(true)}>
            {t("home.newMeeting")}
          </button>
          <button class="btn big" type="button" data-testid="schedule-button" onClick={() => setScheduling(true)}>
            {t("home.schedule")}
          </button>
        </div>
        {scheduling && (
          <ScheduleDialog target={{ kind: "create" }} onClose={() => setScheduling(false)} onSaved={() => {
            setScheduling(false);
            upcomingChanged();
          }} />
        )}
      </section>
    );
  }

  const create = async (ev: Event) => {
    ev.preventDefault();
    await run(async () => {
      const meeting = await rest.createMeeting({
        ...(title.trim() ? { title: title.trim() } : {}),
        passcode: passcode ? null : "",
        waiting_room: waitingRoom,
        allow_guests: allowGuests,
        ...(mode !== "meeting" ? { mode } : {}),
      });
      onCreated(meeting);
    });
  };

  return (
    <form class="card form" onSubmit={create} data-testid="new-meeting-form" aria-labelledby="new-meeting-title">
      <h2 id="new-meeting-title">{t("home.newMeeting")}</h2>
      <label>
        {t("home.title")}
        <input type="text" maxLength={200} placeholder={t("home.titlePlaceholder")} value={title} data-testid="new-meeting-title"
          onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <ModeSelect value={mode} onChange={setMode} testid="new-meeting-mode" />
      <label class="check">
        <input type="checkbox" checked={passcode} data-testid="new-meeting-passcode"
          onChange={(e) => setPasscode(e.currentTarget.checked)} />
        {t("home.requirePasscode")}
      </label>
      <label class="check">
        <input type="checkbox" checked={waitingRoom} data-testid="new-meeting-waiting-room"
          onChange={(e) => setWaitingRoom(e.currentTarget.checked)} />
        {t("home.waitingRoom")}
      </label>
      <label class="check">
        <input type="checkbox" checked={allowGuests} data-testid="new-meeting-allow-guests"
          onChange={(e) => setAllowGuests(e.currentTarget.checked)} />
        {t("home.allowGuests")}
      </label>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="row">
        <button class="btn primary" type="submit" disabled={busy} data-testid="new-meeting-create">
          {busy ? t("auth.creating") : t("home.createAndEnter")}
        </button>
        <button class="btn ghost" type="button" onClick={() => setOpen(false)}>{t("common.cancel")}</button>
      </div>
    </form>
  );
}

const upcomingListeners = new Set<() => void>();

/** Tells the "Upcoming" list that a meeting was scheduled. */
function upcomingChanged(): void {
  for (const l of upcomingListeners) l();
}

const UPCOMING_DAYS = 7;

/** The next seven days of scheduled meetings, in the user's zone. */
function Upcoming() {
  const zone = useUserZone();
  const t = useT();
  const first = today(zone);
  const from = Date.now();
  const to = startOfDay(addDays(first, UPCOMING_DAYS), zone).getTime();
  // The window moves on with the day, not with every render.
  const [range] = useState(() => ({ from, to }));
  const { items, error, reload } = useOccurrences(range.from, range.to);
  useEffect(() => {
    upcomingListeners.add(reload);
    return () => {
      upcomingListeners.delete(reload);
    };
  }, [reload]);
  const span = (o: { start: string; end: string }) => ({ start: Date.parse(o.start), end: Date.parse(o.end) });
  const live = items?.filter((o) => Date.parse(o.end) > Date.now()) ?? null;
  return (
    <section class="card" aria-labelledby="upcoming-title" data-testid="upcoming">
      <div class="row between">
        <h2 id="upcoming-title">{t("home.upcoming")}</h2>
        <a href={`/calendar?view=list&date=${formatIsoDate(first)}`} onClick={linkHandler(`/calendar?view=list&date=${formatIsoDate(first)}`)}
          data-testid="upcoming-calendar-link">
          {t("nav.calendar")}
        </a>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {live === null && !error && <Spinner label={t("common.loading")} />}
      {live?.length === 0 && <p class="muted" data-testid="upcoming-empty">{t("home.nothingScheduled", { days: UPCOMING_DAYS })}</p>}
      {live && live.length > 0 && (
        <div data-testid="upcoming-list">
          {groupByDay(live, span, zone).map((g) => (
            <section key={formatIsoDate(g.date)} aria-label={formatLocalDate(g.date, { weekday: "long", day: "numeric", month: "long" })}>
              <h3 class="cal-list-day">{formatLocalDate(g.date, { weekday: "long", day: "numeric", month: "long" })}</h3>
              <ul class="occ-list">
                {g.items.map((o) => (
                  <OccurrenceRow key={`${o.schedule_id}-${o.recurrence_id}`} o={o} zone={zone} testid="upcoming-item"
                    onOpen={() => navigate(`/calendar?view=day&date=${formatIsoDate(g.date)}`)} />
                ))}
              </ul>
            </section>
          ))}
        </div>
      )}
    </section>
  );
}

function JoinByCode() {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const t = useT();
  const submit = (ev: Event) => {
    ev.preventDefault();
    const ref = parseMeetingRef(text);
    if (!ref) {
      setError(t("home.codeInvalid"));
      return;
    }
    navigate(`/j/${ref.ref}`);
  };
  return (
    <form class="card form" onSubmit={submit} data-testid="join-code-form" aria-labelledby="join-code-title">
      <h2 id="join-code-title">{t("home.joinTitle")}</h2>
      <label>
        {t("home.codeOrLink")}
        <input type="text" inputMode="numeric" autoComplete="off" placeholder="123 456 789" value={text}
          data-testid="join-code-input" onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      {error && <p class="error" role="alert">{error}</p>}
      <button class="btn" type="submit" data-testid="join-code-submit">{t("join.join")}</button>
    </form>
  );
}

function MeetingItem({ meeting, onDeleted }: { meeting: Meeting; onDeleted: () => void }) {
  const [copied, setCopied] = useState(false);
  const t = useT();
  const invite = inviteText({ title: meeting.title, url: meeting.join_url, code: meeting.code, passcode: meeting.passcode });
  return (
    <li class="meeting-item" data-testid="meeting-list-item" data-meeting-code={meeting.code}>
      <div class="meeting-item-main">
        <strong><bdi>{meeting.title}</bdi></strong>
        <span class="muted">
          <bdi dir="ltr">{formatCode(meeting.code)}</bdi>
          {meeting.passcode ? <>{" · "}{t("home.passcode")} <bdi dir="ltr">{meeting.passcode}</bdi></> : ""}
          {meeting.status === "live" ? ` · ${t("home.liveNow")}` : meeting.status === "ended" ? ` · ${t("home.ended")}` : ""}
        </span>
        <pre class="invite-text" data-testid="meeting-invite-text">{invite}</pre>
      </div>
      <div class="row">
        <a class="btn primary" href={`/j/${meeting.link_token}`} onClick={linkHandler(`/j/${meeting.link_token}`)}
          data-testid="meeting-start">
          {meeting.status === "live" ? t("join.join") : t("home.startNow")}
        </a>
        <button class="btn" type="button" data-testid="copy-invite"
          onClick={async () => {
            setCopied(await copyText(invite));
            setTimeout(() => setCopied(false), 2000);
          }}>
          <Icon name="copy" size={16} /> {copied ? t("home.copied") : t("home.copyInvite")}
        </button>
        <button class="btn ghost danger" type="button" aria-label={t("home.deleteLabel", { title: isolate(meeting.title) })}
          onClick={async () => {
            if (!confirm(t("home.deleteConfirm", { title: isolate(meeting.title) }))) return;
            await rest.deleteMeeting(meeting.id).catch(() => undefined);
            onDeleted();
          }}>
          {t("home.delete")}
        </button>
      </div>
      {meeting.status !== "ended" && <InterpretersEditor meetingId={meeting.id} />}
    </li>
  );
}
