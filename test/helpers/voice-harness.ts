import type { MediaServer } from "../../media-worker/server.js";
import { admitCall, type AdmittedCall, type WebTarget } from "../../media-worker/simulator/simulate-call.js";
import { Timers } from "../../media-worker/lib/timers.js";
import { liveChildProcesses } from "../../media-worker/lib/processes.js";
import { validateAgentConfig, storedVoiceConfig, type AgentVoiceConfigInput } from "../../schema/models/agent-config.js";
import { AgentModel } from "../../schema/models/agent.model.js";
import { CallModel } from "../../schema/models/call.model.js";
import { TEST_AUTH_TOKEN, startTestApp, type TestApp } from "./app.js";
import { CallerLine } from "./caller-line.js";
import { FakeTwilioRest, type HangUpRequest } from "./fake-twilio.js";
import { TEST_ACCOUNT_SID, startTestMedia } from "./media.js";
import { createFixture, type Fixture } from "./fixtures.js";

export interface VoiceHarness {
  /** Lines of calls placed through placeCall, hung up by hangUpAll. */
  lines: CallerLine[];
  /** Hangs up every call still open (after a failed test, so it cannot leak into the next). */
  hangUpAll(): Promise<void>;
  app: TestApp;
  server: MediaServer;
  target: WebTarget;
  mediaUrl: string;
  hangUps: HangUpRequest[];
  close(): Promise<void>;
}

/**
 * The web app, the real media worker and a fake Twilio REST API, with the worker's test settings
 * (test/helpers/media.ts) except that each agent's own engine answers; `env` adds engine settings.
 */
export async function startVoiceHarness(env: Record<string, string> = {}): Promise<VoiceHarness> {
  const app = await startTestApp();
  const twilio = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
  const media = await startTestMedia(twilio.url, { VOICE_ENGINE: "", GOODBYE_MS: "3000", SAY_TIMEOUT_MS: "8000", ...env });
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
    server: media.server,
    mediaUrl: media.mediaUrl,
    target: { webUrl: app.url, publicBaseUrl: app.config.publicBaseUrl, authToken: TEST_AUTH_TOKEN },
    hangUps: twilio.hangUps,
    async close() {
      await media.close();
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
  const call = await admitCall(h.target, { to: fixture.number, accountSid: TEST_ACCOUNT_SID });
  const line = await CallerLine.open(h.target, call, h.mediaUrl);
  h.lines.push(line);
  return { call, line };
}

/** Polls until `probe` returns a truthy value. */
export async function eventually<T>(
  what: string,
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
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
