// `npm run bench:engines`: how fast the voice engines answer, on the call simulator's clock.
// Starts FerretDB and Redis (or uses MONGODB_URI / REDIS_URL), the web process and the media
// worker as child processes, seeds an account with a LOCAL agent and an OPENAI_REALTIME agent, and
// plays Twilio for their calls from this process. Reports:
//   1. OpenAI Realtime engine against the fake provider on loopback, which answers the instant the
//      caller's phrase ends: time from the caller's last frame to the first agent audio frame,
//      i.e. the bridge's own overhead (two trips through the worker). Target p95 < 20 ms.
//   2. Local engine (espeak-ng + PocketSphinx): time from the end of the caller's phrase to the
//      first agent audio frame (turn-end silence, recognition, reply). Target p95 < 1.5 s.
//   3. Local engine concurrency: calls talking at once on one worker, and the first-audio times at
//      each level; the largest level whose p95 stays within 20% of one call's p95 is reported.
//   4. Barge-in reaction: local engine, from the caller's first frame of speech over a reply (and
//      from the frame that opens the caller's turn) to Twilio's `clear` arriving; OpenAI bridge,
//      from the provider's speech_started to the `clear`.
//   5. Hang-up after the goodbye's mark: the caller's phone holds the mark until the goodbye has
//      arrived and some more; from the mark's return to the worker closing the stream (local
//      engine after an end-call phrase, OpenAI bridge after end_call), and how many calls were
//      hung up before their mark came back (must be 0).
// Knobs (env): BENCH_TURNS (turns per engine, default 20), BENCH_LOCAL_TURNS (the local engine's,
// default BENCH_TURNS; a local turn takes about 2 s of real time), BENCH_LEVELS (concurrency levels,
// default "4,8,16,32"), BENCH_LEVEL_TURNS (turns per call at each level, default 3),
// BENCH_BARGE_INS (barge-ins per engine, default BENCH_TURNS), BENCH_HANGUPS (calls per engine for
// the hang-up timing, default 10), BENCH_ONLY (comma list of sections to run, e.g. "4,5").
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { ROOT, build, ensureNodeModules, ensureVoiceTools } from "./lib/setup.mjs";
import { freePort, startServices } from "./lib/services.mjs";

const TURNS = Number(process.env.BENCH_TURNS ?? 20);
const LOCAL_TURNS = Number(process.env.BENCH_LOCAL_TURNS ?? TURNS);
const LEVELS = (process.env.BENCH_LEVELS ?? "4,8,16,32")
  .split(",")
  .map(Number)
  .filter((n) => n > 1);
const LEVEL_TURNS = Number(process.env.BENCH_LEVEL_TURNS ?? 3);
const BARGE_INS = Number(process.env.BENCH_BARGE_INS ?? TURNS);
const HANGUPS = Number(process.env.BENCH_HANGUPS ?? 10);
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",").map((x) => x.trim())) : null;
const runs = (section) => !ONLY || ONLY.has(String(section));
const AUTH_TOKEN = "bench-twilio-auth-token-0123456789";
const API_KEY = "sk-bench-fake-realtime";
const FRAME_MS = 20;
const FRAME_BYTES = 160;

ensureNodeModules();
ensureVoiceTools({ required: true });
build();
const dist = (p) => import(pathToFileURL(path.join(ROOT, "dist", p)).href);

const svc = await startServices({ name: "bench-engines" });
const { connectDatabase, disconnectDatabase, syncIndexes } = await dist("schema/infra/db.js");
const { AccountModel } = await dist("schema/models/account.model.js");
const { AgentModel } = await dist("schema/models/agent.model.js");
const { PhoneNumberModel } = await dist("schema/models/phone-number.model.js");
const { ledger } = await dist("schema/ledger/ledger.service.js");
const { FakeOpenAIRealtime } = await dist("test/helpers/fake-openai-realtime.js");
const { FakeTwilioRest } = await dist("test/helpers/fake-twilio.js");
const { admitCall } = await dist("media-worker/simulator/simulate-call.js");
const { TwilioStreamClient } = await dist("media-worker/simulator/stream-client.js");
const { EspeakSpeech } = await dist("media-worker/engines/local/speech.js");
const { loadEngineConfig } = await dist("media-worker/engines/engine-config.js");
const { toFramePayloads, renderTones } = await dist("media-worker/audio/tone.js");
const { DEFAULT_TURN_OPTIONS, TurnDetector } = await dist("media-worker/engines/local/turn-detector.js");
const { LINES } = await dist("media-worker/conversation/lines.js");

