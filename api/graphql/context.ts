import type { Context as KoaContext } from "koa";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import type { Logger } from "../../schema/infra/logger.js";
import { bearerToken } from "../auth/api-key.crypto.js";
import { TooManyFailedAuthenticationsError } from "../../schema/infra/errors.js";
import type { ApiKeyAuthenticator } from "../auth/api-key-authenticator.js";
import type { AuthFailures } from "../auth/auth-failures.js";
import type { Principal } from "../auth/principal.js";
import { InternalServerError, TooManyFailedAuthenticationsGraphqlError } from "./errors.js";
import { createLoaders, type Loaders } from "./loaders.js";

/** Per-request GraphQL context. `principal` is null for a missing or refused key. */
export interface GraphqlContext {
  principal: Principal | null;
  loaders: Loaders;
  log: Logger;
  requestId: string;
}

/** What services get: an authenticated caller and the request's loaders (resolvers: @CurrentViewer()). */
export interface Viewer {
  principal: Principal;
  loaders: Loaders;
}

/**
 * Builds each request's context from `Authorization: Bearer <key>`. A wrong key counts against the
 * client address (ctx.ip); past the limit the request is refused (429) before the key is looked up.
 * A request without the header is not counted: it guesses nothing. A failure of the lookup itself
 * (the database down) is logged with its cause and answered INTERNAL_ERROR with the request id:
 * Apollo would otherwise send the cause's message and log nothing.
 */
export function contextFactory(apiKeys: ApiKeyAuthenticator, reservations: ReservationService, failures: AuthFailures) {
  return async ({ ctx }: { ctx: KoaContext }): Promise<GraphqlContext> => {
    const log = ctx.state.log as Logger;
    const requestId = String(ctx.state.requestId);
    const authorization = ctx.get("authorization");
    let principal: Principal | null = null;
    if (authorization) {
      await refusedAsGraphql(failures.assertAllowed(ctx.ip));
      const token = bearerToken(authorization);
      try {
        principal = token ? await apiKeys.authenticate(token) : null;
      } catch (err) {
        log.error({ err }, "graphql context creation failed");
        throw new InternalServerError(requestId);
      }
      if (!principal) {
        const refusal = await failures.record(ctx.ip);
        if (refusal) throw new TooManyFailedAuthenticationsGraphqlError(refusal);
      }
    }
    return { principal, loaders: createLoaders(reservations), log, requestId };
  };
}

async function refusedAsGraphql(check: Promise<void>): Promise<void> {
  try {
    await check;
  } catch (err) {
    if (err instanceof TooManyFailedAuthenticationsError) throw new TooManyFailedAuthenticationsGraphqlError(err);
    throw err;
  }
}
