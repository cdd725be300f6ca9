import { Router } from "@koa/router";
import { assertFormContentType, parseForm, readBody, type FormFields } from "../lib/form-body.js";
import { requireTwilioSignature, type WebhookAuthConfig } from "../voice/webhook-auth.js";
import { VERIFICATION_WEBHOOK_PATH, type ForwardingVerificationService } from "./forwarding-verification.service.js";

export interface VerificationRoutesDeps {
  config: WebhookAuthConfig & { maxBodyBytes: number };
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
  router.post(`${VERIFICATION_WEBHOOK_PATH}/:id`, async (ctx) => {
    assertFormContentType(ctx.get("content-type"));
    const body = parseForm(await readBody(ctx.req, deps.config.maxBodyBytes));
    requireTwilioSignature(ctx, body, deps.config);
    const twiml = await deps.verification.submit({
      verificationId: ctx.params.id ?? "",
      digits: field(body, "Digits"),
      callSid: field(body, "CallSid"),
    });
    ctx.status = 200;
    ctx.type = "text/xml";
    ctx.body = twiml;
  });
  return router;
}
