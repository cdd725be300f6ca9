// `npm run bench:inbound`: drives POST /inbound_call on a running web process over loopback with
// distinct CallSids and Twilio-signed requests, at a fixed rate, and prints requests per second
// and p50/p99 latency beside the same load on the static TwiML route (/fallback).
// Two load shapes: an evenly paced open loop (arrivals like independent callers; latency counted
// from each request's due time) and autocannon's fixed-rate connections (which fire in bursts:
// every connection sends at the same instant).
// The target (issue 11): /inbound_call p99 within 5x of /fallback's p99 in the same run, open loop;
// the script prints the ratio and PASS or MISS.
// Options (env): BENCH_RATE (requests/s, default 200), BENCH_SECONDS (default 20),
// BENCH_CONNECTIONS (autocannon connections, default 20), BENCH_ACCOUNTS (default 20).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { ROOT, build, ensureNodeModules } from "./lib/setup.mjs";
import { openLoop, percentile } from "./lib/open-loop.mjs";
import { freePort, startServices } from "./lib/services.mjs";

const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 20);
const AUTH_TOKEN = "bench-twilio-auth-token-0123456789";

ensureNodeModules();
// After the install: on a fresh clone the package is not there before it.
const { default: autocannon } = await import("autocannon");
build();
const svc = await startServices({ name: "bench", persistent: Boolean(process.env.BENCH_KEEP_DATA) });
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const env = {
  ...process.env,
  NODE_ENV: "production",
  PORT: String(port),
  PUBLIC_BASE_URL: base,
  MEDIA_PUBLIC_URL: "wss://media.example.com",
  MONGODB_URI: svc.mongodbUri + (process.env.BENCH_MONGO_OPTS ?? ""),
  REDIS_URL: svc.redisUrl,
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  ADMIN_API_KEY: `bench-admin-${randomBytes(16).toString("hex")}`,
  STREAM_TOKEN_SECRET: randomBytes(32).toString("hex"),
  LOG_LEVEL: "warn",
};
process.env.MONGODB_URI = svc.mongodbUri;

const { connectDatabase, disconnectDatabase, syncIndexes } = await import(path.join(ROOT, "dist/schema/infra/db.js"));
const { AccountModel } = await import(path.join(ROOT, "dist/schema/models/account.model.js"));
const { AgentModel } = await import(path.join(ROOT, "dist/schema/models/agent.model.js"));
const { PhoneNumberModel } = await import(path.join(ROOT, "dist/schema/models/phone-number.model.js"));
const { ledger } = await import(path.join(ROOT, "dist/schema/ledger/ledger.service.js"));
const twilio = (await import("twilio")).default;

await connectDatabase(svc.mongodbUri);
await syncIndexes();
const numbers = [];
for (let i = 0; i < ACCOUNTS; i++) {
  // Admitted calls are never closed out here, so each account collects hundreds of holds: no call limit.
  const account = await AccountModel.create({
    name: `Bench ${i}`,
    email: `bench${i}@example.com`,
    limits: { maxConcurrentCalls: 1_000_000 },
  });
  const agent = await AgentModel.create({ accountId: account._id, name: "Bench agent" });
  account.activeInboundAgentId = agent._id;
  await account.save();
  const e164 = `+1555${String(1_000_000 + i).slice(1)}`;
  await PhoneNumberModel.create({ e164, accountId: account._id, agentId: agent._id });
  await ledger.append({ accountId: account._id, kind: "credit", amountMicros: 1_000_000_000_000, reference: "bench", floorMicros: null });
  numbers.push(e164);
}
await disconnectDatabase();

const web = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean), "dist/api/main.js"], {
  cwd: ROOT,
  env,
  stdio: ["ignore", "inherit", "inherit"],
});
let stopping = false;
web.once("exit", async (code, signal) => {
  if (stopping) return;
  console.error(`bench: the web process exited (${signal ?? `code ${code}`}); stopping`);
  await svc.stop();
  process.exit(1);
});
for (let i = 0; i < 100; i++) {
  const up = await fetch(`${base}/healthz`)
    .then((r) => r.ok)
    .catch(() => false);
  if (up) break;
  await new Promise((r) => setTimeout(r, 100));
}

