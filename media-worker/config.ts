import { loadCloseOutPolicy, type CloseOutPolicy } from "../schema/billing/closeout-queue.js";
import { ConfigError } from "../schema/infra/config-error.js";
import { bool, int, optionalStr, requireInProduction, str, url, type Env } from "../schema/infra/env.js";
import { DEV_STREAM_TOKEN_SECRET } from "../schema/infra/stream-token.js";
import { loadEngineConfig, type EngineConfig } from "./engines/engine-config.js";

/** Configuration of the media worker process, read once at boot. */
export interface MediaConfig {
  production: boolean;
  /** Port of the WebSocket server (0: any free port, for tests). */
  port: number;
  /**
   * Public ws(s) base URL Twilio connects to, no trailing slash: the upgrade's X-Twilio-Signature
   * is computed over `${mediaPublicUrl}/${callId}`, the URL in the TwiML.
   */
  mediaPublicUrl: string;
  streamTokenSecret: string;
  /** Seconds a stream token stays valid (as configured for the web process). */
  streamTokenTtlSeconds: number;
  /** Seconds after admission when a call that never streamed is closed out (default token TTL + 60). */
  ringingTimeoutSeconds: number;
  /** Used for the REST hang-up's Basic auth; falls back to the AccountSid in the stream's start. */
  twilioAccountSid: string | undefined;
  /** Checks upgrade signatures and authenticates REST hang-ups; without it neither happens. */
  twilioAuthToken: string | undefined;
  /** Base URL of Twilio's REST API (a fake on loopback in tests), no trailing slash. */
  twilioApiBaseUrl: string;
  mongodbUri: string;
  redisUrl: string;
  /** Milliseconds a Redis command may take before it fails (REDIS_COMMAND_TIMEOUT_MS): a hung Redis must not freeze timers. */
  redisCommandTimeoutMs: number;
  /** Seconds of talk reserved each time a live call extends its hold on the balance. */
  reservationChunkSeconds: number;
  /**
   * Milliseconds a goodbye is expected to last: the goodbye begins this long before the money or
   * the time runs out, the tone lasts this long, and the hang-up waits at least this long (longer
   * while a spoken goodbye's audio is longer) plus a margin for its mark.
   */
  goodbyeMs: number;
  /** Platform cap on a call's connected seconds; the agent's own maximum applies when lower. */
  maxCallSeconds: number;
  /** Milliseconds between heartbeats of live sessions; a session is dead after 3 missed beats. */
  heartbeatIntervalMs: number;
  /** Milliseconds between sweeps for calls whose session went silent. */
  sweepIntervalMs: number;
  /**
   * Milliseconds a socket has from its upgrade until its stream is live: waiting for `start`, and
   * while the `start` is being authorized (a stalled database). Then it is closed (1008).
   */
  streamStartTimeoutMs: number;
  /** Sockets of one client address that may be open without a live stream; more are refused with HTTP 429. */
  maxPendingSocketsPerIp: number;
  /** Take the client address from the last X-Forwarded-For hop (behind a load balancer such as Heroku's router). */
  trustProxy: boolean;
  /** Milliseconds without any message from Twilio (it sends 50 a second) before a stream counts as broken. */
  streamIdleTimeoutMs: number;
  /** Largest accepted WebSocket message in bytes; a larger one closes the stream (1009). */
  maxMessageBytes: number;
  /** Milliseconds SIGTERM waits for live calls to end before hanging up on them. */
  shutdownDrainMs: number;
  /** Close-out jobs processed at once by this worker. */
  closeOutConcurrency: number;
  /** Attempts and backoff of close-out jobs (CLOSEOUT_ATTEMPTS, CLOSEOUT_BACKOFF_MS). */
  closeOut: CloseOutPolicy;
  /** Milliseconds between reconciler passes over the database's open calls (RECONCILE_INTERVAL_MS). */
  reconcileIntervalMs: number;
  /** Milliseconds between a live call's connected-time checkpoints on its record; at most 30 s (CHECKPOINT_INTERVAL_MS). */
  checkpointIntervalMs: number;
  logLevel: string;
  redactPii: boolean;
  /** Voice engines: OpenAI Realtime, the local engine and its optional LLM, per-worker override. */
  engines: EngineConfig;
}

/**
 * The port to listen on. `npm start` runs the worker beside the web process with one shared
 * environment, where PORT belongs to the web process: so MEDIA_PORT wins, and PORT is used only
 * when the worker is its own app, on a platform that routes outside traffic only to the process
 * listening on PORT. That is said with MEDIA_WORKER_STANDALONE=true, or detected on Heroku: a
 * worker running in a `web` dyno (DYNO=web.N) is the web process of a second app.
 */
