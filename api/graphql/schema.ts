import type { GraphQLSchema } from "graphql";
import { buildSchemaSync, type ContainerType } from "type-graphql";
import { AccountResolver } from "../accounts/account.resolver.js";
import { AgentResolver } from "../agents/agent.resolver.js";
import { ApiKeyResolver } from "../api-keys/api-key.resolver.js";
import { CallResolver } from "../calls/call.resolver.js";
import { ForwardingNumberResolver, ForwardingNumberVerificationResolver } from "../forwarding-numbers/forwarding-number.resolver.js";
import { LedgerResolver } from "../ledger/ledger.resolver.js";
import { PhoneNumberResolver } from "../phone-numbers/phone-number.resolver.js";
import { authChecker } from "./auth-checker.js";

export const RESOLVERS = [
  AccountResolver,
  AgentResolver,
  ApiKeyResolver,
  CallResolver,
  ForwardingNumberResolver,
  ForwardingNumberVerificationResolver,
  LedgerResolver,
  PhoneNumberResolver,
] as const;

/** The admin API's schema. Without a container it can be printed but not executed. */
export function buildGraphqlSchema(container?: ContainerType): GraphQLSchema {
  return buildSchemaSync({ resolvers: [...RESOLVERS], validate: false, authChecker, ...(container ? { container } : {}) });
}
