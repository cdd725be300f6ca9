import type { Context as KoaContext } from "koa";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import type { Logger } from "../../schema/lib/logger.js";
import { bearerToken } from "../auth/api-key.crypto.js";
import type { ApiKeyService } from "../auth/api-key.service.js";
import type { Principal } from "../auth/principal.js";
import { InternalServerError, UnauthenticatedError } from "./errors.js";
import { createLoaders, type Loaders } from "./loaders.js";

/** Per-request GraphQL context. `principal` is null for a missing or refused key. */
export interface GraphqlContext {
  principal: Principal | null;
  loaders: Loaders;
  log: Logger;
  requestId: string;
}

/** What services get: an authenticated caller and the request's loaders. */
export interface Viewer {
  principal: Principal;
  loaders: Loaders;
}

export function viewerOf(ctx: GraphqlContext): Viewer {
  // The auth plugin already refused such requests; this keeps resolvers safe on their own.
  if (!ctx.principal) throw new UnauthenticatedError();
  return { principal: ctx.principal, loaders: ctx.loaders };
}

/**
 * Builds each request's context from `Authorization: Bearer <key>`. A failure here (the key
 * lookup when the database is down) is logged with its cause and answered INTERNAL_ERROR with
 * the request id: Apollo would otherwise send the cause's message and log nothing.
 */
export function contextFactory(apiKeys: ApiKeyService, reservations: ReservationService) {
  return async ({ ctx }: { ctx: KoaContext }): Promise<GraphqlContext> => {
    const log = ctx.state.log as Logger;
    const requestId = String(ctx.state.requestId);
    const token = bearerToken(ctx.get("authorization") || undefined);
    let principal: Principal | null = null;
    try {
      principal = token ? await apiKeys.authenticate(token) : null;
    } catch (err) {
      log.error({ err }, "graphql context creation failed");
      throw new InternalServerError(requestId);
    }
    return { principal, loaders: createLoaders(reservations), log, requestId };
  };
}
