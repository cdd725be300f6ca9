// The fuzz suite (issue 12, point 9): generated hostile inputs against the real web process and a
// media worker (NODE_ENV=production, signatures enforced) on the suite's own FerretDB and Redis.
// Per door it counts how each input was answered, compares everything stored before and after,
// and checks that the processes are still alive and healthy. Run it with `npm run fuzz`
// (scripts/fuzz.mjs); docs/fuzz.md says what is generated and how to repeat a run.
import "reflect-metadata";
import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { sleep } from "../faults/processes.js";
import type { FaultServices } from "../faults/services.js";
import { FaultStack } from "../faults/stack.js";
import type { FuzzContext } from "./context.js";
import { isFailure, type Door, type Outcome } from "./door.js";
import { graphqlDoor } from "./graphql.door.js";
import { mediaSocketDoor } from "./media.door.js";
import { seed } from "./seed.js";
import { changes, snapshot, writeCount, type Changes } from "./writes.js";
import { callStatusDoor, inboundCallDoor } from "./webhooks.door.js";

/** Share of FUZZ_RUNS per door. */
export const DOOR_SHARES: Record<string, number> = {
  "/inbound_call": 0.3,
  "/call_status": 0.25,
  "media socket": 0.2,
  "GraphQL mutations": 0.25,
};
/** Time for writes a request may have started (a background insert, a queued job) to land before a door's snapshot. */
const SETTLE_MS = 1_500;
const FAILURES_SHOWN = 15;

export interface FuzzOptions {
  seed: number;
  /** Inputs in all, shared out by DOOR_SHARES. */
  runs: number;
  /** Door names to run (default all). */
  only?: string[];
  /** Replays one input: fast-check's path, i.e. the input's index within its door. */
  path?: string;
  logRoot: string;
}

interface DoorResult {
  name: string;
  inputs: number;
  counts: Record<Outcome["verdict"], number>;
  details: Map<string, number>;
  failures: { index: number; outcome: Outcome; input: string }[];
  changes: Changes;
  crashed: string[];
  /** Error and fatal lines the processes logged meanwhile: an exception caught somewhere. */
  errorsLogged: number;
  /** Requests the worker made to (fake) Twilio's REST API meanwhile, e.g. hanging up a call. */
  twilioRequests: number;
  seconds: number;
}

export async function runFuzz(svc: FaultServices, opts: FuzzOptions): Promise<number> {
  mkdirSync(opts.logRoot, { recursive: true });
  const print = (text: string) => {
    console.log(text);
    appendFileSync(path.join(opts.logRoot, "report.txt"), `${text}\n`);
  };
  print(`fuzz: seed ${opts.seed} (FUZZ_SEED=${opts.seed} repeats this run), ${opts.runs} inputs (FUZZ_RUNS)`);
  const stack = await FaultStack.start(svc, "fuzz", opts.logRoot, {
    accounts: 2,
    workers: 1,
    // Production: signatures and keys enforced, no introspection; tokens outlive the run so replays are unexpired.
    // TRUST_PROXY: every request carries an X-Forwarded-For, mostly a distinct address, so the
    // failed-authentication limit per address does not turn most of the run into 429s.
    env: { NODE_ENV: "production", STREAM_TOKEN_TTL_SECONDS: "3600", LOG_LEVEL: "info", TRUST_PROXY: "true" },
  });
  const results: DoorResult[] = [];
  try {
    const ctx = await seed(stack);
    const mediaPort = Number(new URL(stack.a.mediaUrl).port);
    const doors: Door<never>[] = [
      inboundCallDoor(ctx),
      callStatusDoor(ctx),
      mediaSocketDoor(ctx, mediaPort),
      graphqlDoor(ctx),
    ] as Door<never>[];
    for (const door of doors) {
      if (opts.only?.length && !opts.only.includes(door.name)) continue;
      const runs = opts.path === undefined ? Math.max(1, Math.round(opts.runs * DOOR_SHARES[door.name]!)) : 1;
      const r = await runDoor(stack, door, runs, opts);
      results.push(r);
      print(`   ${door.name}: ${r.inputs} inputs in ${r.seconds} s`);
      if (r.crashed.length) break;
    }
    const health = await healthy(ctx);
    print(`\n${table(results)}`);
    print(`\nHealth after the run: ${health.join(", ")}`);
    for (const r of results) report(r, print);
    print(`\nLogs and this report: ${opts.logRoot}`);
    const failed =
      results.some(
        (r) =>
          r.failures.length || writeCount(r.changes) || r.changes.ledgerEntries || r.crashed.length || r.errorsLogged || r.twilioRequests,
      ) || health.some((h) => !h.endsWith(" ok"));
    print(`fuzz: ${failed ? "FAILED" : "passed"}`);
    return failed ? 1 : 0;
  } finally {
    await stack.stop();
  }
}

