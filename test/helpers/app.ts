import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { createApp, type App } from "../../api/app.js";
import { loadApiConfig, type ApiConfig } from "../../api/config.js";
import { createLogger, type Logger } from "../../schema/infra/logger.js";
import { CALL_EVENTS_QUEUE } from "../../schema/infra/queues.js";
import { testEnv } from "./env.js";

export const TEST_AUTH_TOKEN = "test-twilio-auth-token-0123456789";
export const TEST_ADMIN_KEY = "test-admin-key-0123456789abcdefghij";

export interface TestApp {
  url: string;
  config: ApiConfig;
  app: App;
  redis: Redis;
  callEvents: Queue;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** The app's clock for verification code expiry (milliseconds since the epoch). */
  clock?: () => number;
  /** The app's logger; default one at LOG_LEVEL (silent). Tests pass one writing to an array to read what was logged. */
  logger?: Logger;
}

/** Starts the real web app on port 0 against the run's FerretDB and Redis. */
export async function startTestApp(env: Record<string, string> = {}, opts: TestAppOptions = {}): Promise<TestApp> {
  const { mongodbUri, redisUrl } = testEnv();
  const config = loadApiConfig({
    MONGODB_URI: mongodbUri,
    REDIS_URL: redisUrl,
    PUBLIC_BASE_URL: "https://voice.example.com",
    MEDIA_PUBLIC_URL: "wss://media.example.com",
    TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
    ADMIN_API_KEY: TEST_ADMIN_KEY,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    // Tests fail authentication on purpose, all from 127.0.0.1 and against one Redis for the run:
    // the limit per address applies where a test asks for it (test/auth/failed-authentications.test.ts).
    AUTH_FAILURES_PER_MINUTE: "1000000",
    ...env,
  });
  const logger = opts.logger ?? createLogger({ name: "test-web", level: config.logLevel, redactPii: false });
  const redis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on("error", () => undefined);
  await redis.connect().catch(() => undefined);
  const callEvents = new Queue(CALL_EVENTS_QUEUE, { connection: redis });
  const app = createApp({ config, logger, redis, callEvents, ...(opts.clock ? { clock: opts.clock } : {}) });
  const server: Server = await new Promise((resolve) => {
    const s = app.koa.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    app,
    redis,
    callEvents,
    async close() {
      try {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await app.stop();
        await callEvents.close();
      } finally {
        // Always, or a client of a dead Redis keeps retrying and mocha never exits.
        redis.disconnect();
      }
    },
  };
}
