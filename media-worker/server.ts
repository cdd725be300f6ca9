import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { WebSocketServer, type WebSocket } from "ws";
import { CallAdmissions } from "../schema/billing/call-admissions.js";
import { CallLiveness } from "../schema/billing/call-liveness.js";
import { CallRecoveryService, type TwilioCallLookup } from "../schema/billing/call-recovery.service.js";
import { FailedCloseOuts } from "../schema/billing/closeout-queue.js";
import { OpenCalls } from "../schema/billing/open-calls.js";
import { ReservationService } from "../schema/billing/reservation.service.js";
import type { Logger } from "../schema/infra/logger.js";
import { startCallEventsWorker } from "./billing/call-events.worker.js";
import { CloseOutService } from "./billing/closeout.service.js";
import { Reconciler } from "./billing/reconciler.js";
import { Sweeper } from "./billing/sweeper.js";
import type { MediaConfig } from "./config.js";
import { engineFactory } from "./engines/registry.js";
import type { EngineFactory } from "./engines/voice-engine.js";
import { MediaSession, type SessionDeps } from "./session/media-session.js";
import { SessionRegistry } from "./session/session-registry.js";
import { PendingSockets, clientAddress, refuseUpgrade, validUpgradeSignature } from "./session/upgrade-gate.js";
import { TwilioRestClient } from "./twilio/twilio-rest.client.js";

export interface MediaServerDeps {
  config: MediaConfig;
  logger: Logger;
  /** Command connection (claims, heartbeats, reservations); the caller owns and closes it. */
  redis: Redis;
  /** Producer for close-out jobs; the caller owns and closes it. */
  queue: Queue;
  /** Voice engines; default the configured ones (tests pass engines of their own). */
  engines?: EngineFactory;
}

export interface MediaServer {
  /** Starts listening and the background work (close-out worker, heartbeats, sweeper). Resolves to the port. */
  listen(port?: number, host?: string): Promise<number>;
  readonly port: number;
  /** Sessions of calls in progress. */
  readonly liveCalls: number;
  readonly closeOuts: CloseOutService;
  readonly sweeper: Sweeper;
  readonly reconciler: Reconciler;
  /**
   * Stops taking streams, lets live calls go on for up to `drainMs` (default SHUTDOWN_DRAIN_MS),
   * then ends the rest (`worker-shutdown`: hung up and billed), and stops the background work.
   */
  close(opts?: { drainMs?: number }): Promise<void>;
  /** Ends every live call now with its real seconds and queues its close-out (a fatal error). */
  endAllCalls(): Promise<void>;
}

const CALL_PATH = /^\/([0-9a-f]{24})$/;
/** How long shutdown waits for sessions that were still authorizing to hand their calls over. */
const SETTLE_TIMEOUT_MS = 20_000;

/** Heartbeat TTL: three missed beats mean the session is gone. */
export const heartbeatTtl = (config: MediaConfig): number => config.heartbeatIntervalMs * 3;

/** An in-progress call whose record is quieter than this has lost its session: two missed checkpoints. */
export const staleRecordMs = (config: MediaConfig): number => 2 * config.checkpointIntervalMs + heartbeatTtl(config);

/** A live call's reservation outlives a dead worker until the sweeper has surely charged the call. */
const reservationTtl = (config: MediaConfig): number => Math.max(120_000, 4 * (heartbeatTtl(config) + config.sweepIntervalMs));

