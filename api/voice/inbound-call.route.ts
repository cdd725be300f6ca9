import { Router } from "@koa/router";
import { parseInboundParams } from "./inbound-call.params.js";
import type { InboundCallService } from "./inbound-call.service.js";
import { twilioWebhook, type TwilioWebhookDeps, type TwilioWebhookState } from "./twilio-webhook.js";
import { fallbackTwiml } from "./twiml.js";

export interface VoiceRoutesDeps {
  webhook: TwilioWebhookDeps;
  inboundCalls: InboundCallService;
}

/** Twilio voice webhooks. They answer TwiML on success and JSON errors otherwise. */
export function voiceRoutes(deps: VoiceRoutesDeps): Router {
  const router = new Router();

  // Twilio or any API key; the query string carries agent_id.
  router.post<{ webhook: TwilioWebhookState }>(
    "/inbound_call",
    twilioWebhook(deps.webhook, { auth: "signature-or-key", query: true }),
    async (ctx) => {
      const { body, query, caller } = ctx.state.webhook;
      const result = await deps.inboundCalls.admit(parseInboundParams(body, query), caller);
      ctx.status = 200;
      ctx.type = "text/xml";
      ctx.body = result.twiml;
    },
  );

  // The number's Fallback URL: static TwiML so a caller hears an apology, not Twilio's error.
  router.all("/fallback", (ctx) => {
    ctx.type = "text/xml";
    ctx.body = fallbackTwiml();
  });

  return router;
}
