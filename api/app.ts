import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import Koa from "koa";
import { AdmissionDrain } from "../schema/billing/admission-drain.js";
import { CallAdmissions } from "../schema/billing/call-admissions.js";
import { CallLiveness } from "../schema/billing/call-liveness.js";
import { OpenCalls } from "../schema/billing/open-calls.js";
import { CallRecoveryService } from "../schema/billing/call-recovery.service.js";
import { ReservationService } from "../schema/billing/reservation.service.js";
import { DocumentLocks } from "../schema/infra/document-lock.js";
import type { Logger } from "../schema/infra/logger.js";
import { ApiKeyAuthenticator } from "./auth/api-key-authenticator.js";
import { AuthFailures } from "./auth/auth-failures.js";
import type { ApiConfig } from "./config.js";
import { ForwardingVerificationService } from "./forwarding-numbers/forwarding-verification.service.js";
import { VerificationCallClient } from "./forwarding-numbers/verification-call.client.js";
import { verificationRoutes } from "./forwarding-numbers/verification.route.js";
import { VerificationStore } from "./forwarding-numbers/verification.store.js";
import { createGraphqlApi } from "./graphql/server.js";
import { healthRoutes } from "./health/health.route.js";
import { TwilioNumbersClient } from "./phone-numbers/twilio-numbers.client.js";
import { jsonErrors, requestContext } from "./lib/errors.middleware.js";
import { callStatusRoutes } from "./voice/call-status.route.js";
import { CallStatusService } from "./voice/call-status.service.js";
import { voiceRoutes } from "./voice/inbound-call.route.js";
import { InboundCallService } from "./voice/inbound-call.service.js";
import { RoutingCache } from "./voice/routing-cache.js";

export interface AppDeps {
  config: ApiConfig;
  logger: Logger;
  /** Shared command connection (reservations, health); the caller owns and closes it. */
  redis: Redis;
  /** Producer for call events; the caller owns and closes it. */
  callEvents: Queue;
  /** Milliseconds since the epoch for verification code expiry; tests move it. Default Date.now. */
  clock?: () => number;
}

/** Failed authentications are counted per client address over this window (AUTH_FAILURES_PER_MINUTE). */
const AUTH_FAILURE_WINDOW_MS = 60_000;

/** Verification calls ring somebody's phone at the platform's expense: at most this many an hour. */
const VERIFICATION_CALL_LIMITS = { perAccount: 10, perNumber: 3, windowMs: 60 * 60_000 };

export interface App {
  koa: Koa;
  apiKeys: ApiKeyAuthenticator;
  reservations: ReservationService;
  admissions: CallAdmissions;
  /** Writes the Call documents of admitted calls nobody has written yet (started by createApp). */
  admissionDrain: AdmissionDrain;
  /** Stops what the app started itself (Apollo Server); connections passed in stay open. */
  stop(): Promise<void>;
}

/** Builds the web process's Koa app; tests start it on port 0. */
export function createApp(deps: AppDeps): App {
  const apiKeys = new ApiKeyAuthenticator(deps.config.adminApiKey);
  const authFailures = new AuthFailures(deps.redis, deps.logger.child({ component: "auth-failures" }), {
    maxFailures: deps.config.authFailuresPerMinute,
    windowMs: AUTH_FAILURE_WINDOW_MS,
  });
  const webhook = { config: deps.config, apiKeys, failures: authFailures };
  const reservations = new ReservationService(deps.redis, undefined, { balanceReadBudgetMs: deps.config.balanceReadBudgetMs });
  const routing = new RoutingCache(deps.redis, deps.logger, { dbBudgetMs: deps.config.webhookDbBudgetMs });
  const admissions = new CallAdmissions(deps.redis);
  const admissionDrain = new AdmissionDrain(admissions, deps.logger.child({ component: "admission-drain" }));
  const inboundCalls = new InboundCallService(deps.config, routing, reservations, admissions, new OpenCalls(deps.redis), deps.logger);
  const recovery = new CallRecoveryService(new CallLiveness(deps.redis), deps.callEvents, deps.logger, deps.config.closeOut);
  const callStatus = new CallStatusService(recovery, admissions, deps.logger);
  const forwardingVerification = new ForwardingVerificationService({
    store: new VerificationStore(deps.redis, VERIFICATION_CALL_LIMITS),
    calls: new VerificationCallClient({
      baseUrl: deps.config.twilioApiBaseUrl,
      accountSid: deps.config.twilioAccountSid,
      authToken: deps.config.twilioAuthToken,
    }),
    callerId: deps.config.twilioVerificationCallerId,
    publicBaseUrl: deps.config.publicBaseUrl,
    // Required in production; a label of its own keeps the derived key apart from stream tokens.
    codeSecret: deps.config.streamTokenSecret,
    logger: deps.logger.child({ component: "forwarding-verification" }),
    ...(deps.clock ? { now: deps.clock } : {}),
  });

  const graphql = createGraphqlApi({
    config: deps.config.graphql,
    defaultRatePerMinuteMicros: deps.config.defaultRatePerMinuteMicros,
    openaiConfigured: deps.config.openaiConfigured,
    logger: deps.logger,
    apiKeys,
    authFailures,
    reservations,
    twilioNumbers: new TwilioNumbersClient({
      baseUrl: deps.config.twilioApiBaseUrl,
      accountSid: deps.config.twilioAccountSid,
      authToken: deps.config.twilioAuthToken,
    }),
    publicBaseUrl: deps.config.publicBaseUrl,
    locks: new DocumentLocks(deps.redis),
    forwardingVerification,
  });

  // Behind a trusted proxy ctx.ip is the last X-Forwarded-For hop (the one the proxy appended; a
  // client can write anything before it), else the socket's peer.
  const koa = new Koa({ proxy: deps.config.trustProxy, maxIpsCount: 1 });
  koa.use(requestContext(deps.logger));
  koa.use(jsonErrors());
  for (const router of [
    healthRoutes(deps.redis),
    voiceRoutes({ webhook, inboundCalls }),
    callStatusRoutes({ webhook, callStatus }),
    verificationRoutes({ webhook, verification: forwardingVerification }),
    graphql.router,
  ]) {
    koa.use(router.routes()).use(router.allowedMethods());
  }
  admissionDrain.start();
  const stop = async () => {
    await admissionDrain.stop();
    routing.close();
    await graphql.stop();
  };
  return { koa, apiKeys, reservations, admissions, admissionDrain, stop };
}
