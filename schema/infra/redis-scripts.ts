import type { Redis } from "ioredis";

/** A Lua script that becomes a command of a Redis connection. */
export interface LuaScript {
  numberOfKeys: number;
  lua: string;
}

/** The scripts this module defined on each connection, to tell a repeat from a clash. */
const defined = new WeakMap<Redis, Map<string, LuaScript>>();

/**
 * Makes each script a command of `redis` (ioredis `defineCommand`: run by EVALSHA, the body sent
 * once per socket and again after a NOSCRIPT, in pipelines too). Idempotent per connection, so
 * every service that is handed a connection defines its own scripts in its constructor. The
 * commands' TypeScript signatures are declared next to the scripts, on ioredis's RedisCommander.
 * A name already taken by another script or by a Redis command throws.
 */
export function defineScripts(redis: Redis, scripts: Record<string, LuaScript>): void {
  let names = defined.get(redis);
  if (!names) defined.set(redis, (names = new Map<string, LuaScript>()));
  for (const [name, script] of Object.entries(scripts)) {
    const earlier = names.get(name);
    if (earlier && earlier.lua === script.lua && earlier.numberOfKeys === script.numberOfKeys) continue;
    if (earlier || name in redis) throw new Error(`Redis command ${name} is already defined`);
    redis.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    names.set(name, script);
  }
}
