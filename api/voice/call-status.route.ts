import { Router } from "@koa/router";
import { parseCallStatusParams } from "./call-status.params.js";
import type { CallStatusService } from "./call-status.service.js";
import { twilioWebhook, type TwilioWebhookDeps, type TwilioWebhookState } from "./twilio-webhook.js";

export interface CallStatusRoutesDeps {
  webhook: TwilioWebhookDeps;
  callStatus: CallStatusService;
}

/**
 * POST /call_status: Twilio's call status callback, signed like /inbound_call. It can close out
 * and bill a call, so besides Twilio only the platform admin key is accepted (account keys: 403).
 */
export function callStatusRoutes(deps: CallStatusRoutesDeps): Router {
  const router = new Router();
  router.post<{ webhook: TwilioWebhookState }>(
    "/call_status",
    twilioWebhook(deps.webhook, { auth: "signature-or-admin-key" }),
    async (ctx) => {
      const result = await deps.callStatus.handle(parseCallStatusParams(ctx.state.webhook.body));
      ctx.status = 200;
      ctx.body = { success: true, callId: result.callId, outcome: result.outcome };
    },
  );
  return router;
}
