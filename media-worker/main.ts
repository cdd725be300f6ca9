// Entry point of the `worker` process: wires config, database, Redis and the media server.
import "reflect-metadata";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { connectForProcess, disconnectDatabase } from "../schema/infra/db.js";
import { ConfigError } from "../schema/infra/config-error.js";
import { exitOnFatalErrors } from "../schema/infra/fatal-errors.js";
import { createLogger } from "../schema/infra/logger.js";
import { CALL_EVENTS_QUEUE } from "../schema/infra/queues.js";
import { checkEvictionPolicy } from "../schema/infra/redis-checks.js";
import { loadMediaConfig } from "./config.js";
import { createMediaServer } from "./server.js";

let config;
try {
  config = loadMediaConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`Configuration error: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
const logger = createLogger({ name: "worker", level: config.logLevel, redactPii: config.redactPii });
if (!config.twilioAuthToken)
  logger.warn("TWILIO_AUTH_TOKEN unset: stream signatures are not checked and calls cannot be hung up through Twilio");

await connectForProcess(config.mongodbUri, logger);
// The worker queues commands through short Redis blips rather than fail a call's close-out.
// Not the BullMQ worker's own connection (server.ts), whose blocking reads must wait.
const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3, commandTimeout: config.redisCommandTimeoutMs });
redis.on("error", (err) => logger.error({ err: err.message }, "redis error"));
await checkEvictionPolicy(redis, logger);
const queue = new Queue(CALL_EVENTS_QUEUE, { connection: redis });
const media = createMediaServer({ config, logger, redis, queue });
exitOnFatalErrors({ log: logger, cleanup: () => media.endAllCalls() });
await media.listen();

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, liveCalls: media.liveCalls }, "worker shutting down");
  await media.close();
  await queue.close();
  await redis.quit();
  await disconnectDatabase();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
