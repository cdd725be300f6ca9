// `npm run bench:graphql`: load-tests the GraphQL admin API over loopback.
// Compiles the project, starts FerretDB and Redis (unless MONGODB_URI / REDIS_URL are set; then a
// fresh database on that server is used), runs the web app in this process, seeds one account,
// times each scenario one request at a time with the driver's command monitoring on (round
// trips and database time per request), then, reconnected without monitoring as production
// runs, fires each scenario at a fixed rate twice: an
// evenly paced open loop (like wrk2; latency counted from each request's due time), on which
// the target is judged, and autocannon's fixed rate (bursty: each second's quota goes out at
// once over its connections). Both generators run in worker threads, so they do not share the
// app's event loop. Prints requests per second, latency percentiles and database round trips
// per request.
//
// Settings (environment): BENCH_RATE requests/s (default 100), BENCH_DURATION seconds per
// scenario (default 10, at most 60), BENCH_CONNECTIONS (default 10), BENCH_AGENTS (default 50),
// BENCH_CALLS (default 500). Target: p99 under 50 ms at 100 requests/s, and the same number of
// round trips per request whatever the page size.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { ROOT, build, ensureNodeModules } from "./lib/setup.mjs";
import { cpuMeter } from "./lib/cpu.mjs";
import { percentile } from "./lib/open-loop.mjs";
import { startServices } from "./lib/services.mjs";

const RATE = positiveInt("BENCH_RATE", 100, 10_000);
const DURATION = positiveInt("BENCH_DURATION", 10, 60);
const CONNECTIONS = positiveInt("BENCH_CONNECTIONS", 10, 1_000);
const AGENTS = positiveInt("BENCH_AGENTS", 50, 10_000);
const CALLS = positiveInt("BENCH_CALLS", 500, 100_000);
const ADMIN_KEY = "bench-admin-key-0123456789abcdefghij";

