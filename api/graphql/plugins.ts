import type { ApolloServerPlugin } from "@apollo/server";
import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { AppError } from "../../schema/infra/errors.js";
import type { GraphqlContext } from "./context.js";
import { INTERNAL_CODE, INTERNAL_MESSAGE, UnauthenticatedError } from "./errors.js";
import { assertComplexity } from "./limits.js";

/**
 * Runs once the operation is parsed and validated, before anything executes: refuses callers
 * without a valid key (introspection included), then operations that cost too much.
 */
export function guardPlugin(maxComplexity: number): ApolloServerPlugin<GraphqlContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, request, document, schema }) {
          if (!contextValue.principal) throw new UnauthenticatedError();
          assertComplexity({ schema, document, operationName: request.operationName, variables: request.variables, maxComplexity });
        },
      };
    },
  };
}

/**
 * Unexpected errors (bugs, outages): logs each cause with the request id, and gives the answer's
 * INTERNAL_ERROR entries that id, so a client can quote it and an operator find the cause.
 * Context-creation failures never get here (Apollo runs no request hooks for them): the context
 * factory logs them and throws InternalServerError with the id itself.
 */
export function internalErrorPlugin(): ApolloServerPlugin<GraphqlContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ contextValue, errors }) {
          for (const error of errors) {
            const cause = thrownError(error);
            if (isClientError(cause)) continue;
            contextValue.log.error({ err: cause, path: error.path }, "graphql operation failed");
          }
        },
        async willSendResponse({ contextValue, response }) {
          if (response.body.kind !== "single" || !response.body.singleResult.errors) return;
          response.body.singleResult.errors = response.body.singleResult.errors.map((e) =>
            e.extensions?.code === INTERNAL_CODE ? { ...e, extensions: { ...e.extensions, requestId: contextValue.requestId } } : e,
          );
        },
      };
    },
  };
}

/**
 * What was thrown, under graphql-js's and Apollo's wrappers: a resolver's error is wrapped with a
 * path; a plain error from a plugin hook or the context function is wrapped by Apollo without
 * a code (its message, "Context creation failed: ...", is the internal one).
 */
function thrownError(error: unknown): unknown {
  const original = unwrapResolverError(error);
  if (
    original instanceof GraphQLError &&
    original.extensions.code === undefined &&
    original.originalError &&
    !(original.originalError instanceof GraphQLError)
  ) {
    return original.originalError;
  }
  return original;
}

function isClientError(err: unknown): boolean {
  if (err instanceof GraphQLError) return err.extensions.code !== INTERNAL_CODE;
  return err instanceof AppError && err.code !== INTERNAL_CODE;
}

/**
 * What clients see of an error: ours and graphql's as they are, AppErrors (INSUFFICIENT_BALANCE,
 * IDEMPOTENCY_CONFLICT, LEDGER_BUSY...) with their code, anything else as a bare INTERNAL_ERROR
 * (internalErrorPlugin adds the request id).
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = thrownError(error);
  if (original instanceof GraphQLError) return formatted;
  if (original instanceof AppError && original.code !== INTERNAL_CODE) {
    return {
      message: original.message,
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: original.code, ...(original.retryable ? { retryable: true } : {}) },
    };
  }
  return {
    message: INTERNAL_MESSAGE,
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: INTERNAL_CODE },
  };
}
