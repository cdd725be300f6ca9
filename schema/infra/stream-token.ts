import { createHmac, timingSafeEqual } from "node:crypto";
import { CALL_SID } from "./twilio-ids.js";

/**
 * Development default shared by the web process (which signs) and the media worker (which
 * verifies), so both agree without setup. Production refuses it: both configs require the env var.
 */
export const DEV_STREAM_TOKEN_SECRET = "dev-only-stream-token-secret-change-me";

/** The facts of an admitted call, signed into its stream token by the web process. */
export interface StreamClaims {
  /** 24 hex digits. */
  callId: string;
  callSid: string;
  /** 24 hex digits. */
  accountId: string;
  /** 24 hex digits. */
  agentId: string;
  /** Per-minute rate fixed at admission, micro-dollars. */
  ratePerMinuteMicros: number;
  expiresAtSec: number;
}

const ID_BYTES = 12;
const INT_BYTES = 6;
/** Three ids, the rate and the expiry; the CallSid fills the rest. */
const FIXED_BYTES = 3 * ID_BYTES + 2 * INT_BYTES;
const HEX_ID = /^[0-9a-f]{24}$/;
const MAX_INT = 2 ** (8 * INT_BYTES) - 1;

/**
 * The short-lived token that /inbound_call puts in the TwiML <Parameter>s and the media worker
 * checks. It carries the call's facts, so a worker can accept the stream of a call whose
 * database record is not written yet (the database was away at admission), and an HMAC-SHA256
 * over them, so a stream can only attach to its own call with the facts it was admitted with.
 * Format: "v2.<base64url payload>.<base64url signature>", the payload being the ids as 12 bytes
 * each (call, account, agent), rate and expiry as 48-bit big-endian integers, then the CallSid.
 */
export function signStreamToken(secret: string, claims: StreamClaims): string {
  const payload = encode(claims);
  return `v2.${payload.toString("base64url")}.${mac(secret, payload)}`;
}

export type StreamTokenRefusal = "malformed" | "expired" | "bad-signature" | "wrong-call";
/** `claims` is null for a v1 token (issued before tokens carried facts): its call is in the database. */
export type StreamTokenCheck = { ok: true; claims: StreamClaims | null } | { ok: false; reason: StreamTokenRefusal };

const V2 = /^v2\.([A-Za-z0-9_-]{60,160})\.([A-Za-z0-9_-]{43})$/;
const V1 = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

export function verifyStreamToken(secret: string, token: string, callId: string, nowSec: number): StreamTokenCheck {
  const v2 = V2.exec(token);
  if (v2) {
    const payload = Buffer.from(v2[1] ?? "", "base64url");
    if (!sameMac(mac(secret, payload), v2[2] ?? "")) return { ok: false, reason: "bad-signature" };
    const claims = decode(payload);
    if (!claims) return { ok: false, reason: "malformed" };
    if (claims.expiresAtSec < nowSec) return { ok: false, reason: "expired" };
    if (claims.callId !== callId) return { ok: false, reason: "wrong-call" };
    return { ok: true, claims };
  }
  // v1 tokens still verify while the web processes that issued them are being replaced.
  const v1 = V1.exec(token);
  if (!v1) return { ok: false, reason: "malformed" };
  const expiresAtSec = Number(v1[1]);
  if (!sameMac(v1Mac(secret, callId, expiresAtSec), v1[2] ?? "")) return { ok: false, reason: "bad-signature" };
  if (expiresAtSec < nowSec) return { ok: false, reason: "expired" };
  return { ok: true, claims: null };
}

function encode(c: StreamClaims): Buffer {
  if (![c.callId, c.accountId, c.agentId].every((id) => HEX_ID.test(id))) throw new RangeError("stream token ids must be 24 hex digits");
  if (!CALL_SID.test(c.callSid)) throw new RangeError("stream token CallSid has an invalid format");
  for (const n of [c.ratePerMinuteMicros, c.expiresAtSec]) {
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_INT) throw new RangeError("stream token integers must fit 48 bits");
  }
  const buf = Buffer.alloc(FIXED_BYTES);
  buf.write(c.callId, 0, "hex");
  buf.write(c.accountId, ID_BYTES, "hex");
  buf.write(c.agentId, 2 * ID_BYTES, "hex");
  buf.writeUIntBE(c.ratePerMinuteMicros, 3 * ID_BYTES, INT_BYTES);
  buf.writeUIntBE(c.expiresAtSec, 3 * ID_BYTES + INT_BYTES, INT_BYTES);
  return Buffer.concat([buf, Buffer.from(c.callSid, "latin1")]);
}

function decode(payload: Buffer): StreamClaims | null {
  if (payload.length < FIXED_BYTES + 2) return null;
  const callSid = payload.subarray(FIXED_BYTES).toString("latin1");
  if (!CALL_SID.test(callSid)) return null;
  return {
    callId: payload.subarray(0, ID_BYTES).toString("hex"),
    accountId: payload.subarray(ID_BYTES, 2 * ID_BYTES).toString("hex"),
    agentId: payload.subarray(2 * ID_BYTES, 3 * ID_BYTES).toString("hex"),
    ratePerMinuteMicros: payload.readUIntBE(3 * ID_BYTES, INT_BYTES),
    expiresAtSec: payload.readUIntBE(3 * ID_BYTES + INT_BYTES, INT_BYTES),
    callSid,
  };
}

/** Constant time: how much of a forged signature matched must not show in the timing. */
function sameMac(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function mac(secret: string, payload: Buffer): string {
  return createHmac("sha256", secret).update("stream:v2:").update(payload).digest("base64url");
}

function v1Mac(secret: string, callId: string, expiresAtSec: number): string {
  return createHmac("sha256", secret).update(`stream:${callId}:${expiresAtSec}`).digest("base64url");
}
