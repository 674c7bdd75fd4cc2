/**
 * The REST shapes of scheduling (docs/rest.md, "Scheduling"): schedules and their occurrences,
 * conflicts, free/busy, "find a time", answers (signed in, or by the link in an invitation),
 * calendar settings, the private feed and connected calendars.
 *
 * Times: `start` of a schedule is a wall-clock time ("2025-06-02T09:00:00") in its `timezone`;
 * every other timestamp is ISO 8601 in UTC.
 */
import type { RecurrenceSpec } from "../scheduling/recurrence";

export type { RecurrenceSpec };

export type PartStat = "NEEDS-ACTION" | "ACCEPTED" | "TENTATIVE" | "DECLINED";
/** The answers people can give. */
export type Answer = Exclude<PartStat, "NEEDS-ACTION">;
/** Which occurrences an edit, a cancellation or an answer applies to. */
export type Scope = "this" | "following" | "all";
export type ScheduleRole = "organizer" | "cohost" | "attendee";
export type ScheduleStatus = "confirmed" | "cancelled";
export type EmailStatus = "pending" | "ok" | "bounced";

export interface AttendeeIn {
  email: string;
  required?: boolean;
  cohost?: boolean;
}

export interface Attendee {
  id: string;
  email: string;
  display_name: string;
  /** Set when the address belongs to a Convene account. */
  user_id: string | null;
  required: boolean;
  cohost: boolean;
  partstat: PartStat;
  responded_at: string | null;
  email_status: EmailStatus;
  email_error: string | null;
}

export interface PersonOut {
  id: string;
  email: string;
  display_name: string;
}

/** The meeting room people join for every occurrence of a schedule. */
export interface ScheduleMeeting {
  id: string;
  code: string;
  join_url: string;
  /** Organiser and co-hosts only. */
  passcode?: string | null;
  waiting_room: boolean;
}

export interface ScheduleCreate {
  title: string;
  agenda?: string;
  timezone: string;
  /** Wall-clock start in `timezone`: "YYYY-MM-DDTHH:MM:SS". */
  start: string;
  duration_minutes: number;
  recurrence?: RecurrenceSpec | null;
  attendees?: AttendeeIn[];
  /** null: the server generates one; "": none. */
  passcode?: string | null;
  waiting_room?: boolean;
}

export interface ScheduleUpdate extends Partial<ScheduleCreate> {
  scope?: Scope;
  /** The occurrence (its recurrence id, UTC) for scope "this" and "following". */
  occurrence?: string;
}

export interface Schedule {
  id: string;
  title: string;
  agenda: string;
  timezone: string;
  start: string;
  duration_minutes: number;
  recurrence: RecurrenceSpec | null;
  rrule: string | null;
  status: ScheduleStatus;
  sequence: number;
  parent_id: string | null;
  organizer: PersonOut;
  attendees: Attendee[];
  meeting: ScheduleMeeting;
  /** The caller's part in it, and their answer (null for the organiser). */
  role: ScheduleRole;
  partstat: PartStat | null;
  created_at: string;
  updated_at: string;
}

/** One occurrence in a window (GET /schedules?start=&end=), exceptions applied. */
export interface Occurrence {
  schedule_id: string;
  /** The occurrence's original start (UTC): its name for edits and answers. */
  recurrence_id: string;
  start: string;
  end: string;
  title: string;
  timezone: string;
  recurring: boolean;
  role: ScheduleRole;
  /** The caller's answer for this occurrence (null for the organiser). */
  partstat: PartStat | null;
  organizer: PersonOut;
  join_url: string;
}

export interface ConflictQuery {
  timezone: string;
  start: string;
  duration_minutes: number;
  recurrence?: RecurrenceSpec | null;
  /** Invitees' addresses; the caller is always checked. */
  attendees?: string[];
  /** The schedule being edited: its own occurrences are not conflicts. */
  schedule_id?: string;
  scope?: Scope;
  occurrence?: string;
}

/** One overlap: an occurrence of the candidate and someone's busy time. */
export interface Conflict {
  /** Whose time: the caller ("self": true) or an invitee. */
  email: string;
  display_name: string;
  self: boolean;
  /** The candidate's occurrence that overlaps (UTC). */
  occurrence_start: string;
  occurrence_end: string;
  /** The busy time: a Convene meeting (its title when the caller may see it) or a block from a connected calendar. */
  source: "schedule" | "calendar";
  title: string | null;
  schedule_id: string | null;
  busy_start: string;
  busy_end: string;
}

export interface ConflictList {
  conflicts: Conflict[];
  /** More overlaps exist than were listed. */
  truncated: boolean;
}

export interface BusyInterval {
  start: string;
  end: string;
}

export interface FreeBusyPerson {
  email: string;
  display_name: string;
  /** False for an address Convene knows nothing about (no account, no invitations). */
  known: boolean;
  busy: BusyInterval[];
  /** Working hours in UTC over the window, when the person has an account. */
  working: BusyInterval[];
}

