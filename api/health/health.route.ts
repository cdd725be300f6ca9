import { Router } from "@koa/router";
import type { Redis } from "ioredis";
import { FailedCloseOuts } from "../../schema/billing/closeout-queue.js";
import { pingDatabase } from "../../schema/infra/db.js";

const PING_TIMEOUT_MS = 1_000;

async function pingRedis(redis: Redis): Promise<boolean> {
  try {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), PING_TIMEOUT_MS));
    return (await Promise.race([redis.ping(), timeout])) === "PONG";
  } catch {
    return false;
  }
}

/**
 * GET /healthz: 200 when MongoDB and Redis both answer, 503 otherwise. `closeoutsFailed` counts
 * close-outs that used up their attempts and wait for the reconciler (null when Redis is down).
 */
export function healthRoutes(redis: Redis): Router {
  const router = new Router();
  const failed = new FailedCloseOuts(redis);
  router.get("/healthz", async (ctx) => {
    const [mongodb, redisUp] = await Promise.all([pingDatabase(PING_TIMEOUT_MS), pingRedis(redis)]);
    const closeoutsFailed = redisUp ? await failed.count().catch(() => null) : null;
    const ok = mongodb && redisUp;
    ctx.status = ok ? 200 : 503;
    ctx.body = { status: ok ? "ok" : "degraded", mongodb: mongodb ? "up" : "down", redis: redisUp ? "up" : "down", closeoutsFailed };
  });
  return router;
}
