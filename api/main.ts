// Entry point of the `web` process: wires config, database, Redis and the Koa app.
import "reflect-metadata";
import { existsSync } from "node:fs";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { connectForProcess, disconnectDatabase } from "../schema/infra/db.js";
import { ConfigError } from "../schema/infra/config-error.js";
import { exitOnFatalErrors } from "../schema/infra/fatal-errors.js";
import { createLogger } from "../schema/infra/logger.js";
import { CALL_EVENTS_QUEUE } from "../schema/infra/queues.js";
import { checkEvictionPolicy } from "../schema/infra/redis-checks.js";
import { createApp } from "./app.js";
import { loadApiConfig } from "./config.js";

// An optional .env fills in variables that the environment does not set.
if (existsSync(".env")) process.loadEnvFile(".env");

let config;
try {
  config = loadApiConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`Configuration error: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
const logger = createLogger({ name: "web", level: config.logLevel, redactPii: config.redactPii });
// The web process holds no call state: in-flight webhooks fail and Twilio retries or falls back.
exitOnFatalErrors({ log: logger, cleanup: async () => undefined });

await connectForProcess(config.mongodbUri, logger);
// Producers fail fast instead of queueing commands while Redis is away.
const redis = new Redis(config.redisUrl, {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: config.redisCommandTimeoutMs,
});
await new Promise<void>((resolve, reject) => {
  redis.once("ready", resolve);
  redis.once("error", reject);
});
redis.on("error", (err) => logger.warn({ err }, "redis connection error"));
await checkEvictionPolicy(redis, logger);
const callEvents = new Queue(CALL_EVENTS_QUEUE, { connection: redis });
const app = createApp({ config, logger, redis, callEvents });
const { koa } = app;
const server = koa.listen(config.port, () => {
  logger.info(
    { port: config.port, webhook: `${config.publicBaseUrl}/inbound_call`, graphql: `${config.publicBaseUrl}/graphql` },
    "web listening",
  );
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "web shutting down");
  // Finish in-flight requests; idle keep-alive sockets would otherwise hold the close open.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await closed;
  await app.stop();
  await callEvents.close();
  await redis.quit();
  await disconnectDatabase();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
