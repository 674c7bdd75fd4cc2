/**
 * The console's "Talk to partner" key, as a booth console's talk-back key works: hold it (the
 * button, or Space/Enter while it has focus) to talk while held; a short press (a click) latches
 * the talk on, and the next press ends a latched talk.
 *
 * Plain state, no DOM: the console feeds it presses and releases (with the time they happened)
 * and reads `talking()`.
 */

/** A press held at least this long is push-to-talk: released, the talk ends. Shorter: a click. */
export const HOLD_MS = 350;

export interface TalkKey {
  /** Latched on by a click: talks until the next press. */
  latched: boolean;
  /** When the key went down (null: up). */
  pressedAt: number | null;
  /** Whether the talk was latched when this press began (then the press ends it). */
  wasLatched: boolean;
}

export const TALK_KEY_UP: TalkKey = { latched: false, pressedAt: null, wasLatched: false };

/** Whether the partner link is on. */
export function talking(k: TalkKey): boolean {
  return k.latched || k.pressedAt !== null;
}

/** The key goes down: talk from now. A repeat (already down) changes nothing. */
export function press(k: TalkKey, now: number): TalkKey {
  if (k.pressedAt !== null) return k;
  return { latched: k.latched, pressedAt: now, wasLatched: k.latched };
}

/** The key comes up: a press of a latched talk ends it; a short press latches; a hold ends. */
export function release(k: TalkKey, now: number): TalkKey {
  if (k.pressedAt === null) return k;
  const held = now - k.pressedAt >= HOLD_MS;
  return { latched: !k.wasLatched && !held, pressedAt: null, wasLatched: false };
}

/** The press was lost (focus left, the pointer was cancelled): back to how it was before it. */
export function cancel(k: TalkKey): TalkKey {
  if (k.pressedAt === null) return k;
  return { latched: k.wasLatched, pressedAt: null, wasLatched: false };
}

/** An activation with no press before it (assistive technology's click): toggles the latch. */
export function toggle(k: TalkKey): TalkKey {
  return { latched: !talking(k), pressedAt: null, wasLatched: false };
}

/** The keys that work the button from the keyboard. */
export function isTalkKey(key: string): boolean {
  return key === " " || key === "Enter" || key === "Spacebar";
}
