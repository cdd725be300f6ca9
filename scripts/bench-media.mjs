// `npm run bench:media`: N simulated concurrent calls against ONE media worker process, each
// streaming real-time 20 ms mu-law frames both ways through the built-in echo engine. Prints, per
// N: frames handled per second, p50/p99/max delay between a frame leaving "Twilio" and its echo
// coming back, late (> 20 ms) and lost frames, worker CPU and memory, and the load generator's
// own CPU and pacing lag (if the generator falls behind, the figures say more about it than the
// worker). Ends with the largest N that kept p99 under 20 ms with no loss.
// Options (env): BENCH_CALLS (comma list, default 100,200,300,400,500,600,800), BENCH_SECONDS
// (measured seconds per N, default 10), BENCH_KEEP_GOING=1 (do not stop after the first N that
// misses the target), BENCH_WORKER_NODE_ARGS (e.g. "--cpu-prof" to profile the worker).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { ROOT, build, ensureNodeModules } from "./lib/setup.mjs";
import { freePort, startServices } from "./lib/services.mjs";

const CALLS = (process.env.BENCH_CALLS ?? "100,200,300,400,500,600,800").split(",").map(Number).filter((n) => n > 0);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const KEEP_GOING = Boolean(process.env.BENCH_KEEP_GOING);
const CALLS_PER_ACCOUNT = 25;
const TARGET_P99_MS = 20;
const FRAME_MS = 20;
const AUTH_TOKEN = "bench-twilio-auth-token-0123456789";
const MAGIC = 0xb7e5c0de;
const CLK_TCK = 100;

ensureNodeModules();
build();
const dist = (p) => import(pathToFileURL(path.join(ROOT, "dist", p)).href);
const { connectDatabase, disconnectDatabase, syncIndexes } = await dist("schema/db.js");
const { AccountModel } = await dist("schema/models/account.model.js");
const { AgentModel } = await dist("schema/models/agent.model.js");
const { PhoneNumberModel } = await dist("schema/models/phone-number.model.js");
const { CallModel } = await dist("schema/models/call.model.js");
const { ledger } = await dist("schema/ledger/ledger.service.js");
const { admitCall } = await dist("media-worker/simulator/simulate-call.js");
const { TwilioStreamClient } = await dist("media-worker/simulator/stream-client.js");

const svc = await startServices({ name: "bench-media" });
const [webPort, mediaPort] = [await freePort(), await freePort()];
const webUrl = `http://127.0.0.1:${webPort}`;
const mediaUrl = `ws://127.0.0.1:${mediaPort}`;
const env = {
  ...process.env,
  NODE_ENV: "production",
  PORT: String(webPort),
  MEDIA_PORT: String(mediaPort),
  PUBLIC_BASE_URL: webUrl,
  MEDIA_PUBLIC_URL: mediaUrl,
  MONGODB_URI: svc.mongodbUri,
  REDIS_URL: svc.redisUrl,
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  TWILIO_API_BASE_URL: "http://127.0.0.1:9",
  ADMIN_API_KEY: `bench-admin-${randomBytes(16).toString("hex")}`,
  STREAM_TOKEN_SECRET: randomBytes(32).toString("hex"),
  LOG_LEVEL: "warn",
  VOICE_ENGINE: "echo",
};

function launch(script, ready, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, script], { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
  child.stdout.on("data", (d) => process.stdout.write(d));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
    const poll = async () => ((await ready().catch(() => false)) ? resolve(child) : setTimeout(poll, 100));
    void poll();
  });
}

/** Worker CPU seconds (user + system) and resident memory, from /proc. */
function workerStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  return { cpuSeconds, rssMb: rssKb / 1024 };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/** A frame that says which call and which frame it is, so its echo can be matched. */
function framePayload(call, seq) {
  const b = Buffer.alloc(160, 0xff);
  b.writeUInt32BE(MAGIC, 0);
  b.writeUInt32BE(call, 4);
  b.writeUInt32BE(seq, 8);
  return b.toString("base64");
}

