import { randomUUID } from "node:crypto";
import type { Middleware } from "koa";
import { AppError, PayloadTooLargeError } from "../../schema/infra/errors.js";
import type { Logger } from "../../schema/infra/logger.js";

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** Gives every request an id (X-Request-Id) and a child logger carrying it. */
export function requestContext(logger: Logger): Middleware {
  return async (ctx, next) => {
    const given = ctx.get("x-request-id");
    const requestId = REQUEST_ID.test(given) ? given : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set("X-Request-Id", requestId);
    await next();
  };
}

/**
 * Turns thrown errors into the webhook's JSON error shape. Only AppError messages reach the
 * client; anything else is logged with the request id and answered as INTERNAL_ERROR.
 */
export function jsonErrors(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const log = ctx.state.log as Logger;
      if (err instanceof AppError && err.code !== "INTERNAL_ERROR") {
        log.info({ code: err.code, status: err.status, path: ctx.path }, "request refused");
        ctx.status = err.status;
        ctx.body = { success: false, error: err.message, code: err.code };
      } else {
        log.error({ err, path: ctx.path }, "request failed");
        ctx.status = 500;
        ctx.body = { success: false, error: "Internal error", code: "INTERNAL_ERROR", requestId: ctx.state.requestId as string };
      }
      ctx.type = "application/json";
      if (err instanceof AppError && err.retryable) ctx.set("Retry-After", String(err.retryAfterSeconds));
      // A body refused part-way is never read to its end: the connection cannot carry another request.
      if (err instanceof PayloadTooLargeError) ctx.set("Connection", "close");
    }
  };
}
