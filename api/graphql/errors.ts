import { GraphQLError } from "graphql";

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

/** The operation is too deep or too costly to run. */
export class QueryTooComplexError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: "GRAPHQL_VALIDATION_FAILED", http: { status: 400 } } });
  }
}
