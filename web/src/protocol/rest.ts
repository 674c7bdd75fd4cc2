/**
 * RestClient: typed calls to Convene's REST API (`/api/v1`, see docs/rest.md).
 *
 * The session cookie authenticates; every non-GET call carries `X-CSRF-Token` with the token
 * returned by sign-in, sign-up and `GET /auth/session`. Failures reject with RestError, whose
 * `code` is the server's stable error code (or a ClientErrorCode for network trouble).
 */
import { ClientErrorCode, RestError, isErrorBody } from "./errors";
import type { AttendancePage } from "./attendance";
import type { Interpreter, InterpreterIn, InterpreterList } from "./interpreters";
import type {
  Confirmed,
  EventPage,
  Registration,
  RegistrationCreate,
  RegistrationPage,
  RegistrationPolicy,
  RegistrationState,
} from "./registrations";
import type {
  CalendarConnection,
  CalendarConnectionCreate,
  CalendarDiscover,
  CalendarSettings,
  CalendarSettingsUpdate,
  ConflictList,
  ConflictQuery,
  DiscoveredCalendar,
  Feed,
  OccurrenceList,
  Reply,
  FindTimeQuery,
  FreeBusyPerson,
  FreeBusyQuery,
  RespondBody,
  RespondResult,
  RsvpAnswer,
  RsvpAttendee,
  RsvpView,
  Schedule,
  ScheduleCreate,
  ScheduleUpdate,
  Scope,
  Slot,
} from "./scheduling";

export const API_BASE = "/api/v1";

export interface User {
  id: string;
  email: string;
  display_name: string;
  created_at: string;
  /** False until the address is confirmed by the link mailed at sign-up (docs/rest.md). */
  email_verified: boolean;
}

export interface SessionInfo {
  user: User;
  csrf_token: string;
}

export type ChatPolicy = "everyone" | "hosts" | "none";
export type SharePolicy = "everyone" | "hosts";
export type MeetingStatus = "open" | "live" | "ended";
/** meeting: everyone interactive; event: a panel and a view-only audience; lecture: an event for classes. */
export type MeetingMode = "meeting" | "event" | "lecture";

export interface MeetingCreate {
  title?: string;
  /** null: the server generates 6 digits; "": no passcode. */
  passcode?: string | null;
  waiting_room?: boolean;
  allow_guests?: boolean;
  mute_on_entry?: boolean;
  allow_self_unmute?: boolean;
  /** Default: the server's setting (meetings.guest_succession). */
  guest_succession?: boolean;
  mode?: MeetingMode;
  /** An event's audience: off (default), open or approval (docs/rest.md, "Event registration"). */
  registration?: RegistrationPolicy;
}

/** A meeting as its host sees it. */
export interface Meeting {
  id: string;
  code: string;
  link_token: string;
  join_url: string;
  title: string;
  passcode: string | null;
  waiting_room: boolean;
  allow_guests: boolean;
  mute_on_entry: boolean;
  allow_self_unmute: boolean;
  locked: boolean;
  chat: ChatPolicy;
  screen_share: SharePolicy;
  max_participants: number;
  /** A guest may become host when only guests remain. */
  guest_succession: boolean;
  mode?: MeetingMode;
  /** Absent from servers that predate registration. */
  registration?: RegistrationPolicy;
  status: MeetingStatus;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
}

/** What anyone with the code or link sees before joining. */
export interface MeetingPublic {
  code: string;
  title: string;
  host_name: string;
  requires_passcode: boolean;
  allow_guests: boolean;
  /** Absent from servers that predate events. */
  mode?: MeetingMode;
  /** Must an event's audience register first? Absent from servers that predate registration. */
  registration?: RegistrationPolicy;
  /** In an event: would the caller join on the panel (panelist link, or named as a panelist or
   * interpreter)? Absent from servers that predate it. */
  panelist?: boolean;
  status: MeetingStatus;
}

export type MeetingSettingsUpdate = Partial<
  Pick<
    Meeting,
    | "title"
    | "passcode"
    | "waiting_room"
    | "allow_guests"
    | "mute_on_entry"
    | "allow_self_unmute"
    | "locked"
    | "chat"
    | "screen_share"
    | "guest_succession"
    | "registration"
  >
