import { AppError } from "./errors.js";

/**
 * Twilio's REST API failed or refused a request. `retryable` for timeouts, unreachable hosts,
 * 429 and 5xx; `twilioCode` is Twilio's own error code (20404, 21422...) when it sent one.
 */
export class TwilioApiError extends AppError {
  readonly httpStatus: number | null;
  readonly twilioCode: number | null;

  constructor(message: string, opts: { httpStatus: number | null; twilioCode: number | null; retryable: boolean; cause?: unknown }) {
    super("TWILIO_API_ERROR", message, { status: 502, retryable: opts.retryable, cause: opts.cause });
    this.httpStatus = opts.httpStatus;
    this.twilioCode = opts.twilioCode;
  }
}
