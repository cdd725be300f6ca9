import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { loadMediaConfig } from "../../media-worker/config.js";
import { createMediaServer, type MediaServer } from "../../media-worker/server.js";
import { admitCall, type AdmittedCall, type WebTarget } from "../../media-worker/simulator/simulate-call.js";
import { Timers } from "../../media-worker/lib/timers.js";
import { liveChildProcesses } from "../../media-worker/lib/processes.js";
import { validateAgentConfig, storedVoiceConfig, type AgentVoiceConfigInput } from "../../schema/agents/agent-config.js";
import { createLogger } from "../../schema/lib/logger.js";
import { CALL_EVENTS_QUEUE } from "../../schema/lib/queues.js";
import { AgentModel } from "../../schema/models/agent.model.js";
import { CallModel } from "../../schema/models/call.model.js";
import { TEST_AUTH_TOKEN, startTestApp, type TestApp } from "./app.js";
import { CallerLine } from "./caller-line.js";
import { testEnv } from "./env.js";
import { createFixture, type Fixture } from "./fixtures.js";

export const TWILIO_ACCOUNT_SID = `AC${"7".repeat(32)}`;

/** Twilio's REST API, for the hang-up the worker makes; records when each arrived. */
async function startHangUpRecorder(): Promise<{ url: string; hangUps: { callSid: string; at: number }[]; close(): Promise<void> }> {
  const hangUps: { callSid: string; at: number }[] = [];
  const server: Server = createServer((req, res) => {
    const m = /\/Calls\/([A-Za-z0-9]+)\.json$/.exec(req.url ?? "");
    if (req.method === "POST" && m) hangUps.push({ callSid: m[1]!, at: performance.now() });
    req.resume();
    res.writeHead(m ? 200 : 404, { "content-type": "application/json" });
    res.end(JSON.stringify(m ? { sid: m[1], status: "completed" } : { code: 20404, message: "not found", status: 404 }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hangUps,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface VoiceHarness {
  /** Lines of calls placed through placeCall, hung up by hangUpAll. */
  lines: CallerLine[];
  /** Hangs up every call still open (after a failed test, so it cannot leak into the next). */
  hangUpAll(): Promise<void>;
  app: TestApp;
  server: MediaServer;
  target: WebTarget;
  mediaUrl: string;
  hangUps: { callSid: string; at: number }[];
  close(): Promise<void>;
}

/** The web app, the real media worker (engine settings from `env`) and a Twilio REST stand-in. */
export async function startVoiceHarness(env: Record<string, string> = {}): Promise<VoiceHarness> {
  const app = await startTestApp();
  const twilio = await startHangUpRecorder();
  const { mongodbUri, redisUrl } = testEnv();
  const config = loadMediaConfig({
    MONGODB_URI: mongodbUri,
    REDIS_URL: redisUrl,
    MEDIA_PUBLIC_URL: "wss://media.example.com",
    TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
    TWILIO_ACCOUNT_SID,
    TWILIO_API_BASE_URL: twilio.url,
    GOODBYE_MS: "3000",
    SAY_TIMEOUT_MS: "8000",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    ...env,
  });
  const logger = createLogger({ name: "test-worker", level: config.logLevel, redactPii: false });
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  const queue = new Queue(CALL_EVENTS_QUEUE, { connection: redis });
  const server = createMediaServer({ config, logger, redis, queue });
  const port = await server.listen(0, "127.0.0.1");
  const mediaUrl = `ws://127.0.0.1:${port}`;
  const lines: CallerLine[] = [];
  return {
    lines,
    async hangUpAll() {
      for (const line of lines.splice(0)) {
        if (line.client.isOpen) line.hangUp();
        line.stop();
        await Promise.race([line.client.closed, new Promise((r) => setTimeout(r, 3_000))]);
        line.client.close();
      }
    },
    app,
    server,
    mediaUrl,
    target: { webUrl: app.url, publicBaseUrl: app.config.publicBaseUrl, authToken: TEST_AUTH_TOKEN },
    hangUps: twilio.hangUps,
    async close() {
      await server.close({ drainMs: 0 });
      await queue.close();
      redis.disconnect();
      await twilio.close();
      await app.close();
    },
  };
}

/** A funded account whose agent has this voice configuration. */
export async function voiceAgent(config: AgentVoiceConfigInput & { instructions?: string }): Promise<Fixture> {
  const fixture = await createFixture({ balanceMicros: 50_000_000 });
  const agent = await AgentModel.findById(fixture.agentId);
  const { instructions, ...voice } = config;
  agent!.set({ ...validateAgentConfig(voice, storedVoiceConfig(agent!.toObject())), ...(instructions ? { instructions } : {}) });
  await agent!.save();
  return fixture;
}

/** Admits a call to the fixture's number and opens its stream, with a caller line sending 20 ms frames. */
export async function placeCall(h: VoiceHarness, fixture: Fixture): Promise<{ call: AdmittedCall; line: CallerLine }> {
  const call = await admitCall(h.target, { to: fixture.number, accountSid: TWILIO_ACCOUNT_SID });
  const line = await CallerLine.open(h.target, call, h.mediaUrl);
  h.lines.push(line);
  return { call, line };
}

/** Polls until `probe` returns a truthy value. */
export async function eventually<T>(what: string, probe: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The call once the session has stored its record and close-out has run. */
export function endedCall(callId: string, timeoutMs = 10_000) {
  return eventually(`call ${callId} to end`, () => CallModel.findOne({ _id: callId, endedAt: { $ne: null } }).lean(), timeoutMs);
}

/** After a call: no engine timer or child process is left (the provider's sockets are the fake's to count). */
export async function nothingLeftBehind(extra: () => boolean = () => true): Promise<void> {
  await eventually(
    `calls to leave nothing behind (timers ${Timers.live}, processes ${liveChildProcesses()})`,
    () => Timers.live === 0 && liveChildProcesses() === 0 && extra(),
    5_000,
  );
}
