/**
 * The scheduling dialog's form and what it sends: a new schedule, an edit (of one occurrence,
 * this and the following ones, or the series), and the conflict preview of either. Pure, so the
 * mapping is tested without a browser. Problems are said in the UI's language.
 */
import { isolate, t } from "../i18n";
import type {
  ConflictQuery,
  InviteeIn,
  Occurrence,
  Schedule,
  ScheduleCreate,
  ScheduleUpdate,
  Scope,
} from "../protocol/scheduling";
import {
  defaultRecurrenceForm,
  formToSpec,
  parseRrule,
  specToForm,
  validateRecurrence,
  type RecurrenceForm,
  type RecurrenceSpec,
} from "./recurrence";
import {
  formatIsoDate,
  formatIsoLocal,
  formatIsoTime,
  formatLocalDate,
  formatLocalTime,
  parseIsoDate,
  parseIsoLocal,
  parseIsoTime,
  toLocal,
  wallTimeKind,
  weekdayOf,
  type LocalDate,
  type LocalDateTime,
} from "./time";

export type ScheduleTarget =
  | { kind: "create"; /** Suggested start (epoch ms), e.g. the slot clicked in the calendar. */ start?: number }
  | { kind: "edit"; schedule: Schedule; scope: Scope; occurrence: Occurrence | null };

export interface Invitee {
  email: string;
  required: boolean;
  cohost: boolean;
  display_name?: string;
}

export interface Draft {
  title: string;
  agenda: string;
  /** "YYYY-MM-DD" and "HH:MM", as the date and time inputs hold them. */
  date: string;
  time: string;
  timezone: string;
  duration: number;
  recurrence: RecurrenceForm;
  invitees: Invitee[];
  passcode: boolean;
  waitingRoom: boolean;
}

const HALF_HOUR = 30 * 60_000;
export const DEFAULT_DURATION = 60;

/** The form for a target: empty at a suggested time, or showing the schedule (occurrence) edited. */
export function initialDraft(target: ScheduleTarget, userZone: string, now = Date.now()): Draft {
  if (target.kind === "create") {
    const start = target.start ?? Math.ceil((now + 5 * 60_000) / HALF_HOUR) * HALF_HOUR;
    const local = toLocal(start, userZone);
    return {
      title: "",
      agenda: "",
      date: formatIsoDate(local),
      time: formatIsoTime(local),
      timezone: userZone,
      duration: DEFAULT_DURATION,
      recurrence: defaultRecurrenceForm(local),
      invitees: [],
      passcode: true,
      waitingRoom: true,
    };
  }
  const { schedule, occurrence, scope } = target;
  const zone = schedule.timezone;
  const seriesStart = parseIsoLocal(schedule.start) ?? toLocal(now, zone);
  const local: LocalDateTime = occurrence && scope !== "all" ? toLocal(Date.parse(occurrence.start), zone) : seriesStart;
  const duration = occurrence && scope === "this"
    ? Math.round((Date.parse(occurrence.end) - Date.parse(occurrence.start)) / 60_000)
    : schedule.duration_minutes;
  const spec = schedule.recurrence ?? (schedule.rrule ? parseRrule(schedule.rrule, zone) : null);
  return {
    title: occurrence && scope === "this" ? occurrence.title : schedule.title,
    agenda: schedule.agenda,
    date: formatIsoDate(local),
    time: formatIsoTime(local),
    timezone: zone,
    duration,
    recurrence: specToForm(spec, local),
    invitees: schedule.attendees.map((a) => ({ email: a.email, required: a.required, cohost: a.cohost, display_name: a.display_name })),
    passcode: !!schedule.meeting.passcode,
    waitingRoom: schedule.meeting.waiting_room,
  };
}

/**
 * The form with another start date. A weekly recurrence still on the old date's weekday alone
 * follows the new date (as calendars do: "weekly on Wednesday" after moving to a Wednesday);
 * days the user chose stay.
 */
export function withDate(draft: Draft, date: string): Draft {
  const before = parseIsoDate(draft.date);
  const after = parseIsoDate(date);
  const days = draft.recurrence.days;
  if (before && after && days.length === 1 && days[0] === weekdayOf(before)) {
    return { ...draft, date, recurrence: { ...draft.recurrence, days: [weekdayOf(after)] } };
  }
  return { ...draft, date };
}

/** What parts of the form apply: one occurrence has no recurrence, invitees or room options. */
export function fieldsFor(target: ScheduleTarget): { recurrence: boolean; invitees: boolean; options: boolean } {
  const scope = target.kind === "edit" ? target.scope : null;
  return { recurrence: scope !== "this", invitees: scope !== "this", options: scope === null || scope === "all" };
}

