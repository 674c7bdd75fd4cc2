/**
 * Event registration over REST (docs/rest.md, "Event registration"): the public event page,
 * registering, confirming, and the host's list of registrants.
 */
import type { MeetingMode } from "./rest";

export type RegistrationPolicy = "off" | "open" | "approval";
export type RegistrationState = "unconfirmed" | "pending" | "registered" | "denied";

/** What the registration page shows of an event. */
export interface EventPage {
  title: string;
  host_name: string;
  mode: MeetingMode;
  registration: RegistrationPolicy;
  status: "open" | "ended";
  /** The next occurrence of the event's schedule; null without one. */
  starts_at: string | null;
  ends_at: string | null;
  timezone: string | null;
}

export interface RegistrationCreate {
  name: string;
  email: string;
  /** The mails' language (the page's). */
  language?: string;
}

export interface Confirmed {
  state: RegistrationState;
  title: string;
  /** The personal join link, once the registrant may join. */
  join_url: string | null;
}

export interface Registration {
  id: string;
  name: string;
  email: string;
  state: RegistrationState;
  registered_at: string;
  confirmed_at: string | null;
  decided_at: string | null;
  joined_at: string | null;
}

export interface RegistrationPage {
  registrations: Registration[];
  next: string | null;
  counts: Record<RegistrationState, number>;
}

const CREDENTIAL = /^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}$/;

/** `<id>.<token>` from a personal link (`?invite=`, `?registration=`, `?confirm=`), or null. */
export function linkCredential(value: string | null | undefined): string | null {
  return value && value.length <= 128 && CREDENTIAL.test(value) ? value : null;
}
