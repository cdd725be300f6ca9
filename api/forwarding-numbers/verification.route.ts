import { Router } from "@koa/router";
import type { FormFields } from "../lib/form-body.js";
import { twilioWebhook, type TwilioWebhookDeps, type TwilioWebhookState } from "../voice/twilio-webhook.js";
import { VERIFICATION_WEBHOOK_PATH, type ForwardingVerificationService } from "./forwarding-verification.service.js";

export interface VerificationRoutesDeps {
  webhook: TwilioWebhookDeps;
  verification: ForwardingVerificationService;
}

function field(body: FormFields, name: string): string {
  const value = body[name];
  return typeof value === "string" ? value : "";
}

/**
 * POST /forwarding_verification/{id}: the Gather action of a verification call, with the digits
 * the person at the phone typed. Only Twilio's signature is accepted (never an API key), and the
 * verification is the one named in the URL, not whatever number Twilio reports as From.
 */
export function verificationRoutes(deps: VerificationRoutesDeps): Router {
  const router = new Router();
  router.post<{ webhook: TwilioWebhookState }>(
    `${VERIFICATION_WEBHOOK_PATH}/:id`,
    twilioWebhook(deps.webhook, { auth: "signature" }),
    async (ctx) => {
      const { body } = ctx.state.webhook;
      const twiml = await deps.verification.submit({
        verificationId: ctx.params.id ?? "",
        digits: field(body, "Digits"),
        callSid: field(body, "CallSid"),
      });
      ctx.status = 200;
      ctx.type = "text/xml";
      ctx.body = twiml;
    },
  );
  return router;
}
