import { loadCloseOutPolicy, type CloseOutPolicy } from "../schema/billing/closeout-queue.js";
import { ConfigError } from "../schema/infra/config-error.js";
import { bool, int, optionalStr, requireInProduction, str, url, type Env } from "../schema/infra/env.js";
import { parseUsd } from "../schema/billing/money.js";
import { DEFAULT_RATE_PER_MINUTE_MICROS } from "../schema/billing/rating.js";
import { DEV_STREAM_TOKEN_SECRET } from "../schema/infra/stream-token.js";

/** Configuration of the web process, read once at boot. */
export interface ApiConfig {
  production: boolean;
  port: number;
  /** Public base URL Twilio calls (signatures are computed over it), no trailing slash. */
  publicBaseUrl: string;
  /** Public ws(s) base URL of the media worker; TwiML streams go to `${mediaPublicUrl}/${callId}`. */
  mediaPublicUrl: string;
  /** The platform's Twilio account: account keys may register only numbers it holds. */
  twilioAccountSid: string | undefined;
  /** Without it, Twilio signatures cannot be checked and only Bearer keys are accepted. */
  twilioAuthToken: string | undefined;
  /** Base URL of Twilio's REST API (TWILIO_API_BASE_URL, as the worker's; a fake on loopback in tests), no trailing slash. */
  twilioApiBaseUrl: string;
  /**
   * Caller ID (E.164) of the calls that prove forwarding numbers (TWILIO_VERIFICATION_CALLER_ID):
   * one of the platform's Twilio numbers. Without it, and the Twilio account and token, no
   * verification call can be placed.
   */
  twilioVerificationCallerId: string | undefined;
  adminApiKey: string | undefined;
  streamTokenSecret: string;
  /** Seconds a stream token stays valid after the call is created. */
  streamTokenTtlSeconds: number;
  mongodbUri: string;
  redisUrl: string;
  /** Milliseconds a Redis command may take before it fails (REDIS_COMMAND_TIMEOUT_MS): a hung Redis must not freeze timers. */
  redisCommandTimeoutMs: number;
  /** Seconds of talk the available balance must cover to admit a call. */
  minBalanceSeconds: number;
  /** Default per-minute rate for new accounts, micro-dollars. */
  defaultRatePerMinuteMicros: number;
  /** Largest accepted webhook body, bytes. */
  maxBodyBytes: number;
  /**
   * Take the client address from the last X-Forwarded-For hop, the one the load balancer in front
   * appended, instead of the socket's peer (TRUST_PROXY; default true on Heroku, where DYNO is set).
   * The failed-authentication limit counts per client address.
   */
  trustProxy: boolean;
  /** Failed authentications a client address may have in a minute before its requests with credentials answer 429 (AUTH_FAILURES_PER_MINUTE). */
  authFailuresPerMinute: number;
  /** Milliseconds the webhook's routing reads may take before it answers 503 DATABASE_UNAVAILABLE (WEBHOOK_DB_BUDGET_MS). */
  webhookDbBudgetMs: number;
  /** Milliseconds a balance read may take before admission uses the balance snapshot in Redis (BALANCE_READ_BUDGET_MS). */
  balanceReadBudgetMs: number;
  logLevel: string;
  redactPii: boolean;
  /** OPENAI_API_KEY is set: agents without an engine of their own use OPENAI_REALTIME (else LOCAL). */
  openaiConfigured: boolean;
  graphql: GraphqlConfig;
  /** Attempts and backoff of the close-outs a status callback queues (CLOSEOUT_ATTEMPTS, CLOSEOUT_BACKOFF_MS). */
  closeOut: CloseOutPolicy;
}

/** Limits and switches of the GraphQL admin API at POST /graphql. */
export interface GraphqlConfig {
  /** Answer introspection queries (GRAPHQL_INTROSPECTION; default on outside production). */
  introspection: boolean;
  /** Serve the Apollo landing page on GET /graphql (GRAPHQL_LANDING_PAGE; default on outside production). */
  landingPage: boolean;
  /** Deepest field nesting a query may have, counted in fields from the root (GRAPHQL_MAX_DEPTH). */
  maxDepth: number;
  /** Highest estimated cost of one operation; lists cost their page size times their items (GRAPHQL_MAX_COMPLEXITY). */
  maxComplexity: number;
  /** Largest `first` a list accepts (GRAPHQL_MAX_PAGE_SIZE). */
  maxPageSize: number;
  /** Largest accepted request body, bytes (GRAPHQL_MAX_BODY_BYTES). */
  maxBodyBytes: number;
}

