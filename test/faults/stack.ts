import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { connectDatabase, disconnectDatabase, syncIndexes } from "../../schema/infra/db.js";
import { CALL_EVENTS_QUEUE, closeOutJobId } from "../../schema/infra/queues.js";
import { FakeTwilioRest } from "../helpers/fake-twilio.js";
import { createFixture, type Fixture } from "../helpers/fixtures.js";
import { FAST_WORKER_TIMERS } from "../helpers/media.js";
import { ChildProc, freePort, sleep } from "./processes.js";
import { thawDatabase, type FaultServices } from "./services.js";

export const AUTH_TOKEN = "fault-suite-twilio-auth-token-0123456789";
/** The Twilio account every simulated call belongs to. */
export const TWILIO_ACCOUNT_SID = `AC${"2".repeat(32)}`;
/** Starting balance of each account, micro-dollars ($50). */
export const START_BALANCE_MICROS = 50_000_000;

export interface Worker {
  name: string;
  proc: ChildProc;
  /** ws://127.0.0.1:<port>: the stream URL the simulator connects to for calls routed here. */
  mediaUrl: string;
}

export interface StackOptions {
  /** Extra environment of both workers, e.g. CLOSEOUT_ATTEMPTS. */
  workerEnv?: Record<string, string>;
  /** Extra environment of every process, e.g. NODE_ENV=production (the fuzz suite). */
  env?: Record<string, string>;
  accounts?: number;
  /** Media workers to start (default 2). */
  workers?: number;
}

/** The URL Twilio is told to stream to; stream upgrades are signed over it plus the path. */
export const MEDIA_PUBLIC_URL = "wss://media.example.com";

/**
 * One scenario's running system: a fresh database, a flushed Redis, the web process and two
 * media workers as real child processes, and a fake Twilio REST API on loopback.
 */
export class FaultStack {
  private constructor(
    readonly svc: FaultServices,
    readonly logDir: string,
    readonly mongodbUri: string,
    readonly twilio: FakeTwilioRest,
    readonly web: ChildProc,
    readonly webUrl: string,
    readonly workers: Worker[],
    readonly fixtures: Fixture[],
    /** The suite's own Redis connection, for checks and for adding jobs. */
    readonly redis: Redis,
    readonly queue: Queue,
    /** The web process's ADMIN_API_KEY. */
    readonly adminApiKey: string,
  ) {}

