/**
 * /calendar: the user's meetings by day, by week or as a list, in the time zone of their calendar
 * settings. A click on a free slot schedules a meeting there; a click on a meeting opens its
 * details (join, edit, cancel, answer).
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { isolate, t, uiLocale } from "../../i18n";
import { useT } from "../../i18n/hook";
import type { Occurrence, Schedule, Scope } from "../../protocol/scheduling";
import { DAY_MINUTES, groupByDay, layoutDay, snapMinutes, type Span } from "../../scheduling/layout";
import {
  addDays,
  formatIsoDate,
  formatLocalDate,
  formatLocalDateRange,
  formatLocalTime,
  formatHour,
  formatRange,
  formatTimeRange,
  fromLocal,
  parseIsoDate,
  sameDate,
  startOfDay,
  today,
  wallMinutes,
  weekDates,
  type LocalDate,
} from "../../scheduling/time";
import { useUserZone } from "../prefs";
import { navigate, type CalendarView } from "../router";
import { browserZone } from "../../scheduling/time";
import { useSession } from "../session";
import { EventDetails } from "../scheduling/details";
import { PARTSTAT_TEXT, ROLE_TEXT } from "../scheduling/labels";
import { OccurrenceRow, useOccurrences } from "../scheduling/occurrences";
import { ScheduleDialog, type ScheduleTarget } from "../scheduling/schedule-dialog";
import { Icon } from "../icons";
import { linkHandler } from "../router";
import { Spinner, TopBar } from "./common";

const HOUR_PX = 48;
const LIST_DAYS = 30;

const span = (o: Occurrence): Span => ({ start: Date.parse(o.start), end: Date.parse(o.end) });

function narrowScreen(): boolean {
  return typeof matchMedia === "function" && matchMedia("(max-width: 720px)").matches;
}

function eventClass(o: Occurrence): string {
  const answer = o.partstat ?? "ACCEPTED";
  return `cal-event ${o.role} ${answer.toLowerCase()}`;
}

/** What a screen reader says for a meeting in the grid: title, time, role and (for an invitee) the answer. */
function eventLabel(o: Occurrence, zone: string): string {
  const lower = (text: string) => text.toLocaleLowerCase(uiLocale());
  const params = {
    title: isolate(o.title),
    range: formatRange(Date.parse(o.start), Date.parse(o.end), zone),
    role: lower(ROLE_TEXT[o.role]),
  };
  return o.role === "organizer"
    ? t("calendar.event", params)
    : t("calendar.eventAnswer", { ...params, answer: lower(PARTSTAT_TEXT[o.partstat ?? "NEEDS-ACTION"]) });
}

const DAY_HEADING: Intl.DateTimeFormatOptions = { weekday: "long", day: "numeric", month: "long" };

