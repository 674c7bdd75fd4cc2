/**
 * A small typed event emitter: `M` maps each event name to its payload type.
 *
 *     const e = new Emitter<{ ready: number }>();
 *     const off = e.on("ready", (n) => ...);   // n: number
 *     e.emit("ready", 1);
 *     off();
 */
export type Listener<T> = (payload: T) => void;

export class Emitter<M extends object> {
  /** Type only (never set): lets generic helpers infer `M` from a subclass. */
  declare readonly eventMap?: M;
  private readonly listeners = new Map<PropertyKey, Set<Listener<never>>>();

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof M>(type: K, listener: Listener<M[K]>): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(type, listener);
  }

  once<K extends keyof M>(type: K, listener: Listener<M[K]>): () => void {
    const off = this.on(type, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<K extends keyof M>(type: K, listener: Listener<M[K]>): void {
    this.listeners.get(type)?.delete(listener as Listener<never>);
  }

  protected emit<K extends keyof M>(type: K, payload: M[K]): void {
    const set = this.listeners.get(type);
    if (!set) return;
    // A copy, so a listener may remove itself (or others) while we iterate.
    for (const listener of [...set]) {
      try {
        (listener as Listener<M[K]>)(payload);
      } catch (err) {
        // One faulty listener must not stop the others or the caller's loop.
        console.error(`listener for ${String(type)} failed`, err);
      }
    }
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }
}
