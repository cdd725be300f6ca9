import type { Context, Middleware } from "koa";
import { ForbiddenError, UnauthorizedError } from "../../schema/infra/errors.js";
import { withinBudget } from "../../schema/infra/time-budget.js";
import { bearerToken } from "../auth/api-key.crypto.js";
import type { ApiKeyAuthenticator } from "../auth/api-key-authenticator.js";
import type { AuthFailures } from "../auth/auth-failures.js";
import { assertFormContentType, parseForm, readBody, type FormFields } from "../lib/form-body.js";
import type { WebhookCaller } from "./inbound-call.service.js";
import { isValidTwilioSignature } from "./twilio-signature.js";

/** Milliseconds an API key lookup may take: Twilio must hear back within 2 s to fall back in time. */
const KEY_LOOKUP_BUDGET_MS = 1_000;

export interface TwilioWebhookDeps {
  config: {
    publicBaseUrl: string;
    twilioAuthToken: string | undefined;
    /** Largest request body read, bytes. */
    maxBodyBytes: number;
  };
  apiKeys: ApiKeyAuthenticator;
  /** Failed authentications per client address. */
  failures: AuthFailures;
}

/**
 * Who may call the webhook: Twilio (a valid X-Twilio-Signature) and
 * - "signature-or-key": any API key (Authorization: Bearer);
 * - "signature-or-admin-key": the platform admin's key only, for webhooks that move a bill
 *   (an account key could end its own live calls and bill them at a duration it chose): FORBIDDEN
 *   before anything is read or written;
 * - "signature": nobody else, for webhooks whose authority is the phone call itself (the keypad
 *   entry that proves a forwarding number), where a key proves nothing.
 */
export type WebhookAuth = "signature-or-key" | "signature-or-admin-key" | "signature";

export interface TwilioWebhookOptions {
  auth: WebhookAuth;
  /** Parse the query string as form fields too (refused like the body's), before authentication. */
  query?: boolean;
}

/** What twilioWebhook leaves on ctx.state.webhook for the route. */
export interface TwilioWebhookState {
  body: FormFields;
  /** The query string's fields; empty unless the options asked for them. */
  query: FormFields;
  caller: WebhookCaller;
}

/**
 * The front of every Twilio webhook: the form content type, the body (at most maxBodyBytes),
 * optionally the query, then the caller's authentication, in that order; the result goes on
 * ctx.state.webhook. A present but wrong credential is refused, never ignored; where keys are
 * accepted it is counted against the client address (ctx.ip): past the limit, a key is refused
 * with 429 before it is looked up, and so is every further wrong signature. A valid signature is
 * still accepted from such an address: checking it costs no lookup, it keeps the admission path
 * free of an extra Redis round trip, and forged requests from behind the same proxy cannot stop
 * Twilio's calls.
 */
export function twilioWebhook(deps: TwilioWebhookDeps, options: TwilioWebhookOptions): Middleware<{ webhook: TwilioWebhookState }> {
  return async (ctx, next) => {
    assertFormContentType(ctx.get("content-type"));
    const body = parseForm(await readBody(ctx.req, deps.config.maxBodyBytes));
    const query = options.query ? parseForm(ctx.querystring) : (Object.create(null) as FormFields);
    const caller = await authenticate(ctx, body, options.auth, deps);
    ctx.state.webhook = { body, query, caller };
    await next();
  };
}

async function authenticate(ctx: Context, body: FormFields, auth: WebhookAuth, deps: TwilioWebhookDeps): Promise<WebhookCaller> {
  if (auth === "signature") {
    requireSignature(ctx, body, deps.config);
    return { kind: "twilio" };
  }
  const caller = await signatureOrKey(ctx, body, deps);
  if (auth === "signature-or-admin-key" && caller.kind === "key" && caller.principal.kind !== "admin") {
    throw new ForbiddenError("Only Twilio (a signed request) or the platform admin key may report call status");
  }
  return caller;
}

async function signatureOrKey(ctx: Context, body: FormFields, deps: TwilioWebhookDeps): Promise<WebhookCaller> {
  const authorization = ctx.get("authorization");
  if (authorization) {
    await deps.failures.assertAllowed(ctx.ip);
    const token = bearerToken(authorization);
    const principal = token ? await withinBudget(deps.apiKeys.authenticate(token), KEY_LOOKUP_BUDGET_MS) : null;
    if (!principal) throw (await deps.failures.record(ctx.ip)) ?? new UnauthorizedError("Invalid API key");
    return { kind: "key", principal };
  }
  const signature = ctx.get("x-twilio-signature");
  if (signature && deps.config.twilioAuthToken) {
    if (validSignature(ctx, body, signature, deps.config.twilioAuthToken, deps.config.publicBaseUrl)) return { kind: "twilio" };
    throw (await deps.failures.record(ctx.ip)) ?? new UnauthorizedError("Invalid Twilio signature");
  }
  throw new UnauthorizedError("Missing X-Twilio-Signature or Authorization header");
}

/** Twilio's signature and nothing else. A wrong one is not counted against the client address. */
function requireSignature(ctx: Context, body: FormFields, config: TwilioWebhookDeps["config"]): void {
  if (!config.twilioAuthToken) throw new UnauthorizedError("Twilio signatures cannot be checked: TWILIO_AUTH_TOKEN is not set");
  const signature = ctx.get("x-twilio-signature");
  if (!signature) throw new UnauthorizedError("Missing X-Twilio-Signature");
  if (!validSignature(ctx, body, signature, config.twilioAuthToken, config.publicBaseUrl))
    throw new UnauthorizedError("Invalid Twilio signature");
}

function validSignature(ctx: Context, params: FormFields, signature: string, authToken: string, publicBaseUrl: string): boolean {
  return isValidTwilioSignature({ authToken, signature, publicBaseUrl, originalUrl: ctx.originalUrl, params });
}
