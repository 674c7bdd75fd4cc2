import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LatestCheck, type CheckState } from "./debounce";

interface Call {
  args: string;
  signal: AbortSignal;
  resolve: (value: string) => void;
  reject: (err: unknown) => void;
}

function setup(delayMs = 400) {
  const calls: Call[] = [];
  const states: CheckState<string>[] = [];
  const check = new LatestCheck<string, string>({
    delayMs,
    run: (args, signal) => new Promise<string>((resolve, reject) => calls.push({ args, signal, resolve, reject })),
    onState: (s) => states.push(s),
  });
  const last = () => states.at(-1);
  return { check, calls, states, last };
}

describe("LatestCheck (debounced conflict checks)", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("waits for a pause in the changes, then checks once with the latest arguments", async () => {
    const { check, calls, last } = setup();
    check.schedule("09:00");
    await vi.advanceTimersByTimeAsync(300);
    check.schedule("09:30");
    await vi.advanceTimersByTimeAsync(300);
    check.schedule("10:00");
    expect(calls).toHaveLength(0);
    expect(last()).toEqual({ status: "waiting" });
    await vi.advanceTimersByTimeAsync(400);
    expect(calls.map((c) => c.args)).toEqual(["10:00"]);
    expect(last()).toEqual({ status: "checking" });
    calls[0]!.resolve("two conflicts");
    await vi.advanceTimersByTimeAsync(0);
    expect(last()).toEqual({ status: "done", result: "two conflicts" });
  });

  it("aborts a check in flight when something newer comes, and ignores its late answer", async () => {
    const { check, calls, last } = setup();
    check.schedule("a");
    await vi.advanceTimersByTimeAsync(400);
    check.schedule("b");
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[0]!.resolve("answer for a");
    await vi.advanceTimersByTimeAsync(0);
    expect(last()).toEqual({ status: "waiting" });
    await vi.advanceTimersByTimeAsync(400);
    calls[1]!.resolve("answer for b");
    await vi.advanceTimersByTimeAsync(0);
    expect(last()).toEqual({ status: "done", result: "answer for b" });
  });

  it("does not ask again for the arguments it has an answer to", async () => {
    const { check, calls, last } = setup();
    check.schedule("a");
    await vi.advanceTimersByTimeAsync(400);
    calls[0]!.resolve("answer");
    await vi.advanceTimersByTimeAsync(0);
    check.schedule("a");
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(1);
    expect(last()).toEqual({ status: "done", result: "answer" });
    check.reset();
    check.schedule("a");
    await vi.advanceTimersByTimeAsync(400);
    expect(calls).toHaveLength(2);
  });

  it("checks at once before saving, dropping the pending wait", async () => {
    const { check, calls } = setup();
    check.schedule("a");
    const answer = check.now("b");
    expect(calls.map((c) => c.args)).toEqual(["b"]);
    calls[0]!.resolve("fresh");
    await expect(answer).resolves.toBe("fresh");
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(1);
  });

  it("reports failures of the latest check only", async () => {
    const { check, calls, last } = setup();
    check.schedule("a");
    await vi.advanceTimersByTimeAsync(400);
    calls[0]!.reject(new Error("offline"));
    await vi.advanceTimersByTimeAsync(0);
    expect(last()).toMatchObject({ status: "error" });
    check.cancel();
  });
});
