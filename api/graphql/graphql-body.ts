import { bodyParser } from "@koa/bodyparser";
import type { Context, Middleware } from "koa";

/**
 * Parses the GraphQL endpoint's JSON body into ctx.request.body (@koa/bodyparser, JSON only),
 * refusing more than `limitBytes`. Other content types get an empty body, and Apollo refuses
 * them (its CSRF check). Parse failures answer in the GraphQL error shape.
 */
export function graphqlBody(limitBytes: number): Middleware {
  const parse = bodyParser({ enableTypes: ["json"], jsonLimit: limitBytes });
  return async (ctx, next) => {
    try {
      // Its own next, so an error from the resolvers below is never taken for a parse error.
      await parse(ctx, async () => undefined);
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      if (status === 413) {
        // The rest of the body is never read: the connection cannot carry another request.
        ctx.set("Connection", "close");
        return graphqlHttpError(ctx, 413, `The request body is larger than ${limitBytes} bytes`, "PAYLOAD_TOO_LARGE");
      }
      if (status === 400) return graphqlHttpError(ctx, 400, "The body is not valid JSON", "BAD_REQUEST");
      throw err;
    }
    await next();
  };
}

function graphqlHttpError(ctx: Context, status: number, message: string, code: string): void {
  ctx.status = status;
  ctx.type = "application/json";
  ctx.body = { errors: [{ message, extensions: { code } }] };
}
