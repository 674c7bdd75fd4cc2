/**
 * The attendance of each session of a meeting over REST (docs/rest.md, `GET
 * /meetings/{id}/attendance`): the host's, read on the meeting's page after a class.
 */

export type AttendanceRole = "host" | "cohost" | "participant" | "attendee";

export interface Attendee {
  name: string;
  role: AttendanceRole;
  first_joined: string;
  /** null: still there. */
  last_left: string | null;
  minutes: number;
}

export interface AttendanceSession {
  session: number;
  started: string;
  /** null: someone is still there. */
  ended: string | null;
  /** In the order they came. */
  people: Attendee[];
}

export interface AttendancePage {
  sessions: AttendanceSession[];
}