function listenPort(env: Env): number {
  if (env.MEDIA_PORT?.trim()) return int(env, "MEDIA_PORT", 3001, 0, 65535);
  const standalone = bool(env, "MEDIA_WORKER_STANDALONE", /^web\.\d+$/.test(env.DYNO ?? ""));
  if (standalone && env.PORT?.trim()) return int(env, "PORT", 3001, 0, 65535);
  return 3001;
}

export function loadMediaConfig(env: Env = process.env): MediaConfig {
  const production = env.NODE_ENV === "production";
  const port = listenPort(env);
  const streamTokenSecret = production ? str(env, "STREAM_TOKEN_SECRET") : str(env, "STREAM_TOKEN_SECRET", DEV_STREAM_TOKEN_SECRET);
  if (streamTokenSecret.length < 16) throw new ConfigError("STREAM_TOKEN_SECRET", "must be at least 16 characters");
  const twilioAccountSid = optionalStr(env, "TWILIO_ACCOUNT_SID");
  if (twilioAccountSid && !/^AC[0-9a-fA-F]{32}$/.test(twilioAccountSid)) {
    throw new ConfigError("TWILIO_ACCOUNT_SID", "must look like AC followed by 32 hex digits");
  }
  const streamTokenTtlSeconds = int(env, "STREAM_TOKEN_TTL_SECONDS", 300, 10, 86_400);
  // MEDIA_PUBLIC_URL is what upgrade signatures are computed over, and TWILIO_AUTH_TOKEN checks
  // them: without both, anyone could open streams. The worker does not use PUBLIC_BASE_URL; it
  // is asked of both processes so that one production environment is checked whole, whichever
  // process boots on it.
  requireInProduction(env, production, ["PUBLIC_BASE_URL", "MEDIA_PUBLIC_URL", "TWILIO_AUTH_TOKEN"]);
  if (production) url(env, "PUBLIC_BASE_URL", "", ["http:", "https:"]);
  return {
    production,
    port,
    mediaPublicUrl: url(env, "MEDIA_PUBLIC_URL", `ws://localhost:${port}`, ["ws:", "wss:"]),
    streamTokenSecret,
    streamTokenTtlSeconds,
    ringingTimeoutSeconds: int(env, "RINGING_TIMEOUT_SECONDS", streamTokenTtlSeconds + 60, streamTokenTtlSeconds, 7 * 86_400),
    twilioAccountSid,
    twilioAuthToken: optionalStr(env, "TWILIO_AUTH_TOKEN"),
    twilioApiBaseUrl: url(env, "TWILIO_API_BASE_URL", "https://api.twilio.com", ["http:", "https:"]),
    mongodbUri: str(env, "MONGODB_URI"),
    redisUrl: str(env, "REDIS_URL"),
    redisCommandTimeoutMs: int(env, "REDIS_COMMAND_TIMEOUT_MS", 2_000, 100, 60_000),
    reservationChunkSeconds: int(env, "RESERVATION_CHUNK_SECONDS", 30, 1, 600),
    goodbyeMs: int(env, "GOODBYE_MS", 4_000, 0, 10_000),
    maxCallSeconds: int(env, "MAX_CALL_SECONDS", 4 * 3600, 1, 24 * 3600),
    heartbeatIntervalMs: int(env, "HEARTBEAT_INTERVAL_MS", 5_000, 50, 60_000),
    sweepIntervalMs: int(env, "SWEEP_INTERVAL_MS", 15_000, 50, 3_600_000),
    streamStartTimeoutMs: int(env, "STREAM_START_TIMEOUT_MS", 10_000, 100, 120_000),
    maxPendingSocketsPerIp: int(env, "MEDIA_MAX_PENDING_SOCKETS_PER_IP", 20, 1, 100_000),
    // Heroku's router is the peer of every socket there; it appends the real client to X-Forwarded-For.
    trustProxy: bool(env, "MEDIA_TRUST_PROXY", Boolean(env.DYNO?.trim())),
    streamIdleTimeoutMs: int(env, "STREAM_IDLE_TIMEOUT_MS", 15_000, 100, 600_000),
    maxMessageBytes: int(env, "MAX_MESSAGE_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024),
    shutdownDrainMs: int(env, "SHUTDOWN_DRAIN_MS", 20_000, 0, 600_000),
    closeOutConcurrency: int(env, "CLOSEOUT_CONCURRENCY", 8, 1, 256),
    closeOut: loadCloseOutPolicy(env),
    reconcileIntervalMs: int(env, "RECONCILE_INTERVAL_MS", 30_000, 50, 3_600_000),
    checkpointIntervalMs: int(env, "CHECKPOINT_INTERVAL_MS", 15_000, 50, 30_000),
    logLevel: str(env, "LOG_LEVEL", production ? "info" : "debug"),
    redactPii: bool(env, "LOG_REDACT_PII", production),
    engines: loadEngineConfig(env),
  };
}
