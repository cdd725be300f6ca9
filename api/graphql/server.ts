import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { koaMiddleware } from "@as-integrations/koa";
import { Router } from "@koa/router";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import type { DocumentLocks } from "../../schema/infra/document-lock.js";
import type { Logger } from "../../schema/infra/logger.js";
import { AccountQuotas } from "../accounts/account-quotas.js";
import { AccountResolver } from "../accounts/account.resolver.js";
import { AccountService } from "../accounts/account.service.js";
import { AgentResolver } from "../agents/agent.resolver.js";
import { AgentService } from "../agents/agent.service.js";
import { ApiKeyResolver } from "../api-keys/api-key.resolver.js";
import { ApiKeyManagementService } from "../api-keys/api-key.service.js";
import type { ApiKeyAuthenticator } from "../auth/api-key-authenticator.js";
import type { AuthFailures } from "../auth/auth-failures.js";
import { CallResolver } from "../calls/call.resolver.js";
import { CallService } from "../calls/call.service.js";
import type { GraphqlConfig } from "../config.js";
import { ForwardingNumberResolver, ForwardingNumberVerificationResolver } from "../forwarding-numbers/forwarding-number.resolver.js";
import { ForwardingNumberService } from "../forwarding-numbers/forwarding-number.service.js";
import type { ForwardingVerificationService } from "../forwarding-numbers/forwarding-verification.service.js";
import { LedgerResolver } from "../ledger/ledger.resolver.js";
import { AccountLedgerService } from "../ledger/account-ledger.service.js";
import { graphqlBody } from "./graphql-body.js";
import { PhoneNumberResolver } from "../phone-numbers/phone-number.resolver.js";
import { numberWebhooks } from "../phone-numbers/number-webhooks.js";
import { NumberProvisioning } from "../phone-numbers/number-provisioning.js";
import { PhoneNumberService } from "../phone-numbers/phone-number.service.js";
import type { TwilioNumbersClient } from "../phone-numbers/twilio-numbers.client.js";
import { InstanceContainer } from "./container.js";
import { contextFactory, type GraphqlContext } from "./context.js";
import { depthLimitRule } from "./limits.js";
import { formatError, guardPlugin, internalErrorPlugin } from "./plugins.js";
import { buildGraphqlSchema } from "./schema.js";

/** Largest number of tokens a query document may have: parsing stops early on giant documents. */
const MAX_TOKENS = 5_000;

export interface GraphqlApiDeps {
  config: GraphqlConfig;
  defaultRatePerMinuteMicros: number;
  /** Agents without an engine of their own use OPENAI_REALTIME when true, else LOCAL. */
  openaiConfigured: boolean;
  logger: Logger;
  apiKeys: ApiKeyAuthenticator;
  /** Failed authentications per client address: past the limit, requests with a key answer 429. */
  authFailures: AuthFailures;
  reservations: ReservationService;
  /** The platform's Twilio account, where account keys' numbers are proven, bought and configured. */
  twilioNumbers: TwilioNumbersClient;
  /** PUBLIC_BASE_URL: numbers are pointed at its /inbound_call, /fallback and /call_status. */
  publicBaseUrl: string;
  /** One writer at a time per account, agent and phone number document. */
  locks: DocumentLocks;
  /** Places the calls that prove forwarding numbers. */
  forwardingVerification: ForwardingVerificationService;
}

export interface GraphqlApi {
  router: Router;
  stop(): Promise<void>;
}

/** The admin API at /graphql: services, resolvers, schema, Apollo Server and its Koa route. */
export function createGraphqlApi(deps: GraphqlApiDeps): GraphqlApi {
  const limits = { maxPageSize: deps.config.maxPageSize };
  const log = deps.logger.child({ component: "graphql" });
  const numbersLog = deps.logger.child({ component: "phone-numbers" });
  const provisioning = new NumberProvisioning(deps.twilioNumbers, numberWebhooks(deps.publicBaseUrl), numbersLog);
  const quotas = new AccountQuotas(deps.locks);
  const container = new InstanceContainer([
    new AccountResolver(
      new AccountService({ ...limits, defaultRatePerMinuteMicros: deps.defaultRatePerMinuteMicros }, deps.apiKeys, deps.locks),
    ),
    new AgentResolver(new AgentService({ ...limits, openaiConfigured: deps.openaiConfigured }, deps.locks, quotas)),
    new ApiKeyResolver(new ApiKeyManagementService(limits, deps.apiKeys, quotas)),
    new CallResolver(new CallService(limits)),
    new ForwardingNumberResolver(new ForwardingNumberService(limits, deps.forwardingVerification)),
    new ForwardingNumberVerificationResolver(),
    new LedgerResolver(new AccountLedgerService(limits, deps.reservations)),
    new PhoneNumberResolver(new PhoneNumberService(limits, provisioning, numbersLog, deps.locks, quotas)),
  ]);
  const server = new ApolloServer<GraphqlContext>({
    schema: buildGraphqlSchema(container),
    introspection: deps.config.introspection,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    parseOptions: { maxTokens: MAX_TOKENS },
    validationRules: [depthLimitRule(deps.config.maxDepth)],
    formatError,
    plugins: [
      guardPlugin(deps.config.maxComplexity),
      internalErrorPlugin(),
      // No HTTP caching of admin data; without it Apollo stops wrapping every field resolver.
      ApolloServerPluginCacheControlDisabled(),
      deps.config.landingPage ? ApolloServerPluginLandingPageLocalDefault({ footer: false }) : ApolloServerPluginLandingPageDisabled(),
    ],
    logger: {
      debug: (msg: string) => log.debug(msg),
      info: (msg: string) => log.info(msg),
      warn: (msg: string) => log.warn(msg),
      error: (msg: string) => log.error(msg),
    },
  });
  // createApp stays synchronous: requests wait for the start, and fail if it failed.
  server.startInBackgroundHandlingStartupErrorsByLoggingAndFailingAllRequests();

  const handler = koaMiddleware(server, { context: contextFactory(deps.apiKeys, deps.reservations, deps.authFailures) });
  const router = new Router();
  router.post("/graphql", graphqlBody(deps.config.maxBodyBytes), handler);
  router.get("/graphql", handler);
  return { router, stop: () => stopWhenStarted(server) };
}

/**
 * Apollo refuses stop() while its background start is still running (an app closed right after
 * it was created, as tests do); wait for the start to settle, and skip if it failed.
 */
async function stopWhenStarted(server: ApolloServer<GraphqlContext>): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await server.stop();
      return;
    } catch (err) {
      if (!String((err as Error).message).includes("only be called after")) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
