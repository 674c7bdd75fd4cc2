/**
 * SignalingClient: Convene's signaling WebSocket (`/api/v1/signaling`).
 *
 * - Typed requests: `await client.request("chat.send", {text})` resolves with the reply's data
 *   (ChatSendReply) or rejects with a SignalingError carrying the server's stable error code, or
 *   one of ClientErrorCode (timeout, lost connection, ...).
 * - Typed events: `client.on("chat.message", (msg) => ...)` for every server event, plus the
 *   client's own `connection.state` and `connection.joined`.
 * - Heartbeat: a `ping` request every few seconds; a missed reply counts as a dropped connection.
 * - Reconnect: when the socket drops, reconnect with exponential backoff and send `join` again
 *   with the `resume` token of the last JoinReply; the server keeps the seat for a grace period.
 *
 * Connection states:
 *
 *     disconnected --connect()--> connecting --join reply--> connected
 *     connected --socket lost--> reconnecting --join(resume) reply--> connected
 *     reconnecting --fatal join error / gave up--> disconnected
 *     any --close() / `closed` event--> disconnected
 */
import { Emitter } from "./emitter";
import { ClientErrorCode, SignalingError, isErrorBody } from "./errors";
import type {
  ErrorCode,
  EventData,
  EventType,
  Events,
  Join,
  JoinReply,
  ReplyData,
  RequestData,
  RequestType,
} from "./types";

export const SIGNALING_PATH = "/api/v1/signaling";

export type ConnectionState = "disconnected" | "connecting" | "connected" | "reconnecting";

export interface StateChange {
  state: ConnectionState;
  previous: ConnectionState;
  /** Reconnect attempt number (1-based) while reconnecting. */
  attempt?: number;
  /** Why the client ended up disconnected, when it was not asked to. */
  error?: SignalingError;
}

/** The client's own events; their names never clash with the server's (checked below). */
export interface ClientEvents {
  "connection.state": StateChange;
  /** Every successful join: the first one and each resume after a reconnect. */
  "connection.joined": JoinReply;
}

export type SignalingEvents = Events & ClientEvents;

// Fails to compile if the server ever names an event like one of the client's own.
type Clash = Extract<EventType, keyof ClientEvents>;
const noClash: [Clash] extends [never] ? true : never = true;
void noClash;

/** The part of the browser's WebSocket that the client uses; tests pass a fake. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /** Fraction of the delay taken off at random (0..1), so clients don't return in lockstep. */
  jitter: number;
  /** Give up reconnecting after this long; should not outlast the server's grace period much. */
  giveUpAfterMs: number;
}

export interface SignalingOptions {
  /** Full ws:// or wss:// URL; defaults to the page's origin + SIGNALING_PATH. */
  url?: string;
  createSocket?: SocketFactory;
  requestTimeoutMs?: number;
  joinTimeoutMs?: number;
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  backoff?: Partial<BackoffOptions>;
  random?: () => number;
  now?: () => number;
}

export interface RequestOptions {
  timeoutMs?: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialDelayMs: 500,
  maxDelayMs: 8_000,
  factor: 2,
  jitter: 0.3,
  giveUpAfterMs: 120_000,
};

/**
 * Join errors after which resuming again cannot help: the seat is gone or was never allowed.
 * Anything else (internal errors, media trouble, rate limiting) is retried with backoff.
 */
export const FATAL_JOIN_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "resume_invalid",
  "removed",
  "denied",
  "meeting_ended",
  "meeting_not_found",
  "meeting_locked",
  "meeting_full",
  "passcode_required",
  "passcode_invalid",
  "guests_not_allowed",
  "auth_required",
  "forbidden",
  "invalid_request",
  "invalid_message",
]);

/** Delay before reconnect attempt `attempt` (0-based). */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number): number {
  const base = Math.min(opts.maxDelayMs, opts.initialDelayMs * opts.factor ** attempt);
  return Math.round(base * (1 - opts.jitter * random()));
}