const fake = await FakeOpenAIRealtime.start(API_KEY);
// Calls the agent ends are hung up through Twilio's REST API (section 5): a fake on loopback.
const twilioRest = await FakeTwilioRest.start(AUTH_TOKEN);
const webPort = await freePort();
const mediaPort = await freePort();
const webUrl = `http://127.0.0.1:${webPort}`;
const dbName = `bench_engines_${Date.now().toString(36)}`;
const mongodbUri = svc.mongodbUri.replace(/\/[^/?]*(\?|$)/, `/${dbName}$1`);
const env = {
  ...process.env,
  NODE_ENV: "production",
  PORT: String(webPort),
  MEDIA_PORT: String(mediaPort),
  PUBLIC_BASE_URL: webUrl,
  MEDIA_PUBLIC_URL: "wss://media.example.com",
  MONGODB_URI: mongodbUri,
  REDIS_URL: svc.redisUrl,
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  // Every simulated call comes from this one machine: no per-address cap on sockets still starting.
  MEDIA_MAX_PENDING_SOCKETS_PER_IP: "100000",
  TWILIO_API_BASE_URL: twilioRest.url,
  ADMIN_API_KEY: `bench-admin-${randomBytes(16).toString("hex")}`,
  STREAM_TOKEN_SECRET: randomBytes(32).toString("hex"),
  OPENAI_API_KEY: API_KEY,
  OPENAI_REALTIME_URL: fake.url,
  LOG_LEVEL: "warn",
};

// ---- seed ---------------------------------------------------------------------------------
await connectDatabase(mongodbUri);
await syncIndexes();
// The concurrency level runs many calls of one account at once: no per-account call limit in the way.
const account = await AccountModel.create({ name: "Bench", email: "bench@example.com", limits: { maxConcurrentCalls: 1_000_000 } });
await ledger.append({ accountId: account._id, kind: "credit", amountMicros: 1_000_000_000_000, reference: "bench", floorMicros: null });
const REPLY = "Nine to five.";
const LONG_REPLY =
  "We are open from nine in the morning to five in the afternoon, Monday to Friday, and from ten to two on Saturdays; on public holidays the front desk is closed, but you can leave a message at any time.";
const agents = {
  local: await AgentModel.create({
    accountId: account._id,
    name: "Local bench",
    engine: "LOCAL",
    greeting: "Hi.",
    intents: [{ phrases: ["opening hours"], reply: REPLY }],
    silenceTimeoutSeconds: 600,
    silenceReminderSeconds: 0,
  }),
  openai: await AgentModel.create({
    accountId: account._id,
    name: "OpenAI bench",
    engine: "OPENAI_REALTIME",
    greeting: "Hi.",
    silenceTimeoutSeconds: 600,
    silenceReminderSeconds: 0,
  }),
  // Answers with a reply long enough to be talked over.
  barge: await AgentModel.create({
    accountId: account._id,
    name: "Barge-in bench",
    engine: "LOCAL",
    greeting: "Hi.",
    intents: [{ phrases: ["opening hours"], reply: LONG_REPLY }],
    silenceTimeoutSeconds: 600,
    silenceReminderSeconds: 0,
  }),
  goodbye: await AgentModel.create({
    accountId: account._id,
    name: "Goodbye bench",
    engine: "LOCAL",
    greeting: "Hi.",
    endCallPhrases: ["goodbye"],
    silenceTimeoutSeconds: 600,
    silenceReminderSeconds: 0,
  }),
};
const numbers = {};
for (const [i, [kind, agent]] of Object.entries(agents).entries()) {
  numbers[kind] = `+1555${String(Date.now()).slice(-6)}${String(i + 1).padStart(2, "0")}`;
  await PhoneNumberModel.create({ e164: numbers[kind], accountId: account._id, agentId: agent._id });
}
await disconnectDatabase();