async function runDoor(stack: FaultStack, door: Door<never>, runs: number, opts: FuzzOptions): Promise<DoorResult> {
  const t0 = Date.now();
  const before = await snapshot(stack.redis, stack.queue);
  const errorsBefore = errorLines(stack);
  const twilioBefore = stack.twilio.requests;
  const counts: DoorResult["counts"] = { refused: 0, ignored: 0, accepted: 0, "server-error": 0, "transport-error": 0 };
  const details = new Map<string, number>();
  const failures: DoorResult["failures"] = [];
  let crashed: string[] = [];
  let index = opts.path === undefined ? 0 : Number(opts.path);
  const property = fc.asyncProperty(door.arbitrary, async (input: never) => {
    const at = index++;
    if (crashed.length) return true;
    const outcome = await door.send(input);
    counts[outcome.verdict]++;
    details.set(outcome.detail, (details.get(outcome.detail) ?? 0) + 1);
    if (isFailure(outcome)) failures.push({ index: at, outcome, input: door.describe(input) });
    crashed = stack.processes.filter((p) => !p.running).map((p) => p.name);
    if (crashed.length)
      failures.push({
        index: at,
        outcome: { verdict: "transport-error", detail: `${crashed.join(", ")} exited` },
        input: door.describe(input),
      });
    return true;
  });
  // The property never fails: every input is counted, and failures are reported with their index.
  await fc.assert(property, { seed: opts.seed, numRuns: runs, ...(opts.path === undefined ? {} : { path: opts.path }) });
  await sleep(SETTLE_MS);
  const after = await snapshot(stack.redis, stack.queue);
  const inputs = Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    name: door.name,
    inputs,
    counts,
    details,
    failures,
    changes: changes(before, after),
    crashed,
    errorsLogged: errorLines(stack) - errorsBefore,
    twilioRequests: stack.twilio.requests - twilioBefore,
    seconds: Math.round((Date.now() - t0) / 1000),
  };
}

/** Lines logged at level error (50) or fatal (60) by the processes so far. */
function errorLines(stack: FaultStack): number {
  return stack.processes.reduce(
    (n, p) => n + p.grep('"level":50', Number.MAX_SAFE_INTEGER).length + p.grep('"level":60', Number.MAX_SAFE_INTEGER).length,
    0,
  );
}

/** /healthz of the web process and the worker, after everything. */
async function healthy(ctx: FuzzContext): Promise<string[]> {
  const check = async (name: string, url: string) => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      return `${name} /healthz ${res.status === 200 ? "ok" : res.status}`;
    } catch (err) {
      return `${name} /healthz unreachable (${(err as Error).message})`;
    }
  };
  return [await check("web", `${ctx.webUrl}/healthz`), await check("worker", `${ctx.mediaUrl.replace(/^ws/, "http")}/healthz`)];
}

function report(r: DoorResult, print: (t: string) => void): void {
  const top = [...r.details.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  print(`\n== ${r.name}: answers ${top.map(([d, n]) => `${d} x${n}`).join(", ")}`);
  if (r.changes.collections.length) print(`   DOCUMENTS WRITTEN: ${r.changes.collections.join(", ")}`);
  if (r.changes.ledgerEntries) print(`   LEDGER ENTRIES: ${r.changes.ledgerEntries}`);
  if (r.changes.redisKeys.length) print(`   REDIS KEYS WRITTEN: ${r.changes.redisKeys.slice(0, 20).join(", ")}`);
  if (r.changes.jobs.length) print(`   QUEUE CHANGED: ${r.changes.jobs.join(", ")}`);
  if (r.errorsLogged) print(`   ERRORS LOGGED: ${r.errorsLogged} (see the processes' logs)`);
  if (r.twilioRequests) print(`   TWILIO REST REQUESTS: ${r.twilioRequests}`);
  for (const f of r.failures.slice(0, FAILURES_SHOWN)) {
    print(
      `   ${f.outcome.verdict.toUpperCase()} #${f.index} (FUZZ_ONLY="${r.name}" FUZZ_PATH=${f.index} replays it): ${f.outcome.detail}\n     ${f.input}`,
    );
  }
  if (r.failures.length > FAILURES_SHOWN) print(`   ... and ${r.failures.length - FAILURES_SHOWN} more`);
}

function table(results: DoorResult[]): string {
  const rows = [
    [
      "door",
      "inputs",
      "4xx",
      "2xx refused",
      "2xx accepted",
      "5xx",
      "no answer",
      "docs written",
      "ledger entries",
      "redis keys",
      "crashes",
      "errors logged",
      "Twilio calls",
    ],
  ];
  for (const r of results) {
    rows.push([
      r.name,
      String(r.inputs),
      String(r.counts.refused),
      String(r.counts.ignored),
      String(r.counts.accepted),
      String(r.counts["server-error"]),
      String(r.counts["transport-error"]),
      String(r.changes.documents),
      String(r.changes.ledgerEntries),
      String(r.changes.redisKeys.length + r.changes.jobs.length),
      String(r.crashed.length),
      String(r.errorsLogged),
      String(r.twilioRequests),
    ]);
  }
  const total = (i: number) => String(rows.slice(1).reduce((sum, row) => sum + Number(row[i]), 0));
  rows.push(["total", ...rows[0]!.slice(1).map((_, i) => total(i + 1))]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [
    line(rows[0]!),
    `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`,
    ...rows.slice(1).map(line),
  ].join("\n");
}