async function fundedNumbers(count) {
  const numbers = [];
  for (let i = 0; i < count; i++) {
    const account = await AccountModel.create({ name: `Bench ${i}`, email: `bench${i}@example.com` });
    const agent = await AgentModel.create({ accountId: account._id, name: "Echo", maxCallDurationSeconds: 4 * 3600 });
    const e164 = `+1556${String(Date.now() % 1_000_000).padStart(6, "0")}${String(i).padStart(3, "0")}`.slice(0, 16);
    await PhoneNumberModel.create({ e164, accountId: account._id, agentId: agent._id });
    await ledger.append({ accountId: account._id, kind: "credit", amountMicros: 10_000_000_000, reference: "bench", floorMicros: null });
    numbers.push(e164);
  }
  return numbers;
}

async function runCalls(n, worker) {
  const numbers = await fundedNumbers(Math.ceil(n / CALLS_PER_ACCOUNT));
  const target = { webUrl, publicBaseUrl: webUrl, authToken: AUTH_TOKEN };
  const admitted = await pool(Array.from({ length: n }, (_, i) => i), 20, (i) => admitCall(target, { to: numbers[i % numbers.length] }));

  const framesPerCall = Math.round((SECONDS * 1000) / FRAME_MS);
  const sentAt = admitted.map(() => new Float64Array(framesPerCall));
  const echoed = admitted.map(() => new Uint8Array(framesPerCall));
  const delays = new Float64Array(n * framesPerCall);
  let delayCount = 0;
  let duplicates = 0;
  const startSentAt = new Float64Array(n);
  const greetedAt = new Float64Array(n);
  let greeted = 0;
  const onMedia = (index, payload, at) => {
    const head = Buffer.from(payload.slice(0, 16), "base64");
    if (head.length < 12 || head.readUInt32BE(0) !== MAGIC) {
      // The greeting: the first one marks when the call's session was up.
      if (greetedAt[index] === 0) (greetedAt[index] = at), greeted++;
      return;
    }
    const call = head.readUInt32BE(4);
    const seq = head.readUInt32BE(8);
    if (echoed[call][seq]) duplicates++;
    echoed[call][seq] = 1;
    delays[delayCount++] = at - sentAt[call][seq];
  };
  const clients = await pool(admitted, 50, async (call, index) => {
    const client = await TwilioStreamClient.connect({
      url: `${mediaUrl}/${call.callId}`,
      signedUrl: call.twiml.url,
      authToken: AUTH_TOKEN,
      callSid: call.callSid,
      accountSid: call.accountSid,
      customParameters: call.twiml.params,
      keepAudio: false,
      onMedia: (payload, at) => onMedia(index, payload, at),
    });
    client.sendConnected();
    startSentAt[index] = performance.now();
    client.sendStart();
    return client;
  });
  // Measure the steady state: every session up (greeted), then a moment to settle.
  const greetDeadline = performance.now() + 30_000;
  while (greeted < n && performance.now() < greetDeadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 500));
  const startLatency = greetedAt.map((g, i) => (g > 0 ? g - startSentAt[i] : NaN)).filter(Number.isFinite).sort();

  const lag = new Float64Array(n * framesPerCall);
  let lagCount = 0;
  const seq = new Uint32Array(n);
  const t0 = performance.now() + 20;
  const due = Float64Array.from({ length: n }, (_, i) => t0 + (i * FRAME_MS) / n);
  const before = workerStats(worker.pid);
  const clientCpu = process.cpuUsage();
  let peakRss = before.rssMb;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, workerStats(worker.pid).rssMb)), 250);
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      let remaining = 0;
      for (let i = 0; i < n; i++) {
        while (seq[i] < framesPerCall && due[i] <= now) {
          const s = seq[i]++;
          const payload = framePayload(i, s);
          const at = performance.now();
          sentAt[i][s] = at;
          clients[i].sendMedia(payload, s * FRAME_MS);
          lag[lagCount++] = at - due[i];
          due[i] += FRAME_MS;
        }
        if (seq[i] < framesPerCall) remaining++;
      }
      if (remaining > 0) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const sendEnd = performance.now();
  const after = workerStats(worker.pid);
  const clientUsage = process.cpuUsage(clientCpu);
  clearInterval(sampler);
  const wall = (sendEnd - t0) / 1000;
  // Let the last echoes arrive.
  const drainUntil = performance.now() + 2_000;
  while (delayCount < n * framesPerCall && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 20));

  for (const c of clients) c.sendStop();
  await Promise.race([Promise.all(clients.map((c) => c.closed)), new Promise((r) => setTimeout(r, 10_000))]);
  const ids = admitted.map((a) => a.callId);
  const closeOutStart = performance.now();
  let closedOut = 0;
  while (performance.now() - closeOutStart < 60_000) {
    closedOut = await CallModel.countDocuments({ _id: { $in: ids }, endedAt: { $ne: null } });
    if (closedOut === n) break;
    await new Promise((r) => setTimeout(r, 250));
  }

  const sorted = delays.slice(0, delayCount).sort();
  const lagSorted = lag.slice(0, lagCount).sort();
  const sent = n * framesPerCall;
  let late = 0;
  for (let i = 0; i < delayCount; i++) if (sorted[i] > FRAME_MS) late++;
  return {
    n,
    framesPerSecond: Math.round((2 * delayCount) / wall),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    late,
    lost: sent - delayCount + duplicates,
    sent,
    workerCpu: (100 * (after.cpuSeconds - before.cpuSeconds)) / wall,
    workerRssMb: peakRss,
    clientCpu: (100 * (clientUsage.user + clientUsage.system)) / 1e6 / wall,
    lagP99: percentile(lagSorted, 99),
    startP50: percentile(startLatency, 50),
    startP99: percentile(startLatency, 99),
    notStarted: n - greeted,
    closedOut,
    closeOutSeconds: (performance.now() - closeOutStart) / 1000,
  };
}