// ---- processes ------------------------------------------------------------------------------
const children = [];
function launch(script) {
  const child = spawn(process.execPath, [script], { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
  children.push(child);
  return child;
}
launch("dist/api/main.js");
launch("dist/media-worker/main.js");
for (let i = 0; i < 150; i++) {
  const up = await Promise.all([fetch(`${webUrl}/healthz`), fetch(`http://127.0.0.1:${mediaPort}/healthz`)])
    .then((rs) => rs.every((r) => r.ok))
    .catch(() => false);
  if (up) break;
  await new Promise((r) => setTimeout(r, 100));
}

// ---- the caller -------------------------------------------------------------------------------
const SILENT = Buffer.alloc(FRAME_BYTES, 0xff).toString("base64");
/** End-of-phrase marker for the fake provider: a frame no real audio sends. */
const MARKER = Buffer.alloc(FRAME_BYTES, 0x00).toString("base64");
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** One call: frames every 20 ms (silence unless speech is queued), agent audio timed on arrival. */
async function openCall(kind) {
  const target = { webUrl, publicBaseUrl: webUrl, authToken: AUTH_TOKEN };
  const admitted = await admitCall(target, { to: numbers[kind], accountSid: `AC${"9".repeat(32)}` });
  const arrivals = [];
  const client = await TwilioStreamClient.connect({
    url: `ws://127.0.0.1:${mediaPort}${new URL(admitted.twiml.url).pathname}`,
    signedUrl: admitted.twiml.url,
    authToken: AUTH_TOKEN,
    callSid: admitted.callSid,
    accountSid: admitted.accountSid,
    customParameters: admitted.twiml.params,
    keepAudio: false,
    onMedia: (payload, at) => arrivals.push({ at, ms: Buffer.byteLength(payload, "base64") / 8 }),
  });
  client.sendConnected();
  client.sendStart();
  const queue = [];
  let frame = 0;
  let sentCount = 0;
  const sentAt = [];
  const t0 = performance.now();
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - t0) / FRAME_MS);
    while (frame < due && client.isOpen) {
      const payload = queue.shift();
      client.sendMedia(payload ?? SILENT, frame * FRAME_MS);
      if (payload) sentAt[sentCount++] = performance.now();
      frame++;
    }
  }, 2);
  return {
    arrivals,
    client,
    /** Speaks; resolves with the time frame `endIndex` of it (default the last) went out. */
    async say(payloads, endIndex = payloads.length - 1) {
      return (await this.sayTimed(payloads))[endIndex];
    },
    /** Speaks; resolves with the time each of its frames went out. */
    async sayTimed(payloads) {
      const first = sentCount;
      queue.push(...payloads);
      while (queue.length > 0) await sleep(5);
      return sentAt.slice(first, first + payloads.length);
    },
    /** Time of the first agent audio after `since`, waiting up to `timeoutMs`. */
    async firstAudioAfter(since, timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const hit = arrivals.find((a) => a.at > since);
        if (hit) return hit.at;
        if (performance.now() > deadline) return null;
        await sleep(1);
      }
    },
    /** Waits until the agent audio that arrived after `since` has played out. */
    async playedOut(since) {
      for (;;) {
        const after = arrivals.filter((a) => a.at > since);
        const end = after.length ? after[0].at + after.reduce((ms, a) => ms + a.ms, 0) : 0;
        if (after.length && performance.now() > end + 150 && arrivals[arrivals.length - 1].at < performance.now() - 100) return;
        await sleep(20);
      }
    },
    async hangUp() {
      clearInterval(timer);
      client.sendStop();
      await Promise.race([client.closed, sleep(3_000)]);
      client.close();
    },
  };
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return { n: sorted.length, p50: pick(50), p95: pick(95), max: sorted[sorted.length - 1] };
}
const fmt = (s) => `n=${s.n} p50 ${s.p50.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(1)} ms`;

// ---- 1. OpenAI Realtime bridge overhead --------------------------------------------------------
fake.planner = () => ({ audio: Buffer.alloc(800, 0x55), transcript: "Hi." });
fake.onAudio = (session, chunk) => {
  if (chunk.length === FRAME_BYTES && chunk[0] === 0 && chunk[FRAME_BYTES - 1] === 0 && chunk.every((b) => b === 0)) {
    void session.respond({ audio: Buffer.alloc(1_600, 0x55), transcript: "Sure." });
  }
};
if (runs(1)) {
  const call = await openCall("openai");
  await call.playedOut(0);
  const speech = toFramePayloads(renderTones([{ hz: 300, ms: 200 }]));
  const latencies = [];
  for (let i = 0; i < TURNS; i++) {
    const endedAt = await call.say([...speech, MARKER]);
    const first = await call.firstAudioAfter(endedAt);
    if (first !== null) latencies.push(first - endedAt);
    await call.playedOut(endedAt);
  }
  await call.hangUp();
  console.log(`OpenAI Realtime (fake provider), caller's last frame to first agent audio: ${fmt(stats(latencies))} (target p95 < 20 ms)`);
}

