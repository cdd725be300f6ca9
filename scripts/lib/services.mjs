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

/**
 * @param {{ name: string, persistent?: boolean, quiet?: boolean }} opts
 * name: data folder under .local/data; persistent: keep data after stop (development).
 */
export async function startServices({ name, persistent = false } = { name: "dev" }) {
  const dataDir = path.join(LOCAL_DIR, "data", persistent ? name : `${name}-${process.pid}`);
  mkdirSync(dataDir, { recursive: true });
  const children = [];
  /** Process ids of what was started, for benchmarks that read their CPU time. */
  const pids = {};
  const stopSync = () => children.forEach((c) => c.exitCode === null && c.kill("SIGKILL"));
  process.on("exit", stopSync);

  const stop = async () => {
    process.off("exit", stopSync);
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null) return;
        c.kill("SIGTERM");
        for (let i = 0; i < 50 && c.exitCode === null; i++) await sleep(100);
        if (c.exitCode === null) c.kill("SIGKILL");
      }),
    );
    if (!persistent) rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    let mongodbUri = process.env.MONGODB_URI;
    if (!mongodbUri) {
      const bin = ensureFerretDB();
      const port = await freePort();
      const log = openSync(path.join(dataDir, "ferretdb.log"), "a");
      const pragmas = process.env.FERRETDB_SQLITE_PRAGMAS ?? "";
      const args = ["-listen", `127.0.0.1:${port}`, "-dir", path.join(dataDir, "ferretdb"), "-sqlite-pragmas", pragmas];
      // Go's profiler for investigating the database's CPU use, e.g. FERRETDB_PPROF=127.0.0.1:6060.
      if (process.env.FERRETDB_PPROF) args.push("-pprof", process.env.FERRETDB_PPROF);
      const child = spawn(bin, args, {
        stdio: ["ignore", log, log],
      });
      children.push(child);
      pids.ferretdb = child.pid;
      await waitUntilUp("FerretDB", child, port, null, 30_000);
      mongodbUri = `mongodb://127.0.0.1:${port}/call24x7`;
    }

    let redisUrl = process.env.REDIS_URL;
    if (!redisUrl) {
      ensureRedis();
      const port = await freePort();
      const redisDir = path.join(dataDir, "redis");
      mkdirSync(redisDir, { recursive: true });
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", redisDir, "--appendonly", "no"];
      args.push("--save", persistent ? "60 1" : "");
      const log = openSync(path.join(dataDir, "redis.log"), "a");
      const child = spawn("redis-server", args, { stdio: ["ignore", log, log] });
      children.push(child);
      pids.redis = child.pid;
      await waitUntilUp("redis-server", child, port, redisPing, 15_000);
      redisUrl = `redis://127.0.0.1:${port}`;
    }
    return { mongodbUri, redisUrl, dataDir, pids, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
