import type { Types } from "mongoose";
import { ApiKeyModel, type ApiKeyScope } from "../../schema/models/api-key.model.js";
import type { AccountQuotas } from "../accounts/account-quotas.js";
import type { ApiKeyAuthenticator } from "../auth/api-key-authenticator.js";
import type { Viewer } from "../graphql/context.js";
import type { ConnectionResult, PageArgs } from "../graphql/connection.type.js";
import { BadUserInputError, ForbiddenError, NotFoundError } from "../graphql/errors.js";
import { paginate } from "../graphql/pagination.js";
import { listScope, scopeFilter, targetAccount } from "../graphql/scope.js";
import { objectId, text } from "../graphql/validate.js";
import type { CreateApiKeyArgs } from "./api-key.input.js";
import type { ApiKeyRecord } from "./api-key.type.js";

/** Key management for the GraphQL API; creation and checking are auth/ApiKeyAuthenticator's. */
export class ApiKeyManagementService {
  constructor(
    private readonly limits: { maxPageSize: number },
    private readonly apiKeys: ApiKeyAuthenticator,
    private readonly quotas: AccountQuotas,
  ) {}

  /** Admin keys see every key (or one account's); account keys see their account's. */
  list(v: Viewer, args: PageArgs, accountId?: string | null): Promise<ConnectionResult<ApiKeyRecord>> {
    const filter = scopeFilter(listScope(v.principal, accountId));
    return paginate<ApiKeyRecord>({ model: ApiKeyModel, filter, sortField: "createdAt", args, maxPageSize: this.limits.maxPageSize });
  }

  async create(v: Viewer, args: CreateApiKeyArgs): Promise<{ apiKey: ApiKeyRecord; key: string }> {
    const name = text("name", args.name, { max: 200 });
    const { scope, accountId } = await this.keyOwner(v, args);
    // An account's keys count against its maxApiKeys (revoked ones do not); admin keys belong to no account.
    const create = () => this.apiKeys.create({ accountId, scope, name });
    const { apiKey, key } = accountId ? await this.quotas.within("apiKeys", accountId, create) : await create();
    return { apiKey: apiKey.toObject(), key };
  }

  /** Revoking is immediate and final; revoking a revoked key returns it unchanged. */
  async revoke(v: Viewer, id: string): Promise<ApiKeyRecord> {
    const oid = objectId("id", id);
    const existing = await ApiKeyModel.findById(oid).lean<ApiKeyRecord>();
    const visible = existing && (v.principal.kind === "admin" || existing.accountId?.equals(v.principal.accountId));
    if (!existing || !visible) throw new NotFoundError("ApiKey", id);
    if (existing.revokedAt) return existing;
    const revoked = await ApiKeyModel.findOneAndUpdate(
      { _id: oid, revokedAt: null },
      { $set: { revokedAt: new Date() } },
      { returnDocument: "after" },
    ).lean<ApiKeyRecord>();
    return revoked ?? ((await ApiKeyModel.findById(oid).lean<ApiKeyRecord>()) as ApiKeyRecord);
  }

  private async keyOwner(v: Viewer, args: CreateApiKeyArgs): Promise<{ scope: ApiKeyScope; accountId: Types.ObjectId | null }> {
    if (v.principal.kind === "account") {
      if (args.scope === "admin") throw new ForbiddenError("Account keys cannot create ADMIN keys");
      return { scope: "account", accountId: await targetAccount(v.principal, args.accountId) };
    }
    const scope = args.scope ?? (args.accountId != null ? "account" : "admin");
    if (scope === "admin") {
      if (args.accountId != null) throw new BadUserInputError("accountId", "must not be given for an ADMIN key");
      return { scope, accountId: null };
    }
    return { scope, accountId: await targetAccount(v.principal, args.accountId) };
  }
}
