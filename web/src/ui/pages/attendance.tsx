/**
 * The attendance of each session for the host of an event or lecture: on the meeting's page
 * (`/j/<link>`, host view, also once the meeting is over) and on the screen after it ends:
 * a table per session (who attended, from when to when, the minutes present), newest session
 * first, and the CSV download. Read from the REST API when shown and on Refresh.
 */
import { useEffect, useState } from "preact/hooks";
import { uiLocale } from "../../i18n";
import { useT } from "../../i18n/hook";
import type { AttendanceRole, AttendanceSession } from "../../protocol/attendance";
import { useAction } from "../hooks";
import { rest } from "../session";
import "./attendance.css";

const ROLES: readonly AttendanceRole[] = ["host", "cohost", "participant", "attendee"];

/** A wall time in the reader's zone and the UI's language (the day only when it differs from `day`). */
export function formatAttendanceTime(iso: string, locale: string, day?: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const sameDay = day !== undefined && new Date(day).toDateString() === date.toDateString();
  return sameDay
    ? date.toLocaleTimeString(locale, { timeStyle: "short" })
    : date.toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}

export function Attendance({ meetingId }: { meetingId: string }) {
  const t = useT();
  const [sessions, setSessions] = useState<AttendanceSession[] | null>(null);
  const [loads, setLoads] = useState(0);
  const { busy, error, run } = useAction();

  useEffect(() => {
    let current = true;
    void run(async () => {
      const page = await rest.attendance(meetingId);
      if (current) setSessions(page.sessions);
    });
    return () => {
      current = false;
    };
  }, [meetingId, loads]);

  const locale = uiLocale();
  const role = (r: string) => ((ROLES as readonly string[]).includes(r) ? t(`attendance.role.${r}`) : r);
  const newestFirst = sessions ? [...sessions].reverse() : [];
  return (
    <section class="attendance" data-testid="attendance" aria-labelledby="attendance-title" aria-busy={busy}>
      <h3 id="attendance-title">{t("attendance.title")}</h3>
      {sessions && sessions.length === 0 && <p class="muted small" data-testid="attendance-none">{t("attendance.none")}</p>}
      {newestFirst.map((s) => (
        <table key={s.session} class="attendance-table" data-testid="attendance-session" data-session={s.session}>
          <caption>
            {t("attendance.session", {
              n: s.session,
              start: formatAttendanceTime(s.started, locale),
              end: s.ended ? formatAttendanceTime(s.ended, locale, s.started) : t("attendance.ongoing"),
            })}
          </caption>
          <thead>
            <tr>
              <th scope="col">{t("attendance.name")}</th>
              <th scope="col">{t("attendance.role")}</th>
              <th scope="col">{t("attendance.from")}</th>
              <th scope="col">{t("attendance.to")}</th>
              <th scope="col">{t("attendance.minutes")}</th>
            </tr>
          </thead>
          <tbody>
            {s.people.map((p, i) => (
              <tr key={i} data-testid="attendance-row">
                <th scope="row" data-testid="attendance-name"><bdi>{p.name}</bdi></th>
                <td>{role(p.role)}</td>
                <td><time dateTime={p.first_joined}>{formatAttendanceTime(p.first_joined, locale, s.started)}</time></td>
                <td>
                  {p.last_left
                    ? <time dateTime={p.last_left}>{formatAttendanceTime(p.last_left, locale, s.started)}</time>
                    : t("attendance.stillHere")}
                </td>
                <td data-testid="attendance-minutes">{p.minutes.toLocaleString(locale)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
      <p class="row small">
        <a href={rest.attendanceCsvUrl(meetingId)} download data-testid="attendance-csv">{t("registrants.attendance")}</a>
        <button type="button" class="btn small ghost" disabled={busy} data-testid="attendance-refresh"
          onClick={() => setLoads((n) => n + 1)}>{t("attendance.refresh")}</button>
      </p>
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}
