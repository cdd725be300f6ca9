import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { expect } from "chai";
import { Redis } from "ioredis";
import { pino } from "pino";
import { checkEvictionPolicy, evictionPolicyVerdict } from "../../schema/infra/redis-checks.js";
import { testEnv } from "../helpers/env.js";
import { freePort } from "../helpers/free-port.js";

interface LogLine {
  level: number;
  msg: string;
  policy?: string;
  err?: string;
}

/** A pino logger whose lines are kept for the test to read. */
function capturingLogger() {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { log: pino({ level: "info" }, sink), lines };
}

/** A private redis-server with extra arguments, on loopback, with no persistence. */
async function startRedisServer(extra: string[]): Promise<{ redis: Redis; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "c247-redis-check-"));
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", ...extra],
    {
      stdio: "ignore",
    },
  );
  const redis = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1, retryStrategy: (n) => (n > 50 ? null : 100) });
  redis.on("error", () => undefined);
  await redis.ping();
  return {
    redis,
    async stop() {
      redis.disconnect();
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe("redis checks: maxmemory-policy at boot", function () {
  this.timeout(20_000);

  it("when CONFIG GET reports noeviction, then the verdict is ok; any other policy is evicting; no value is unknown", () => {
    expect(evictionPolicyVerdict(["maxmemory-policy", "noeviction"])).to.deep.equal({ verdict: "ok", policy: "noeviction" });
    expect(evictionPolicyVerdict(["maxmemory-policy", "volatile-lru"])).to.deep.equal({ verdict: "evicting", policy: "volatile-lru" });
    expect(evictionPolicyVerdict([])).to.include({ verdict: "unknown" });
  });

  it("when the test run's Redis is asked, then it runs with noeviction and AOF, and nothing is logged", async () => {
    const redis = new Redis(testEnv().redisUrl, { maxRetriesPerRequest: 1 });
    try {
      const { log, lines } = capturingLogger();
      expect(await checkEvictionPolicy(redis, log)).to.deep.equal({ verdict: "ok", policy: "noeviction" });
      expect(await redis.config("GET", "appendonly")).to.deep.equal(["appendonly", "yes"]);
      expect(lines).to.deep.equal([]);
    } finally {
      redis.disconnect();
    }
  });

  it("when a Redis evicts with allkeys-lru, then a warning names the policy in a field", async () => {
    const server = await startRedisServer(["--maxmemory-policy", "allkeys-lru"]);
    try {
      const { log, lines } = capturingLogger();
      expect(await checkEvictionPolicy(server.redis, log)).to.deep.equal({ verdict: "evicting", policy: "allkeys-lru" });
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include({ level: 40, policy: "allkeys-lru" });
      expect(lines[0]!.msg).to.match(/^redis maxmemory-policy is not noeviction/);
    } finally {
      await server.stop();
    }
  });

  it("when a managed Redis refuses CONFIG, then the process warns that the policy could not be checked", async () => {
    const server = await startRedisServer(["--rename-command", "CONFIG", ""]);
    try {
      const { log, lines } = capturingLogger();
      const check = await checkEvictionPolicy(server.redis, log);
      expect(check.verdict).to.equal("unknown");
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include({ level: 40, msg: "redis maxmemory-policy could not be checked" });
      expect(lines[0]!.err).to.match(/unknown command/i);
    } finally {
      await server.stop();
    }
  });
});
