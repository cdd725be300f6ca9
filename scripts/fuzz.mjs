// `npm run fuzz`: the fuzz suite (issue 12, point 9, docs/fuzz.md). Compiles when the sources are
// newer than the build, starts the suite's own FerretDB and Redis (never MONGODB_URI / REDIS_URL:
// it counts every document and key in them), then sends generated hostile inputs to the real web
// process and a media worker. Prints a table and exits 1 when any input got a 5xx, was accepted,
// wrote anything, or a process died. Settings: FUZZ_SEED (default fixed), FUZZ_RUNS (default
// 10000), FUZZ_ONLY (a door's name), FUZZ_PATH (replays one input of that door by its index).
// Logs go to .local/fuzz/<time>/.
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { LOCAL_DIR, ROOT, build, ensureNodeModules } from "./lib/setup.mjs";
import { startServices } from "./lib/services.mjs";

/** The suite must fit CI: stop it after this long. */
const MAX_RUN_MS = 8 * 60 * 1000;
/** The seed CI runs, so every run sends the same inputs; set FUZZ_SEED to explore others. */
const DEFAULT_SEED = 1209;

function positiveInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d{1,10}$/.test(raw)) {
    console.error(`fuzz: ${name} must be a whole number, got "${raw}"`);
    process.exit(2);
  }
  return Number(raw);
}

/** Newest modification time of the TypeScript sources, milliseconds. */
function newestSource() {
  let newest = statSync(path.join(ROOT, "tsconfig.json")).mtimeMs;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ["api", "media-worker", "schema", "test"]) walk(path.join(ROOT, d));
  return newest;
}

const seed = positiveInt("FUZZ_SEED", DEFAULT_SEED);
const runs = positiveInt("FUZZ_RUNS", 10_000);
const only = process.env.FUZZ_ONLY ? [process.env.FUZZ_ONLY] : [];
const fuzzPath = process.env.FUZZ_PATH || undefined;
if (fuzzPath !== undefined && only.length === 0) {
  console.error("fuzz: FUZZ_PATH replays one input of one door: set FUZZ_ONLY to the door's name too");
  process.exit(2);
}

const suiteJs = path.join(ROOT, "dist", "test", "fuzz", "suite.js");
ensureNodeModules();
// tsc rewrites every output file, so the suite's compiled entry dates the last build.
if (!existsSync(suiteJs) || statSync(suiteJs).mtimeMs < newestSource()) build();

delete process.env.MONGODB_URI;
delete process.env.REDIS_URL;
const started = Date.now();
const svc = await startServices({ name: "fuzz" });
const killer = setTimeout(() => {
  console.error(`fuzz: still running after ${MAX_RUN_MS / 60000} minutes; stopping`);
  void svc.stop().finally(() => process.exit(1));
}, MAX_RUN_MS);
let code = 1;
try {
  const { runFuzz } = await import(pathToFileURL(suiteJs).href);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  code = await runFuzz(svc, { seed, runs, only, path: fuzzPath, logRoot: path.join(LOCAL_DIR, "fuzz", stamp) });
} catch (err) {
  console.error(err);
} finally {
  clearTimeout(killer);
  await svc.stop();
}
console.log(`fuzz suite: ${code === 0 ? "passed" : "FAILED"} in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(code);
