import type { ApolloServerPlugin } from "@apollo/server";
import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { AppError } from "../../schema/lib/errors.js";
import type { GraphqlContext } from "./context.js";
import { UnauthenticatedError } from "./errors.js";
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

/** Logs errors that are not meant for clients (bugs, outages) with the request id. */
export function errorLogPlugin(): ApolloServerPlugin<GraphqlContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ contextValue, errors }) {
          for (const error of errors) {
            const original = unwrapResolverError(error);
            if (isClientError(original)) continue;
            contextValue.log.error({ err: original, path: error.path }, "graphql operation failed");
          }
        },
      };
    },
  };
}

function isClientError(err: unknown): boolean {
  return err instanceof GraphQLError || (err instanceof AppError && err.code !== "INTERNAL_ERROR");
}

/**
 * What clients see of an error: ours and graphql's as they are, AppErrors (INSUFFICIENT_BALANCE,
 * IDEMPOTENCY_CONFLICT, LEDGER_BUSY...) with their code, anything else as a bare internal error.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof GraphQLError) return formatted;
  if (original instanceof AppError && original.code !== "INTERNAL_ERROR") {
    return {
      message: original.message,
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: original.code, ...(original.retryable ? { retryable: true } : {}) },
    };
  }
  return {
    message: "Internal server error",
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: "INTERNAL_SERVER_ERROR" },
  };
}