// ---- 2. local engine first audio ---------------------------------------------------------------
const speech = new EspeakSpeech(loadEngineConfig({}).local);
const phrase = toFramePayloads(await speech.render("opening hours", "en-us+m3", { cache: false }));
// The phrase ends with its last audible frame, not with the silence espeak-ng renders after it.
const { mulawLevelDb } = await dist("media-worker/audio/energy.js");
const phraseEnd = phrase.findLastIndex((p) => mulawLevelDb(Buffer.from(p, "base64")) > -45);

/** One call saying the phrase `turns` times; first-audio latencies in ms (misses counted apart). */
async function localTurns(turns, startDelayMs = 0) {
  await sleep(startDelayMs);
  const call = await openCall("local");
  await call.playedOut(0);
  const latencies = [];
  let missed = 0;
  for (let i = 0; i < turns; i++) {
    const endedAt = await call.say(phrase, phraseEnd);
    const first = await call.firstAudioAfter(endedAt, 5_000);
    if (first === null) missed++;
    else {
      latencies.push(first - endedAt);
      await call.playedOut(endedAt);
    }
    await sleep(100);
  }
  await call.hangUp();
  return { latencies, missed };
}

let base = null;
if (runs(2) || runs(3)) {
  const single = await localTurns(LOCAL_TURNS);
  base = stats(single.latencies);
  console.log(
    `Local engine, end of the caller's phrase to first agent audio: ${fmt(base)}${single.missed ? `, ${single.missed} unanswered` : ""} (target p95 < 1,500 ms)`,
  );
}

// ---- 3. local engine concurrency ---------------------------------------------------------------
let sustained = 1;
let broke = false;
for (const level of runs(3) ? LEVELS : []) {
  const runs = await Promise.all(Array.from({ length: level }, (_, i) => localTurns(LEVEL_TURNS, (i * 1_500) / level)));
  const all = stats(runs.flatMap((r) => r.latencies));
  const missed = runs.reduce((n, r) => n + r.missed, 0);
  const slower = all.p95 / base.p95 - 1;
  console.log(
    `  ${level} concurrent local calls: ${fmt(all)}${missed ? `, ${missed} unanswered` : ""}, p95 ${slower >= 0 ? "+" : ""}${(slower * 100).toFixed(0)}% vs one call`,
  );
  if (slower > 0.2 || missed > 0) {
    broke = true;
    break;
  }
  sustained = level;
}
if (runs(3)) {
  console.log(
    `Local engine: one worker sustains ${broke ? "" : "at least "}${sustained} concurrent calls with p95 first audio within 20% of a single call's` +
      (broke ? "" : " (the highest level tried; raise BENCH_LEVELS)"),
  );
}

// ---- 4. barge-in reaction ------------------------------------------------------------------------
/** Frames of `payloads`, spoken after silence, that the local engine's turn detector needs to open a turn. */
function framesToOpenTurn(payloads) {
  const detector = new TurnDetector({ ...DEFAULT_TURN_OPTIONS, startMs: loadEngineConfig({}).local.bargeInMs });
  const silence = Buffer.from(SILENT, "base64");
  let ts = 0;
  for (let i = 0; i < 50; i++, ts += FRAME_MS) detector.push(silence, ts);
  for (const [i, p] of payloads.entries()) {
    if (detector.push(Buffer.from(p, "base64"), (ts += FRAME_MS))?.kind === "turn-start") return i + 1;
  }
  throw new Error("the turn detector never opens a turn on the phrase");
}

/** Resolves with the time of the call's next `clear` after the `seen` it has had, or null after `timeoutMs`. */
async function nextClear(client, seen, timeoutMs = 5_000) {
  const deadline = performance.now() + timeoutMs;
  while (client.clearTimes.length <= seen) {
    if (performance.now() > deadline) return null;
    await sleep(1);
  }
  return client.clearTimes[seen];
}

