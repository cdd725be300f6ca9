import { HeaderMap } from "@apollo/server";
import { GraphQLError } from "graphql";
import type { TooManyFailedAuthenticationsError } from "../../schema/infra/errors.js";

/**
 * Client-facing errors of the GraphQL API. `extensions.code` is the stable contract; messages
 * are for people. `extensions.http` sets the response status where the whole request fails
 * (Apollo removes it from the body).
 */
export class UnauthenticatedError extends GraphQLError {
  constructor(message = "Missing or invalid API key: send Authorization: Bearer <key>") {
    super(message, { extensions: { code: "UNAUTHENTICATED", http: { status: 401 } } });
  }
}

/** The client address failed to authenticate too often: the whole request is refused with 429. */
export class TooManyFailedAuthenticationsGraphqlError extends GraphQLError {
  constructor(cause: TooManyFailedAuthenticationsError) {
    super(cause.message, {
      extensions: {
        code: cause.code,
        retryable: true,
        http: { status: cause.status, headers: new HeaderMap([["retry-after", String(cause.retryAfterSeconds)]]) },
      },
    });
  }
}

export class ForbiddenError extends GraphQLError {
  constructor(message = "This API key may not do that") {
    super(message, { extensions: { code: "FORBIDDEN" } });
  }
}

/** Invalid input; the message starts with the field's name. */
export class BadUserInputError extends GraphQLError {
  constructor(field: string, problem: string) {
    super(`${field} ${problem}`, { extensions: { code: "BAD_USER_INPUT", field } });
  }
}

/** Unknown, or belonging to another account: both answer the same, so ids reveal nothing. */
export class NotFoundError extends GraphQLError {
  constructor(type: string, id: string) {
    super(`${type} ${id} not found`, { extensions: { code: "NOT_FOUND" } });
  }
}

/** The request is valid but clashes with the current state (a number already taken, an agent in use). */
export class ConflictError extends GraphQLError {
  constructor(message: string, field?: string) {
    super(message, { extensions: field ? { code: "CONFLICT", field } : { code: "CONFLICT" } });
  }
}

export const INTERNAL_CODE = "INTERNAL_ERROR";
export const INTERNAL_MESSAGE = "Internal error";

/**
 * An unexpected failure (a bug, an unreachable database). Clients get a generic message and the
 * request id under which the cause was logged, never the cause itself.
 */
export class InternalServerError extends GraphQLError {
  constructor(requestId: string) {
    super(INTERNAL_MESSAGE, { extensions: { code: INTERNAL_CODE, requestId } });
  }
}

/** The operation is too deep or too costly to run. */
export class QueryTooComplexError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: "GRAPHQL_VALIDATION_FAILED", http: { status: 400 } } });
  }
}

/** The operation needs the platform's Twilio account, and the web process has no credentials for it. */
export class TwilioNotConfiguredError extends GraphQLError {
  constructor(what: string) {
    super(
      `TWILIO_NOT_CONFIGURED: ${what} needs the platform's Twilio account; set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN on the web process` +
        " (an admin key can register a number without it)",
      { extensions: { code: "TWILIO_NOT_CONFIGURED" } },
    );
  }
}

/** An account key named a number the platform's Twilio account does not hold: it cannot be proven. */
export class NumberNotHeldError extends GraphQLError {
  constructor(e164: string) {
    super(`e164 ${e164} is not a number of the platform's Twilio account; buy one with buyPhoneNumber, or ask an admin to register it`, {
      extensions: { code: "PHONE_NUMBER_NOT_HELD", field: "e164" },
    });
  }
}

/** Twilio sold the number, and storing it failed: it is held by the platform but no account's yet. */
export class NumberNotStoredError extends GraphQLError {
  constructor(e164: string, twilioSid: string) {
    super(`${e164} was bought (Twilio ${twilioSid}) but could not be stored; register it with createPhoneNumber to finish`, {
      extensions: { code: "PHONE_NUMBER_NOT_STORED", twilioSid },
    });
  }
}

/**
 * The account already has as many of something as its limit allows (Account.limits): nothing was
 * written. An admin may raise the limit (updateAccount with limits).
 */
export class LimitExceededError extends GraphQLError {
  constructor(limit: string, max: number, what: string) {
    super(`The account has reached its limit of ${max} ${what} (${limit}); an admin may raise it`, {
      extensions: { code: "LIMIT_EXCEEDED", limit, max },
    });
  }
}