/** Builds the media worker: a `ws` server for Twilio Media Streams plus its billing workers. */
export function createMediaServer(deps: MediaServerDeps): MediaServer {
  const { config, logger } = deps;
  const liveness = new CallLiveness(deps.redis);
  const reservations = new ReservationService(deps.redis);
  const openCalls = new OpenCalls(deps.redis);
  const admissions = new CallAdmissions(deps.redis);
  const closeOuts = new CloseOutService(reservations, openCalls, logger.child({ component: "closeout" }), { admissions });
  const recovery = new CallRecoveryService(liveness, deps.queue, logger.child({ component: "recovery" }), config.closeOut);
  const failedCloseOuts = new FailedCloseOuts(deps.redis);
  const hbTtl = heartbeatTtl(config);
  const twilio = new TwilioRestClient({
    baseUrl: config.twilioApiBaseUrl,
    accountSid: config.twilioAccountSid,
    authToken: config.twilioAuthToken,
  });
  const lookupTwilio: TwilioCallLookup = async (call) => {
    const accountSid = call.twilioAccountSid ?? config.twilioAccountSid;
    return accountSid && call.callSid ? twilio.fetchCall(accountSid, call.callSid) : null;
  };
  const reconciler = new Reconciler({
    redis: deps.redis,
    queue: deps.queue,
    recovery,
    closeOuts,
    failedCloseOuts,
    lookupTwilio,
    log: logger.child({ component: "reconciler" }),
    intervalMs: config.reconcileIntervalMs,
    staleMs: staleRecordMs(config),
    ringingTimeoutMs: config.ringingTimeoutSeconds * 1000,
  });
  const registry = new SessionRegistry({
    liveness,
    reservations,
    log: logger,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    heartbeatTtlMs: hbTtl,
    reservationTtlMs: reservationTtl(config),
    idleTimeoutMs: config.streamIdleTimeoutMs,
  });
  const sweeper = new Sweeper({
    redis: deps.redis,
    openCalls,
    liveness,
    recovery,
    log: logger.child({ component: "sweeper" }),
    intervalMs: config.sweepIntervalMs,
    heartbeatTtlMs: hbTtl,
    ringingTimeoutMs: config.ringingTimeoutSeconds * 1000,
  });
  const sessionDeps: SessionDeps = {
    config,
    log: logger,
    liveness,
    admissions,
    reservations,
    queue: deps.queue,
    twilio,
    engines: deps.engines ?? engineFactory(config.engines),
    registry,
    heartbeatTtlMs: hbTtl,
    reservationTtlMs: reservationTtl(config),
  };

  // Sockets that have not finished their upgrade request get the same time as those waiting for `start`.
  const http: Server = createServer(
    {
      headersTimeout: config.streamStartTimeoutMs,
      requestTimeout: config.streamStartTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, config.streamStartTimeoutMs / 4)),
    },
    (req, res) => {
      if (req.method === "GET" && req.url === "/healthz") {
        void failedCloseOuts.count().then(
          (closeoutsFailed) => {
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify({ status: "ok", liveCalls: registry.size, closeoutsFailed }));
          },
          () => {
            res.writeHead(503, { "content-type": "application/json" });
            res.end(JSON.stringify({ status: "degraded", liveCalls: registry.size, closeoutsFailed: null, redis: "down" }));
          },
        );
        return;
      }
      res.writeHead(426, { "content-type": "application/json" });
      res.end(JSON.stringify({ success: false, error: "Connect with a Twilio Media Stream WebSocket", code: "UPGRADE_REQUIRED" }));
    },
  );
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxMessageBytes, perMessageDeflate: false });
  let accepting = true;
  /** Every session not yet settled, including those still authorizing. */
  const sessions = new Set<MediaSession>();

  const pending = new PendingSockets(config.maxPendingSocketsPerIp);

  // Everything that can be checked on the request is, before the upgrade completes: a refused
  // socket costs no WebSocket, session or timer. Whenever TWILIO_AUTH_TOKEN is set (always in
  // production) the request must carry Twilio's signature; without it (development) streams are
  // open, as the simulator needs.
  http.on("upgrade", (req, socket, head) => {
    if (!accepting) return refuseUpgrade(socket, 503);
    const callId = CALL_PATH.exec(req.url ?? "")?.[1];
    const address = clientAddress(req, config.trustProxy);
    if (!callId) return refused(socket, 404, "bad-path", address);
    if (config.twilioAuthToken && !validUpgradeSignature(config.twilioAuthToken, config.mediaPublicUrl, req)) {
      return refused(socket, 403, "bad-signature", address, callId);
    }
    const release = pending.tryAdd(address);
    if (!release) return refused(socket, 429, "too-many-pending-sockets", address, callId);
    // Counted until the stream is live or the socket is gone, whichever comes first.
    socket.once("close", release);
    wss.handleUpgrade(req, socket, head, (ws) => onStream(ws, callId, release));
  });

  function refused(socket: Duplex, status: 403 | 404 | 429, reason: string, address: string, callId?: string): void {
    logger.warn({ reason, status, callId, pii: { address } }, "stream refused");
    refuseUpgrade(socket, status);
  }

  function onStream(ws: WebSocket, callId: string, onLive: () => void): void {
    const session = new MediaSession(ws, callId, sessionDeps, { onLive });
    sessions.add(session);
    void session.settled.then(() => sessions.delete(session));
    session.attach();
  }

  let worker: Worker | null = null;
  let workerConnection: Redis | null = null;
  let port = 0;

  return {
    get port() {
      return port;
    },
    get liveCalls() {
      return registry.size;
    },
    closeOuts,
    sweeper,
    reconciler,

    async listen(listenPort = config.port, host?: string) {
      await new Promise<void>((resolve, reject) => {
        http.once("error", reject);
        http.listen(listenPort, host, () => resolve());
      });
      port = (http.address() as AddressInfo).port;
      workerConnection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
      worker = startCallEventsWorker({
        connection: workerConnection,
        closeOuts,
        openCalls,
        failedCloseOuts,
        concurrency: config.closeOutConcurrency,
        log: logger,
      });
      registry.start();
      sweeper.start();
      reconciler.start();
      logger.info({ port }, "media worker listening");
      return port;
    },

    async endAllCalls() {
      // This process is about to exit: it takes no more jobs, so the close-outs it queues now run
      // on a healthy worker instead of being cut off here and stalling for BullMQ's stall check.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([worker?.close(), new Promise((resolve) => (timer = setTimeout(resolve, 3_000)))]);
      clearTimeout(timer);
      await registry.endAll("worker-error");
    },

    async close(opts = {}) {
      accepting = false;
      await registry.drain(opts.drainMs ?? config.shutdownDrainMs);
      await registry.endAll("worker-shutdown");
      registry.stop();
      for (const ws of wss.clients) ws.close(1001, "worker shutting down");
      // Streams that were still authorizing end (and hand over their call) on their own.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...sessions].map((s) => s.settled)),
        new Promise((resolve) => (timer = setTimeout(resolve, SETTLE_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await sweeper.stop();
      await reconciler.stop();
      await worker?.close();
      workerConnection?.disconnect();
      wss.close();
    },
  };
}