  static async start(svc: FaultServices, scenario: string, logRoot: string, opts: StackOptions = {}): Promise<FaultStack> {
    const logDir = path.join(logRoot, scenario);
    mkdirSync(logDir, { recursive: true });
    // Whatever an earlier scenario left behind: a frozen or stopped database, a stopped Redis.
    if (svc.pids.ferretdb) {
      try {
        thawDatabase(svc);
      } catch {
        await svc.startFerretDB();
      }
    }
    const redis = new Redis(svc.redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    redis.on("error", () => undefined);
    await redis.ping().catch(async () => {
      await svc.startRedis();
      await redis.ping();
    });
    await redis.flushall();
    const dbName = `faults_${scenario.replace(/[^a-z0-9]/gi, "_")}_${Date.now().toString(36)}`;
    const mongodbUri = svc.mongodbUri.replace(/\/[^/?]*(\?|$)/, `/${dbName}$1`);
    await connectDatabase(mongodbUri);
    await syncIndexes();
    const fixtures: Fixture[] = [];
    for (let i = 0; i < (opts.accounts ?? 2); i++) fixtures.push(await createFixture({ balanceMicros: START_BALANCE_MICROS }));

    const twilio = await FakeTwilioRest.start(AUTH_TOKEN);
    const port = await freePort();
    const webUrl = `http://127.0.0.1:${port}`;
    const streamTokenSecret = randomBytes(32).toString("hex");
    const shared: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "test",
      MONGODB_URI: mongodbUri,
      REDIS_URL: svc.redisUrl,
      MEDIA_PUBLIC_URL,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_ACCOUNT_SID,
      TWILIO_API_BASE_URL: twilio.url,
      STREAM_TOKEN_SECRET: streamTokenSecret,
      LOG_LEVEL: "info",
      LOG_REDACT_PII: "false",
      ...opts.env,
    };
    const adminApiKey = `fault-admin-${randomBytes(16).toString("hex")}`;
    const web = ChildProc.spawn(
      "web",
      "dist/api/main.js",
      { ...shared, PORT: String(port), PUBLIC_BASE_URL: webUrl, ADMIN_API_KEY: adminApiKey },
      path.join(logDir, "web.log"),
    );
    const workerEnv = (name: string): Record<string, string> => ({
      ...shared,
      // Production refuses to start a worker without it (docs/configuration.md).
      PUBLIC_BASE_URL: webUrl,
      MEDIA_PORT: "0",
      ...FAST_WORKER_TIMERS,
      // The reconciler looks every 500 ms; a live call's record is stale after two missed
      // checkpoints plus a heartbeat TTL (2 x 500 + 300 ms).
      RECONCILE_INTERVAL_MS: "500",
      WORKER_NAME: name,
      ...opts.workerEnv,
    });
    const names = ["worker-a", "worker-b", "worker-c", "worker-d"].slice(0, opts.workers ?? 2);
    const procs = names.map((name) =>
      ChildProc.spawn(name, "dist/media-worker/main.js", workerEnv(name), path.join(logDir, `${name}.log`)),
    );
    const queue = new Queue(CALL_EVENTS_QUEUE, { connection: redis });
    // Redis goes away on purpose in some scenarios; the suite reads the outcome from the checks.
    queue.on("error", () => undefined);
    const stack = new FaultStack(svc, logDir, mongodbUri, twilio, web, webUrl, [], fixtures, redis, queue, adminApiKey);
    try {
      const listening = /"port":(\d+)[^\n]*"msg":"media worker listening"/;
      for (const p of procs) {
        const m = await p.waitForOutput(listening, 30_000);
        stack.workers.push({ name: p.name, proc: p, mediaUrl: `ws://127.0.0.1:${m[1]}` });
      }
      await web.waitForOutput(/"msg":"web listening"/, 30_000);
      for (let i = 0; ; i++) {
        const ok = await fetch(`${webUrl}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (i > 100) throw new Error("the web process never answered /healthz with 200");
        await sleep(100);
      }
    } catch (err) {
      await Promise.all(procs.map((p) => p.stop(1000)));
      await web.stop(1000);
      await stack.closeClients();
      throw err;
    }
    return stack;
  }

  /** The first and second media worker. */
  get a(): Worker {
    return this.workers[0]!;
  }

  get b(): Worker {
    return this.workers[1]!;
  }

  /** What Redis holds about a call, for the report of a failed call. */
  async redisState(callId: string): Promise<string> {
    const tag = `{call:${callId}}`;
    try {
      const [state, hb, openAt, job] = await Promise.all([
        this.redis.hgetall(`c247:${tag}:state`),
        this.redis.pttl(`c247:${tag}:hb`),
        this.redis.zscore("c247:calls:open", callId),
        this.queue.getJob(closeOutJobId(callId)),
      ]);
      const due = openAt === null ? "not watched" : `sweeper looks again in ${Math.round((Number(openAt) - Date.now()) / 1000)} s`;
      const jobState = job
        ? `${await job.getState()} after ${job.attemptsMade} attempt(s)${job.failedReason ? ` (${job.failedReason.slice(0, 120)})` : ""}`
        : "none";
      return `call state ${JSON.stringify(state)}, heartbeat ${hb > 0 ? `live (${hb} ms left)` : "absent"}, ${due}, close-out job ${jobState}`;
    } catch (err) {
      return `unreadable (${(err as Error).message})`;
    }
  }

  get processes(): ChildProc[] {
    return [this.web, ...this.workers.map((w) => w.proc)];
  }

  /** Stops every process of the scenario and the suite's own clients. */
  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
    await this.closeClients();
  }

  private async closeClients(): Promise<void> {
    await this.twilio.close();
    await this.queue.close().catch(() => undefined);
    this.redis.disconnect();
    await disconnectDatabase();
  }
}
