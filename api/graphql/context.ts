import type { Context as KoaContext } from "koa";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import type { Logger } from "../../schema/lib/logger.js";
import { bearerToken } from "../auth/api-key.crypto.js";
import type { ApiKeyService } from "../auth/api-key.service.js";
import type { Principal } from "../auth/principal.js";
import { UnauthenticatedError } from "./errors.js";
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

/** Builds each request's context from `Authorization: Bearer <key>`. */
export function contextFactory(apiKeys: ApiKeyService, reservations: ReservationService) {
  return async ({ ctx }: { ctx: KoaContext }): Promise<GraphqlContext> => {
    const token = bearerToken(ctx.get("authorization") || undefined);
    const principal = token ? await apiKeys.authenticate(token) : null;
    return {
      principal,
      loaders: createLoaders(reservations),
      log: ctx.state.log as Logger,
      requestId: String(ctx.state.requestId),
    };
  };
}