function positiveInt(name, fallback, max) {
  const raw = process.env[name];
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    console.error(`${name} must be a whole number from 1 to ${max}, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

const dist = (file) => import(pathToFileURL(path.join(ROOT, "dist", file)).href);

ensureNodeModules();
// After the install: on a fresh clone the package is not there before it.
const { default: autocannon } = await import("autocannon");
build();
await import("reflect-metadata");
const [
  { connectDatabase, disconnectDatabase, syncIndexes },
  { createApp },
  { loadApiConfig },
  { createLogger },
  { CallModel },
  mongoose,
  { Redis },
  { Queue },
  { CALL_EVENTS_QUEUE },
] = await Promise.all([
  dist("schema/infra/db.js"),
  dist("api/app.js"),
  dist("api/config.js"),
  dist("schema/infra/logger.js"),
  dist("schema/models/call.model.js"),
  import("mongoose"),
  import("ioredis"),
  import("bullmq"),
  dist("schema/infra/queues.js"),
]);

const svc = await startServices({ name: "bench" });
const mongodbUri = svc.mongodbUri.replace(/\/[^/?]*(\?|$)/, `/call24x7_bench_${Date.now().toString(36)}$1`);
let server;
let inFlight = 0; // pool connections checked out: database commands not yet answered
let redis;
let callEvents;
let app;
try {
  await connectDatabase(mongodbUri, { monitorCommands: true });
  await syncIndexes();
  const config = loadApiConfig({
    MONGODB_URI: mongodbUri,
    REDIS_URL: svc.redisUrl,
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  });
  const logger = createLogger({ name: "bench-web", level: config.logLevel, redactPii: true });
  redis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await new Promise((resolve, reject) => {
    redis.once("ready", resolve);
    redis.once("error", reject);
  });
  callEvents = new Queue(CALL_EVENTS_QUEUE, { connection: redis });
  app = createApp({ config, logger, redis, callEvents });
  server = await new Promise((resolve) => {
    const s = app.koa.listen(0, "127.0.0.1", () => resolve(s));
  });
  const url = `http://127.0.0.1:${server.address().port}/graphql`;

  // Round trips and the time the database took for them (driver command monitoring).
  const commands = { count: 0, ms: 0 };
  const upkeep = new Set(["hello", "ismaster", "isMaster", "ping", "endSessions"]);
  const client = mongoose.default.connection.getClient();
  client.on("commandStarted", (e) => {
    if (!upkeep.has(e.commandName)) commands.count += 1;
  });
  client.on("commandSucceeded", (e) => {
    if (!upkeep.has(e.commandName)) commands.ms += e.duration;
  });
  trackInFlight(client);

  const gql = async (key, query, variables = {}) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = await res.json();
    if (body.errors) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
    return body.data;
  };

  console.error(`bench: seeding 1 account, ${AGENTS} agents, ${CALLS} calls`);
  const { createAccount } = await gql(
    ADMIN_KEY,
    `mutation { createAccount(input: { name: "Bench Co", email: "bench@example.com" }) { apiKey account { id } } }`,
  );
  const key = createAccount.apiKey;
  const accountId = createAccount.account.id;
  const agentIds = [];
  for (let i = 0; i < AGENTS; i++) {
    const { createAgent } = await gql(key, `mutation ($name: String!) { createAgent(input: { name: $name, greeting: "Hello!" }) { id } }`, {
      name: `Agent ${i}`,
    });
    agentIds.push(createAgent.id);
  }
  const start = Date.now() - CALLS * 60_000;
  const calls = Array.from({ length: CALLS }, (_, i) => ({
    callSid: `CA${String(i).padStart(32, "0")}`,
    accountId,
    agentId: agentIds[i % agentIds.length],
    from: "+14155550100",
    to: "+14155550199",
    status: "completed",
    startedAt: new Date(start + i * 60_000),
    billedSeconds: 30,
    costMicros: 75_000,
  }));
  for (let i = 0; i < calls.length; i += 1_000) await CallModel.insertMany(calls.slice(i, i + 1_000));

  const scenarios = [
    { name: "agents(first: 50)", query: `{ agents(first: 50) { nodes { id name status } pageInfo { hasNextPage endCursor } } }` },
    {
      name: "calls(first: 100) with agents",
      query: `{ calls(first: 100) { nodes { id callSid status startedAt costUsd agent { name } } pageInfo { hasNextPage endCursor } } }`,
    },
  ];

  // Round trips of one request at two page sizes: the count must not grow with the page.
  const perRequest = async (query) => {
    await gql(key, query); // the key's usage (lastUsedAt) write happens on first use; keep it out
    const before = commands.count;
    await gql(key, query);
    return commands.count - before;
  };
  const sizes = {
    agents: [await perRequest(scenarios[0].query.replace("first: 50", "first: 5")), await perRequest(scenarios[0].query)],
    calls: [await perRequest(scenarios[1].query.replace("first: 100", "first: 10")), await perRequest(scenarios[1].query)],
  };

  // One request at a time, for the latency without queueing and the database's share of it.
  const sequential = async (query, n = 30) => {
    const times = [];
    const before = { count: commands.count, ms: commands.ms };
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await gql(key, query);
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    return {
      p50: Number(times[Math.floor(n / 2)].toFixed(1)),
      dbMs: Number(((commands.ms - before.ms) / n).toFixed(1)),
      roundTrips: Number(((commands.count - before.count) / n).toFixed(2)),
    };
  };
  const idle = [];
  for (const scenario of scenarios) {
    for (let i = 0; i < 10; i++) await gql(key, scenario.query); // warm-up
    idle.push(await sequential(scenario.query));
  }

  // Command monitoring decodes every reply a second time for its event (the driver's
  // CommandSucceededEvent carries the whole reply), which doubles the BSON work of a page of
  // calls. Production runs without it, so the load runs on a fresh connection without it too.
  await disconnectDatabase();
  await connectDatabase(mongodbUri, { monitorCommands: false });
  inFlight = 0;
  trackInFlight(mongoose.default.connection.getClient());
  await gql(key, scenarios[0].query);

  const results = [];
  const row = (scenario, load, idleRow, figures) => ({
    scenario,
    load,
    "idle p50 ms": idleRow.p50,
    "idle db ms": idleRow.dbMs,
    "db round trips/req": idleRow.roundTrips,
    ...figures,
  });
  for (const [i, scenario] of scenarios.entries()) {
    const body = JSON.stringify({ query: scenario.query });
    for (let j = 0; j < 10; j++) await gql(key, scenario.query); // warm-up
    console.error(`bench: ${scenario.name} at ${RATE} req/s for ${DURATION} s, open loop`);
    const cpu = cpuMeter({ ferretdb: svc.pids.ferretdb });
    const loop = await openLoopInWorker({
      url,
      rate: RATE,
      seconds: DURATION,
      request: { method: "POST", path: "/graphql", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body },
    });
    const used = cpu();
    const perRequest = (ms) => (Number.isFinite(ms) ? Number((ms / (loop.sent + loop.warmup)).toFixed(2)) : "-");
    results.push(
      row(scenario.name, "open loop", idle[i], {
        "web cpu ms/req": perRequest(used.web),
        "db cpu ms/req": perRequest(used.ferretdb),
        "req/s": Math.round(loop.ok / loop.seconds),
        "p50 ms": Number(percentile(loop.latenciesMs, 50).toFixed(1)),
        "p99 ms": Number(percentile(loop.latenciesMs, 99).toFixed(1)),
        "max ms": Number(percentile(loop.latenciesMs, 100).toFixed(1)),
        errors: loop.errors,
      }),
    );
    console.error(`bench: ${scenario.name} at ${RATE} req/s for ${DURATION} s, autocannon`);
    const result = await autocannon({
      url,
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body,
      connections: CONNECTIONS,
      overallRate: RATE,
      duration: DURATION,
      workers: 1,
    });
    results.push(
      row(scenario.name, "autocannon (bursty)", idle[i], {
        "req/s": Math.round(result.requests.average),
        "p50 ms": result.latency.p50,
        "p99 ms": result.latency.p99,
        "max ms": result.latency.max,
        errors: result.non2xx + result.errors + result.timeouts,
      }),
    );
  }

  console.log(`\nGraphQL admin API over loopback: ${RATE} req/s target, ${CONNECTIONS} connections, ${DURATION} s per scenario`);
  console.log(`Data: ${AGENTS} agents, ${CALLS} calls in one account; account key (one key lookup per request)\n`);
  console.table(results);
  console.log(
    `Round trips for one request: agents first 5 → ${sizes.agents[0]}, first 50 → ${sizes.agents[1]}; ` +
      `calls with agents first 10 → ${sizes.calls[0]}, first 100 → ${sizes.calls[1]}`,
  );
  // The target is judged on the evenly paced open loop: independent clients arriving at 100 per
  // second. autocannon's fixed rate fires each second's quota at once over its connections.
  const slow = results.filter((r) => r.load === "open loop" && (!(r["p99 ms"] < 50) || r["req/s"] < RATE * 0.95 || r.errors > 0));
  const growing = sizes.agents[0] !== sizes.agents[1] || sizes.calls[0] !== sizes.calls[1];
  console.log(`p99 under 50 ms at ${RATE} req/s: ${slow.length ? `missed (${slow.map((r) => r.scenario).join(", ")})` : "met"}`);
  console.log(`Round trips constant whatever the page size: ${growing ? "missed" : "met"}`);
} finally {
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    // A request whose client has gone still runs its resolvers: let their queries finish
    // before the database goes away, and count quiet only after a short lull.
    for (let quiet = 0; quiet < 5;) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      quiet = inFlight === 0 ? quiet + 1 : 0;
    }
  }
  await app?.stop();
  await callEvents?.close();
  redis?.disconnect();
  await mongoose.default.connection.db?.dropDatabase().catch(() => undefined);
  await disconnectDatabase();
  await svc.stop();
}

// Pool events come without command monitoring.
function trackInFlight(client) {
  client.on("connectionCheckedOut", () => {
    inFlight += 1;
  });
  client.on("connectionCheckedIn", () => {
    inFlight -= 1;
  });
}

function openLoopInWorker(workerData) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./lib/open-loop-worker.mjs", import.meta.url), { workerData });
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}