/** The same-origin signaling URL for a page at `location`. */
export function defaultSignalingUrl(location: { protocol: string; host: string }): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${SIGNALING_PATH}`;
}

interface Pending {
  type: string;
  resolve: (data: unknown) => void;
  reject: (err: SignalingError) => void;
  timer: ReturnType<typeof setTimeout>;
}

const OPEN = 1;

export class SignalingClient extends Emitter<SignalingEvents> {
  private readonly url: string;
  private readonly createSocket: SocketFactory;
  private readonly requestTimeoutMs: number;
  private readonly joinTimeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly pingTimeoutMs: number;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly now: () => number;

  private socket: SocketLike | null = null;
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private _state: ConnectionState = "disconnected";
  private joinParams: Join | null = null;
  private resumeToken: string | null = null;
  private _participantId: string | null = null;
  private lastJoin: JoinReply | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private lostAt = 0;
  /** Set once the server said `closed` or the owner called close(): never reconnect after. */
  private finished = false;

  constructor(options: SignalingOptions = {}) {
    super();
    this.url =
      options.url ?? (typeof location !== "undefined" ? defaultSignalingUrl(location) : SIGNALING_PATH);
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.joinTimeoutMs = options.joinTimeoutMs ?? 15_000;
    this.pingIntervalMs = options.pingIntervalMs ?? 10_000;
    this.pingTimeoutMs = options.pingTimeoutMs ?? 6_000;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** This participant's id from the last JoinReply (null before joining). */
  get participantId(): string | null {
    return this._participantId;
  }

  get lastJoinReply(): JoinReply | null {
    return this.lastJoin;
  }

  /**
   * Opens the connection and joins. Resolves with the JoinReply (state `joined` or `waiting`);
   * rejects with the server's error (passcode_required, meeting_locked, ...) or a client error,
   * leaving the client disconnected and ready for another connect().
   */
  async connect(join: Join): Promise<JoinReply> {
    if (this._state !== "disconnected") {
      throw new SignalingError(ClientErrorCode.NotConnected, `cannot connect while ${this._state}`);
    }
    this.finished = false;
    this.joinParams = { ...join };
    this.resumeToken = null;
    this.setState("connecting");
    try {
      const reply = await this.openAndJoin(join);
      this.onJoined(reply);
      return reply;
    } catch (err) {
      this.dropSocket();
      const error = toSignalingError(err, "join");
      this.setState("disconnected", { error });
      throw error;
    }
  }

  /**
   * Sends one request and resolves with its reply's data. Fails at once with `not_connected`
   * unless connected: callers decide what to redo after a reconnect.
   */
  request<K extends RequestType>(
    type: K,
    data: RequestData<K>,
    options: RequestOptions = {},
  ): Promise<ReplyData<K>> {
    const socket = this.socket;
    if (this._state !== "connected" || !socket || socket.readyState !== OPEN) {
      return Promise.reject(
        new SignalingError(ClientErrorCode.NotConnected, "not connected to the meeting", {}, type),
      );
    }
    return this.send(socket, type, data, options.timeoutMs ?? this.requestTimeoutMs) as Promise<
      ReplyData<K>
    >;
  }

  /**
   * Sends a request without an id: the server sends no success reply (errors still come, without
   * id, and are only logged). For high-rate fire-and-forget messages such as `trickle`.
   * Returns false when the message could not be sent.
   */
  notify<K extends RequestType>(type: K, data: RequestData<K>): boolean {
    const socket = this.socket;
    if (this._state !== "connected" || !socket || socket.readyState !== OPEN) return false;
    try {
      socket.send(JSON.stringify({ type, data }));
      return true;
    } catch {
      return false;
    }
  }

  /** Sends `leave` (best effort) and closes for good. */
  async leave(): Promise<void> {
    if (this._state === "connected") {
      try {
        await this.request("leave", {}, { timeoutMs: 2_000 });
      } catch {
        // Leaving anyway: the server notices the closed socket.
      }
    }
    this.close();
  }

  /** Closes the connection without `leave`; the server treats it as a drop until its grace ends. */
  close(): void {
    this.finished = true;
    this.clearReconnect();
    this.dropSocket(1000, "client closed");
    this.rejectAll(ClientErrorCode.Closed, "the client was closed");
    if (this._state !== "disconnected") this.setState("disconnected");
  }

  /** Skips the wait of the current backoff (e.g. the browser came back online, or "Retry"). */
  reconnectNow(): void {
    if (this.finished || !this.resumeToken) return;
    if (this._state === "reconnecting") {
      this.clearReconnect();
      void this.tryResume();
    } else if (this._state === "disconnected") {
      this.attempt = 0;
      this.lostAt = this.now();
      this.setState("reconnecting", { attempt: 1 });
      void this.tryResume();
    }
  }

  // ----------------------------------------------------------------------------------------
  // Internals
  // ----------------------------------------------------------------------------------------

  private openAndJoin(join: Join): Promise<JoinReply> {
    return new Promise<JoinReply>((resolve, reject) => {
      let socket: SocketLike;
      try {
        socket = this.createSocket(this.url);
      } catch (err) {
        reject(toSignalingError(err, "join"));
        return;
      }
      this.socket = socket;
      let settled = false;
      const fail = (err: SignalingError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(openTimer);
        reject(err);
      };
      const openTimer = setTimeout(
        () => fail(new SignalingError(ClientErrorCode.Timeout, "could not reach the server", {}, "join")),
        this.joinTimeoutMs,
      );
      socket.onopen = () => {
        clearTimeout(openTimer);
        this.send(socket, "join", join, this.joinTimeoutMs).then(
          (reply) => {
            if (settled) return;
            settled = true;
            resolve(reply as JoinReply);
          },
          (err: unknown) => fail(toSignalingError(err, "join")),
        );
      };
      socket.onmessage = (ev) => {
        if (socket === this.socket) this.onMessage(ev.data);
      };
      socket.onerror = () => {
        // Browsers follow every error with a close event; the close handler does the work.
      };
      socket.onclose = (ev) => {
        if (socket !== this.socket) return;
        if (!settled) {
          this.socket = null;
          this.rejectAll(ClientErrorCode.ConnectionLost, "the connection closed");
          fail(
            new SignalingError(
              ClientErrorCode.ConnectionLost,
              "the connection closed before joining",
              { close_code: ev.code, close_reason: ev.reason },
              "join",
            ),
          );
          return;
        }
        this.onSocketLost(socket);
      };
    });
  }

  private send(socket: SocketLike, type: string, data: unknown, timeoutMs: number): Promise<unknown> {
    const id = `c${this.nextId++}`;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalingError(ClientErrorCode.Timeout, `no reply to ${type}`, { timeout_ms: timeoutMs }, type));
        if (type === "ping" && socket === this.socket) this.onSocketLost(socket);
      }, timeoutMs);
      this.pending.set(id, { type, resolve, reject, timer });
      try {
        socket.send(JSON.stringify({ id, type, data }));
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(toSignalingError(err, type));
      }
    });
  }

  private onMessage(raw: unknown): void {
    if (typeof raw !== "string") return;
    let msg: unknown;
    try {
      msg = JSON.parse(raw);
    } catch {
      console.warn("signaling: ignoring a message that is not JSON");
      return;
    }
    if (typeof msg !== "object" || msg === null) return;
    const { id, type, data, error } = msg as {
      id?: unknown;
      type?: unknown;
      data?: unknown;
      error?: unknown;
    };
    if (type === "reply" || type === "error") {
      const pending = typeof id === "string" ? this.pending.get(id) : undefined;
      if (!pending) {
        if (type === "error") console.warn("signaling: error without a request", error);
        return;
      }
      this.pending.delete(id as string);
      clearTimeout(pending.timer);
      if (type === "reply") {
        pending.resolve(data ?? {});
      } else if (isErrorBody(error)) {
        pending.reject(SignalingError.fromBody(error, pending.type));
      } else {
        pending.reject(
          new SignalingError(ClientErrorCode.BadResponse, "malformed error reply", {}, pending.type),
        );
      }
      return;
    }
    if (typeof type !== "string") return;
    if (type === "closed") {
      // The server ends this participant's session: do not come back on our own.
      this.finished = true;
    }
    this.emit(type as EventType, (data ?? {}) as EventData<EventType>);
  }

  private onJoined(reply: JoinReply): void {
    this.resumeToken = reply.resume_token;
    this._participantId = reply.participant_id;
    this.lastJoin = reply;
    this.attempt = 0;
    this.setState("connected");
    this.startHeartbeat();
    this.emit("connection.joined", reply);
  }

  private onSocketLost(socket: SocketLike): void {
    if (socket !== this.socket) return;
    this.dropSocket();
    this.rejectAll(ClientErrorCode.ConnectionLost, "the connection was lost");
    if (this.finished || !this.resumeToken) {
      this.setState("disconnected");
      return;
    }
    if (this._state === "connected") {
      this.lostAt = this.now();
      this.attempt = 0;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.now() - this.lostAt >= this.backoff.giveUpAfterMs) {
      this.setState("disconnected", {
        error: new SignalingError(ClientErrorCode.ConnectionLost, "could not reconnect to the meeting"),
      });
      return;
    }
    const delay = backoffDelay(this.attempt, this.backoff, this.random);
    this.attempt += 1;
    this.setState("reconnecting", { attempt: this.attempt });
    this.clearReconnect();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.tryResume();
    }, delay);
  }

  private async tryResume(): Promise<void> {
    if (this.finished || !this.joinParams || !this.resumeToken) return;
    const join: Join = { ...this.joinParams, resume: this.resumeToken };
    try {
      const reply = await this.openAndJoin(join);
      if (this.finished) {
        this.dropSocket();
        return;
      }
      this.onJoined(reply);
    } catch (err) {
      this.dropSocket();
      if (this.finished) return;
      const error = toSignalingError(err, "join");
      if (FATAL_JOIN_ERRORS.has(error.code as ErrorCode)) {
        this.finished = true;
        this.setState("disconnected", { error });
        return;
      }
      this.scheduleReconnect();
    }
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.pingTimer = setInterval(() => {
      const socket = this.socket;
      if (this._state !== "connected" || !socket) return;
      // A timeout is handled in send(): the socket is treated as lost.
      this.send(socket, "ping", {}, this.pingTimeoutMs).catch(() => undefined);
    }, this.pingIntervalMs);
  }

  private stopHeartbeat(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  /** Forgets the current socket at once (a dead link may take minutes to report its close). */
  private dropSocket(code = 4000, reason = "connection lost"): void {
    this.stopHeartbeat();
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    try {
      socket.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  private rejectAll(code: ClientErrorCode, message: string): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(new SignalingError(code, message, {}, pending.type));
    }
  }

  private setState(state: ConnectionState, extra: Omit<StateChange, "state" | "previous"> = {}): void {
    const previous = this._state;
    if (previous === state && state !== "reconnecting") return;
    this._state = state;
    if (state !== "connected") this.stopHeartbeat();
    this.emit("connection.state", { state, previous, ...extra });
  }
}

function toSignalingError(err: unknown, request: string): SignalingError {
  if (err instanceof SignalingError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SignalingError(ClientErrorCode.ConnectionLost, message, {}, request);
}
