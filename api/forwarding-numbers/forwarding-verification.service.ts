import { Types } from "mongoose";
import type { Logger } from "../../schema/infra/logger.js";
import { claimForwardingNumber } from "./forwarding-number.claims.js";
import { VerificationCallsNotConfiguredError, VerificationRateLimitedError } from "./forwarding-number.errors.js";
import type { VerificationCallClient } from "./verification-call.client.js";
import { VERIFICATION_ID, codeHashKey, hashCode, newVerificationCode, newVerificationId } from "./verification-code.js";
import type { StoredVerification, VerificationStore } from "./verification.store.js";
import { endTwiml, promptTwiml, retryTwiml } from "./verification.twiml.js";

/** What the issue fixes: a code is good for ten minutes and five tries. */
export const CODE_TTL_MS = 10 * 60_000;
export const MAX_TRIES = 5;
/** A verification's status stays readable this long after it started. */
const RETENTION_MS = 24 * 60 * 60_000;
/** Seconds the verification call rings, and the longest it may last once answered. */
const RING_SECONDS = 30;
const CALL_TIME_LIMIT_SECONDS = 180;

/** The webhook path Twilio posts keypad entries to; the verification's id follows it. */
export const VERIFICATION_WEBHOOK_PATH = "/forwarding_verification";

export const VERIFICATION_STATUSES = ["pending", "verified", "locked", "expired", "superseded", "conflict", "failed"] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

/** A verification as clients see it; the code itself is never stored or shown again. */
export interface VerificationView {
  id: string;
  accountId: Types.ObjectId;
  e164: string;
  status: VerificationStatus;
  attemptsLeft: number;
  expiresAt: Date;
  createdAt: Date;
  callSid: string | null;
}

export interface ForwardingVerificationDeps {
  store: VerificationStore;
  calls: VerificationCallClient;
  /** TWILIO_VERIFICATION_CALLER_ID. */
  callerId: string | undefined;
  publicBaseUrl: string;
  /** Server secret the code hashes are keyed with (a key is derived from it). */
  codeSecret: string;
  logger: Logger;
  /** Milliseconds since the epoch; tests move it to expire codes. */
  now?: () => number;
}

export interface KeypadEntry {
  verificationId: string;
  digits: string;
  callSid: string;
}

/**
 * Proves a forwarding number: calls it and asks for the code the dashboard shows. Only someone
 * at that phone can key the code in, so the keypad entry on our call is the proof; there is
 * deliberately no way to send the code back through the API.
 */
export class ForwardingVerificationService {
  private readonly key: Buffer;
  private readonly now: () => number;

  constructor(private readonly deps: ForwardingVerificationDeps) {
    this.key = codeHashKey(deps.codeSecret);
    this.now = deps.now ?? Date.now;
  }

  /** Fails when calls cannot be placed (development), before anything is stored. */
  assertConfigured(): string {
    const missing = [...this.deps.calls.missingSettings(), ...(this.deps.callerId ? [] : ["TWILIO_VERIFICATION_CALLER_ID"])];
    if (missing.length > 0 || !this.deps.callerId) throw new VerificationCallsNotConfiguredError(missing);
    return this.deps.callerId;
  }

  /**
   * Starts a verification (replacing the account's earlier one of the number) and places the
   * call. The caller has checked the number may be verified by the account.
   */
  async start(accountId: Types.ObjectId, e164: string): Promise<{ code: string; verification: VerificationView }> {
    const callerId = this.assertConfigured();
    const id = newVerificationId();
    const code = newVerificationCode();
    const createdAtMs = this.now();
    const stored = await this.deps.store.start({
      id,
      accountId: accountId.toHexString(),
      e164,
      codeHash: hashCode(this.key, id, code),
      createdAtMs,
      expiresAtMs: createdAtMs + CODE_TTL_MS,
      maxTries: MAX_TRIES,
      retentionMs: RETENTION_MS,
    });
    if (!stored) throw new VerificationRateLimitedError();
    let callSid: string;
    try {
      ({ sid: callSid } = await this.deps.calls.create({
        to: e164,
        from: callerId,
        twiml: promptTwiml(this.actionUrl(id)),
        ringSeconds: RING_SECONDS,
        timeLimitSeconds: CALL_TIME_LIMIT_SECONDS,
      }));
    } catch (err) {
      await this.deps.store.settle(id, "pending", "failed");
      throw err;
    }
    await this.deps.store.setCallSid(id, callSid);
    this.deps.logger.info(
      { verificationId: id, accountId: String(accountId), callSid, pii: { e164 } },
      "forwarding number verification call placed",
    );
    const verification = await this.get(id);
    if (!verification) throw new Error("verification vanished right after it was stored");
    return { code, verification };
  }

  async get(id: string): Promise<VerificationView | null> {
    if (!VERIFICATION_ID.test(id)) return null;
    const stored = await this.deps.store.get(id);
    return stored ? this.view(stored) : null;
  }

  /** One keypad entry from the verification call (signature already checked): the TwiML to answer. */
  async submit(entry: KeypadEntry): Promise<string> {
    const stored = VERIFICATION_ID.test(entry.verificationId) ? await this.deps.store.get(entry.verificationId) : null;
    if (!stored) return endTwiml("invalid");
    const digitsHash = hashCode(this.key, stored.id, entry.digits);
    const result = await this.deps.store.submit(stored, digitsHash, this.now(), entry.callSid);
    const log = { verificationId: stored.id, accountId: stored.accountId, outcome: result.outcome, attemptsLeft: result.attemptsLeft };
    this.deps.logger.info(log, "forwarding number keypad entry");
    switch (result.outcome) {
      case "wrong":
        return retryTwiml(this.actionUrl(stored.id), result.attemptsLeft);
      case "correct":
        return endTwiml(await this.claim(stored));
      case "verified":
      case "locked":
      case "expired":
      case "conflict":
        return endTwiml(result.outcome);
      default:
        return endTwiml("invalid");
    }
  }

  /** The code was right: the number becomes the account's, unless another account holds it. */
  private async claim(stored: StoredVerification): Promise<"verified" | "conflict"> {
    const result = await claimForwardingNumber(new Types.ObjectId(stored.accountId), stored.e164, "call");
    const status = result === "taken" ? "conflict" : "verified";
    await this.deps.store.settle(stored.id, "correct", status);
    this.deps.logger.info(
      { verificationId: stored.id, accountId: stored.accountId, status, pii: { e164: stored.e164 } },
      "forwarding number verification settled",
    );
    return status;
  }

  private actionUrl(id: string): string {
    return `${this.deps.publicBaseUrl}${VERIFICATION_WEBHOOK_PATH}/${id}`;
  }

  private view(s: StoredVerification): VerificationView {
    return {
      id: s.id,
      accountId: new Types.ObjectId(s.accountId),
      e164: s.e164,
      status: statusOf(s, this.now()),
      attemptsLeft: Math.max(0, s.maxTries - s.tries),
      expiresAt: new Date(s.expiresAtMs),
      createdAt: new Date(s.createdAtMs),
      callSid: s.callSid,
    };
  }
}

/** The status clients see: a pending code can be out of date without anyone having typed it. */
function statusOf(s: StoredVerification, nowMs: number): VerificationStatus {
  if (s.status === "pending" || s.status === "correct") {
    if (s.status === "pending" && !s.current) return "superseded";
    if (s.status === "pending" && nowMs >= s.expiresAtMs) return "expired";
    return "pending";
  }
  return s.status;
}