if (runs(4)) {
  const opensAt = framesToOpenTurn(phrase);
  const call = await openCall("barge");
  await call.playedOut(0);
  // The first question starts the long reply; each barge-in over it asks again, which starts the next.
  const asked = await call.say(phrase, phraseEnd);
  const fromSpeech = [];
  const fromTurn = [];
  let missed = 0;
  for (let i = 0; i < BARGE_INS; i++) {
    const first = await call.firstAudioAfter(i === 0 ? asked : call.client.clearTimes.at(-1), 10_000);
    if (first === null) break;
    await sleep(800);
    const seen = call.client.clearTimes.length;
    const [firstFrame, ...rest] = await call.sayTimed(phrase);
    const opened = rest[opensAt - 2];
    const cleared = await nextClear(call.client, seen);
    if (cleared === null) missed++;
    else {
      fromSpeech.push(cleared - firstFrame);
      fromTurn.push(cleared - opened);
    }
  }
  await call.hangUp();
  console.log(
    `Local engine barge-in, caller's first frame of speech to the clear: ${fmt(stats(fromSpeech))}${missed ? `, ${missed} not cleared` : ""} ` +
      `(the turn opens on the phrase's frame ${opensAt}, which goes out ${(opensAt - 1) * FRAME_MS} ms after its first: LOCAL_BARGE_IN_MS of speech)`,
  );
  console.log(
    `Local engine barge-in, frame that opens the caller's turn to the clear (the worker's own reaction): ${fmt(stats(fromTurn))}`,
  );

  const next = fake.nextSession();
  const openai = await openCall("openai");
  const session = await next;
  await openai.playedOut(0);
  const reactions = [];
  for (let i = 0; i < BARGE_INS; i++) {
    const before = performance.now();
    void session.respond({ audio: Buffer.alloc(40_000, 0x55), transcript: "A long answer." });
    if ((await openai.firstAudioAfter(before)) === null) break;
    await sleep(300);
    const seen = openai.client.clearTimes.length;
    const startedAt = performance.now();
    const item = session.speechStarted();
    const cleared = await nextClear(openai.client, seen);
    if (cleared !== null) reactions.push(cleared - startedAt);
    session.speechStopped(item);
    await sleep(200);
  }
  await openai.hangUp();
  console.log(`OpenAI Realtime barge-in, provider's speech_started to the clear: ${fmt(stats(reactions))}`);
}

// ---- 5. hang-up after the goodbye's mark --------------------------------------------------------------
/**
 * One call ending with a goodbye whose mark the phone holds until the goodbye has arrived and
 * `holdMs` more: whether the worker hung up before the mark came back, and how long after it did.
 */
async function hangUpAfterMark(kind, endCall, holdMs) {
  const next = kind === "openai" ? fake.nextSession() : null;
  const call = await openCall(kind);
  const session = next ? await next : null;
  await call.playedOut(0);
  let closedAt = null;
  void call.client.closed.then(() => (closedAt = performance.now()));
  call.client.holdMarks = true;
  const marks = call.client.marksRequested.length;
  const goodbyeMs = await endCall(call, session);
  while (call.client.marksRequested.length === marks && closedAt === null) await sleep(2);
  await sleep(goodbyeMs + holdMs);
  const early = closedAt !== null;
  const releasedAt = performance.now();
  call.client.releaseMarks();
  await Promise.race([call.client.closed, sleep(10_000)]);
  await call.hangUp();
  return { early, ms: early || closedAt === null ? null : closedAt - releasedAt };
}

if (runs(5)) {
  const goodbyeMs = (await speech.render(LINES.endCallGoodbye, "en-us", { cache: true })).length / 8;
  const goodbyePhrase = toFramePayloads(await speech.render("goodbye", "en-us+m3", { cache: false }));
  const engines = {
    local: (call) => call.say(goodbyePhrase).then(() => goodbyeMs),
    openai: async (_call, session) => {
      void session.respond({
        audio: Buffer.alloc(8_000, 0x55),
        transcript: "Goodbye!",
        functionCall: { name: "end_call", arguments: "{}" },
      });
      return 1_000;
    },
  };
  for (const [kind, endCall] of Object.entries(engines)) {
    const samples = [];
    let early = 0;
    for (let i = 0; i < HANGUPS; i++) {
      const r = await hangUpAfterMark(kind === "local" ? "goodbye" : "openai", endCall, 500);
      if (r.early) early++;
      else if (r.ms !== null) samples.push(r.ms);
    }
    console.log(
      `${kind === "local" ? "Local engine (end-call phrase)" : "OpenAI Realtime (end_call)"}, goodbye's mark back to the stream closed: ${fmt(stats(samples))}; ` +
        `hung up before the mark: ${early} of ${HANGUPS}`,
    );
  }
}

for (const c of children) c.kill("SIGTERM");
await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : null)));
await fake.close();
await twilioRest.close();
await svc.stop();
process.exit(0);
