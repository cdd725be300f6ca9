// Starts the project's own MongoDB (FerretDB on SQLite) and Redis on free loopback ports,
// waits until they answer, and stops exactly the processes it started.
// With MONGODB_URI / REDIS_URL set, that server is used and nothing is started for it.
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, openSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { LOCAL_DIR, ensureFerretDB, ensureRedis } from "./setup.mjs";

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves true when `probe(socket)` succeeds against host:port. */
function tryConnect(port, probe) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on("error", () => done(false));
    sock.on("connect", () => (probe ? probe(sock, done) : done(true)));
  });
}

const redisPing = (sock, done) => {
  sock.on("data", (buf) => done(buf.toString().startsWith("+PONG")));
  sock.write("PING\r\n");
};

async function waitUntilUp(name, child, port, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} while starting (see its log)`);
    if (await tryConnect(port, probe)) return;
    await sleep(100);
  }
  throw new Error(`${name} did not answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** Stops one child: `signal` first, SIGKILL if it is still running after `graceMs`. */
async function stopChild(child, signal = "SIGTERM", graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Redis as BullMQ's production checklist asks: AOF persistence (fsync every second) so a restart
 * keeps queued jobs and call state, and `noeviction` so Redis refuses writes rather than drop
 * keys when memory runs out.
 */
export const REDIS_ARGS = ["--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction"];

/**
 * @param {{ name: string, persistent?: boolean, quiet?: boolean }} opts
 * name: data folder under .local/data; persistent: keep data after stop (development).
 *
 * Besides the URLs, the result can stop and start again each server it started, on the same port
 * and data folder (the fault suite restarts Redis and the database): `stopRedis(signal)`,
 * `startRedis()`, `restartRedis()`, and the same for FerretDB. `pids` always holds the current
 * process ids.
 */
export async function startServices({ name, persistent = false } = { name: "dev" }) {
  const dataDir = path.join(LOCAL_DIR, "data", persistent ? name : `${name}-${process.pid}`);
  mkdirSync(dataDir, { recursive: true });
  /** The current child per service. */
  const children = {};
  /** Process ids of what was started, for benchmarks that read their CPU time. */
  const pids = {};
  const stopSync = () => Object.values(children).forEach((c) => c.exitCode === null && c.kill("SIGKILL"));
  process.on("exit", stopSync);

  const stop = async () => {
    process.off("exit", stopSync);
    // A stopped (SIGSTOP) child would ignore SIGTERM until continued.
    for (const c of Object.values(children)) if (c.exitCode === null) c.kill("SIGCONT");
    await Promise.all(Object.values(children).map((c) => stopChild(c)));
    if (!persistent) rmSync(dataDir, { recursive: true, force: true });
  };

  let ferretPort = 0;
  const startFerretDB = async () => {
    const bin = ensureFerretDB();
    const log = openSync(path.join(dataDir, "ferretdb.log"), "a");
    const pragmas = process.env.FERRETDB_SQLITE_PRAGMAS ?? "";
    const args = ["-listen", `127.0.0.1:${ferretPort}`, "-dir", path.join(dataDir, "ferretdb"), "-sqlite-pragmas", pragmas];
    // Go's profiler for investigating the database's CPU use, e.g. FERRETDB_PPROF=127.0.0.1:6060.
    if (process.env.FERRETDB_PPROF) args.push("-pprof", process.env.FERRETDB_PPROF);
    const child = spawn(bin, args, { stdio: ["ignore", log, log] });
    children.ferretdb = child;
    pids.ferretdb = child.pid;
    await waitUntilUp("FerretDB", child, ferretPort, null, 30_000);
  };

  let redisPort = 0;
  const startRedis = async () => {
    const redisDir = path.join(dataDir, "redis");
    mkdirSync(redisDir, { recursive: true });
    const args = ["--port", String(redisPort), "--bind", "127.0.0.1", "--dir", redisDir, ...REDIS_ARGS];
    args.push("--save", persistent ? "60 1" : "");
    const log = openSync(path.join(dataDir, "redis.log"), "a");
    const child = spawn("redis-server", args, { stdio: ["ignore", log, log] });
    children.redis = child;
    pids.redis = child.pid;
    await waitUntilUp("redis-server", child, redisPort, redisPing, 15_000);
  };

  const notStarted = (what, env) => () => Promise.reject(new Error(`${what} was not started here (${env} is set)`));
  const controls = {};
  try {
    let mongodbUri = process.env.MONGODB_URI;
    if (!mongodbUri) {
      ferretPort = await freePort();
      await startFerretDB();
      mongodbUri = `mongodb://127.0.0.1:${ferretPort}/call24x7`;
      controls.stopFerretDB = (signal = "SIGTERM") => stopChild(children.ferretdb, signal);
      controls.startFerretDB = startFerretDB;
    } else {
      controls.stopFerretDB = controls.startFerretDB = notStarted("FerretDB", "MONGODB_URI");
    }

    let redisUrl = process.env.REDIS_URL;
    if (!redisUrl) {
      ensureRedis();
      redisPort = await freePort();
      await startRedis();
      redisUrl = `redis://127.0.0.1:${redisPort}`;
      controls.stopRedis = (signal = "SIGTERM") => stopChild(children.redis, signal);
      controls.startRedis = startRedis;
    } else {
      controls.stopRedis = controls.startRedis = notStarted("redis-server", "REDIS_URL");
    }
    controls.restartRedis = async (signal) => {
      await controls.stopRedis(signal);
      await controls.startRedis();
    };
    controls.restartFerretDB = async (signal) => {
      await controls.stopFerretDB(signal);
      await controls.startFerretDB();
    };
    return { mongodbUri, redisUrl, dataDir, pids, stop, ...controls };
  } catch (err) {
    await stop();
    throw err;
  }
}
