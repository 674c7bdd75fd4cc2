/**
 * NotificationClient: the signed-in user's notifications (meeting reminders, invitations,
 * answers, cancellations) over a signaling WebSocket of their own, on every page.
 *
 * It sends `notifications.subscribe` (no `join`), pings to notice a dead link, and reconnects with
 * backoff for as long as it is started. `auth_required` (signed out meanwhile) stops it.
 *
 *     stopped --start()--> connecting --subscribe reply--> connected --lost--> connecting ...
 */
import { Emitter } from "./emitter";
import { isErrorBody } from "./errors";
import { backoffDelay, defaultSignalingUrl, SIGNALING_PATH, type BackoffOptions, type SocketFactory, type SocketLike } from "./signaling";
import type { Notification } from "./types";

export type NotificationState = "stopped" | "connecting" | "connected";

export interface NotificationEvents {
  notification: Notification;
  state: NotificationState;
}

export interface NotificationOptions {
  url?: string;
  createSocket?: SocketFactory;
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  backoff?: Partial<BackoffOptions>;
  random?: () => number;
  /** Where the ids already shown are kept (default: memory). On connecting, the server sends
   * again the reminders of meetings not begun yet; a store that outlives the page (the app
   * uses localStorage) keeps a reload from showing them twice. */
  seenStore?: SeenStore;
}

/** Keeps the ids of notifications already shown. */
export interface SeenStore {
  load(): string[];
  save(ids: string[]): void;
}

/** How many ids are kept: far more than a person is sent between two visits. */
export const SEEN_LIMIT = 500;

const OPEN = 1;
const BACKOFF: BackoffOptions = { initialDelayMs: 1_000, maxDelayMs: 60_000, factor: 2, jitter: 0.3, giveUpAfterMs: Infinity };

export class NotificationClient extends Emitter<NotificationEvents> {
  private readonly url: string;
  private readonly createSocket: SocketFactory;
  private readonly pingIntervalMs: number;
  private readonly pingTimeoutMs: number;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private socket: SocketLike | null = null;
  private _state: NotificationState = "stopped";
  private attempt = 0;
  private nextId = 1;
  private subscribeId: string | null = null;
  private pingId: string | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pingDeadline: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** Ids already delivered: a notification is shown once even if it comes twice. */
  private readonly seen: Set<string>;
  private readonly seenStore: SeenStore | null;

  constructor(options: NotificationOptions = {}) {
    super();
    this.url = options.url ?? (typeof location !== "undefined" ? defaultSignalingUrl(location) : SIGNALING_PATH);
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.pingIntervalMs = options.pingIntervalMs ?? 25_000;
    this.pingTimeoutMs = options.pingTimeoutMs ?? 10_000;
    this.backoff = { ...BACKOFF, ...options.backoff };
    this.random = options.random ?? Math.random;
    this.seenStore = options.seenStore ?? null;
    let kept: string[] = [];
    try {
      kept = this.seenStore?.load() ?? [];
    } catch {
      kept = []; // storage unavailable (private mode, quota): memory only
    }
    this.seen = new Set(kept.slice(-SEEN_LIMIT));
  }

  get state(): NotificationState {
    return this._state;
  }

  /** Connects (if not already) and keeps connected until stop(). */
  start(): void {
    if (this._state !== "stopped") return;
    this.attempt = 0;
    this.open();
  }

  stop(): void {
    this.clearTimers();
    this.drop();
    this.setState("stopped");
  }

  /** Reconnects at once if waiting to (the browser came back online, the tab became visible). */
  retryNow(): void {
    if (this._state === "connecting" && this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.open();
    }
  }

  private open(): void {
    this.setState("connecting");
    let socket: SocketLike;
    try {
      socket = this.createSocket(this.url);
    } catch {
      this.retryLater();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.subscribeId = this.send(socket, "notifications.subscribe");
    };
    socket.onmessage = (ev) => {
      if (socket === this.socket) this.onMessage(ev.data);
    };
    socket.onerror = () => undefined;
    socket.onclose = () => {
      if (socket !== this.socket) return;
      this.drop();
      this.retryLater();
    };
  }

  private send(socket: SocketLike, type: string): string | null {
    const id = `n${this.nextId++}`;
    try {
      socket.send(JSON.stringify({ id, type, data: {} }));
      return id;
    } catch {
      return null;
    }
  }

  private onMessage(raw: unknown): void {
    if (typeof raw !== "string") return;
    let msg: { id?: unknown; type?: unknown; data?: unknown; error?: unknown };
    try {
      msg = JSON.parse(raw) as typeof msg;
    } catch {
      return;
    }
    if (msg.type === "reply" && msg.id === this.subscribeId) {
      this.attempt = 0;
      this.setState("connected");
      this.startPing();
    } else if (msg.type === "reply" && msg.id === this.pingId) {
      this.pingId = null;
      if (this.pingDeadline !== null) clearTimeout(this.pingDeadline);
      this.pingDeadline = null;
    } else if (msg.type === "error" && msg.id === this.subscribeId) {
      // Signed out (or never signed in): nothing will come; the app starts us again on sign-in.
      if (isErrorBody(msg.error) && msg.error.code === "auth_required") this.stop();
      else this.lose();
    } else if (msg.type === "notification" && isNotification(msg.data)) {
      if (this.seen.has(msg.data.id)) return;
      this.seen.add(msg.data.id);
      if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value as string);
      try {
        this.seenStore?.save([...this.seen]);
      } catch {
        // storage full or gone: still shown once for this page
      }
      this.emit("notification", msg.data);
    }
  }

  private startPing(): void {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      const socket = this.socket;
      if (!socket || socket.readyState !== OPEN || this.pingId !== null) return;
      this.pingId = this.send(socket, "ping");
      this.pingDeadline = setTimeout(() => this.lose(), this.pingTimeoutMs);
    }, this.pingIntervalMs);
  }

  private stopPing(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    if (this.pingDeadline !== null) clearTimeout(this.pingDeadline);
    this.pingTimer = null;
    this.pingDeadline = null;
    this.pingId = null;
  }

  private lose(): void {
    this.drop();
    this.retryLater();
  }

  private retryLater(): void {
    if (this._state === "stopped") return;
    this.setState("connecting");
    const delay = backoffDelay(this.attempt, this.backoff, this.random);
    this.attempt += 1;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  private drop(): void {
    this.stopPing();
    const socket = this.socket;
    this.socket = null;
    this.subscribeId = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onerror = null;
    socket.onclose = null;
    try {
      socket.close(1000, "done");
    } catch {
      // Already closed.
    }
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopPing();
  }

  private setState(state: NotificationState): void {
    if (this._state === state) return;
    this._state = state;
    this.emit("state", state);
  }
}

function isNotification(value: unknown): value is Notification {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === "string" && typeof v.title === "string" && typeof v.kind === "string";
}
