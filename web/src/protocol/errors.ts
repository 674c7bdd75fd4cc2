/**
 * Errors of the protocol library.
 *
 *     ConveneError            code + message + details; what every failed call rejects with
 *       SignalingError        a failed signaling request (server error reply, timeout, lost connection)
 *       RestError             a failed REST call; also carries the HTTP status
 *
 * `code` is either one of the server's stable ErrorCode values or one of the client's own
 * ClientErrorCode values below, so callers can switch on it without parsing messages.
 */
import type { ErrorBody, ErrorCode } from "./types.gen";

/** Reasons a call fails on the client's side, before or without a server answer. */
export const ClientErrorCode = {
  /** No reply within the request's timeout. */
  Timeout: "request_timeout",
  /** The request was made while the connection was not usable (connecting, reconnecting, closed). */
  NotConnected: "not_connected",
  /** The connection dropped while the request was in flight. */
  ConnectionLost: "connection_lost",
  /** The client was closed by its owner (leave). */
  Closed: "client_closed",
  /** The HTTP request failed at the network level. */
  Network: "network_error",
  /** The server answered with something that is not the protocol's shape. */
  BadResponse: "bad_response",
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

export type AnyErrorCode = ErrorCode | ClientErrorCode;

export class ConveneError extends Error {
  readonly code: AnyErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: AnyErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "ConveneError";
    this.code = code;
    this.details = details;
  }

  toJSON(): ErrorBody | { code: ClientErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code as ErrorCode, message: this.message, details: { ...this.details } };
  }
}

export class SignalingError extends ConveneError {
  /** The request type that failed, when the error answers a request. */
  readonly request?: string;

  constructor(
    code: AnyErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    request?: string,
  ) {
    super(code, message, details);
    this.name = "SignalingError";
    if (request !== undefined) this.request = request;
  }

  static fromBody(body: ErrorBody, request?: string): SignalingError {
    return new SignalingError(body.code, body.message, body.details ?? {}, request);
  }
}

export class RestError extends ConveneError {
  readonly status: number;

  constructor(status: number, code: AnyErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = "RestError";
    this.status = status;
  }
}

/** True for an error object of the protocol's shape. */
export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === "string" && typeof v.message === "string";
}

/** A short text for people, for any thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof ConveneError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
