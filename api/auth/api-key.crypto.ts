import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const KEY_PREFIX = "c247_";
/** Characters of the key kept in clear as its visible prefix. */
const VISIBLE_LENGTH = KEY_PREFIX.length + 8;

/** A new random key (256 bits) with its visible prefix and the hash that is stored. */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = KEY_PREFIX + randomBytes(32).toString("base64url");
  return { key, prefix: key.slice(0, VISIBLE_LENGTH), hash: hashApiKey(key) };
}

/** SHA-256 is enough: keys are 256-bit random, so there is nothing to brute-force. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Extracts the token from "Bearer <token>", or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
  return match?.[1] ?? null;
}
