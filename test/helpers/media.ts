import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import type { Types } from "mongoose";
import { loadMediaConfig, type MediaConfig } from "../../media-worker/config.js";
import type { EngineFactory } from "../../media-worker/engines/voice-engine.js";
import { createMediaServer, type MediaServer } from "../../media-worker/server.js";
import { renderTones, toFramePayloads } from "../../media-worker/audio/tone.js";
import {
  admitCall,
  openStream,
  type AdmittedCall,
  type SimulateCallOptions,
  type WebTarget,
} from "../../media-worker/simulator/simulate-call.js";
import type { TwilioStreamClient } from "../../media-worker/simulator/stream-client.js";
import { ReservationService } from "../../schema/billing/reservation.service.js";
import { ledger } from "../../schema/ledger/ledger.service.js";
import { createLogger } from "../../schema/infra/logger.js";
import { CALL_EVENTS_QUEUE } from "../../schema/infra/queues.js";
import { CallModel } from "../../schema/models/call.model.js";
import { LedgerEntryModel } from "../../schema/models/ledger-entry.model.js";
import { TEST_AUTH_TOKEN, type TestApp } from "./app.js";
import { testEnv } from "./env.js";

/** The Twilio account our fake Twilio calls belong to. */
export const TEST_ACCOUNT_SID = `AC${"1".repeat(32)}`;

/**
 * Every worker timer short, so lifecycles play out in a second or two, and the echo engine: the
 * media plumbing is tested with it (tones, then the caller's own audio); the voice engines have
 * their own tests (test/voice-engines). Shared by the tests' workers and the fault suite's.
 */
export const FAST_WORKER_TIMERS: Record<string, string> = {
  HEARTBEAT_INTERVAL_MS: "100",
  SWEEP_INTERVAL_MS: "150",
  GOODBYE_MS: "300",
  RESERVATION_CHUNK_SECONDS: "2",
  STREAM_START_TIMEOUT_MS: "1000",
  STREAM_IDLE_TIMEOUT_MS: "1500",
  SHUTDOWN_DRAIN_MS: "0",
  CHECKPOINT_INTERVAL_MS: "500",
  VOICE_ENGINE: "echo",
};

/**
 * Worker settings for tests: every timer short so lifecycles play out in a second or two.
 * Public URLs match the test web app's, so signatures and TwiML line up.
 */
export function mediaEnv(twilioApiBaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  const { mongodbUri, redisUrl } = testEnv();
  return {
    MONGODB_URI: mongodbUri,
    REDIS_URL: redisUrl,
    MEDIA_PORT: "0",
    MEDIA_PUBLIC_URL: "wss://media.example.com",
    TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
    TWILIO_ACCOUNT_SID: TEST_ACCOUNT_SID,
    TWILIO_API_BASE_URL: twilioApiBaseUrl,
    ...FAST_WORKER_TIMERS,
    // Suites that test the reconciler run it themselves; elsewhere it would close other tests' calls.
    RECONCILE_INTERVAL_MS: "600000",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    ...extra,
  };
}

export interface TestMedia {
  server: MediaServer;
  config: MediaConfig;
  /** ws://127.0.0.1:<port>, what the simulator connects to instead of the public URL. */
  mediaUrl: string;
  redis: Redis;
  queue: Queue;
  close(): Promise<void>;
}

/** Starts the real media worker in this process on port 0. */
export async function startTestMedia(
  twilioApiBaseUrl: string,
  extra: Record<string, string> = {},
  opts: { engines?: EngineFactory } = {},
): Promise<TestMedia> {
  const config = loadMediaConfig(mediaEnv(twilioApiBaseUrl, extra));
  const logger = createLogger({ name: "test-worker", level: config.logLevel, redactPii: false });
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3, commandTimeout: config.redisCommandTimeoutMs });
  const queue = new Queue(CALL_EVENTS_QUEUE, { connection: redis });
  const server = createMediaServer({ config, logger, redis, queue, engines: opts.engines });
  const port = await server.listen(0, "127.0.0.1");
  return {
    server,
    config,
    mediaUrl: `ws://127.0.0.1:${port}`,
    redis,
    queue,
    async close() {
      await server.close({ drainMs: 0 });
      await queue.close();
      redis.disconnect();
    },
  };
}

export interface WorkerProcess {
  child: ChildProcess;
  mediaUrl: string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

/** Starts `node dist/media-worker/main.js` as a real child process and waits until it listens. */
export async function startWorkerProcess(env: Record<string, string>, nodeArgs: string[] = []): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, "dist/media-worker/main.js"], {
    env: { ...process.env, ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${out}`)), 15_000);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)[^\n]*"msg":"media worker listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => reject(new Error(`worker exited with ${code}: ${out}`)));
  });
  return { child, mediaUrl: `ws://127.0.0.1:${port}`, exited };
}

/** Polls until `probe` returns (or resolves to) a truthy value, or fails naming what it waited for. */
export async function waitFor<T>(
  what: string,
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The call's document, once written (it is written just after /inbound_call answers). */
export function waitForCallDocument(callId: string, timeoutMs = 10_000) {
  return waitFor(`call ${callId} to be written`, () => CallModel.findById(callId).lean(), timeoutMs);
}

/** The call once its close-out has run (it has an end). */
export function waitForClosedCall(callId: string, timeoutMs = 10_000) {
  return waitFor(`call ${callId} to be closed out`, () => CallModel.findOne({ _id: callId, endedAt: { $ne: null } }).lean(), timeoutMs);
}

export async function chargesFor(callId: string | Types.ObjectId) {
  return LedgerEntryModel.find({ callId, kind: "call_charge" }).lean();
}

/** The simulator's view of the test web app and worker. */
export function simulatorTarget(t: TestApp, media: { mediaUrl: string }): WebTarget & Pick<SimulateCallOptions, "mediaUrl"> {
  return { webUrl: t.url, publicBaseUrl: t.config.publicBaseUrl, authToken: TEST_AUTH_TOKEN, mediaUrl: media.mediaUrl };
}

export const reservations = (redis: Redis) => new ReservationService(redis, ledger);

export const uniqueStreamSid = (): string => `MZ${randomBytes(16).toString("hex")}`;

const CALLER_TONE = toFramePayloads(renderTones([{ hz: 400, ms: 200 }]));

/** A call admitted through the test web app and streaming a tone to `media` every 20 ms, as Twilio would. */
export async function streamingCall(
  t: TestApp,
  media: { mediaUrl: string },
  to: string,
): Promise<{ call: AdmittedCall; client: TwilioStreamClient; stopAudio: () => void }> {
  const target = simulatorTarget(t, media);
  const call = await admitCall(target, { to });
  const client = await openStream(target, call, { mediaUrl: media.mediaUrl });
  let i = 0;
  const timer = setInterval(() => client.isOpen && client.sendMedia(CALLER_TONE[i++ % CALLER_TONE.length]!), 20);
  return { call, client, stopAudio: () => clearInterval(timer) };
}
