/**
 * A tiny history router: the path is state, links call navigate().
 */
import { useEffect, useState } from "preact/hooks";

const listeners = new Set<() => void>();

/** Bumped by a `fresh` navigation: the page is remounted even when the path is the same. */
let generation = 0;

export function navigate(path: string, options: { replace?: boolean; fresh?: boolean } = {}): void {
  if (options.fresh) generation += 1;
  if (options.replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  for (const l of listeners) l();
}

/** How many `fresh` navigations there were (a key that makes a fresh page). */
export function useGeneration(): number {
  const [value, setValue] = useState(generation);
  useEffect(() => {
    const update = () => setValue(generation);
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return value;
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname + location.search);
  useEffect(() => {
    const update = () => setPath(location.pathname + location.search);
    listeners.add(update);
    addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  return path;
}

export type CalendarView = "day" | "week" | "list";

export type Route =
  | { name: "home" }
  | { name: "signin"; next: string | null }
  | { name: "signup"; next: string | null }
  | { name: "join"; ref: string; enter: boolean }
  | { name: "calendar"; view: CalendarView | null; date: string | null }
  | { name: "settings" }
  | { name: "verify"; token: string | null }
  | { name: "forgot" }
  | { name: "reset"; token: string | null }
  | { name: "rsvp"; attendeeId: string; token: string; occurrence: string | null; answer: RsvpChoice | null }
  | { name: "transcript"; meetingId: string; language: string | null }
  | { name: "live"; meeting: string; token: string }
  | { name: "register"; link: string; confirm: string | null };

/** A transcript's language tag as the server accepts it (`en`, `zh-Hant`, `es-419`). */
export const TRANSCRIPT_LANGUAGE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$/;

/** The path of a meeting's transcript page, in one language or the first there is. */
export function transcriptPath(meetingId: string, language: string | null = null): string {
  const path = `/meetings/${encodeURIComponent(meetingId)}/transcript`;
  return language ? `${path}?${new URLSearchParams({ lang: language }).toString()}` : path;
}

/** The answer an invitation's button asked for (the page still asks before answering). */
export type RsvpChoice = "accepted" | "tentative" | "declined";

/** Matches a path (with query) to a page. */
export function matchRoute(pathWithQuery: string): Route {
  const [path = "/", query = ""] = pathWithQuery.split("?", 2);
  const params = new URLSearchParams(query);
  const next = params.get("next");
  const safeNext = next && next.startsWith("/") && !next.startsWith("//") ? next : null;
  if (path === "/signin") return { name: "signin", next: safeNext };
  if (path === "/signup") return { name: "signup", next: safeNext };
  const join = /^\/j\/([A-Za-z0-9_-]{1,64})\/?$/.exec(path);
  if (join) return { name: "join", ref: join[1]!, enter: params.get("enter") === "1" };
  if (path === "/calendar" || path === "/calendar/") {
    const view = params.get("view");
    const date = params.get("date");
    return {
      name: "calendar",
      view: view === "day" || view === "week" || view === "list" ? view : null,
      date: date && /^\d{4}-\d{2}-\d{2}$/.test(date) ? date : null,
    };
  }
  if (path === "/settings" || path === "/settings/") return { name: "settings" };
  if (path === "/verify" || path === "/verify/") {
    const token = params.get("token");
    return { name: "verify", token: token && /^[A-Za-z0-9_-]{1,128}$/.test(token) ? token : null };
  }
  if (path === "/forgot" || path === "/forgot/") return { name: "forgot" };
  if (path === "/reset" || path === "/reset/") {
    const token = params.get("token");
    return { name: "reset", token: token && /^[A-Za-z0-9_-]{1,128}$/.test(token) ? token : null };
  }
  const rsvp = /^\/rsvp\/([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9_=-]{1,128})\/?$/.exec(path);
  if (rsvp) {
    const answer = params.get("answer");
    return {
      name: "rsvp",
      attendeeId: rsvp[1]!,
      token: rsvp[2]!,
      occurrence: params.get("occurrence"),
      answer: answer === "accepted" || answer === "tentative" || answer === "declined" ? answer : null,
    };
  }
  const transcript = /^\/meetings\/([A-Za-z0-9_-]{1,64})\/transcript\/?$/.exec(path);
  if (transcript) {
    const lang = params.get("lang");
    const language = lang && lang.length <= 16 && TRANSCRIPT_LANGUAGE.test(lang) ? lang : null;
    return { name: "transcript", meetingId: transcript[1]!, language };
  }
  const register = /^\/events\/([A-Za-z0-9_-]{16,64})\/register\/?$/.exec(path);
  if (register) {
    const confirm = params.get("confirm");
    const valid = confirm && confirm.length <= 128 && /^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}$/.test(confirm);
    return { name: "register", link: register[1]!, confirm: valid ? confirm : null };
  }
  const live = /^\/live\/([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9._~=-]{1,256})\/?$/.exec(path);
  if (live) return { name: "live", meeting: live[1]!, token: live[2]! };
  return { name: "home" };
}

/** The in-app path of a same-origin URL (a meeting's join_url), or null for another site. */
export function localPath(url: string): string | null {
  try {
    const u = new URL(url, location.href);
    return u.origin === location.origin ? u.pathname + u.search : null;
  } catch {
    return null;
  }
}

/** Opens a URL: in-page when it is ours, else as a normal navigation. */
export function openUrl(url: string): void {
  const path = localPath(url);
  if (path) navigate(path);
  else location.assign(url);
}

/** An `<a>` click handler that routes in-page. */
export function linkHandler(path: string) {
  return (ev: MouseEvent): void => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    navigate(path);
  };
}
