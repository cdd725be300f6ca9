import { Router } from "@koa/router";
import { assertFormContentType, parseForm, readBody } from "../lib/form-body.js";
import { parseInboundParams } from "./inbound-call.params.js";
import type { InboundCallService } from "./inbound-call.service.js";
import { fallbackTwiml } from "./twiml.js";
import { authenticateWebhook, type WebhookAuthConfig, type WebhookAuthDeps } from "./webhook-auth.js";

export interface VoiceRoutesDeps {
  config: WebhookAuthConfig & { maxBodyBytes: number };
  auth: WebhookAuthDeps;
  inboundCalls: InboundCallService;
}

/** Twilio voice webhooks. They answer TwiML on success and JSON errors otherwise. */
export function voiceRoutes(deps: VoiceRoutesDeps): Router {
  const router = new Router();

  router.post("/inbound_call", async (ctx) => {
    assertFormContentType(ctx.get("content-type"));
    const body = parseForm(await readBody(ctx.req, deps.config.maxBodyBytes));
    const query = parseForm(ctx.querystring);
    const caller = await authenticateWebhook(ctx, body, deps.config, deps.auth);
    const result = await deps.inboundCalls.admit(parseInboundParams(body, query), caller);
    ctx.status = 200;
    ctx.type = "text/xml";
    ctx.body = result.twiml;
  });

  // The number's Fallback URL: static TwiML so a caller hears an apology, not Twilio's error.
  router.all("/fallback", (ctx) => {
    ctx.type = "text/xml";
    ctx.body = fallbackTwiml();
  });

  return router;
}
