import { AppError } from "../../schema/infra/errors.js";

/** Verification calls need Twilio credentials and a caller ID; development runs have neither. */
export class VerificationCallsNotConfiguredError extends AppError {
  constructor(missing: string[]) {
    super(
      "TWILIO_NOT_CONFIGURED",
      `Forwarding numbers are proven by a call, and calls need ${missing.join(", ")}; an admin key may mark a number verified with setForwardingNumberVerified`,
      { status: 503 },
    );
  }
}

/** Twilio did not place the verification call (refused it, or did not answer). */
export class VerificationCallFailedError extends AppError {
  readonly twilioCode: number | null;

  constructor(message: string, opts: { twilioCode: number | null; retryable: boolean; cause?: unknown }) {
    super("VERIFICATION_CALL_FAILED", message, { status: 502, retryable: opts.retryable, cause: opts.cause });
    this.twilioCode = opts.twilioCode;
  }
}

/** Too many verification calls lately: each one rings somebody's phone at our expense. */
export class VerificationRateLimitedError extends AppError {
  constructor() {
    super("RATE_LIMITED", "Too many verification calls for this account or number; try again in an hour", { status: 429, retryable: true });
  }
}