const f = (x, w, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-").padStart(w);
let web;
let worker;
const results = [];
try {
  await connectDatabase(svc.mongodbUri);
  await syncIndexes();
  web = await launch("dist/api/main.js", async () => (await fetch(`${webUrl}/healthz`)).ok);
  const workerArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  worker = await launch("dist/media-worker/main.js", async () => (await fetch(`${mediaUrl.replace("ws:", "http:")}/healthz`)).ok, workerArgs);
  const idle = workerStats(worker.pid);
  console.log(`\nOne worker process, echo engine, ${SECONDS} s of real-time 20 ms frames per N; worker idle RSS ${idle.rssMb.toFixed(0)} MB\n`);
  console.log(
    "  calls  frames/s  p50 ms  p99 ms  max ms   late(>20ms)  lost   worker CPU %  worker RSS MB  client CPU %  client lag p99 ms" +
      "  start p50/p99 ms  closed out",
  );
  for (const n of CALLS) {
    const r = await runCalls(n, worker);
    results.push(r);
    console.log(
      `${String(n).padStart(7)} ${String(r.framesPerSecond).padStart(9)} ${f(r.p50, 7, 2)} ${f(r.p99, 7, 2)} ${f(r.max, 7)} ` +
        `${String(r.late).padStart(13)} ${String(r.lost).padStart(5)} ${f(r.workerCpu, 14)} ${f(r.workerRssMb, 14, 0)} ` +
        `${f(r.clientCpu, 13)} ${f(r.lagP99, 18, 2)} ${f(r.startP50, 8, 0)}/${f(r.startP99, 0, 0).padEnd(8)}` +
        `  ${r.closedOut}/${n} in ${r.closeOutSeconds.toFixed(1)} s${r.notStarted ? `  (${r.notStarted} never started)` : ""}`,
    );
    if (!KEEP_GOING && (r.p99 >= TARGET_P99_MS || r.lost > 0 || r.notStarted > 0)) break;
  }
  const ok = results.filter((r) => r.p99 < TARGET_P99_MS && r.lost === 0 && r.notStarted === 0).map((r) => r.n);
  console.log(`\nLargest N with p99 < ${TARGET_P99_MS} ms and no lost frames: ${ok.length ? Math.max(...ok) : "none"}`);
  console.log("frames/s counts frames in plus echoes out; client lag is how late the generator sent frames;");
  console.log("start is from the stream's `start` to the first greeting frame, with all N calls starting at once.");
} finally {
  worker?.kill("SIGTERM");
  web?.kill("SIGTERM");
  await Promise.all([worker, web].filter(Boolean).map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : null)));
  await disconnectDatabase();
  await svc.stop();
}
