import type { Context } from "koa";
import { ForbiddenError, UnauthorizedError } from "../../schema/lib/errors.js";
import { bearerToken } from "../auth/api-key.crypto.js";
import type { ApiKeyService } from "../auth/api-key.service.js";
import type { AuthFailures } from "../auth/auth-failures.js";
import { withinBudget } from "../../schema/lib/time-budget.js";
import type { FormFields } from "../lib/form-body.js";
import type { WebhookCaller } from "./inbound-call.service.js";
import { isValidTwilioSignature } from "./twilio-signature.js";

/** Milliseconds an API key lookup may take: Twilio must hear back within 2 s to fall back in time. */
const KEY_LOOKUP_BUDGET_MS = 1_000;

export interface WebhookAuthConfig {
  publicBaseUrl: string;
  twilioAuthToken: string | undefined;
}

/** How a webhook checks its callers: the keys, and the failed authentications per client address. */
export interface WebhookAuthDeps {
  apiKeys: ApiKeyService;
  failures: AuthFailures;
}

/**
 * A webhook is accepted from Twilio (valid X-Twilio-Signature) or from an API key holder
 * (Authorization: Bearer). A present but wrong credential is refused, never ignored, and counted
 * against the client address (ctx.ip): past the limit, a key is refused with 429 before it is
 * looked up, and so is every further wrong signature. A valid signature is still accepted from
 * such an address: checking it costs no lookup, it keeps the admission path free of an extra
 * Redis round trip, and forged requests from behind the same proxy cannot stop Twilio's calls.
 */
export async function authenticateWebhook(ctx: Context, params: FormFields, config: WebhookAuthConfig, deps: WebhookAuthDeps): Promise<WebhookCaller> {
  const authorization = ctx.get("authorization");
  if (authorization) {
    await deps.failures.assertAllowed(ctx.ip);
    const token = bearerToken(authorization);
    const principal = token ? await withinBudget(deps.apiKeys.authenticate(token), KEY_LOOKUP_BUDGET_MS) : null;
    if (!principal) throw (await deps.failures.record(ctx.ip)) ?? new UnauthorizedError("Invalid API key");
    return { kind: "key", principal };
  }
  const signature = ctx.get("x-twilio-signature");
  if (signature && config.twilioAuthToken) {
    const valid = isValidTwilioSignature({
      authToken: config.twilioAuthToken,
      signature,
      publicBaseUrl: config.publicBaseUrl,
      originalUrl: ctx.originalUrl,
      params,
    });
    if (valid) return { kind: "twilio" };
    throw (await deps.failures.record(ctx.ip)) ?? new UnauthorizedError("Invalid Twilio signature");
  }
  throw new UnauthorizedError("Missing X-Twilio-Signature or Authorization header");
}

/**
 * For webhooks that move a bill (/call_status closes out and charges a call): Twilio's signature
 * or the platform admin's key. An account key is refused FORBIDDEN before anything is read or
 * written, or its holder could end its own live calls and bill them at a duration it chose.
 */
export async function authenticateTwilioOrAdmin(
  ctx: Context,
  params: FormFields,
  config: WebhookAuthConfig,
  deps: WebhookAuthDeps,
): Promise<WebhookCaller> {
  const caller = await authenticateWebhook(ctx, params, config, deps);
  if (caller.kind === "key" && caller.principal.kind !== "admin") {
    throw new ForbiddenError("Only Twilio (a signed request) or the platform admin key may report call status");
  }
  return caller;
}

/**
 * Twilio's signature and nothing else: for webhooks whose authority is the phone call itself
 * (the keypad entry that proves a forwarding number), where an API key proves nothing.
 */
export function requireTwilioSignature(ctx: Context, params: FormFields, config: WebhookAuthConfig): void {
  if (!config.twilioAuthToken) throw new UnauthorizedError("Twilio signatures cannot be checked: TWILIO_AUTH_TOKEN is not set");
  const signature = ctx.get("x-twilio-signature");
  if (!signature) throw new UnauthorizedError("Missing X-Twilio-Signature");
  const valid = isValidTwilioSignature({
    authToken: config.twilioAuthToken,
    signature,
    publicBaseUrl: config.publicBaseUrl,
    originalUrl: ctx.originalUrl,
    params,
  });
  if (!valid) throw new UnauthorizedError("Invalid Twilio signature");
}
