/**
 * /settings: display name and password, language, theme and default devices
 * (profile-settings.tsx), time zone, working hours, reminders (in-app, email, browser notifications), the
 * private calendar feed, and connected calendars (busy times from an ICS URL or a CalDAV account;
 * a CalDAV calendar to publish meetings to).
 */
import { useEffect, useState } from "preact/hooks";
import { describeError, RestError } from "../../protocol/errors";
import {
  WEEKDAY_KEYS,
  type CalendarConnection,
  type CalendarConnectionCreate,
  type CalendarSettings,
  type ConnectionKind,
  type ConnectionPurpose,
  type DiscoveredCalendar,
  type Feed,
  type WeekdayKey,
  type WorkingHours,
} from "../../protocol/scheduling";
import { browserZone, formatDateTime } from "../../scheduling/time";
import { copyText, useAction } from "../hooks";
import { Icon } from "../icons";
import { browserNotificationPermission } from "../notifications";
import { calendarSettings, useCalendarSettings, useUserZone } from "../prefs";
import { navigate } from "../router";
import { rest, useSession } from "../session";
import { ZoneSelect } from "../scheduling/fields";
import { Spinner, TopBar } from "./common";
import { LanguageSection } from "./language-settings";
import { DevicesSection, PasswordSection, ProfileSection, ThemeSection } from "./profile-settings";
import { isolate, t, uiLocale } from "../../i18n";
import { useT } from "../../i18n/hook";

/** A weekday's name in the UI's language (1 January 2024 was a Monday). */
function dayName(day: WeekdayKey): string {
  const index = WEEKDAY_KEYS.indexOf(day);
  return new Intl.DateTimeFormat(uiLocale(), { weekday: "long", timeZone: "UTC" }).format(Date.UTC(2024, 0, 1 + index));
}
const MAX_RANGES = 4;
const REMINDERS: (number | null)[] = [null, 0, 5, 10, 15, 30, 60, 1440];

/** A reminder choice in words: whole days and hours as such, else minutes. */
function reminderText(minutes: number | null): string {
  if (minutes === null) return t("settings.reminder.none");
  if (minutes === 0) return t("settings.reminder.atStart");
  if (minutes % 1440 === 0) return t("settings.reminder.daysBefore", { count: minutes / 1440 });
  if (minutes % 60 === 0) return t("settings.reminder.hoursBefore", { count: minutes / 60 });
  return t("settings.reminder.minutesBefore", { count: minutes });
}

export function SettingsPage() {
  const info = useSession();
  useT();
  useEffect(() => {
    if (info === null) navigate("/signin?next=/settings", { replace: true });
  }, [info]);
  return (
    <div class="page">
      <TopBar current="settings" />
      {info ? (
        <main class="settings">
          <h1>{t("settings.title")}</h1>
          <ProfileSection />
          <PasswordSection />
          <LanguageSection />
          <ThemeSection />
          <DevicesSection />
          <CalendarSettingsForm />
          <BrowserNotifications />
          <FeedSection />
          <CalendarsSection />
        </main>
      ) : <Spinner label={t("common.loading")} />}
    </div>
  );
}

/** The server writes midnight at the end of a day as "24:00", which a time input cannot show. */
function hoursForInputs(hours: WorkingHours): WorkingHours {
  const out = {} as WorkingHours;
  for (const day of WEEKDAY_KEYS) out[day] = (hours[day] ?? []).map(([a, b]) => [a, b === "24:00" ? "00:00" : b]);
  return out;
}

function hoursForServer(hours: WorkingHours): WorkingHours {
  const out = {} as WorkingHours;
  for (const day of WEEKDAY_KEYS) {
    out[day] = [...hours[day]].sort((x, y) => x[0].localeCompare(y[0])).map(([a, b]) => [a, b === "00:00" ? "24:00" : b]);
  }
  return out;
}

