import { Router } from "@koa/router";
import { assertFormContentType, parseForm, readBody } from "../lib/form-body.js";
import { parseCallStatusParams } from "./call-status.params.js";
import type { CallStatusService } from "./call-status.service.js";
import { authenticateTwilioOrAdmin, type WebhookAuthConfig, type WebhookAuthDeps } from "./webhook-auth.js";

export interface CallStatusRoutesDeps {
  config: WebhookAuthConfig & { maxBodyBytes: number };
  auth: WebhookAuthDeps;
  callStatus: CallStatusService;
}

/**
 * POST /call_status: Twilio's call status callback, signed like /inbound_call. It can close out
 * and bill a call, so besides Twilio only the platform admin key is accepted (account keys: 403).
 */
export function callStatusRoutes(deps: CallStatusRoutesDeps): Router {
  const router = new Router();
  router.post("/call_status", async (ctx) => {
    assertFormContentType(ctx.get("content-type"));
    const body = parseForm(await readBody(ctx.req, deps.config.maxBodyBytes));
    await authenticateTwilioOrAdmin(ctx, body, deps.config, deps.auth);
    const result = await deps.callStatus.handle(parseCallStatusParams(body));
    ctx.status = 200;
    ctx.body = { success: true, callId: result.callId, outcome: result.outcome };
  });
  return router;
}
