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
/** The caller's part in a schedule (a co-host is an attendee with `cohost`). */
export type ScheduleRole = "organizer" | "attendee";
export type ScheduleStatus = "confirmed" | "cancelled";
export type EmailStatus = "pending" | "ok" | "bounced";

export interface InviteeIn {
  email: string;
  required?: boolean;
  cohost?: boolean;
}

/** POST /schedules (and `draft` of a conflict preview). */
export interface ScheduleCreate {
  title: string;
  agenda?: string;
  timezone: string;
  /** Wall-clock start in `timezone`, no offset: "YYYY-MM-DDTHH:MM[:SS]". */
  start: string;
  duration_minutes: number;
  recurrence?: RecurrenceSpec | null;
  invitees?: InviteeIn[];
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
  invitees?: InviteeIn[];
  /** A new passcode; "": none (scope "all" only). */
  passcode?: string;
  /** Scope "all" only. */
  waiting_room?: boolean;
}

export interface PersonOut {
  email: string;
  name: string;
  user_id: string | null;
}

/** The meeting room people join for every occurrence of a schedule. */
export interface MeetingBrief {
  id: string;
  code: string;
  join_url: string;
  passcode: string | null;
  waiting_room: boolean;
  allow_guests: boolean;
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
  /** Answers for single occurrences, overriding `partstat`. */
  occurrences: { recurrence_id: string; partstat: PartStat }[];
  /** Organiser only (else null). */
  email_status: EmailStatus | null;
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
  last_end: string | null;
  sequence: number;
  status: ScheduleStatus;
  parent_id: string | null;
  role: ScheduleRole;
  /** The caller's answer for the series (null for the organiser). */
  my_partstat: PartStat | null;
  organizer: PersonOut;
  meeting: MeetingBrief;
  attendees: Attendee[];
  exceptions: ScheduleException[];
}

/** One occurrence in a window, exceptions applied. */
export interface OccurrenceOut {
  schedule_id: string;
  title: string;
  start: string;
  end: string;
  /** The occurrence's original start (UTC): its name for edits and answers. */
  recurrence_id: string;
  /** Moved or changed on its own. */
  overridden: boolean;
  role: ScheduleRole;
  /** The caller's answer for this occurrence (null for the organiser). */
  partstat: PartStat | null;
}

/** GET /schedules?from=&to= */
export interface CalendarOut {
  occurrences: OccurrenceOut[];
  schedules: Record<string, Schedule>;
  truncated: boolean;
}

/** An occurrence with what the calendar shows of its schedule. */
export interface Occurrence extends OccurrenceOut {
  schedule: Schedule;
  recurring: boolean;
  join_url: string;
}

/** POST /schedules/conflicts: a new schedule, or an edit of one. */
export type ConflictQuery =
  | { draft: ScheduleCreate }
  | { schedule_id: string; changes: ScheduleUpdate };

export interface BusyOut {
  kind: "schedule" | "busy_block";
  start: string;
  end: string;
  /** Only when the caller may see which meeting it is (else null, like the title). */
  schedule_id: string | null;
  recurrence_id: string | null;
  title: string | null;
}

/** One overlap: an occurrence of the candidate and someone's busy time. */
export interface ConflictOut {
  person: PersonOut;
  occurrence: { start: string; end: string; recurrence_id: string };
  busy: BusyOut;
}

export interface ConflictList {
  conflicts: ConflictOut[];
  checked_occurrences: number;
  /** Open-ended series are checked up to here. */
  checked_until: string | null;
  /** More overlaps exist than were listed. */
  truncated: boolean;
}

export interface Interval {
  start: string;
  end: string;
}

export interface FreeBusyPerson {
  email: string;
  name: string;
  user_id: string | null;
  timezone: string | null;
  busy: Interval[];
  /** Working hours over the window (accounts only). */
  working: Interval[];
}

export interface FreeBusyQuery {
  emails: string[];
  from: string;
  to: string;
}

export interface FindTimeQuery {
  invitees: InviteeIn[];
  duration_minutes: number;
  from: string;
  to: string;
  step_minutes?: number;
  count?: number;
}

export interface Slot {
  start: string;
  end: string;
  /** Optional invitees free then too. */
  optional_free: string[];
}

export interface RespondBody {
  partstat: Answer;
  /** One occurrence (its recurrence id); left out: the whole series. */
  occurrence?: string | null;
}

export interface RespondResult {
  schedule: Schedule;
  /** What accepting overlaps in the caller's own calendar. */
  conflicts: ConflictList;
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
  /** Ranges end at "24:00" for midnight. */
  working_hours: WorkingHours;
  /** Minutes before each meeting; null: no reminders. */
  reminder_minutes: number | null;
  email_reminders: boolean;
  feed_enabled: boolean;
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
