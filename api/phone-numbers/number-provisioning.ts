import type { Logger } from "../../schema/infra/logger.js";
import { TwilioApiError } from "../../schema/infra/twilio-api-error.js";
import { NumberNotHeldError, TwilioNotConfiguredError } from "../graphql/errors.js";
import { clearOurs, pointAtUs, type NumberWebhooks } from "./number-webhooks.js";
import type { AvailableNumber, IncomingNumber, LocalSearch, TwilioNumbersClient } from "./twilio-numbers.client.js";

/**
 * The Twilio side of phone numbers, in the platform's Twilio account: proving a number is held,
 * pointing it at our webhooks, taking our URLs off it, searching and buying numbers.
 */
export class NumberProvisioning {
  constructor(
    private readonly twilio: TwilioNumbersClient,
    private readonly webhooks: NumberWebhooks,
    private readonly log: Logger,
  ) {}

  /** Throws TWILIO_NOT_CONFIGURED unless the web process has the platform's Twilio credentials. */
  requireConfigured(what: string): void {
    if (!this.twilio.configured) throw new TwilioNotConfiguredError(what);
  }

  /** The platform's IncomingPhoneNumber for `e164`; PHONE_NUMBER_NOT_HELD when it has none. */
  async prove(e164: string): Promise<IncomingNumber> {
    const held = await this.logged("lookup", () => this.twilio.findHeld(e164));
    if (!held) throw new NumberNotHeldError(e164);
    return held;
  }

  /** Sets VoiceUrl, VoiceFallbackUrl and StatusCallback (all POST) on the number. */
  async pointAtUs(number: IncomingNumber): Promise<void> {
    await this.logged("update", () => this.twilio.update(number.sid, pointAtUs(this.webhooks, number)));
  }

  /**
   * Takes our URLs off a number we stop serving. Nothing to do when the platform no longer holds
   * it or nothing of ours is left on it, so a retry after a half-done release is harmless.
   */
  async release(sid: string): Promise<void> {
    this.requireConfigured("Releasing a number of the platform's Twilio account");
    const current = await this.logged("fetch", () => this.twilio.fetch(sid));
    if (!current) return;
    const fields = clearOurs(this.webhooks, current);
    if (Object.keys(fields).length > 0) await this.logged("update", () => this.twilio.update(sid, fields));
  }

  search(country: string, search: LocalSearch): Promise<AvailableNumber[]> {
    return this.logged("search", () => this.twilio.searchLocal(country, search));
  }

  /**
   * Buys the number already pointed at us. When the purchase fails (a lost answer, a number the
   * platform already holds), a lookup tells whether the platform holds it now: then it is ours to
   * store, configured like any proven number.
   */
  async buy(e164: string): Promise<IncomingNumber> {
    try {
      return await this.twilio.buy(e164, pointAtUs(this.webhooks));
    } catch (err) {
      if (!(err instanceof TwilioApiError)) throw err;
      const held = await this.twilio.findHeld(e164).catch(() => null);
      if (!held) {
        this.warn("purchase", err);
        throw err;
      }
      this.log.info(
        { twilioSid: held.sid, twilioCode: err.twilioCode, httpStatus: err.httpStatus },
        "phone number held after a failed purchase answer",
      );
      await this.pointAtUs(held);
      return held;
    }
  }

  private async logged<T>(request: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      this.warn(request, err);
      throw err;
    }
  }

  private warn(request: string, err: unknown): void {
    const details =
      err instanceof TwilioApiError ? { twilioCode: err.twilioCode, httpStatus: err.httpStatus, retryable: err.retryable } : {};
    this.log.warn({ err, request, ...details }, "twilio phone-number request failed");
  }
}
