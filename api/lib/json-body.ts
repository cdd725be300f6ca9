import type { Context, Middleware } from "koa";
import { PayloadTooLargeError } from "../../schema/lib/errors.js";
import { readBody } from "./form-body.js";

/**
 * Reads a JSON request body into ctx.request.body for the GraphQL endpoint, refusing more than
 * `limitBytes`. Other content types are passed on as text for Apollo to refuse (its CSRF check).
 * Failures answer in the GraphQL error shape.
 */
export function jsonBody(limitBytes: number): Middleware {
  return async (ctx, next) => {
    let raw: string;
    try {
      raw = await readBody(ctx.req, limitBytes);
    } catch (err) {
      if (err instanceof PayloadTooLargeError) return graphqlHttpError(ctx, 413, err.message, "PAYLOAD_TOO_LARGE");
      throw err;
    }
    const type = ctx.get("content-type").split(";")[0]?.trim().toLowerCase() ?? "";
    let body: unknown = raw === "" ? {} : raw;
    if (type === "application/json" && raw !== "") {
      try {
        body = JSON.parse(raw);
      } catch {
        return graphqlHttpError(ctx, 400, "The body is not valid JSON", "BAD_REQUEST");
      }
    }
    (ctx.request as { body?: unknown }).body = body;
    await next();
  };
}

function graphqlHttpError(ctx: Context, status: number, message: string, code: string): void {
  ctx.status = status;
  ctx.type = "application/json";
  ctx.body = { errors: [{ message, extensions: { code } }] };
}