export interface Checked {
  local: LocalDateTime | null;
  date: LocalDate | null;
  spec: RecurrenceSpec | null;
  errors: { title: string | null; when: string | null; recurrence: string | null };
}

/** The form read and checked. */
export function checkDraft(draft: Draft, target: ScheduleTarget): Checked {
  const date = parseIsoDate(draft.date);
  const time = parseIsoTime(draft.time);
  const local = date && time ? { ...date, ...time } : null;
  const fields = fieldsFor(target);
  const recurrence = fields.recurrence && date ? validateRecurrence(draft.recurrence, date) : null;
  return {
    local,
    date,
    spec: fields.recurrence && date && !recurrence ? formToSpec(draft.recurrence, date) : null,
    errors: {
      title: draft.title.trim() ? null : t("schedule.error.title"),
      when: !date ? t("schedule.error.date") : !time ? t("schedule.error.time") : local ? wallTimeProblem(local, draft.timezone) : null,
      recurrence,
    },
  };
}

/** A start the clocks skip or go through twice, said for people (the server refuses both). */
function wallTimeProblem(local: LocalDateTime, zone: string): string | null {
  let kind: ReturnType<typeof wallTimeKind>;
  try {
    kind = wallTimeKind(local, zone);
  } catch {
    return t("schedule.error.zone");
  }
  if (kind === "ok") return null;
  const params = {
    time: isolate(formatLocalTime(local)),
    date: isolate(formatLocalDate(local, { day: "numeric", month: "long", year: "numeric" })),
    zone: isolate(zone.replace(/_/g, " ")),
  };
  return t(kind === "nonexistent" ? "schedule.error.nonexistent" : "schedule.error.ambiguous", params);
}

function invitees(draft: Draft): InviteeIn[] {
  return draft.invitees.map(({ email, required, cohost }) => ({ email, required, cohost }));
}

/** Six random digits, for turning a passcode on while editing (the server only makes one on create). */
export function newPasscode(random: () => number = secureRandom): string {
  return Array.from({ length: 6 }, () => Math.floor(random() * 10)).join("");
}

function secureRandom(): number {
  const buf = new Uint32Array(1);
  crypto.getRandomValues(buf);
  return buf[0]! / 2 ** 32;
}

/** POST /schedules */
export function createBody(draft: Draft, checked: Checked): ScheduleCreate {
  return {
    title: draft.title.trim(),
    agenda: draft.agenda,
    timezone: draft.timezone,
    start: formatIsoLocal(checked.local!),
    duration_minutes: draft.duration,
    recurrence: checked.spec,
    attendees: invitees(draft),
    passcode: draft.passcode ? null : "",
    waiting_room: draft.waitingRoom,
  };
}

/** PATCH /schedules/{id} for an edit target. */
export function updateBody(
  draft: Draft,
  checked: Checked,
  target: Extract<ScheduleTarget, { kind: "edit" }>,
  passcode: () => string = newPasscode,
): ScheduleUpdate {
  const fields = fieldsFor(target);
  const body: ScheduleUpdate = {
    scope: target.scope,
    ...(target.scope !== "all" && target.occurrence ? { occurrence: target.occurrence.recurrence_id } : {}),
    title: draft.title.trim(),
    agenda: draft.agenda,
    timezone: draft.timezone,
    start: formatIsoLocal(checked.local!),
    duration_minutes: draft.duration,
  };
  if (fields.recurrence) body.recurrence = checked.spec;
  if (fields.invitees) body.attendees = invitees(draft);
  if (fields.options) {
    const had = !!target.schedule.meeting.passcode;
    if (had !== draft.passcode) body.passcode = draft.passcode ? passcode() : "";
    if (draft.waitingRoom !== target.schedule.meeting.waiting_room) body.waiting_room = draft.waitingRoom;
  }
  return body;
}

/**
 * The conflict preview for the form, or null while the form cannot be checked. Only what decides
 * conflicts goes in (not the title, agenda or room options), so typing a title asks nothing.
 */
export function conflictQuery(draft: Draft, checked: Checked, target: ScheduleTarget): ConflictQuery | null {
  if (!checked.local || checked.errors.when || checked.errors.recurrence) return null;
  const fields = fieldsFor(target);
  const emails = fields.invitees
    ? draft.invitees.map((i) => i.email)
    : target.kind === "edit" ? target.schedule.attendees.map((a) => a.email) : [];
  return {
    timezone: draft.timezone,
    start: formatIsoLocal(checked.local),
    duration_minutes: draft.duration,
    recurrence: fields.recurrence ? checked.spec : null,
    attendees: emails,
    ...(target.kind === "edit"
      ? {
          schedule_id: target.schedule.id,
          scope: target.scope,
          ...(target.scope !== "all" && target.occurrence ? { occurrence: target.occurrence.recurrence_id } : {}),
        }
      : {}),
  };
}
