// `npm test`: install what is missing, compile, start FerretDB and Redis (unless MONGODB_URI /
// REDIS_URL are set), run every mocha test against them, and stop what was started.
// Extra arguments go to mocha, e.g. `npm test -- --grep ledger`.
import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT, build, ensureNodeModules, ensureVoiceTools } from "./lib/setup.mjs";
import { startServices } from "./lib/services.mjs";

const MAX_RUN_MS = 30 * 60 * 1000;

ensureNodeModules();
ensureVoiceTools();
build();
const svc = await startServices({ name: "test" });
// A fresh database per run; Redis is private to the run unless REDIS_URL was given.
const dbName = `call24x7_test_${Date.now().toString(36)}`;
const mongodbUri = svc.mongodbUri.replace(/\/[^/?]*(\?|$)/, `/${dbName}$1`);
const extra = process.argv.slice(2);
/** Mocha options whose value is the next argument (`--grep ledger`): that value is not a spec file. */
const TAKES_VALUE = new Set([
  "--grep",
  "-g",
  "--fgrep",
  "-f",
  "--timeout",
  "-t",
  "--slow",
  "-s",
  "--reporter",
  "-R",
  "--reporter-option",
  "-O",
  "--require",
  "-r",
  "--ui",
  "-u",
  "--ignore",
  "--exclude",
  "--file",
  "--retries",
  "--jobs",
  "-j",
]);
const namesSpecs = extra.includes("--spec") || extra.some((a, i) => !a.startsWith("-") && !TAKES_VALUE.has(extra[i - 1] ?? ""));
const specs = namesSpecs ? [] : ["dist/test/**/*.test.js"];
const mocha = spawn(
  process.execPath,
  [
    path.join(ROOT, "node_modules", "mocha", "bin", "mocha.js"),
    "--no-config",
    // A stray `.only` or `.skip` (or an `it` without a body) fails the run instead of silently
    // running fewer tests.
    "--forbid-only",
    "--forbid-pending",
    "--require",
    "dist/test/helpers/hooks.js",
    "--timeout",
    "30000",
    "--recursive",
    ...specs,
    ...extra,
  ],
  {
    cwd: ROOT,
    stdio: "inherit",
    env: {
      ...process.env,
      MONGODB_URI: mongodbUri,
      REDIS_URL: svc.redisUrl,
      // The database is the FerretDB started above: its FerretDB-only checks must run.
      TEST_DATABASE: process.env.MONGODB_URI ? "external" : "ferretdb",
      NODE_ENV: "test",
      LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    },
  },
);
const killer = setTimeout(() => {
  console.error(`test: mocha still running after ${MAX_RUN_MS / 60000} minutes; stopping it`);
  mocha.kill("SIGKILL");
}, MAX_RUN_MS);
const code = await new Promise((resolve) => mocha.on("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0))));
clearTimeout(killer);
await svc.stop();
process.exit(code);
