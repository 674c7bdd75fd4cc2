/**
 * LatestCheck: an asynchronous check (conflicts, free/busy) run a moment after the last change,
 * where only the newest answer counts.
 *
 * - `schedule(args)` (re)starts the wait; a check already in flight is aborted.
 * - the same arguments as the last answer are not asked again.
 * - `now(args)` checks at once (before saving) and resolves with that answer.
 * - answers to superseded checks are dropped, so a slow old answer never hides a newer one.
 */
export type CheckState<R> =
  | { status: "idle" }
  | { status: "waiting" }
  | { status: "checking" }
  | { status: "done"; result: R }
  | { status: "error"; error: unknown };

export interface LatestCheckOptions<A, R> {
  run: (args: A, signal: AbortSignal) => Promise<R>;
  onState: (state: CheckState<R>) => void;
  delayMs?: number;
  /** Identity of arguments: a check with the same key as the last answer is not run again. */
  key?: (args: A) => string;
}

export class LatestCheck<A, R> {
  private readonly run: LatestCheckOptions<A, R>["run"];
  private readonly onState: LatestCheckOptions<A, R>["onState"];
  private readonly delayMs: number;
  private readonly key: (args: A) => string;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private controller: AbortController | null = null;
  private generation = 0;
  private answered: { key: string; result: R } | null = null;

  constructor(options: LatestCheckOptions<A, R>) {
    this.run = options.run;
    this.onState = options.onState;
    this.delayMs = options.delayMs ?? 400;
    this.key = options.key ?? ((args) => JSON.stringify(args));
  }

  /** Checks `args` after the delay, unless something newer comes first. */
  schedule(args: A): void {
    const key = this.key(args);
    this.stop();
    if (this.answered?.key === key) {
      this.onState({ status: "done", result: this.answered.result });
      return;
    }
    const generation = this.generation;
    this.onState({ status: "waiting" });
    this.timer = setTimeout(() => {
      this.timer = null;
      if (generation === this.generation) void this.start(args, key).catch(() => undefined);
    }, this.delayMs);
  }

  /** Checks `args` at once (or reuses the answer for the same arguments). */
  now(args: A): Promise<R> {
    const key = this.key(args);
    this.stop();
    if (this.answered?.key === key) {
      this.onState({ status: "done", result: this.answered.result });
      return Promise.resolve(this.answered.result);
    }
    return this.start(args, key);
  }

  /** Drops whatever is pending; no state is reported for it. */
  cancel(): void {
    this.stop();
  }

  /** Forgets the last answer (after a save, the same arguments may answer differently). */
  reset(): void {
    this.stop();
    this.answered = null;
  }

  private stop(): void {
    this.generation += 1;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.controller?.abort();
    this.controller = null;
  }

  private async start(args: A, key: string): Promise<R> {
    const generation = this.generation;
    const controller = new AbortController();
    this.controller = controller;
    this.onState({ status: "checking" });
    try {
      const result = await this.run(args, controller.signal);
      if (generation === this.generation) {
        this.answered = { key, result };
        this.controller = null;
        this.onState({ status: "done", result });
      }
      return result;
    } catch (error) {
      if (generation === this.generation) {
        this.controller = null;
        this.onState({ status: "error", error });
      }
      throw error;
    }
  }
}
