/**
 * A tiny history router: the path is state, links call navigate().
 */
import { useEffect, useState } from "preact/hooks";

const listeners = new Set<() => void>();

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  for (const l of listeners) l();
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

export type Route =
  | { name: "home" }
  | { name: "signin"; next: string | null }
  | { name: "signup"; next: string | null }
  | { name: "join"; ref: string; enter: boolean };

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
  return { name: "home" };
}

/** An `<a>` click handler that routes in-page. */
export function linkHandler(path: string) {
  return (ev: MouseEvent): void => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    navigate(path);
  };
}