let n = 0;
function inboundRequest(req) {
  n += 1;
  const fields = {
    CallSid: `CA${randomBytes(16).toString("hex")}`,
    AccountSid: `AC${"0".repeat(32)}`,
    From: "+14155550100",
    To: numbers[n % numbers.length],
    CallStatus: "ringing",
    Direction: "inbound",
    ApiVersion: "2010-04-01",
  };
  const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${base}/inbound_call`, fields);
  return {
    ...req,
    method: "POST",
    path: "/inbound_call",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
    body: new URLSearchParams(fields).toString(),
  };
}

const TARGET_RATIO = 5;

async function runOpenLoop(title, makeRequest) {
  const r = await openLoop({ url: base, rate: RATE, seconds: SECONDS, makeRequest });
  const f = (p) => percentile(r.latenciesMs, p).toFixed(1).padStart(6);
  console.log(
    `${title.padEnd(34)} ${String(Math.round(r.ok / r.seconds)).padStart(5)} req/s  p50 ${f(50)} ms  p99 ${f(99)} ms  ` +
      `max ${f(100)} ms  requests ${r.sent}  errors ${r.errors}`,
  );
  return { p99: percentile(r.latenciesMs, 99), errors: r.errors };
}

function verdict(label, inbound, fallback, errors) {
  const ratio = inbound / fallback;
  const ok = ratio <= TARGET_RATIO && errors === 0;
  console.log(
    `${label}: /inbound_call p99 ${inbound.toFixed(1)} ms / /fallback p99 ${fallback.toFixed(1)} ms = ${ratio.toFixed(1)}x ` +
      `(target <= ${TARGET_RATIO}x${errors ? `, ${errors} errors` : ""}): ${ok ? "PASS" : "MISS"}`,
  );
}

function inboundSpec() {
  const req = inboundRequest({});
  return { method: req.method, path: req.path, headers: req.headers, body: req.body };
}

function run(title, requests) {
  return new Promise((resolve, reject) => {
    autocannon({ url: base, connections: CONNECTIONS, overallRate: RATE, duration: SECONDS, requests }, (err, result) =>
      err ? reject(err) : resolve({ title, result }),
    );
  });
}

function report({ title, result }) {
  const errors = result.errors + result.timeouts + result.non2xx;
  const p99 = result.latency.p99;
  console.log(
    `${title.padEnd(34)} ${String(Math.round(result.requests.average)).padStart(5)} req/s  ` +
      `p50 ${String(result.latency.p50).padStart(4)} ms  p99 ${String(result.latency.p99).padStart(4)} ms  ` +
      `max ${result.latency.max} ms  requests ${result.requests.total}  errors ${errors}`,
  );
  return { p99, errors };
}

try {
  // No separate warm-up: the open loop runs 2 s uncounted first, and autocannon runs after it.
  console.log(`\nOpen loop: ${RATE} req/s evenly paced for ${SECONDS} s after 2 s of uncounted warm-up, ${ACCOUNTS} accounts\n`);
  const open = await runOpenLoop("POST /inbound_call", inboundSpec);
  const openStatic = await runOpenLoop("POST /fallback (static)", () => ({ method: "POST", path: "/fallback" }));
  console.log(`\nautocannon: ${RATE} req/s for ${SECONDS} s over ${CONNECTIONS} connections (bursty)\n`);
  const burst = report(await run("POST /inbound_call", [{ setupRequest: inboundRequest }]));
  const burstStatic = report(await run("POST /fallback (static)", [{ method: "POST", path: "/fallback" }]));
  console.log("");
  verdict("open loop (the target)", open.p99, openStatic.p99, open.errors);
  // autocannon reports whole milliseconds: a static p99 of 1 or 2 ms makes its ratio coarse.
  verdict("autocannon (bursty, for reference)", burst.p99, Math.max(1, burstStatic.p99), burst.errors);
} finally {
  stopping = true;
  web.kill("SIGTERM");
  await new Promise((r) => web.once("exit", r));
  await svc.stop();
}
