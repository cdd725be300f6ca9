import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Development default shared by the web process (which signs) and the media worker (which
 * verifies), so both agree without setup. Production refuses it: both configs require the env var.
 */
export const DEV_STREAM_TOKEN_SECRET = "dev-only-stream-token-secret-change-me";

/**
 * The short-lived token that /inbound_call puts in the TwiML <Parameter>s and the media worker
 * checks: HMAC-SHA256 over the call id and an expiry, so a stream can only attach to its own call.
 * Format: "v1.<expiresAtUnixSeconds>.<base64url signature>".
 */
export function signStreamToken(secret: string, callId: string, expiresAtSec: number): string {
  return `v1.${expiresAtSec}.${mac(secret, callId, expiresAtSec)}`;
}

export type StreamTokenCheck = { ok: true } | { ok: false; reason: "malformed" | "expired" | "bad-signature" };

export function verifyStreamToken(secret: string, token: string, callId: string, nowSec: number): StreamTokenCheck {
  const match = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return { ok: false, reason: "malformed" };
  const expiresAtSec = Number(match[1]);
  const expected = Buffer.from(mac(secret, callId, expiresAtSec));
  const given = Buffer.from(match[2] ?? "");
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: "bad-signature" };
  if (expiresAtSec < nowSec) return { ok: false, reason: "expired" };
  return { ok: true };
}

function mac(secret: string, callId: string, expiresAtSec: number): string {
  return createHmac("sha256", secret).update(`stream:${callId}:${expiresAtSec}`).digest("base64url");
}
