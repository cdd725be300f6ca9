import { createHmac, randomBytes, randomInt } from "node:crypto";

/** Digits of a verification code; the call's <Gather numDigits> says the same. */
export const CODE_DIGITS = 6;

/** A verification's id: 128 random bits in hex, carried in the Gather action URL. */
export const VERIFICATION_ID = /^[0-9a-f]{32}$/;

export function newVerificationId(): string {
  return randomBytes(16).toString("hex");
}

/** Six digits, uniformly drawn (leading zeros kept). */
export function newVerificationCode(): string {
  return String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, "0");
}

/**
 * The key codes are hashed with, derived from a server secret with a label of its own. A plain
 * hash of six digits would be reversed by trying a million values; with a keyed hash, whoever
 * reads Redis still cannot learn a pending code.
 */
export function codeHashKey(serverSecret: string): Buffer {
  return createHmac("sha256", serverSecret).update("call24x7:forwarding-code:v1").digest();
}

/** What is stored instead of the code: HMAC-SHA256 over the verification id and the digits. */
export function hashCode(key: Buffer, verificationId: string, digits: string): string {
  return createHmac("sha256", key).update(`${verificationId}:${digits}`).digest("base64url");
}