>;

/** The host's view has a link token; the public view does not. */
export function isHostView(meeting: Meeting | MeetingPublic): meeting is Meeting {
  return "link_token" in meeting;
}

// -- Transcripts (docs/rest.md "Transcripts") ----------------------------------------------

export type TranscriptFormat = "vtt" | "srt" | "txt" | "json";

export interface TranscriptLanguage {
  /** A language tag (`en`, `zh-Hant`, `es-419`). */
  language: string;
  segments: number;
  /** The segments are translations (read by someone), not the speakers' own words. */
  translated: boolean;
}

export interface TranscriptLanguages {
  meeting_id: string;
  languages: TranscriptLanguage[];
  /** The caller may delete the transcripts (the meeting's host). */
  may_delete: boolean;
}

export interface TranscriptSegment {
  id: string;
  speaker: { id: string; display_name: string };
  /** ISO 8601 UTC wall times. */
  start: string;
  end: string;
  /** Milliseconds since the transcript began. */
  start_ms: number;
  end_ms: number;
  text: string;
  /** The spoken language; null: not recorded. */
  source_language: string | null;
  translated: boolean;
}

export interface TranscriptPage {
  meeting_id: string;
  title: string;
  language: string;
  segments: TranscriptSegment[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next_cursor: string | null;
}

/** The URL of a whole transcript as a file (for a plain `<a href download>`). */
export function transcriptFileUrl(meetingId: string, language: string, format: TranscriptFormat, base: string = API_BASE): string {
  return `${base}/meetings/${encodeURIComponent(meetingId)}/transcripts/${encodeURIComponent(language)}?format=${format}`;
}

/** The path (below the API base) of one JSON page of a transcript. */
export function transcriptPagePath(meetingId: string, language: string, limit: number, cursor: string | null): string {
  const q = query({ format: "json", limit: String(limit), ...(cursor ? { cursor } : {}) });
  return `/meetings/${encodeURIComponent(meetingId)}/transcripts/${encodeURIComponent(language)}?${q}`;
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Per-call options: an AbortSignal drops a call whose answer is no longer wanted. */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface RestOptions {
  base?: string;
  fetch?: FetchLike;
  /** The language the server should write its messages in (`Accept-Language`), asked per call. */
  language?: () => string;
}

export class RestClient {
  private readonly base: string;
  private readonly fetchImpl: FetchLike;
  private readonly language: (() => string) | undefined;
  private csrfToken: string | null = null;

  constructor(options: RestOptions = {}) {
    this.base = options.base ?? API_BASE;
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.language = options.language;
  }

  /** The signed-in session, or null when signed out. Also refreshes the CSRF token. */
  async session(): Promise<SessionInfo | null> {
    try {
      const info = await this.call<SessionInfo>("GET", "/auth/session");
      this.csrfToken = info.csrf_token;
      return info;
    } catch (err) {
      if (err instanceof RestError && err.status === 401) {
        this.csrfToken = null;
        return null;
      }
      throw err;
    }
  }

  async signUp(body: { email: string; password: string; display_name: string }): Promise<SessionInfo> {
    const info = await this.call<SessionInfo>("POST", "/auth/signup", body);
    this.csrfToken = info.csrf_token;
    return info;
  }

  async signIn(body: { email: string; password: string }): Promise<SessionInfo> {
    const info = await this.call<SessionInfo>("POST", "/auth/signin", body);
    this.csrfToken = info.csrf_token;
    return info;
  }

  /** Follow a confirmation link (works signed out); the account it confirmed. */
  verifyEmail(token: string): Promise<User> {
    return this.call<User>("POST", "/auth/verify", { token });
  }

  /** Mail the signed-in user a new confirmation link. */
  resendVerification(): Promise<User> {
    return this.call<User>("POST", "/auth/verify/resend");
  }

  /** Ask for a password reset link; the answer is the same whether or not the address has an account. */
  async forgotPassword(email: string): Promise<void> {
    await this.call<void>("POST", "/auth/password/forgot", { email });
  }

  /** Follow a reset link: sets the new password and signs this browser in (every other session ends). */
  async resetPassword(token: string, password: string): Promise<SessionInfo> {
    const info = await this.call<SessionInfo>("POST", "/auth/password/reset", { token, password });
    this.csrfToken = info.csrf_token;
    return info;
  }

  /** Change the password; every session ends and this browser gets a new one (a new CSRF token). */
  async changePassword(body: { current_password: string; new_password: string }): Promise<SessionInfo> {
    const info = await this.call<SessionInfo>("POST", "/users/me/password", body);
    this.csrfToken = info.csrf_token;
    return info;
  }

  async signOut(): Promise<void> {
    await this.call<void>("POST", "/auth/signout");
    this.csrfToken = null;
  }

  me(): Promise<User> {
    return this.call<User>("GET", "/users/me");
  }

  updateMe(body: { display_name?: string }): Promise<User> {
    return this.call<User>("PATCH", "/users/me", body);
  }

  createMeeting(body: MeetingCreate): Promise<Meeting> {
    return this.call<Meeting>("POST", "/meetings", body);
  }

  async listMeetings(): Promise<Meeting[]> {
    const page = await this.call<{ meetings: Meeting[] }>("GET", "/meetings");
    return page.meetings;
  }

  /** `ref` is the 9-digit code or the link token; the host gets the full Meeting. */
  getMeeting(ref: string): Promise<Meeting | MeetingPublic> {
    return this.call<Meeting | MeetingPublic>("GET", `/meetings/${encodeURIComponent(ref)}`);
  }

  updateMeeting(id: string, body: MeetingSettingsUpdate): Promise<Meeting> {
    return this.call<Meeting>("PATCH", `/meetings/${encodeURIComponent(id)}`, body);
  }

  deleteMeeting(id: string): Promise<void> {
    return this.call<void>("DELETE", `/meetings/${encodeURIComponent(id)}`);
  }

  /** The interpreters a meeting names ahead of time (its owner only). */
  async interpreters(meetingId: string): Promise<Interpreter[]> {
    const list = await this.call<InterpreterList>("GET", `/meetings/${encodeURIComponent(meetingId)}/interpreters`);
    return list.interpreters;
  }

  /** Replace the meeting's interpreters (the whole list; its owner only). */
  async setInterpreters(meetingId: string, interpreters: InterpreterIn[]): Promise<Interpreter[]> {
    const list = await this.call<InterpreterList>("PUT", `/meetings/${encodeURIComponent(meetingId)}/interpreters`, { interpreters });
    return list.interpreters;
  }

  // -- Scheduling ------------------------------------------------------------------------------

  createSchedule(body: ScheduleCreate): Promise<Schedule> {
    return this.call<Schedule>("POST", "/schedules", body);
  }

  /** The caller's occurrences overlapping [start, end) (UTC ISO, at most 366 days apart). */
  occurrences(start: string, end: string, options: CallOptions = {}): Promise<OccurrenceList> {
    return this.call<OccurrenceList>("GET", `/schedules?${query({ start, end })}`, undefined, options);
  }

  getSchedule(id: string): Promise<Schedule> {
    return this.call<Schedule>("GET", `/schedules/${encodeURIComponent(id)}`);
  }

  /** Edits the series, one occurrence, or this and the following ones (answers the new series). */
  updateSchedule(id: string, body: ScheduleUpdate): Promise<Schedule> {
    return this.call<Schedule>("PATCH", `/schedules/${encodeURIComponent(id)}`, body);
  }

  /** Cancels the whole series, this occurrence, or this one and the following ones. */
  cancelSchedule(id: string, scope: Scope = "all", occurrence?: string): Promise<void> {
    const q = query({ scope, ...(occurrence ? { occurrence } : {}) });
    return this.call<void>("DELETE", `/schedules/${encodeURIComponent(id)}?${q}`);
  }

  /** What a schedule would overlap before it is saved (nothing is saved). */
  checkConflicts(body: ConflictQuery, options: CallOptions = {}): Promise<ConflictList> {
    return this.call<ConflictList>("POST", "/schedules/conflicts", body, options);
  }

  respond(id: string, body: RespondBody): Promise<RespondResult> {
    return this.call<RespondResult>("POST", `/schedules/${encodeURIComponent(id)}/respond`, body);
  }

  /** Every invitee's answer, for the series and single occurrences (organiser only). */
  async replies(id: string): Promise<Reply[]> {
    const page = await this.call<{ replies: Reply[] }>("GET", `/schedules/${encodeURIComponent(id)}/replies`);
    return page.replies;
  }

  /** Records an invitee's answer from the iMIP REPLY their calendar program sent (organiser). */
  uploadReply(id: string, ics: string): Promise<{ schedule_id: string; attendee: RsvpAttendee }> {
    return this.call("POST", `/schedules/${encodeURIComponent(id)}/replies`, { ics });
  }

  async freeBusy(body: FreeBusyQuery, options: CallOptions = {}): Promise<FreeBusyPerson[]> {
    const page = await this.call<{ people: FreeBusyPerson[] }>("POST", "/freebusy", body, options);
    return page.people;
  }

  async findTime(body: FindTimeQuery, options: CallOptions = {}): Promise<Slot[]> {
    const page = await this.call<{ slots: Slot[] }>("POST", "/find-time", body, options);
    return page.slots;
  }

  calendarSettings(): Promise<CalendarSettings> {
    return this.call<CalendarSettings>("GET", "/users/me/calendar-settings");
  }

  updateCalendarSettings(body: CalendarSettingsUpdate): Promise<CalendarSettings> {
    return this.call<CalendarSettings>("PATCH", "/users/me/calendar-settings", body);
  }

  // -- Answers by link, feed, connected calendars ------------------------------------------

  getRsvp(attendeeId: string, token: string): Promise<RsvpView> {
    return this.call<RsvpView>("GET", `/rsvp/${encodeURIComponent(attendeeId)}/${encodeURIComponent(token)}`);
  }

  answerRsvp(attendeeId: string, token: string, body: RsvpAnswer): Promise<RsvpView> {
    return this.call<RsvpView>("POST", `/rsvp/${encodeURIComponent(attendeeId)}/${encodeURIComponent(token)}`, body);
  }

  /** An event's registration page (public). */
  getEvent(link: string): Promise<EventPage> {
    return this.call<EventPage>("GET", `/events/${encodeURIComponent(link)}`);
  }

  /** Registers for an event: the same empty answer whatever the address's history. */
  async register(link: string, body: RegistrationCreate): Promise<void> {
    await this.call<undefined>("POST", `/events/${encodeURIComponent(link)}/registrations`, body);
  }

  /** Follows a confirmation link (`<id>.<token>`). */
  confirmRegistration(credential: string): Promise<Confirmed> {
    const [id = "", token = ""] = credential.split(".", 2);
    return this.call<Confirmed>("POST", `/registrations/${encodeURIComponent(id)}/${encodeURIComponent(token)}/confirm`);
  }

  /** The host's list of an event's registrants, a page at a time. */
  registrations(meetingId: string, options: { state?: RegistrationState; after?: string; limit?: number } = {}): Promise<RegistrationPage> {
    const params: Record<string, string> = {};
    if (options.state) params.state = options.state;
    if (options.after) params.after = options.after;
    if (options.limit) params.limit = String(options.limit);
    const q = query(params);
    return this.call<RegistrationPage>("GET", `/meetings/${encodeURIComponent(meetingId)}/registrations${q ? `?${q}` : ""}`);
  }

  decideRegistration(meetingId: string, registrationId: string, decision: "approve" | "deny"): Promise<Registration> {
    return this.call<Registration>(
      "POST", `/meetings/${encodeURIComponent(meetingId)}/registrations/${encodeURIComponent(registrationId)}/${decision}`);
  }

  /** The attendance of each session (the host's). */
  attendance(meetingId: string): Promise<AttendancePage> {
    return this.call<AttendancePage>("GET", `/meetings/${encodeURIComponent(meetingId)}/attendance`);
  }

  /** Where the attendance of each session downloads from, as CSV (the host's). */
  attendanceCsvUrl(meetingId: string): string {
    return `${this.base}/meetings/${encodeURIComponent(meetingId)}/attendance.csv`;
  }

  /** Where the registrants' CSV downloads from (the session cookie authenticates). */
  registrationsCsvUrl(meetingId: string): string {
    return `${this.base}/meetings/${encodeURIComponent(meetingId)}/registrations.csv`;
  }

  feed(): Promise<Feed> {
    return this.call<Feed>("GET", "/users/me/feed");
  }

  /** Turns the feed on with a new link; every earlier link stops working. */
  resetFeed(): Promise<Feed> {
    return this.call<Feed>("POST", "/users/me/feed");
  }

  /** Turns the feed off; every earlier link stops working. */
  disableFeed(): Promise<Feed> {
    return this.call<Feed>("DELETE", "/users/me/feed");
  }

  async listCalendars(): Promise<CalendarConnection[]> {
    const page = await this.call<{ calendars: CalendarConnection[] }>("GET", "/users/me/calendars");
    return page.calendars;
  }

  addCalendar(body: CalendarConnectionCreate): Promise<CalendarConnection> {
    return this.call<CalendarConnection>("POST", "/users/me/calendars", body);
  }

  /** The calendars of a CalDAV account, to choose one. */
  async discoverCalendars(body: CalendarDiscover): Promise<DiscoveredCalendar[]> {
    const page = await this.call<{ calendars: DiscoveredCalendar[] }>("POST", "/users/me/calendars/discover", body);
    return page.calendars;
  }

  /** Busy: reads it now (with the outcome). Publish: writes every meeting again soon. */
  syncCalendar(id: string): Promise<CalendarConnection> {
    return this.call<CalendarConnection>("POST", `/users/me/calendars/${encodeURIComponent(id)}/sync`);
  }

  removeCalendar(id: string): Promise<void> {
    return this.call<void>("DELETE", `/users/me/calendars/${encodeURIComponent(id)}`);
  }

  // -- Transcripts -----------------------------------------------------------------------------

  /** The languages a meeting has a transcript in (readers: its host and who was let in). */
  transcriptLanguages(meetingId: string, options: CallOptions = {}): Promise<TranscriptLanguages> {
    return this.call<TranscriptLanguages>("GET", `/meetings/${encodeURIComponent(meetingId)}/transcripts`, undefined, options);
  }

  /** One page of a transcript, from `cursor` (null: the start). */
  transcriptPage(meetingId: string, language: string, cursor: string | null, limit = 200, options: CallOptions = {}): Promise<TranscriptPage> {
    return this.call<TranscriptPage>("GET", transcriptPagePath(meetingId, language, limit, cursor), undefined, options);
  }

  /** Deletes the meeting's transcripts in every language (the host only). */
  deleteTranscripts(meetingId: string): Promise<void> {
    return this.call<void>("DELETE", `/meetings/${encodeURIComponent(meetingId)}/transcripts`);
  }

  private async call<T>(method: string, path: string, body?: unknown, options: CallOptions = {}, retried = false): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.language) headers["Accept-Language"] = this.language();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const safe = method === "GET" || method === "HEAD" || method === "OPTIONS";
    if (!safe && this.csrfToken) headers["X-CSRF-Token"] = this.csrfToken;

    let response: Response;
    try {
      response = await this.fetchImpl(this.base + path, {
        method,
        headers,
        credentials: "same-origin",
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new RestError(0, ClientErrorCode.Network, "Could not reach the server.", {
        cause: err instanceof Error ? err.message : String(err),
      });
    }

    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (response.ok) {
      if (parsed === undefined && text) {
        throw new RestError(response.status, ClientErrorCode.BadResponse, "The server sent an unreadable answer.");
      }
      return parsed as T;
    }

    const error = (parsed as { error?: unknown } | undefined)?.error;
    if (isErrorBody(error)) {
      // A session that outlived its CSRF token (another tab signed in again): refresh once.
      if (error.code === "csrf_failed" && !retried && !safe) {
        await this.session().catch(() => null);
        return this.call<T>(method, path, body, options, true);
      }
      throw new RestError(response.status, error.code, error.message, error.details ?? {});
    }
    throw new RestError(response.status, ClientErrorCode.BadResponse, `The server answered ${response.status}.`);
  }
}

function query(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}