export interface FreeBusyQuery {
  attendees: string[];
  start: string;
  end: string;
}

export interface FindTimeQuery {
  attendees: AttendeeIn[];
  duration_minutes: number;
  /** Search from here (UTC); the server's default is now. */
  start?: string;
  end?: string;
  limit?: number;
  schedule_id?: string;
}

export interface Slot {
  start: string;
  end: string;
}

export interface RespondBody {
  partstat: Answer;
  /** Answer for one occurrence only (its recurrence id); left out: the whole series. */
  occurrence?: string | null;
}

export interface RespondResult {
  partstat: PartStat;
  /** The caller's other meetings that overlap what they accepted. */
  conflicts: Conflict[];
}

export interface Reply {
  attendee_id: string;
  email: string;
  display_name: string;
  partstat: PartStat;
  occurrence: string | null;
  responded_at: string | null;
}

/** An invitee as the answer page and the organiser see them. */
export interface RsvpAttendee {
  id: string;
  email: string;
  display_name: string;
  required: boolean;
  cohost: boolean;
  partstat: PartStat;
  responded_at: string | null;
  email_status: EmailStatus;
  email_error: string | null;
  /** Answers for single occurrences, overriding `partstat`. */
  occurrences: { recurrence_id: string; partstat: PartStat }[];
}

export interface RsvpSchedule {
  id: string;
  title: string;
  agenda: string;
  organizer_name: string;
  organizer_email: string;
  timezone: string;
  /** Wall-clock start in `timezone`, "YYYY-MM-DDTHH:MM:SS". */
  start_local: string;
  duration_minutes: number;
  rrule: string | null;
  status: ScheduleStatus;
  sequence: number;
  join_url: string;
  meeting_code: string;
  passcode: string | null;
}

export interface RsvpOccurrence {
  recurrence_id: string;
  start: string;
  end: string;
  title: string;
  /** This occurrence was moved or changed on its own. */
  changed: boolean;
  partstat: PartStat;
}

/** One of the invitee's meetings overlapping an occurrence (`recurrence_id`) of this one. */
export interface RsvpConflict {
  recurrence_id: string;
  start: string;
  end: string;
  title: string | null;
  schedule_id: string | null;
}

/** What the page of an invitation's link shows (GET and POST /rsvp/{attendee_id}/{token}). */
export interface RsvpView {
  attendee: RsvpAttendee;
  schedule: RsvpSchedule;
  /** The invitee's zone when they have an account, else the meeting's. */
  timezone: string;
  /** The upcoming occurrences (at most 50), with the invitee's answer to each. */
  occurrences: RsvpOccurrence[];
  /** null: not known (not a Convene user, or not checked). */
  conflicts: RsvpConflict[] | null;
}

export interface RsvpAnswer {
  partstat: Answer;
  /** One occurrence (its recurrence id, as listed); left out: the whole series. */
  recurrence_id?: string | null;
}

/** Weekday key ("mon".."sun") -> local [from, to] ranges ("09:00", "17:00"). */
export type WorkingHours = Record<WeekdayKey, [string, string][]>;
export type WeekdayKey = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";
export const WEEKDAY_KEYS: readonly WeekdayKey[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

export interface CalendarSettings {
  timezone: string;
  working_hours: WorkingHours;
  /** Minutes before each meeting; null: no reminders. */
  reminder_minutes: number | null;
  email_reminders: boolean;
}

export interface Feed {
  enabled: boolean;
  /** https form, to paste into a calendar program; null while there is no feed. */
  url: string | null;
  /** webcal form, a link that opens a calendar program. */
  webcal_url: string | null;
}

export type ConnectionKind = "ics" | "caldav";
export type ConnectionPurpose = "busy" | "publish";
export type ConnectionStatus = "pending" | "ok" | "error";

export interface CalendarConnection {
  id: string;
  kind: ConnectionKind;
  purpose: ConnectionPurpose;
  name: string;
  /** An ICS address is shown by its origin only (the rest is as secret as a password). */
  url: string;
  username: string | null;
  has_password: boolean;
  status: ConnectionStatus;
  /** status "error": why; status "ok": what the last sync had to skip; else null. */
  message: string | null;
  last_sync_at: string | null;
  created_at: string;
}

export interface CalendarConnectionCreate {
  kind: ConnectionKind;
  purpose?: ConnectionPurpose;
  url: string;
  name?: string | null;
  username?: string | null;
  password?: string | null;
  /** CalDAV: the calendar collection (from discover) when `url` is the account's. */
  calendar_url?: string | null;
}

export interface CalendarDiscover {
  url: string;
  username?: string | null;
  password?: string | null;
}

/** A calendar of a CalDAV account; `events`: it holds events (not only tasks). */
export interface DiscoveredCalendar {
  url: string;
  name: string;
  events: boolean;
}
