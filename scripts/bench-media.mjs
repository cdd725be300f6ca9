// `npm run bench:media`: N simulated concurrent calls against ONE media worker process, each
// streaming real-time 20 ms mu-law frames both ways through the built-in echo engine. Prints, per
// N: frames handled per second, p50/p99/max delay between a frame leaving "Twilio" and its echo
// coming back, late (> 20 ms) and lost frames, worker CPU and memory, the load generator's own
// CPU and pacing lag (when the generator falls behind, the delays say more about it than about
// the worker), how long the N calls took to start when all started at once, and how long their
// close-outs took. Ends with the largest N that kept p99 under 20 ms with no loss.
// The generator plays Twilio with the call simulator's stream client (optionally in worker threads).
// Options (env): BENCH_CALLS (comma list, default 100,200,300,400,500,600,800), BENCH_SECONDS
// (measured seconds per N, default 10), BENCH_THREADS (generator threads, default 1: on 2 cores
// a second thread competes with the worker and makes figures worse),
// BENCH_KEEP_GOING=1 (do not stop after the first N that misses the target), BENCH_LOG_LEVEL
// (worker and web, default warn), BENCH_WORKER_NODE_ARGS (e.g. "--cpu-prof").
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

const FRAME_MS = 20;
const MAGIC = 0xb7e5c0de;
const AUTH_TOKEN = "bench-twilio-auth-token-0123456789";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = (p) => import(pathToFileURL(path.join(ROOT, "dist", p)).href);

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

if (isMainThread) await main();
else await generatorThread(workerData);

// ---- generator thread: plays Twilio for a share of the calls ---------------------------------

