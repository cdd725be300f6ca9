// `npm run faults`: the fault suite (issue 11, point 12). Compiles when the sources are newer than
// the build, starts the suite's own FerretDB and Redis (never MONGODB_URI / REDIS_URL: it freezes,
// stops and flushes them), then runs each scenario with the real web process and two media
// workers (test/faults/*.scenario.ts). Prints a table and exits 1 when any call was not billed
// exactly once for its streamed seconds. Arguments pick scenarios by name, e.g.
// `npm run faults -- duplicates db-frozen`. Logs go to .local/faults/<time>/.
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { LOCAL_DIR, ROOT, build, ensureNodeModules } from "./lib/setup.mjs";
import { startServices } from "./lib/services.mjs";

/** The whole suite must fit CI: stop it after this long. */
const MAX_RUN_MS = 8 * 60 * 1000;

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

const suiteJs = path.join(ROOT, "dist", "test", "faults", "suite.js");
ensureNodeModules();
// tsc rewrites every output file, so the suite's compiled entry dates the last build.
if (!existsSync(suiteJs) || statSync(suiteJs).mtimeMs < newestSource()) build();

delete process.env.MONGODB_URI;
delete process.env.REDIS_URL;
const started = Date.now();
const svc = await startServices({ name: "faults" });
const killer = setTimeout(() => {
  console.error(`faults: still running after ${MAX_RUN_MS / 60000} minutes; stopping`);
  void svc.stop().finally(() => process.exit(1));
}, MAX_RUN_MS);
let code = 1;
try {
  const { runSuite } = await import(pathToFileURL(suiteJs).href);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  code = await runSuite(svc, { only: process.argv.slice(2), logRoot: path.join(LOCAL_DIR, "faults", stamp) });
} catch (err) {
  console.error(err);
} finally {
  clearTimeout(killer);
  await svc.stop();
}
console.log(`fault suite: ${code === 0 ? "passed" : "FAILED"} in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(code);
