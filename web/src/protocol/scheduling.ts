/**
 * The REST shapes of scheduling (docs/rest.md, "Scheduling"): schedules and their occurrences,
 * conflicts, free/busy, "find a time", answers (signed in, or by the link in an invitation),
 * calendar settings, the private feed and connected calendars.
 *
 * Times: `start` of a schedule is a wall-clock time ("2025-06-02T09:00:00") in its `timezone`;
 * every other timestamp is ISO 8601 in UTC.
 */
import type { RecurrenceSpec } from "../scheduling/recurrence";
import type { InterpreterIn } from "./interpreters";

export type { RecurrenceSpec };

export type PartStat = "NEEDS-ACTION" | "ACCEPTED" | "TENTATIVE" | "DECLINED";
/** The answers people can give. */
export type Answer = Exclude<PartStat, "NEEDS-ACTION">;
/** Which occurrences an edit, a cancellation or an answer applies to. */
export type Scope = "this" | "following" | "all";
/** The caller's part in a schedule. */
export type ScheduleRole = "organizer" | "cohost" | "attendee";
export type ScheduleStatus = "confirmed" | "cancelled";
export type EmailStatus = "pending" | "ok" | "bounced";

export interface InviteeIn {
  email: string;
  required?: boolean;
  cohost?: boolean;
}

/** POST /schedules */
export interface ScheduleCreate {
  title: string;
  agenda?: string;
  timezone: string;
  /** Wall-clock start in `timezone`, no offset: "YYYY-MM-DDTHH:MM[:SS]". */
  start: string;
  duration_minutes: number;
  recurrence?: RecurrenceSpec | null;
  attendees?: InviteeIn[];
  /** null: six random digits; "": no passcode. */
  passcode?: string | null;
  waiting_room?: boolean;
  allow_guests?: boolean;
  mute_on_entry?: boolean;
}

/** PATCH /schedules/{id}: fields left out stay; `recurrence: null` makes a single event. */
export interface ScheduleUpdate {
  scope?: Scope;
  /** The occurrence's recurrence_id, for scope "this" and "following". */
  occurrence?: string | null;
  title?: string;
  agenda?: string;
  timezone?: string;
  start?: string;
  duration_minutes?: number;
  recurrence?: RecurrenceSpec | null;
  attendees?: InviteeIn[];
  /** A new passcode; "": none. */
  passcode?: string;
  waiting_room?: boolean;
  /** The meeting's interpreters, the whole new list (scope all); those named by email are invited. */
  interpreters?: InterpreterIn[];
}

export interface Person {
  /** The account, when the address has one. */
  id: string | null;
  email: string;
  display_name: string;
}

/** The meeting room people join for every occurrence of a schedule. */
export interface MeetingBrief {
  id: string;
  code: string;
  join_url: string;
  /** Organiser and co-hosts only. */
  passcode: string | null;
  waiting_room: boolean;
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
  /** Answers to single occurrences, overriding `partstat`. */
  occurrences: { recurrence_id: string; partstat: PartStat }[];
  email_status: EmailStatus;
  /** Organiser only. */
  email_error: string | null;
}

export interface ScheduleException {
  recurrence_id: string;
  cancelled: boolean;
  timezone: string | null;
  /** Local time in `timezone` (or the series'). */
  start: string | null;
  duration_minutes: number | null;
  title: string | null;
  agenda: string | null;
}

export interface Schedule {
  id: string;
  uid: string;
  title: string;
  agenda: string;
  timezone: string;
  /** Wall-clock start in `timezone`. */
  start: string;
  duration_minutes: number;
  recurrence: RecurrenceSpec | null;
  rrule: string | null;
  first_start: string;
  /** null: the series never ends. */
  last_end: string | null;
  status: ScheduleStatus;
  sequence: number;
  parent_id: string | null;
  organizer: Person;
  attendees: Attendee[];
  exceptions: ScheduleException[];
  meeting: MeetingBrief;
  role: ScheduleRole;
  /** The caller's answer for the series (null for the organiser). */
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
  /** Moved or changed on its own. */
  overridden: boolean;
  role: ScheduleRole;
  /** The caller's answer for this occurrence (null for the organiser). */
  partstat: PartStat | null;
  organizer: Person;
  join_url: string;
}