async function generatorThread({ calls, mediaUrl, seconds, n, offset }) {
  const { TwilioStreamClient } = await dist("media-worker/simulator/stream-client.js");
  const framesPerCall = Math.round((seconds * 1000) / FRAME_MS);
  // 12 header bytes encode to exactly 16 base64 characters, so a frame's payload is its encoded
  // header followed by one shared encoded tail: no buffer per frame.
  const tail = Buffer.alloc(160, 0xff).subarray(12).toString("base64");
  const header = Buffer.alloc(12);
  const sentAt = calls.map(() => new Float64Array(framesPerCall));
  const echoed = calls.map(() => new Uint8Array(framesPerCall));
  const delays = new Float64Array(calls.length * framesPerCall);
  const lag = new Float64Array(calls.length * framesPerCall);
  const startLatency = new Float64Array(calls.length).fill(NaN);
  let delayCount = 0;
  let lagCount = 0;
  let duplicates = 0;
  let greeted = 0;
  const startSentAt = new Float64Array(calls.length);

  const onMedia = (local, payload, at) => {
    const head = Buffer.from(payload.slice(0, 16), "base64");
    if (head.length < 12 || head.readUInt32BE(0) !== MAGIC) {
      if (Number.isNaN(startLatency[local])) ((startLatency[local] = at - startSentAt[local]), greeted++);
      return;
    }
    const call = head.readUInt32BE(4) - offset;
    const seq = head.readUInt32BE(8);
    if (echoed[call][seq]) duplicates++;
    echoed[call][seq] = 1;
    delays[delayCount++] = at - sentAt[call][seq];
  };
  const clients = [];
  for (const [local, call] of calls.entries()) {
    const client = await TwilioStreamClient.connect({
      url: `${mediaUrl}/${call.callId}`,
      signedUrl: call.twimlUrl,
      authToken: AUTH_TOKEN,
      callSid: call.callSid,
      accountSid: call.accountSid,
      customParameters: call.params,
      keepAudio: false,
      onMedia: (payload, at) => onMedia(local, payload, at),
    });
    client.sendConnected();
    startSentAt[local] = performance.now();
    client.sendStart();
    clients.push(client);
  }
  const greetDeadline = performance.now() + 30_000;
  while (greeted < calls.length && performance.now() < greetDeadline) await new Promise((r) => setTimeout(r, 20));
  parentPort.postMessage({ type: "ready" });
  const { goAtEpochMs } = await new Promise((resolve) => parentPort.once("message", resolve));

  const t0 = performance.now() + (goAtEpochMs - Date.now());
  const seq = new Uint32Array(calls.length);
  const due = Float64Array.from(calls, (_, local) => t0 + ((offset + local) * FRAME_MS) / n);
  await new Promise((r) => setTimeout(r, Math.max(0, t0 - performance.now() - 2)));
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      let remaining = 0;
      for (let i = 0; i < calls.length; i++) {
        while (seq[i] < framesPerCall && due[i] <= now) {
          const s = seq[i]++;
          header.writeUInt32BE(MAGIC, 0);
          header.writeUInt32BE(offset + i, 4);
          header.writeUInt32BE(s, 8);
          const at = performance.now();
          sentAt[i][s] = at;
          clients[i].sendMedia(header.toString("base64") + tail, s * FRAME_MS);
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
  parentPort.postMessage({ type: "sent" });
  const drainUntil = performance.now() + 2_000;
  while (delayCount < calls.length * framesPerCall && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 20));
  for (const c of clients) c.sendStop();
  await Promise.race([Promise.all(clients.map((c) => c.closed)), new Promise((r) => setTimeout(r, 10_000))]);
  parentPort.postMessage({
    type: "done",
    delays: delays.slice(0, delayCount),
    lag: lag.slice(0, lagCount),
    startLatency,
    duplicates,
    sent: calls.length * framesPerCall,
    notStarted: calls.length - greeted,
  });
}

// ---- main thread: services, processes, admission, aggregation ---------------------------------

async function main() {
  const CALLS = (process.env.BENCH_CALLS ?? "100,200,300,400,500,600,800")
    .split(",")
    .map(Number)
    .filter((n) => n > 0);
  const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
  const THREADS = Math.max(1, Number(process.env.BENCH_THREADS ?? 1));
  const KEEP_GOING = Boolean(process.env.BENCH_KEEP_GOING);
  const CALLS_PER_ACCOUNT = 25;
  const TARGET_P99_MS = 20;
  const CLK_TCK = 100;

  const { build, ensureNodeModules } = await import("./lib/setup.mjs");
  const { freePort, startServices } = await import("./lib/services.mjs");
  ensureNodeModules();
  build();
  const { connectDatabase, disconnectDatabase, syncIndexes } = await dist("schema/infra/db.js");
  const { AccountModel } = await dist("schema/models/account.model.js");
  const { AgentModel } = await dist("schema/models/agent.model.js");
  const { PhoneNumberModel } = await dist("schema/models/phone-number.model.js");
  const { ledger } = await dist("schema/ledger/ledger.service.js");
  const { CALL_EVENTS_QUEUE, closeOutJobId } = await dist("schema/infra/queues.js");
  const { admitCall } = await dist("media-worker/simulator/simulate-call.js");
  const { Redis } = await import("ioredis");

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
    // Every simulated call comes from this one machine: no per-address cap on sockets still starting.
    MEDIA_MAX_PENDING_SOCKETS_PER_IP: "100000",
    TWILIO_API_BASE_URL: "http://127.0.0.1:9",
    ADMIN_API_KEY: `bench-admin-${randomBytes(16).toString("hex")}`,
    STREAM_TOKEN_SECRET: randomBytes(32).toString("hex"),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
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

  let accounts = 0;
  async function fundedNumbers(count) {
    const numbers = [];
    for (let i = 0; i < count; i++) {
      const a = accounts++;
      // CALLS_PER_ACCOUNT calls at once per account: above the default limit of concurrent calls.
      const account = await AccountModel.create({
        name: `Bench ${a}`,
        email: `bench${a}@example.com`,
        limits: { maxConcurrentCalls: 1_000_000 },
      });
      const agent = await AgentModel.create({ accountId: account._id, name: "Echo", maxCallDurationSeconds: 4 * 3600 });
      const e164 = `+1556${String(1_000_000 + a).slice(1)}`;
      await PhoneNumberModel.create({ e164, accountId: account._id, agentId: agent._id });
      await ledger.append({ accountId: account._id, kind: "credit", amountMicros: 10_000_000_000, reference: "bench", floorMicros: null });
      numbers.push(e164);
    }
    return numbers;
  }

  async function runCalls(n, worker, redis) {
    const numbers = await fundedNumbers(Math.ceil(n / CALLS_PER_ACCOUNT));
    const target = { webUrl, publicBaseUrl: webUrl, authToken: AUTH_TOKEN };
    const admitted = await pool(
      Array.from({ length: n }, (_, i) => i),
      20,
      (i) => admitCall(target, { to: numbers[i % numbers.length] }),
    );
    const threads = Math.min(THREADS, n);
    const share = Math.ceil(n / threads);
    const generators = Array.from({ length: threads }, (_, k) => {
      const calls = admitted.slice(k * share, (k + 1) * share).map((c) => ({
        callId: c.callId,
        callSid: c.callSid,
        accountSid: c.accountSid,
        twimlUrl: c.twiml.url,
        params: c.twiml.params,
      }));
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: { calls, mediaUrl, seconds: SECONDS, n, offset: k * share } });
      const messages = [];
      const waiters = [];
      w.on("message", (m) => (waiters.length ? waiters.shift()(m) : messages.push(m)));
      w.on("error", (err) => console.error("generator thread failed", err));
      const next = () => (messages.length ? Promise.resolve(messages.shift()) : new Promise((r) => waiters.push(r)));
      return { w, next };
    });
    await Promise.all(generators.map((g) => g.next())); // every call greeted
    await new Promise((r) => setTimeout(r, 500));
    const goAtEpochMs = Date.now() + 100;
    const before = workerStats(worker.pid);
    const clientCpu = process.cpuUsage();
    let peakRss = before.rssMb;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, workerStats(worker.pid).rssMb)), 250);
    for (const g of generators) g.w.postMessage({ goAtEpochMs });
    // Stats cover the sending window only: taken when the last thread has sent its last frame.
    await Promise.all(generators.map((g) => g.next()));
    const after = workerStats(worker.pid);
    const clientUsage = process.cpuUsage(clientCpu);
    clearInterval(sampler);
    const wall = (Date.now() - goAtEpochMs) / 1000;
    const results = await Promise.all(generators.map((g) => g.next()));
    await Promise.all(generators.map((g) => g.w.terminate()));

    // Closed out = the call's close-out job has finished; read from Redis so that polling adds no
    // load to the database the close-outs are writing to.
    const jobKeys = admitted.map((a) => `bull:${CALL_EVENTS_QUEUE}:${closeOutJobId(a.callId)}`);
    const closeOutStart = performance.now();
    let closedOut = 0;
    while (performance.now() - closeOutStart < 60_000) {
      const pipeline = redis.pipeline();
      for (const key of jobKeys) pipeline.hget(key, "finishedOn");
      closedOut = ((await pipeline.exec()) ?? []).filter(([err, v]) => !err && v).length;
      if (closedOut === n) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    const concat = (key) => {
      const parts = results.map((r) => r[key]);
      const out = new Float64Array(parts.reduce((sum, p) => sum + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    };
    const delays = concat("delays").sort();
    const lag = concat("lag").sort();
    const start = concat("startLatency").filter(Number.isFinite).sort();
    const sent = results.reduce((sum, r) => sum + r.sent, 0);
    const duplicates = results.reduce((sum, r) => sum + r.duplicates, 0);
    let late = 0;
    for (const d of delays) if (d > FRAME_MS) late++;
    return {
      n,
      framesPerSecond: Math.round((2 * delays.length) / wall),
      p50: percentile(delays, 50),
      p99: percentile(delays, 99),
      max: delays[delays.length - 1] ?? NaN,
      late,
      lost: sent - delays.length + duplicates,
      workerCpu: (100 * (after.cpuSeconds - before.cpuSeconds)) / wall,
      workerRssMb: peakRss,
      clientCpu: (100 * (clientUsage.user + clientUsage.system)) / 1e6 / wall,
      lagP99: percentile(lag, 99),
      startP50: percentile(start, 50),
      startP99: percentile(start, 99),
      notStarted: results.reduce((sum, r) => sum + r.notStarted, 0),
      closedOut,
      closeOutSeconds: (performance.now() - closeOutStart) / 1000,
    };
  }

  const f = (x, w, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-").padStart(w);
  let web;
  let worker;
  const redis = new Redis(svc.redisUrl);
  const results = [];
  try {
    await connectDatabase(svc.mongodbUri);
    await syncIndexes();
    web = await launch("dist/api/main.js", async () => (await fetch(`${webUrl}/healthz`)).ok);
    const workerArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? "").split(" ").filter(Boolean);
    worker = await launch(
      "dist/media-worker/main.js",
      async () => (await fetch(`${mediaUrl.replace("ws:", "http:")}/healthz`)).ok,
      workerArgs,
    );
    const idle = workerStats(worker.pid);
    console.log(
      `\nOne worker process, echo engine, ${SECONDS} s of real-time 20 ms frames per N, generator in ${THREADS} thread(s); ` +
        `worker idle RSS ${idle.rssMb.toFixed(0)} MB\n`,
    );
    console.log(
      "  calls  frames/s  p50 ms  p99 ms  max ms  late(>20ms)   lost  worker CPU %  worker RSS MB  client CPU %  client lag p99 ms" +
        "  start p50/p99 ms  closed out",
    );
    for (const n of CALLS) {
      const r = await runCalls(n, worker, redis);
      results.push(r);
      console.log(
        `${String(n).padStart(7)} ${String(r.framesPerSecond).padStart(9)} ${f(r.p50, 7, 2)} ${f(r.p99, 7, 2)} ${f(r.max, 7)} ` +
          `${String(r.late).padStart(12)} ${String(r.lost).padStart(6)} ${f(r.workerCpu, 13)} ${f(r.workerRssMb, 14, 0)} ` +
          `${f(r.clientCpu, 13)} ${f(r.lagP99, 18, 2)} ${f(r.startP50, 8, 0)}/${f(r.startP99, 0, 0).padEnd(8)}` +
          `  ${r.closedOut}/${n} in ${r.closeOutSeconds.toFixed(1)} s${r.notStarted ? `  (${r.notStarted} never started)` : ""}`,
      );
      if (!KEEP_GOING && (r.p99 >= TARGET_P99_MS || r.lost > 0 || r.notStarted > 0)) break;
    }
    const ok = results.filter((r) => r.p99 < TARGET_P99_MS && r.lost === 0 && r.notStarted === 0).map((r) => r.n);
    console.log(`\nLargest N with p99 < ${TARGET_P99_MS} ms and no lost frames: ${ok.length ? Math.max(...ok) : "none"}`);
    console.log("frames/s counts frames in plus echoes out; client lag is how late the generator sent frames;");
    console.log("start is from the stream's `start` to the first greeting frame, with all N calls starting at once;");
    console.log("closed out is how long the N close-outs (ledger charge, call record) took after all N hung up at once.");
  } finally {
    worker?.kill("SIGTERM");
    web?.kill("SIGTERM");
    await Promise.all([worker, web].filter(Boolean).map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : null)));
    await disconnectDatabase();
    redis.disconnect();
    await svc.stop();
  }
}