export function loadApiConfig(env: Env = process.env): ApiConfig {
  const production = env.NODE_ENV === "production";
  const port = int(env, "PORT", 3000, 0, 65535);
  const mediaPort = int(env, "MEDIA_PORT", 3001, 0, 65535);
  const adminApiKey = optionalStr(env, "ADMIN_API_KEY");
  if (adminApiKey && adminApiKey.length < 24) throw new ConfigError("ADMIN_API_KEY", "must be at least 24 characters");
  if (production && !adminApiKey) throw new ConfigError("ADMIN_API_KEY", "is required in production");
  const streamTokenSecret = production ? str(env, "STREAM_TOKEN_SECRET") : str(env, "STREAM_TOKEN_SECRET", DEV_STREAM_TOKEN_SECRET);
  if (streamTokenSecret.length < 16) throw new ConfigError("STREAM_TOKEN_SECRET", "must be at least 16 characters");
  // Without them TwiML would point Twilio at localhost, and no webhook signature could be checked.
  requireInProduction(env, production, ["PUBLIC_BASE_URL", "MEDIA_PUBLIC_URL", "TWILIO_AUTH_TOKEN"]);
  const rate = str(env, "DEFAULT_RATE_PER_MINUTE_USD", "");
  const twilioAccountSid = optionalStr(env, "TWILIO_ACCOUNT_SID");
  if (twilioAccountSid && !/^AC[0-9a-fA-F]{32}$/.test(twilioAccountSid)) {
    throw new ConfigError("TWILIO_ACCOUNT_SID", "must look like AC followed by 32 hex digits");
  }
  return {
    production,
    port,
    publicBaseUrl: url(env, "PUBLIC_BASE_URL", `http://localhost:${port}`, ["http:", "https:"]),
    mediaPublicUrl: url(env, "MEDIA_PUBLIC_URL", `ws://localhost:${mediaPort}`, ["ws:", "wss:"]),
    twilioAccountSid,
    twilioAuthToken: optionalStr(env, "TWILIO_AUTH_TOKEN"),
    twilioApiBaseUrl: url(env, "TWILIO_API_BASE_URL", "https://api.twilio.com", ["http:", "https:"]),
    twilioVerificationCallerId: callerId(env),
    adminApiKey,
    streamTokenSecret,
    streamTokenTtlSeconds: int(env, "STREAM_TOKEN_TTL_SECONDS", 300, 10, 86_400),
    mongodbUri: str(env, "MONGODB_URI"),
    redisUrl: str(env, "REDIS_URL"),
    redisCommandTimeoutMs: int(env, "REDIS_COMMAND_TIMEOUT_MS", 2_000, 100, 60_000),
    minBalanceSeconds: int(env, "MIN_BALANCE_SECONDS", 60, 0, 3600),
    defaultRatePerMinuteMicros: rate ? parseRate(rate) : DEFAULT_RATE_PER_MINUTE_MICROS,
    maxBodyBytes: int(env, "MAX_BODY_BYTES", 32 * 1024, 1024, 1024 * 1024),
    trustProxy: bool(env, "TRUST_PROXY", Boolean(env.DYNO?.trim())),
    authFailuresPerMinute: int(env, "AUTH_FAILURES_PER_MINUTE", 20, 1, 1_000_000),
    // Together well under the 2 s in which Twilio must hear back to play the fallback at once.
    webhookDbBudgetMs: int(env, "WEBHOOK_DB_BUDGET_MS", 1_000, 10, 10_000),
    balanceReadBudgetMs: int(env, "BALANCE_READ_BUDGET_MS", 300, 10, 10_000),
    logLevel: str(env, "LOG_LEVEL", production ? "info" : "debug"),
    redactPii: bool(env, "LOG_REDACT_PII", production),
    openaiConfigured: Boolean(env.OPENAI_API_KEY?.trim()),
    closeOut: loadCloseOutPolicy(env),
    graphql: {
      introspection: bool(env, "GRAPHQL_INTROSPECTION", !production),
      landingPage: bool(env, "GRAPHQL_LANDING_PAGE", !production),
      maxDepth: int(env, "GRAPHQL_MAX_DEPTH", 8, 2, 50),
      maxComplexity: int(env, "GRAPHQL_MAX_COMPLEXITY", 5_000, 10, 1_000_000),
      maxPageSize: int(env, "GRAPHQL_MAX_PAGE_SIZE", 100, 1, 1_000),
      maxBodyBytes: int(env, "GRAPHQL_MAX_BODY_BYTES", 256 * 1024, 1024, 10 * 1024 * 1024),
    },
  };
}

function callerId(env: Env): string | undefined {
  const value = optionalStr(env, "TWILIO_VERIFICATION_CALLER_ID");
  if (value !== undefined && !/^\+[1-9]\d{1,14}$/.test(value)) {
    throw new ConfigError("TWILIO_VERIFICATION_CALLER_ID", `must be an E.164 number like +14155550100, got "${value.slice(0, 32)}"`);
  }
  return value;
}

function parseRate(raw: string): number {
  try {
    return parseUsd(raw, "DEFAULT_RATE_PER_MINUTE_USD", 100_000_000);
  } catch (err) {
    throw new ConfigError("DEFAULT_RATE_PER_MINUTE_USD", (err as Error).message);
  }
}
