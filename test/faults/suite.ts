// The fault suite (issue 11, point 12): each scenario runs the real web process and two media
// workers on the suite's own FerretDB and Redis, injects its fault, waits (bounded) for the calls
// to settle, and checks from the database and Redis that every call was billed exactly once for
// the seconds it streamed. Run it with `npm run faults` (scripts/fault-suite.mjs).
import "reflect-metadata";
import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { scenarios as budget } from "./closeout-budget.scenario.js";
import { scenarios as dbFrozen } from "./db-frozen.scenario.js";
import { scenarios as duplicates } from "./duplicates.scenario.js";
import { within } from "./processes.js";
import { scenarios as redis } from "./redis.scenario.js";
import type { Scenario } from "./scenario.js";
import type { FaultServices } from "./services.js";
import type { SimCall } from "./sim-call.js";
import { FaultStack } from "./stack.js";
import { verifyScenario, waitUntilSettled, type ScenarioVerdict } from "./verify.js";
import { scenarios as workerKilled } from "./worker-killed.scenario.js";

export const ALL_SCENARIOS: Scenario[] = [...workerKilled, ...dbFrozen, ...redis, ...duplicates, ...budget];

/** A scenario that has not finished by then is stopped and counted as failed. */
const SCENARIO_TIMEOUT_MS = 120_000;

export interface ScenarioResult {
  scenario: Scenario;
  verdict: ScenarioVerdict | null;
  error: string | null;
  notes: string[];
  seconds: number;
}

export interface SuiteOptions {
  /** Scenario names to run (default: all). */
  only?: string[];
  /** Folder for the processes' logs and the report. */
  logRoot: string;
}

const failed = (r: ScenarioResult) =>
  r.error !== null ||
  r.verdict === null ||
  r.verdict.accountProblems.length > 0 ||
  r.verdict.calls.some((c) => c.outcome !== "billed-right");

export async function runSuite(svc: FaultServices, opts: SuiteOptions): Promise<number> {
  mkdirSync(opts.logRoot, { recursive: true });
  const report = path.join(opts.logRoot, "report.txt");
  const print = (text: string) => {
    console.log(text);
    appendFileSync(report, `${text}\n`);
  };
  const chosen = opts.only?.length ? ALL_SCENARIOS.filter((s) => opts.only!.includes(s.name)) : ALL_SCENARIOS;
  if (chosen.length === 0)
    throw new Error(`no scenario named ${opts.only!.join(", ")}; known: ${ALL_SCENARIOS.map((s) => s.name).join(", ")}`);
  const results: ScenarioResult[] = [];
  for (const scenario of chosen) {
    print(`\n== ${scenario.name}: ${scenario.description}`);
    const result = await runScenario(svc, scenario, opts.logRoot, print);
    results.push(result);
    print(`   ${failed(result) ? "FAILED" : "ok"} in ${result.seconds} s`);
  }
  print(`\n${table(results)}`);
  print(`\nLogs and this report: ${opts.logRoot}`);
  return results.some(failed) ? 1 : 0;
}

async function runScenario(svc: FaultServices, scenario: Scenario, logRoot: string, print: (t: string) => void): Promise<ScenarioResult> {
  const t0 = Date.now();
  const notes: string[] = [];
  let stack: FaultStack | null = null;
  let calls: SimCall[] = [];
  let verdict: ScenarioVerdict | null = null;
  let error: string | null = null;
  try {
    stack = await FaultStack.start(svc, scenario.name, logRoot, scenario.stack);
    const s = stack;
    const work = (async () => {
      calls = await scenario.run(s, (line) => notes.push(line));
      const waited = await waitUntilSettled(s, calls, scenario.settleTimeoutMs ?? 20_000);
      notes.push(`settled (or gave up) ${Math.round(waited / 100) / 10} s after the last event`);
      return verifyScenario(s, calls);
    })();
    const v = await within(SCENARIO_TIMEOUT_MS, work, null);
    if (v === null) error = `did not finish within ${SCENARIO_TIMEOUT_MS / 1000} s`;
    else verdict = v;
  } catch (err) {
    error = (err as Error).stack ?? String(err);
  }
  const result: ScenarioResult = { scenario, verdict, error, notes, seconds: Math.round((Date.now() - t0) / 1000) };
  for (const n of notes) print(`   note: ${n}`);
  if (failed(result)) await describeFailure(result, stack, print);
  for (const c of calls) c.abandon();
  await stack?.stop().catch((err: Error) => print(`   could not stop the scenario's processes: ${err.message}`));
  return result;
}

async function describeFailure(r: ScenarioResult, stack: FaultStack | null, print: (t: string) => void): Promise<void> {
  if (r.error) print(`   ERROR: ${r.error}`);
  for (const p of r.verdict?.accountProblems ?? []) print(`   account: ${p}`);
  for (const v of r.verdict?.calls ?? []) {
    if (v.outcome === "billed-right") continue;
    const c = v.call;
    print(
      `   ${v.outcome.toUpperCase()} ${c.label} callId=${c.callId} callSid=${c.callSid}\n` +
        `     simulated: streamed ${c.streamedMs === null ? "never" : `${Math.round(c.streamedMs)} ms`} (expect ${v.expectedSeconds} s ±1), ` +
        `ended by ${c.endedBy ?? "-"}, close code ${c.closeCode ?? "-"}, admitted in ${c.admitMs} ms${c.failure ? `, ${c.failure}` : ""}, ` +
        `callbacks [${c.callbacks.map((b) => `${b.status ?? "none"} ${JSON.stringify(b.body).slice(0, 80)}`).join("; ")}]\n` +
        `     database: ${v.state}\n` +
        `     redis: ${stack ? await stack.redisState(c.callId) : "-"}`,
    );
    for (const p of stack?.processes ?? []) {
      const lines = p.grep(c.callId, 6);
      if (lines.length) print(`     ${p.name} log lines for it:\n${lines.map((l) => `       ${l.slice(0, 400)}`).join("\n")}`);
    }
  }
  for (const p of stack?.processes ?? []) {
    print(
      `   --- tail of ${p.logFile}\n${p
        .tail(15)
        .split("\n")
        .map((l) => `     ${l.slice(0, 400)}`)
        .join("\n")}`,
    );
  }
}

function table(results: ScenarioResult[]): string {
  const rows = [["scenario", "calls", "billed right", "lost", "double-billed", "misbilled", "account checks"]];
  for (const r of results) {
    const v = r.verdict;
    const count = (o: string) => String(v ? v.calls.filter((c) => c.outcome === o).length : "-");
    rows.push([
      r.scenario.name,
      String(v ? v.calls.length : "-"),
      count("billed-right"),
      count("lost"),
      count("double-billed"),
      count("misbilled"),
      r.error ? "error" : v!.accountProblems.length === 0 ? "ok" : `${v!.accountProblems.length} failed`,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(" | ")} |`;
  return [
    line(rows[0]!),
    `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`,
    ...rows.slice(1).map(line),
  ].join("\n");
}
