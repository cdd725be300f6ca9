/** Options shared by every application error. */
export interface AppErrorOptions {
  /** HTTP status the webhook answers with. */
  status: number;
  /** True when the same request may succeed if retried later. */
  retryable?: boolean;
  /** Seconds to tell the client to wait (Retry-After) when retryable; default 1. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * An error with a stable code that clients can rely on. Its message is safe to show:
 * internal failures use InternalError, whose message is never sent to clients.
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number;

  constructor(code: string, message: string, opts: AppErrorOptions) {
    super(message, { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = opts.status;
    this.retryable = opts.retryable ?? false;
    this.retryAfterSeconds = opts.retryAfterSeconds ?? 1;
  }
}

export class MissingParamsError extends AppError {
  constructor(fields: string[]) {
    super("MISSING_PARAMS", `Missing required parameter(s): ${fields.join(", ")}`, { status: 400 });
  }
}

export class InvalidParamsError extends AppError {
  constructor(message: string) {
    super("INVALID_PARAMS", message, { status: 400 });
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(expected: string) {
    super("UNSUPPORTED_MEDIA_TYPE", `Content-Type must be ${expected}`, { status: 415 });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number) {
    super("PAYLOAD_TOO_LARGE", `Request body is larger than ${limitBytes} bytes`, { status: 413 });
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = "Missing or invalid credentials") {
    super("UNAUTHORIZED", message, { status: 401 });
  }
}

/** Authenticated, but this credential may not do this (an account key on a webhook only Twilio or the admin may call). */
export class ForbiddenError extends AppError {
  constructor(message = "This credential may not do that") {
    super("FORBIDDEN", message, { status: 403 });
  }
}

export class AgentNotFoundError extends AppError {
  constructor(message = "No active agent found for this call") {
    super("AGENT_NOT_FOUND", message, { status: 404 });
  }
}

export class AccountSuspendedError extends AppError {
  constructor() {
    super("ACCOUNT_SUSPENDED", "The account that owns this agent is suspended", { status: 403 });
  }
}

export class InsufficientBalanceError extends AppError {
  constructor(message = "Insufficient balance to accept the call") {
    super("INSUFFICIENT_BALANCE", message, { status: 402 });
  }
}

/**
 * The account already has as many calls in progress as its limit (maxConcurrentCalls): nothing
 * was held or recorded. Retryable: the count falls as calls end.
 */
export class ConcurrencyLimitError extends AppError {
  constructor(limit: number) {
    super("CONCURRENCY_LIMIT", `The account has reached its limit of ${limit} concurrent call(s); try again when one ends`, {
      status: 429,
      retryable: true,
    });
  }
}

/**
 * This client address failed to authenticate too often within the window: its requests with
 * credentials are refused before the credentials are even looked at, until the window ends.
 */
export class TooManyFailedAuthenticationsError extends AppError {
  constructor(retryAfterSeconds: number) {
    super("TOO_MANY_FAILED_AUTHENTICATIONS", `Too many failed authentications from this address; try again in ${retryAfterSeconds} s`, {
      status: 429,
      retryable: true,
      retryAfterSeconds,
    });
  }
}

export class CallNotFoundError extends AppError {
  constructor() {
    super("CALL_NOT_FOUND", "No call with this CallSid", { status: 404 });
  }
}

export class IdempotencyConflictError extends AppError {
  constructor(reference: string) {
    super("IDEMPOTENCY_CONFLICT", `Reference "${reference}" was already used for a different movement`, {
      status: 409,
    });
  }
}

export class InternalError extends AppError {
  constructor(cause?: unknown) {
    super("INTERNAL_ERROR", "Internal error", { status: 500, retryable: true, cause });
  }
}

/** A close-out found no call record yet (it is written once the database answers): retried. */
export class CallNotStoredError extends AppError {
  constructor(callId: string) {
    super("CALL_NOT_STORED", `Call ${callId} is not stored yet`, { status: 503, retryable: true });
  }
}

/**
 * The database did not answer within the request's budget (slow, failing over, unreachable).
 * Retryable: a 503 makes Twilio play the number's fallback at once instead of waiting 15 s.
 */
export class DatabaseUnavailableError extends AppError {
  constructor(cause?: unknown) {
    super("DATABASE_UNAVAILABLE", "The database is not answering; try again", { status: 503, retryable: true, cause });
  }
}