export function CalendarPage({ view: viewParam, date: dateParam }: { view: CalendarView | null; date: string | null }) {
  useT();
  const info = useSession();
  const zone = useUserZone();
  const view: CalendarView = viewParam ?? (narrowScreen() ? "day" : "week");
  const anchor = (dateParam && parseIsoDate(dateParam)) || today(zone);
  const days = view === "week" ? weekDates(anchor) : view === "day" ? [anchor] : [];
  const firstDay = view === "list" ? anchor : days[0]!;
  const lastDay = view === "list" ? addDays(anchor, LIST_DAYS - 1) : days[days.length - 1]!;
  const from = startOfDay(firstDay, zone).getTime();
  const to = startOfDay(addDays(lastDay, 1), zone).getTime();
  const { items, error, reload } = useOccurrences(from, to, !!info);
  const [open, setOpen] = useState<Occurrence | null>(null);
  const [target, setTarget] = useState<ScheduleTarget | null>(null);

  useEffect(() => {
    if (info === null) navigate(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  }, [info]);

  const go = (next: { view?: CalendarView; date?: LocalDate }) => {
    const v = next.view ?? view;
    const d = next.date ?? anchor;
    navigate(`/calendar?view=${v}&date=${formatIsoDate(d)}`, { replace: true });
  };
  const step = view === "day" ? 1 : view === "week" ? 7 : LIST_DAYS;

  const title = view === "day"
    ? formatLocalDate(anchor, { weekday: "long", day: "numeric", month: "long", year: "numeric" })
    : formatLocalDateRange(firstDay, lastDay, { day: "numeric", month: "long", year: "numeric" });
  const deviceZone = browserZone();

  if (!info) return <div class="page"><TopBar current="calendar" /><Spinner label={t("common.loading")} /></div>;

  return (
    <div class="page">
      <TopBar current="calendar" />
      <main class="calendar-page">
        <div class="cal-toolbar">
          <div class="row">
            <button type="button" class="btn small" data-testid="calendar-today" onClick={() => go({ date: today(zone) })}>
              {t("calendar.today")}
            </button>
            <button type="button" class="round small" aria-label={t("calendar.previous", { view })} data-testid="calendar-prev"
              onClick={() => go({ date: addDays(anchor, -step) })}>
              <Icon name="chevronLeft" size={18} />
            </button>
            <button type="button" class="round small" aria-label={t("calendar.next", { view })} data-testid="calendar-next"
              onClick={() => go({ date: addDays(anchor, step) })}>
              <Icon name="chevronRight" size={18} />
            </button>
            <h1 class="cal-title" data-testid="calendar-title" aria-live="polite">{title}</h1>
          </div>
          <div class="row">
            <div class="segmented" role="group" aria-label={t("calendar.view")}>
              {(["day", "week", "list"] as const).map((v) => (
                <button key={v} type="button" aria-pressed={view === v} data-testid={`calendar-view-${v}`}
                  onClick={() => go({ view: v })}>
                  {t(`calendar.view.${v}`)}
                </button>
              ))}
            </div>
            <button type="button" class="btn primary" data-testid="schedule-button" onClick={() => setTarget({ kind: "create" })}>
              {t("calendar.schedule")}
            </button>
          </div>
        </div>
        <p class="muted small cal-zone" data-testid="calendar-zone">
          {t("calendar.zone", { zone: isolate(zone.replace(/_/g, " ")) })}
          {zone !== deviceZone && (
            <>
              {" "}{t("calendar.deviceZone", { zone: isolate(deviceZone.replace(/_/g, " ")) })}{" "}
              <a href="/settings" onClick={linkHandler("/settings")}>{t("calendar.changeZone")}</a>
            </>
          )}
        </p>
        {error && <p class="error" role="alert">{error}</p>}
        <section class="card cal-card" data-testid="calendar-view" data-view={view} aria-busy={items === null}>
          {view === "list"
            ? <ListView items={items} zone={zone} onOpen={setOpen} />
            : <TimeGrid days={days} items={items ?? []} zone={zone} onOpen={setOpen}
                onSlot={(start) => setTarget({ kind: "create", start })} />}
        </section>
      </main>
      {open && (
        <EventDetails occurrence={open} zone={zone} onClose={() => setOpen(null)} onChanged={reload}
          onEdit={(schedule: Schedule, scope: Scope, occurrence: Occurrence) => {
            setOpen(null);
            setTarget({ kind: "edit", schedule, scope, occurrence });
          }} />
      )}
      {target && (
        <ScheduleDialog target={target} onClose={() => setTarget(null)} onSaved={() => {
          setTarget(null);
          reload();
        }} />
      )}
    </div>
  );
}

function TimeGrid({ days, items, zone, onOpen, onSlot }: {
  days: LocalDate[];
  items: Occurrence[];
  zone: string;
  onOpen: (o: Occurrence) => void;
  onSlot: (start: number) => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 60_000);
    return () => clearInterval(timer);
  }, []);
  // Open on the working day rather than at midnight.
  useEffect(() => {
    if (scroller.current) scroller.current.scrollTop = HOUR_PX * 7.5;
  }, []);
  const todayDate = today(zone, now);
  // Keyboard: one slot is in the tab order (a roving tabindex); arrows move it, Enter schedules.
  const [cursor, setCursor] = useState({ day: 0, hour: 9 });
  const cursorDay = Math.min(cursor.day, days.length - 1);
  const moveCursor = (ev: KeyboardEvent) => {
    const steps: Record<string, [number, number]> = {
      ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0],
    };
    const step = steps[ev.key];
    if (!step || !(ev.target as HTMLElement).classList.contains("tg-slot")) return;
    ev.preventDefault();
    const next = {
      day: Math.max(0, Math.min(days.length - 1, cursorDay + step[0])),
      hour: Math.max(0, Math.min(23, cursor.hour + step[1])),
    };
    setCursor(next);
    scroller.current?.querySelector<HTMLElement>(`.tg-slot[data-day-index="${next.day}"][data-hour="${next.hour}"]`)?.focus();
  };
  const placed = useMemo(() => days.map((d) => layoutDay(items, span, d, zone)), [days.map(formatIsoDate).join(), items, zone]);

  return (
    <div class="time-grid" style={{ "--days": days.length }}>
      <div class="tg-head">
        <span class="tg-gutter" />
        {days.map((d) => (
          <div key={formatIsoDate(d)} class={`tg-day-head ${sameDate(d, todayDate) ? "today" : ""}`} data-testid="calendar-day"
            data-date={formatIsoDate(d)}>
            {formatLocalDate(d, { weekday: "short", day: "numeric" })}
          </div>
        ))}
      </div>
      <div class="tg-scroll" ref={scroller}>
        <div class="tg-body" style={{ height: `${HOUR_PX * 24}px` }} onKeyDown={moveCursor}>
          <div class="tg-gutter" aria-hidden="true">
            {Array.from({ length: 24 }, (_, h) => (
              <span key={h} class="tg-hour-label" style={{ top: `${h * HOUR_PX}px` }}>
                {h === 0 ? "" : formatHour(h)}
              </span>
            ))}
          </div>
          {days.map((d, i) => (
            <div key={formatIsoDate(d)} class="tg-day" data-date={formatIsoDate(d)}
              onClick={(ev) => {
                if ((ev.target as HTMLElement).closest(".cal-event")) return;
                const rect = (ev.currentTarget as HTMLElement).getBoundingClientRect();
                const minutes = snapMinutes(((ev.clientY - rect.top) / rect.height) * DAY_MINUTES);
                onSlot(fromLocal({ ...d, hour: Math.floor(minutes / 60), minute: minutes % 60 }, zone).getTime());
              }}>
              {Array.from({ length: 24 }, (_, h) => (
                <button key={h} type="button" tabIndex={i === cursorDay && h === cursor.hour ? 0 : -1} class="tg-slot"
                  style={{ top: `${h * HOUR_PX}px`, height: `${HOUR_PX}px` }}
                  aria-label={t("calendar.slot", { date: formatLocalDate(d, DAY_HEADING), time: formatLocalTime({ hour: h, minute: 0 }) })}
                  data-testid="calendar-slot" data-date={formatIsoDate(d)} data-day-index={i} data-hour={h}
                  onFocus={() => setCursor({ day: i, hour: h })}
                  onClick={(ev) => {
                    if (ev.detail !== 0) return; // a pointer: the day works out the half hour
                    ev.stopPropagation(); // the keyboard (Enter, Space): this hour
                    onSlot(fromLocal({ ...d, hour: h, minute: 0 }, zone).getTime());
                  }} />
              ))}
              {sameDate(d, todayDate) && (
                <span class="tg-now" aria-hidden="true" style={{ top: `${(wallMinutes(now, zone) / 60) * HOUR_PX}px` }} />
              )}
              {placed[i]!.map((p) => {
                const o = p.item;
                return (
                  <button key={`${o.schedule_id}-${o.recurrence_id}`} type="button" class={eventClass(o)}
                    data-testid="calendar-event" data-schedule-id={o.schedule_id} data-start={o.start} data-role={o.role}
                    data-partstat={o.partstat ?? ""} aria-label={eventLabel(o, zone)}
                    style={{
                      top: `${(p.top / 60) * HOUR_PX}px`,
                      height: `${Math.max((p.height / 60) * HOUR_PX - 2, 18)}px`,
                      left: `${(p.column / p.columns) * 100}%`,
                      width: `calc(${100 / p.columns}% - 4px)`,
                    }}
                    onClick={() => onOpen(o)}>
                    <span class="ev-title">{o.title}</span>
                    <span class="ev-time">{formatTimeRange(Date.parse(o.start), Date.parse(o.end), zone)}</span>
                  </button>
                );
              })}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}

function ListView({ items, zone, onOpen }: { items: Occurrence[] | null; zone: string; onOpen: (o: Occurrence) => void }) {
  if (items === null) return <Spinner label={t("calendar.loadingMeetings")} />;
  const groups = groupByDay(items, span, zone);
  if (groups.length === 0) return <p class="muted empty" data-testid="calendar-empty">{t("calendar.empty", { days: LIST_DAYS })}</p>;
  return (
    <div class="cal-list">
      {groups.map((g) => (
        <section key={formatIsoDate(g.date)} aria-label={formatLocalDate(g.date, DAY_HEADING)}>
          <h2 class="cal-list-day">{formatLocalDate(g.date, DAY_HEADING)}</h2>
          <ul class="occ-list">
            {g.items.map((o) => <OccurrenceRow key={`${o.schedule_id}-${o.recurrence_id}`} o={o} zone={zone} onOpen={onOpen} />)}
          </ul>
        </section>
      ))}
    </div>
  );
}
