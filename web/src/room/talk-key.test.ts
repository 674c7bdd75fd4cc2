import { describe, expect, it } from "vitest";
import { cancel, HOLD_MS, isTalkKey, press, release, TALK_KEY_UP, talking, toggle } from "./talk-key";

describe("the talk-to-partner key", () => {
  it("talks while held and stops when released after a hold", () => {
    let k = press(TALK_KEY_UP, 1000);
    expect(talking(k)).toBe(true);
    k = press(k, 1100); // key repeat
    expect(k.pressedAt).toBe(1000);
    k = release(k, 1000 + HOLD_MS + 200);
    expect(talking(k)).toBe(false);
    expect(k).toEqual(TALK_KEY_UP);
  });

  it("latches on a click and the next press ends the latched talk", () => {
    let k = release(press(TALK_KEY_UP, 0), 80);
    expect(talking(k)).toBe(true);
    expect(k.latched).toBe(true);
    // Pressing again still talks while down, and ends the talk when it comes up.
    k = press(k, 5000);
    expect(talking(k)).toBe(true);
    k = release(k, 5050);
    expect(talking(k)).toBe(false);
    // A long press of a latched talk ends it too.
    k = release(press(release(press(k, 9000), 9010), 10_000), 10_000 + HOLD_MS * 3);
    expect(talking(k)).toBe(false);
  });

  it("a press exactly at the threshold counts as a hold", () => {
    expect(talking(release(press(TALK_KEY_UP, 0), HOLD_MS))).toBe(false);
    expect(talking(release(press(TALK_KEY_UP, 0), HOLD_MS - 1))).toBe(true);
  });

  it("a lost press goes back to how it was", () => {
    expect(talking(cancel(press(TALK_KEY_UP, 0)))).toBe(false);
    const latched = release(press(TALK_KEY_UP, 0), 10);
    expect(talking(cancel(press(latched, 100)))).toBe(true);
    expect(cancel(TALK_KEY_UP)).toBe(TALK_KEY_UP);
    expect(release(TALK_KEY_UP, 50)).toBe(TALK_KEY_UP);
  });

  it("an activation without a press toggles the latch", () => {
    const on = toggle(TALK_KEY_UP);
    expect(talking(on)).toBe(true);
    expect(talking(toggle(on))).toBe(false);
    // While held, it ends the talk.
    expect(talking(toggle(press(TALK_KEY_UP, 0)))).toBe(false);
  });

  it("Space and Enter work the key, other keys do not", () => {
    expect(isTalkKey(" ")).toBe(true);
    expect(isTalkKey("Enter")).toBe(true);
    expect(isTalkKey("t")).toBe(false);
    expect(isTalkKey("Tab")).toBe(false);
  });
});
