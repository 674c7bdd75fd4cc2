import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { Emitter } from "../protocol/emitter";
import { describeError } from "../protocol/errors";

export interface Action {
  /** True while an action runs (buttons show it and stay disabled). */
  busy: boolean;
  /** What went wrong with the last action, readable; set directly for checks before running. */
  error: string | null;
  setError: (error: string | null) => void;
  /** Runs `action` with `busy` set and `error` cleared; a failure becomes `error`, worded by
   * `explain` (default: the server's message). */
  run: (action: () => Promise<void>, explain?: (err: unknown) => string) => Promise<void>;
}

/** Something the user started (a form sent, a button pressed) that talks to the server. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (action: () => Promise<void>, explain: (err: unknown) => string = describeError) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

/** The latest payload of an emitter's event, starting from `initial`. */
export function useEvent<M extends object, K extends keyof M>(
  emitter: Emitter<M> | null,
  type: K,
  initial: NoInfer<M[K]>,
): M[K] {
  const [value, setValue] = useState<M[K]>(initial);
  useEffect(() => {
    setValue(() => initial);
    if (!emitter) return undefined;
    return emitter.on(type, (payload) => setValue(() => payload));
    // `initial` only seeds the value; re-subscribing when it changes would drop events.
  }, [emitter, type]);
  return value;
}

/**
 * The current value of a store (an emitter of `change` with a `value`), re-rendering on change.
 * Unlike useEvent it cannot miss a change made between the render and the subscription (a fast
 * answer to the first request of the page).
 */
export function useStore<T>(store: Emitter<{ change: T }> & { readonly value: T }): T {
  const [, setTick] = useState(0);
  const rendered = useRef(store.value);
  rendered.current = store.value;
  useEffect(() => {
    const off = store.on("change", () => setTick((n) => n + 1));
    if (store.value !== rendered.current) setTick((n) => n + 1);
    return off;
  }, [store]);
  return store.value;
}

/** Width and height of an element, kept current with ResizeObserver. */
export function useSize<T extends HTMLElement>(): [preact.RefObject<T>, { width: number; height: number }] {
  const ref = useRef<T>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const measure = () => {
      const r = el.getBoundingClientRect();
      setSize((s) => (s.width === r.width && s.height === r.height ? s : { width: r.width, height: r.height }));
    };
    measure();
    if (typeof ResizeObserver === "undefined") {
      addEventListener("resize", measure);
      return () => removeEventListener("resize", measure);
    }
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, size];
}

/** Closes a popover on Escape or a click outside it. */
export function useDismiss<T extends HTMLElement>(open: boolean, close: () => void): preact.RefObject<T> {
  const ref = useRef<T>(null);
  useEffect(() => {
    if (!open) return undefined;
    const onKey = (ev: KeyboardEvent) => {
      if (ev.key === "Escape") close();
    };
    const onDown = (ev: PointerEvent) => {
      if (ref.current && !ref.current.contains(ev.target as Node)) close();
    };
    addEventListener("keydown", onKey);
    addEventListener("pointerdown", onDown, true);
    return () => {
      removeEventListener("keydown", onKey);
      removeEventListener("pointerdown", onDown, true);
    };
  }, [open, close]);
  return ref;
}

/** Copies text to the clipboard; false when the browser refused. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Older browsers and insecure pages: a hidden textarea and execCommand.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}
