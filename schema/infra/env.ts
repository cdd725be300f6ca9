import { ConfigError } from "./config-error.js";

export type Env = Record<string, string | undefined>;

/** Readers that turn environment variables into typed values, naming the variable on error. */
export function str(env: Env, name: string, fallback?: string): string {
  const value = env[name]?.trim();
  if (value) return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(name, "is required");
}

export function optionalStr(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function int(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}`);
  return value;
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

/** An absolute URL without a trailing slash; `protocols` lists the accepted schemes. */
export function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const raw = str(env, name, fallback);
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an absolute URL, got "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(" or ")}, got "${parsed.protocol}"`);
  }
  if (parsed.search || parsed.hash) throw new ConfigError(name, "must not contain a query string or fragment");
  return raw.replace(/\/+$/, "");
}

/**
 * Variables production may not leave to their development defaults (localhost URLs, no Twilio
 * auth token): each must be set, or the ConfigError names it.
 */
export function requireInProduction(env: Env, production: boolean, names: readonly string[]): void {
  if (!production) return;
  for (const name of names) if (!env[name]?.trim()) throw new ConfigError(name, "is required in production");
}
