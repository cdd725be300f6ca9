import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { Account, type AccountRecord } from "../accounts/account.type.js";
import { PageArgs, pageComplexity, type ConnectionResult } from "../graphql/connection.type.js";
import type { GraphqlContext, Viewer } from "../graphql/context.js";
import { CurrentViewer } from "../graphql/current-viewer.js";
import { CreateApiKeyArgs } from "./api-key.input.js";
import type { ApiKeyManagementService } from "./api-key.service.js";
import { ApiKey, ApiKeyConnection, CreateApiKeyPayload, type ApiKeyRecord } from "./api-key.type.js";

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  constructor(private readonly service: ApiKeyManagementService) {}

  @Query(() => ApiKeyConnection, { complexity: pageComplexity, description: "Newest first, revoked keys included." })
  apiKeys(
    @Args() page: PageArgs,
    @Arg("accountId", () => ID, { nullable: true, description: "Admin keys: only this account's keys." }) accountId: string | null,
    @CurrentViewer() viewer: Viewer,
  ): Promise<ConnectionResult<ApiKeyRecord>> {
    return this.service.list(viewer, page, accountId);
  }

  @Mutation(() => CreateApiKeyPayload)
  createApiKey(@Args() args: CreateApiKeyArgs, @CurrentViewer() viewer: Viewer) {
    return this.service.create(viewer, args);
  }

  @Mutation(() => ApiKey, { description: "The key stops working at once." })
  revokeApiKey(@Arg("id", () => ID) id: string, @CurrentViewer() viewer: Viewer): Promise<ApiKeyRecord> {
    return this.service.revoke(viewer, id);
  }

  // Type and description come from the lastUsedAt field declared on ApiKey.
  @FieldResolver()
  async lastUsedAt(@Root() key: ApiKeyRecord, @Ctx() ctx: GraphqlContext): Promise<Date | null> {
    return (await ctx.loaders.apiKeyUsage.load(key._id))?.lastUsedAt ?? null;
  }

  @FieldResolver(() => Account, { nullable: true, description: "Null for ADMIN keys." })
  async account(@Root() key: ApiKeyRecord, @Ctx() ctx: GraphqlContext): Promise<AccountRecord | null> {
    return key.accountId ? ctx.loaders.account.load(key.accountId) : null;
  }
}