function validateHours(hours: WorkingHours): string | null {
  for (const day of WEEKDAY_KEYS) {
    const ranges = [...hours[day]].sort((a, b) => a[0].localeCompare(b[0]));
    for (let i = 0; i < ranges.length; i++) {
      const [from, to] = ranges[i]!;
      if (!from || !to) return t("settings.hours.bothTimes", { day: dayName(day) });
      if (to !== "00:00" && to <= from) return t("settings.hours.endsBeforeStart", { day: dayName(day) });
      const next = ranges[i + 1];
      if (next && (to === "00:00" || next[0] < to)) return t("settings.hours.overlap", { day: dayName(day) });
    }
  }
  return null;
}

function CalendarSettingsForm() {
  useT();
  const loaded = useCalendarSettings();
  const userZone = useUserZone();
  const [draft, setDraft] = useState<CalendarSettings | null>(loaded && { ...loaded, working_hours: hoursForInputs(loaded.working_hours) });
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!loaded) void calendarSettings.load();
  }, []);
  useEffect(() => {
    if (loaded && !draft) setDraft({ ...loaded, working_hours: hoursForInputs(loaded.working_hours) });
  }, [loaded]);

  if (!draft) return <section class="card"><Spinner label={t("settings.calendar.loading")} /></section>;

  const set = (changes: Partial<CalendarSettings>) => {
    setDraft({ ...draft, ...changes });
    setSaved(false);
    setError(null);
  };
  const setDay = (day: WeekdayKey, ranges: [string, string][]) => set({ working_hours: { ...draft.working_hours, [day]: ranges } });

  const save = async (ev: Event) => {
    ev.preventDefault();
    const problem = validateHours(draft.working_hours);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    try {
      const next = await rest.updateCalendarSettings({
        timezone: draft.timezone,
        working_hours: hoursForServer(draft.working_hours),
        reminder_minutes: draft.reminder_minutes,
        email_reminders: draft.email_reminders,
      });
      calendarSettings.set(next);
      setDraft({ ...next, working_hours: hoursForInputs(next.working_hours) });
      setSaved(true);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const reminderKnown = REMINDERS.includes(draft.reminder_minutes);
  return (
    <form class="card form" onSubmit={save} data-testid="calendar-settings-form" aria-labelledby="cal-settings-title">
      <h2 id="cal-settings-title">{t("settings.calendar.title")}</h2>
      <label>
        {t("settings.timezone")}
        <ZoneSelect value={draft.timezone} testid="settings-timezone" suggested={[userZone]} describedBy="zone-hint"
          onChange={(timezone) => set({ timezone })} />
      </label>
      <p class="hint" id="zone-hint">
        {t("settings.timezone.hint")}
        {draft.timezone !== browserZone() && (
          <>
            {" "}{t("settings.timezone.device", { zone: isolate(browserZone().replace(/_/g, " ")) })}{" "}
            <button type="button" class="link-button" data-testid="settings-use-browser-zone"
              onClick={() => set({ timezone: browserZone() })}>
              {t("settings.timezone.useDevice")}
            </button>
          </>
        )}
      </p>

      <fieldset class="hours" data-testid="settings-working-hours">
        <legend>{t("settings.hours.title")}</legend>
        <p class="hint">{t("settings.hours.hint")}</p>
        {WEEKDAY_KEYS.map((day) => {
          const ranges = draft.working_hours[day] ?? [];
          return (
            <div key={day} class="hours-day" data-testid={`settings-hours-${day}`}>
              <label class="check">
                <input type="checkbox" checked={ranges.length > 0} data-testid={`settings-hours-${day}-on`}
                  onChange={(e) => setDay(day, e.currentTarget.checked ? [["09:00", "17:00"]] : [])} />
                {dayName(day)}
              </label>
              <div class="hours-ranges">
                {ranges.map(([from, to], i) => (
                  <div key={i} class="row">
                    <input type="time" value={from} aria-label={t("settings.hours.from", { day: dayName(day) })} data-testid={`settings-hours-${day}-from`}
                      onInput={(e) => setDay(day, ranges.map((r, j) => (j === i ? [e.currentTarget.value, r[1]] : r)))} />
                    <span aria-hidden="true">–</span>
                    <input type="time" value={to} aria-label={t("settings.hours.until", { day: dayName(day) })} data-testid={`settings-hours-${day}-to`}
                      onInput={(e) => setDay(day, ranges.map((r, j) => (j === i ? [r[0], e.currentTarget.value] : r)))} />
                    <button type="button" class="round small ghost" aria-label={t("settings.hours.remove", { day: dayName(day) })}
                      onClick={() => setDay(day, ranges.filter((_, j) => j !== i))}>
                      <Icon name="close" size={14} />
                    </button>
                  </div>
                ))}
                {ranges.length > 0 && ranges.length < MAX_RANGES && (
                  <button type="button" class="link-button small" onClick={() => setDay(day, [...ranges, ["", ""]])}>
                    {t("settings.hours.add")}
                  </button>
                )}
                {ranges.length === 0 && <span class="muted small">{t("settings.hours.off")}</span>}
              </div>
            </div>
          );
        })}
      </fieldset>

      <label>
        {t("settings.reminders")}
        <select value={draft.reminder_minutes === null ? "" : String(draft.reminder_minutes)} data-testid="settings-reminder"
          onChange={(e) => set({ reminder_minutes: e.currentTarget.value === "" ? null : Number(e.currentTarget.value) })}>
          {!reminderKnown && <option value={String(draft.reminder_minutes)}>{reminderText(draft.reminder_minutes)}</option>}
          {REMINDERS.map((r) => <option key={String(r)} value={r === null ? "" : String(r)}>{reminderText(r)}</option>)}
        </select>
      </label>
      <label class="check">
        <input type="checkbox" checked={draft.email_reminders} disabled={draft.reminder_minutes === null}
          data-testid="settings-email-reminders" onChange={(e) => set({ email_reminders: e.currentTarget.checked })} />
        {t("settings.reminders.email")}
      </label>
      {error && <p class="error" role="alert" data-testid="settings-error">{error}</p>}
      <div class="row">
        <button type="submit" class="btn primary" disabled={busy} data-testid="settings-save">{busy ? t("settings.saving") : t("settings.save")}</button>
        {saved && <span class="muted small" role="status" data-testid="settings-saved">{t("settings.saved")}</span>}
      </div>
    </form>
  );
}

function BrowserNotifications() {
  useT();
  const [permission, setPermission] = useState(browserNotificationPermission());
  return (
    <section class="card" aria-labelledby="browser-notif-title">
      <h2 id="browser-notif-title">{t("settings.notifications.title")}</h2>
      <p class="muted small">{t("settings.notifications.hint")}</p>
      {permission === "unsupported" && <p class="muted small">{t("settings.notifications.unsupported")}</p>}
      {permission === "granted" && <p class="small" data-testid="browser-notifications-state">{t("settings.notifications.on")}</p>}
      {permission === "denied" && <p class="small">{t("settings.notifications.blocked")}</p>}
      {permission === "default" && (
        <button type="button" class="btn" data-testid="settings-browser-notifications"
          onClick={async () => setPermission(await Notification.requestPermission())}>
          {t("settings.notifications.turnOn")}
        </button>
      )}
    </section>
  );
}

function FeedSection() {
  useT();
  const [feed, setFeed] = useState<Feed | null>(null);
  const { busy, error, setError, run } = useAction();
  const [copied, setCopied] = useState<string | null>(null);
  const [confirmReset, setConfirmReset] = useState(false);

  useEffect(() => {
    rest.feed().then(setFeed, (err: unknown) => setError(describeError(err)));
  }, []);

  const reset = async () => {
    await run(async () => {
      setFeed(await rest.resetFeed());
      setConfirmReset(false);
    });
  };
  const disable = async () => {
    await run(async () => {
      setFeed(await rest.disableFeed());
    });
  };
  const copy = async (which: string, text: string) => {
    setCopied((await copyText(text)) ? which : null);
    setTimeout(() => setCopied(null), 2000);
  };

  return (
    <section class="card" aria-labelledby="feed-title" data-testid="feed-section">
      <h2 id="feed-title">{t("settings.feed.title")}</h2>
      <p class="muted small">{t("settings.feed.hint")}</p>
      {!feed && !error && <Spinner label={t("common.loading")} />}
      {feed && (!feed.enabled || !feed.url) && (
        <button type="button" class="btn" disabled={busy} data-testid="feed-create" onClick={() => void reset()}>{t("settings.feed.create")}</button>
      )}
      {feed?.enabled && feed.url && (
        <>
          <div class="feed-row">
            <input type="text" readOnly value={feed.url} aria-label={t("settings.feed.httpsAddress")} data-testid="feed-url"
              onFocus={(e) => e.currentTarget.select()} />
            <button type="button" class="btn" data-testid="feed-copy" onClick={() => void copy("https", feed.url!)}>
              <Icon name="copy" size={16} /> {copied === "https" ? t("settings.feed.copied") : t("settings.feed.copy")}
            </button>
          </div>
          {feed.webcal_url && (
            <div class="feed-row">
              <input type="text" readOnly value={feed.webcal_url} aria-label={t("settings.feed.webcalAddress")} data-testid="feed-webcal-url"
                onFocus={(e) => e.currentTarget.select()} />
              <button type="button" class="btn" data-testid="feed-copy-webcal" onClick={() => void copy("webcal", feed.webcal_url!)}>
                <Icon name="copy" size={16} /> {copied === "webcal" ? t("settings.feed.copied") : t("settings.feed.copyWebcal")}
              </button>
            </div>
          )}
          {!confirmReset ? (
            <div class="row">
              <button type="button" class="btn ghost danger" data-testid="feed-reset" onClick={() => setConfirmReset(true)}>{t("settings.feed.reset")}</button>
              <button type="button" class="btn ghost" disabled={busy} data-testid="feed-disable" onClick={() => void disable()}>{t("settings.feed.turnOff")}</button>
            </div>
          ) : (
            <div class="confirm" role="alert">
              <p>{t("settings.feed.resetWarning")}</p>
              <div class="row">
                <button type="button" class="btn danger" disabled={busy} data-testid="feed-reset-confirm" onClick={() => void reset()}>
                  {t("settings.feed.reset")}
                </button>
                <button type="button" class="btn ghost" onClick={() => setConfirmReset(false)}>{t("settings.feed.keep")}</button>
              </div>
            </div>
          )}
        </>
      )}
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}

const STATUS_KEY: Record<CalendarConnection["status"], string> = {
  pending: "settings.calendars.status.pending",
  ok: "settings.calendars.status.ok",
  error: "settings.calendars.status.error",
};

function CalendarsSection() {
  useT();
  const zone = useUserZone();
  const [list, setList] = useState<CalendarConnection[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const [busyId, setBusyId] = useState<string | null>(null);

  const reload = () => rest.listCalendars().then(setList, (err: unknown) => setError(describeError(err)));
  useEffect(() => {
    void reload();
  }, []);

  const act = async (id: string, run: () => Promise<unknown>) => {
    setBusyId(id);
    setError(null);
    try {
      await run();
      await reload();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusyId(null);
    }
  };

  return (
    <section class="card" aria-labelledby="calendars-title" data-testid="calendars-section">
      <h2 id="calendars-title">{t("settings.calendars.title")}</h2>
      <p class="muted small">{t("settings.calendars.hint")}</p>
      {list === null && !error && <Spinner label={t("common.loading")} />}
      {list && list.length === 0 && <p class="muted small">{t("settings.calendars.none")}</p>}
      {list && list.length > 0 && (
        <ul class="connections">
          {list.map((c) => (
            <li key={c.id} class="connection" data-testid="calendar-connection" data-status={c.status} data-id={c.id}>
              <div class="connection-main">
                <strong><bdi>{c.name}</bdi></strong>
                <span class="muted small">
                  {c.kind === "ics" ? t("settings.calendars.ics") : "CalDAV" /* i18n-ignore: a protocol's name */} ·{" "}
                  {c.purpose === "busy" ? t("settings.calendars.busy") : t("settings.calendars.publishes")}
                </span>
                <span class={`small status-${c.status}`} data-testid="calendar-connection-status">
                  {t(STATUS_KEY[c.status])}
                  {c.last_sync_at && ` · ${t("settings.calendars.lastSync", { time: formatDateTime(Date.parse(c.last_sync_at), zone) })}`}
                </span>
                {c.message && (
                  <span class={`small ${c.status === "error" ? "error" : "muted"}`} data-testid="calendar-connection-message">{c.message}</span>
                )}
              </div>
              <div class="row">
                <button type="button" class="btn small" disabled={busyId === c.id} data-testid="calendar-sync"
                  onClick={() => void act(c.id, () => rest.syncCalendar(c.id))}>
                  {busyId === c.id ? t("settings.calendars.working") : t("settings.calendars.sync")}
                </button>
                <button type="button" class="btn small ghost danger" disabled={busyId === c.id} data-testid="calendar-remove"
                  aria-label={t("settings.calendars.removeNamed", { name: isolate(c.name) })}
                  onClick={() => {
                    if (confirm(t("settings.calendars.confirmRemove", { name: isolate(c.name) }))) void act(c.id, () => rest.removeCalendar(c.id));
                  }}>
                  {t("settings.calendars.remove")}
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      {adding
        ? <AddCalendarForm onDone={(added) => {
            setAdding(false);
            if (added) void reload();
          }} />
        : <button type="button" class="btn" data-testid="calendar-add" onClick={() => setAdding(true)}>{t("settings.calendars.connect")}</button>}
    </section>
  );
}

type AddChoice = "ics" | "caldav-busy" | "caldav-publish";

function AddCalendarForm({ onDone }: { onDone: (added: boolean) => void }) {
  useT();
  const [choice, setChoice] = useState<AddChoice>("ics");
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, setError, run } = useAction();
  const [found, setFound] = useState<DiscoveredCalendar[] | null>(null);
  const [calendarUrl, setCalendarUrl] = useState("");
  const caldav = choice !== "ics";

  const address = (): URL | null => {
    try {
      const parsed = new URL(url.trim().replace(/^webcal:/i, "https:"));
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed : null;
    } catch {
      return null;
    }
  };

  const discover = async () => {
    const parsed = address();
    if (!parsed) {
      setError(t("settings.add.error.caldavAddress"));
      return;
    }
    await run(async () => {
      const calendars = (await rest.discoverCalendars({
        url: parsed.toString(),
        ...(username.trim() ? { username: username.trim() } : {}),
        ...(password ? { password } : {}),
      })).filter((c) => c.events);
      setFound(calendars);
      setCalendarUrl(calendars[0]?.url ?? "");
      if (calendars.length === 0) setError(t("settings.add.error.noCalendar"));
    });
  };

  const submit = async (ev: Event) => {
    ev.preventDefault();
    const parsed = address();
    if (!parsed) {
      setError(t("settings.add.error.address"));
      return;
    }
    const kind: ConnectionKind = caldav ? "caldav" : "ics";
    const purpose: ConnectionPurpose = choice === "caldav-publish" ? "publish" : "busy";
    const body: CalendarConnectionCreate = {
      kind,
      purpose,
      url: parsed.toString(),
      ...(name.trim() ? { name: name.trim() } : {}),
      ...(username.trim() ? { username: username.trim() } : {}),
      ...(password ? { password } : {}),
      ...(caldav && calendarUrl ? { calendar_url: calendarUrl } : {}),
    };
    if (!!body.username !== !!body.password) {
      setError(t("settings.add.error.credentials"));
      return;
    }
    await run(async () => {
      await rest.addCalendar(body);
      onDone(true);
    }, (err) => {
      // Publishing to an account with several calendars: the server lists them to choose from.
      const offered = err instanceof RestError ? err.details.calendars : undefined;
      if (!Array.isArray(offered) || offered.length === 0) return describeError(err);
      const list = offered.filter((c): c is { url: string; name: string } =>
        typeof c === "object" && c !== null && typeof (c as { url?: unknown }).url === "string");
      setFound(list.map((c) => ({ url: c.url, name: typeof c.name === "string" ? c.name : c.url, events: true })));
      setCalendarUrl(list[0]?.url ?? "");
      return t("settings.add.error.choose");
    });
  };

  return (
    <form class="form add-calendar" onSubmit={submit} data-testid="calendar-add-form" aria-label={t("settings.calendars.connect")}>
      <label>
        {t("settings.add.what")}
        <select value={choice} data-testid="calendar-add-kind" onChange={(e) => {
          setChoice(e.currentTarget.value as AddChoice);
          setFound(null);
          setCalendarUrl("");
        }}>
          <option value="ics">{t("settings.add.kind.ics")}</option>
          <option value="caldav-busy">{t("settings.add.kind.caldavBusy")}</option>
          <option value="caldav-publish">{t("settings.add.kind.caldavPublish")}</option>
        </select>
      </label>
      <label>
        {t("settings.add.name")}
        <input type="text" maxLength={100} value={name} placeholder={t("settings.add.namePlaceholder")} data-testid="calendar-add-name"
          onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        {caldav ? t("settings.add.caldavAddress") : t("settings.add.link")}
        <input type="url" required value={url} data-testid="calendar-add-url"
          placeholder={caldav ? "https://cloud.example.org/remote.php/dav/calendars/me/work/" : "https://… .ics"}
          onInput={(e) => setUrl(e.currentTarget.value)} />
      </label>
      <label>
        {caldav ? t("settings.add.username") : t("settings.add.usernameIfNeeded")}
        <input type="text" autoComplete="off" value={username} data-testid="calendar-add-username"
          onInput={(e) => setUsername(e.currentTarget.value)} />
      </label>
      <label>
        {caldav ? t("settings.add.password") : t("settings.add.passwordIfNeeded")}
        <input type="password" autoComplete="new-password" value={password} data-testid="calendar-add-password"
          onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      {caldav && (
        <>
          <div class="row">
            <button type="button" class="btn small" disabled={busy} data-testid="calendar-discover" onClick={() => void discover()}>
              {t("settings.add.discover")}
            </button>
            <span class="hint">{t("settings.add.discoverHint")}</span>
          </div>
          {found && found.length > 0 && (
            <label>
              {t("settings.add.calendar")}
              <select value={calendarUrl} data-testid="calendar-add-calendar" onChange={(e) => setCalendarUrl(e.currentTarget.value)}>
                {found.map((c) => <option key={c.url} value={c.url}>{c.name || c.url}</option>)}
              </select>
            </label>
          )}
        </>
      )}
      {error && <p class="error" role="alert" data-testid="calendar-add-error">{error}</p>}
      <div class="row">
        <button type="submit" class="btn primary" disabled={busy} data-testid="calendar-add-submit">{busy ? t("settings.add.connecting") : t("settings.add.connect")}</button>
        <button type="button" class="btn ghost" onClick={() => onDone(false)}>{t("common.cancel")}</button>
      </div>
    </form>
  );
}