export interface OccurrenceList {
  occurrences: Occurrence[];
  truncated: boolean;
}

/** POST /schedules/conflicts: a schedule's timing as it would be, before saving. */
export interface ConflictQuery {
  title?: string;
  timezone: string;
  start: string;
  duration_minutes: number;
  recurrence?: RecurrenceSpec | null;
  /** Invitees' addresses; the caller is always checked. */
  attendees?: string[];
  /** The schedule being edited: its own occurrences are not conflicts. */
  schedule_id?: string;
  /** "this": one occurrence moved on its own (`recurrence` is ignored). */
  scope?: Scope;
  occurrence?: string;
}

/** One overlap: an occurrence of the candidate and someone's busy time. */
export interface Conflict {
  email: string;
  display_name: string;
  /** The caller's own calendar. */
  self: boolean;
  occurrence_start: string;
  occurrence_end: string;
  occurrence_recurrence_id: string;
  /** A Convene meeting, or a busy time from a connected calendar. */
  source: "schedule" | "calendar";
  /** Only when the caller may see which meeting it is. */
  title: string | null;
  schedule_id: string | null;
  /** The labels of the caller's own connected calendars holding this time (else empty). */
  calendars?: string[];
  busy_recurrence_id: string | null;
  busy_start: string;
  busy_end: string;
}

export interface ConflictList {
  conflicts: Conflict[];
  /** More overlaps exist than were listed. */
  truncated: boolean;
  checked_occurrences: number;
  /** An open-ended series is checked up to here. */
  checked_until: string | null;
}

export interface Interval {
  start: string;
  end: string;
}

export interface FreeBusyPerson {
  email: string;
  display_name: string;
  user_id: string | null;
  /** false: no account and never invited. */
  known: boolean;
  timezone: string | null;
  busy: Interval[];
  /** Working hours in UTC (accounts only). */
  working: Interval[];
}

export interface FreeBusyQuery {
  attendees: string[];
  start: string;
  end: string;
}

export interface FindTimeQuery {
  attendees: InviteeIn[];
  duration_minutes: number;
  /** Default: now. */
  start?: string;
  /** Default: 14 days after start. */
  end?: string;
  limit?: number;
  step_minutes?: number;
  /** A schedule being moved: its own time is not busy. */
  schedule_id?: string;
}

export interface Slot {
  start: string;
  end: string;
  /** Optional invitees (emails) free then too. */
  optional_free: string[];
}

export interface RespondBody {
  partstat: Answer;
  /** One occurrence (its recurrence id); left out: the whole series. */
  occurrence?: string | null;
}

export interface RespondResult {
  /** The caller's answer now (for the occurrence, if given). */
  partstat: PartStat;
  schedule: Schedule;
  /** What the answer overlaps in the caller's own calendar. */
  conflicts: Conflict[];
  truncated: boolean;
}

export interface Reply {
  attendee_id: string;
  email: string;
  display_name: string;
  partstat: PartStat;
  /** null: the answer for the series. */
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


/** What the page of an invitation's link shows (GET and POST /rsvp/{attendee_id}/{token}). */
export interface RsvpView {
  attendee: RsvpAttendee;
  schedule: RsvpSchedule;
  /** The invitee's zone when they have an account, else the meeting's. */
  timezone: string;
  /** The upcoming occurrences (at most 50), with the invitee's answer to each. */
  occurrences: RsvpOccurrence[];
  /** What accepting would overlap in the invitee's calendar; null: not known (not a Convene user). */
  conflicts: ConflictList | null;
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
  /** Ranges end at "24:00" for midnight. */
  working_hours: WorkingHours;
  /** Minutes before each meeting; null: no reminders. */
  reminder_minutes: number | null;
  email_reminders: boolean;
  feed_enabled: boolean;
  /** The web client's language (one of the six UN languages); null: the browser's. */
  language?: "ar" | "en" | "es" | "fr" | "ru" | "zh" | null;
}

export type CalendarSettingsUpdate = Partial<Omit<CalendarSettings, "feed_enabled">>;

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
