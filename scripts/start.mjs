// `npm start`: install what is missing, compile, start FerretDB and Redis (unless MONGODB_URI /
// REDIS_URL are set), sync indexes, then run the web process and the media worker until Ctrl-C.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { LOCAL_DIR, ROOT, build, ensureNodeModules, ensureVoiceTools } from "./lib/setup.mjs";
import { startServices } from "./lib/services.mjs";

if (existsSync(path.join(ROOT, ".env"))) process.loadEnvFile(path.join(ROOT, ".env"));

/** Development secrets, generated once and kept in .local/ so keys survive restarts. */
function devSecrets() {
  const file = path.join(LOCAL_DIR, "dev-secrets.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
  const secrets = {
    ADMIN_API_KEY: `c247_admin_${randomBytes(24).toString("base64url")}`,
    STREAM_TOKEN_SECRET: randomBytes(32).toString("base64url"),
  };
  mkdirSync(LOCAL_DIR, { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

ensureNodeModules();
ensureVoiceTools();
build();
const svc = await startServices({ name: "dev", persistent: true });
const port = process.env.PORT || "3000";
const mediaPort = process.env.MEDIA_PORT || "3001";
const env = {
  ...devSecrets(),
  ...process.env,
  MONGODB_URI: svc.mongodbUri,
  REDIS_URL: svc.redisUrl,
  PORT: port,
  MEDIA_PORT: mediaPort,
};

const release = spawnSync(process.execPath, ["dist/schema/sync-indexes.js"], { cwd: ROOT, env, stdio: "inherit" });
if (release.status !== 0) {
  await svc.stop();
  process.exit(release.status ?? 1);
}

const children = [];
function launch(name, script) {
  const child = spawn(process.execPath, [script], { cwd: ROOT, env, stdio: "inherit" });
  child.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`start: ${name} exited (${signal ?? code}); stopping everything`);
      void stop(1);
    }
  });
  children.push(child);
}

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : null)));
  await svc.stop();
  process.exit(code);
}
process.once("SIGINT", () => void stop(0));
process.once("SIGTERM", () => void stop(0));

launch("web", "dist/api/main.js");
if (existsSync(path.join(ROOT, "dist", "media-worker", "main.js"))) launch("worker", "dist/media-worker/main.js");

const publicBase = (env.PUBLIC_BASE_URL || `http://localhost:${port}`).replace(/\/+$/, "");
console.log(`
Call24x7 is starting.
  Twilio Voice webhook (A call comes in, HTTP POST): ${publicBase}/inbound_call
  Twilio fallback URL:                              ${publicBase}/fallback
  Health:                                           http://localhost:${port}/healthz
  GraphQL admin API:                                http://localhost:${port}/graphql
  Admin API key:                                    ${env.ADMIN_API_KEY}
  MongoDB (FerretDB): ${svc.mongodbUri}
  Redis:              ${svc.redisUrl}
Twilio must reach the webhook over the internet: set PUBLIC_BASE_URL and MEDIA_PUBLIC_URL to your
tunnel or domain, and TWILIO_AUTH_TOKEN so signatures are checked (with TWILIO_ACCOUNT_SID, account
keys can then register and buy numbers, configured for them). Ctrl-C stops everything.
`);
