import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { Redis, type Result } from "ioredis";
import { defineScripts } from "../../schema/infra/redis-scripts.js";
import { testEnv } from "../helpers/env.js";

const SCRIPTS = {
  c247TestIncrBy: { numberOfKeys: 1, lua: `return redis.call('INCRBY', KEYS[1], ARGV[1])` },
};

declare module "ioredis" {
  interface RedisCommander<Context> {
    c247TestIncrBy(key: string, by: number): Result<number, Context>;
  }
}

/** The commands `redis` sends while `fn` runs, by name. */
async function commandsOf(redis: Redis, fn: () => Promise<unknown>): Promise<string[]> {
  const names: string[] = [];
  const original = redis.sendCommand.bind(redis);
  redis.sendCommand = (command: { name: string }, stream?: unknown) => {
    names.push(command.name);
    return original(command as never, stream as never);
  };
  try {
    await fn();
  } finally {
    redis.sendCommand = original;
  }
  return names;
}

describe("defineScripts: Lua scripts as ioredis commands", () => {
  let redis: Redis;
  const key = () => `c247:test:scripts:${randomUUID()}`;

  beforeEach(() => {
    redis = new Redis(testEnv().redisUrl);
  });
  afterEach(async () => {
    await redis.quit();
  });

  it("when two services define the same scripts on one connection, then both use them", async () => {
    defineScripts(redis, SCRIPTS);
    defineScripts(redis, SCRIPTS);
    const k = key();
    expect(await redis.c247TestIncrBy(k, 2)).to.equal(2);
    expect(await redis.c247TestIncrBy(k, 3)).to.equal(5);
    await redis.del(k);
  });

  it("when a name is taken by another script or by a Redis command, then defining it throws", () => {
    defineScripts(redis, SCRIPTS);
    expect(() => defineScripts(redis, { c247TestIncrBy: { numberOfKeys: 1, lua: "return 1" } })).to.throw(
      /c247TestIncrBy is already defined/,
    );
    expect(() => defineScripts(redis, { get: { numberOfKeys: 1, lua: "return 1" } })).to.throw(/get is already defined/);
  });

  it("when a script is called, then it is sent as one EVALSHA, also after Redis lost its scripts", async () => {
    defineScripts(redis, SCRIPTS);
    const k = key();
    await redis.c247TestIncrBy(k, 1);
    expect(await commandsOf(redis, () => redis.c247TestIncrBy(k, 1))).to.deep.equal(["evalsha"]);
    await redis.script("FLUSH");
    // NOSCRIPT: ioredis sends the body again, and the call succeeds.
    expect(await redis.c247TestIncrBy(k, 1)).to.equal(3);
    await redis.del(k);
  });

  it("when a script is queued in a pipeline, then it runs there too", async () => {
    defineScripts(redis, SCRIPTS);
    const k = key();
    const results = await redis.pipeline().c247TestIncrBy(k, 4).c247TestIncrBy(k, 1).exec();
    expect(results).to.deep.equal([
      [null, 4],
      [null, 5],
    ]);
    await redis.del(k);
  });
});
