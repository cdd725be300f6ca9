import type { Types } from "mongoose";
import type { DocumentLocks } from "../../schema/lib/document-lock.js";
import { AccountModel, type Account as AccountFields } from "../../schema/models/account.model.js";
import type { ApiKeyService } from "../auth/api-key.service.js";
import type { Viewer } from "../graphql/context.js";
import type { ConnectionResult, PageArgs } from "../graphql/connection.type.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../graphql/errors.js";
import { paginate } from "../graphql/pagination.js";
import { assertVisible, requireAdmin, targetAccount } from "../graphql/scope.js";
import { e164List, email, objectId, optionalObjectId, text, usd } from "../graphql/validate.js";
import type { CreateAccountInput, UpdateAccountInput } from "./account.input.js";
import type { AccountRecord } from "./account.type.js";

/** Highest per-minute rate accepted: $100. */
const MAX_RATE_MICROS = 100_000_000;
const MAX_FORWARDING_NUMBERS = 20;

export interface AccountServiceConfig {
  maxPageSize: number;
  defaultRatePerMinuteMicros: number;
}

type AccountWritable = Partial<Pick<AccountFields, "name" | "email" | "phoneNumbers" | "ratePerMinuteMicros" | "status">>;

export class AccountService {
  constructor(
    private readonly config: AccountServiceConfig,
    private readonly apiKeys: ApiKeyService,
    private readonly locks: DocumentLocks,
  ) {}

  /** Creates the account and its first key; when the key cannot be made, the account is removed again. */
  async create(v: Viewer, input: CreateAccountInput): Promise<{ account: AccountRecord; apiKey: string }> {
    requireAdmin(v.principal);
    const fields = {
      name: text("name", input.name, { max: 200 }),
      email: email("email", input.email),
      phoneNumbers: e164List("phoneNumbers", input.phoneNumbers, MAX_FORWARDING_NUMBERS),
      ratePerMinuteMicros: input.ratePerMinuteUsd != null ? rate(input.ratePerMinuteUsd) : this.config.defaultRatePerMinuteMicros,
    };
    await assertForwardingNumbersFree(fields.phoneNumbers, null);
    const doc = await AccountModel.create(fields);
    try {
      const { key } = await this.apiKeys.create({ accountId: doc._id, scope: "account", name: "default" });
      return { account: doc.toObject() as AccountRecord, apiKey: key };
    } catch (err) {
      await AccountModel.deleteOne({ _id: doc._id });
      throw err;
    }
  }

  async get(v: Viewer, id: string): Promise<AccountRecord> {
    const account = await v.loaders.account.load(objectId("id", id));
    if (!account) throw new NotFoundError("Account", id);
    assertVisible(v.principal, account._id, "Account", id);
    return account;
  }

  /** The key's own account; null for admin keys, which belong to none. */
  async me(v: Viewer): Promise<AccountRecord | null> {
    if (v.principal.kind !== "account") return null;
    return v.loaders.account.load(v.principal.accountId);
  }

  list(v: Viewer, args: PageArgs): Promise<ConnectionResult<AccountRecord>> {
    requireAdmin(v.principal);
    return paginate<AccountRecord>({ model: AccountModel, filter: {}, sortField: "createdAt", args, maxPageSize: this.config.maxPageSize });
  }

  async update(v: Viewer, id: string | null | undefined, input: UpdateAccountInput): Promise<AccountRecord> {
    const fields: AccountWritable = {};
    if (input.name != null) fields.name = text("name", input.name, { max: 200 });
    if (input.email != null) fields.email = email("email", input.email);
    if (input.phoneNumbers != null) fields.phoneNumbers = e164List("phoneNumbers", input.phoneNumbers, MAX_FORWARDING_NUMBERS);
    if (input.ratePerMinuteUsd != null) fields.ratePerMinuteMicros = rate(input.ratePerMinuteUsd);
    if (input.status != null) fields.status = input.status;
    if ((fields.ratePerMinuteMicros !== undefined || fields.status !== undefined) && v.principal.kind !== "admin") {
      throw new ForbiddenError("Only admin keys may change ratePerMinuteUsd or status");
    }
    const accountId = await targetAccount(v.principal, id);
    if (fields.phoneNumbers) await assertForwardingNumbersFree(fields.phoneNumbers, accountId);
    return this.set(v, accountId, fields);
  }

  /** Points forwarded calls at one of the account's agents, or at none (null). */
  async setActiveInboundAgent(v: Viewer, agentId: string | null, accountIdArg: string | null | undefined): Promise<AccountRecord> {
    const agentOid = optionalObjectId("agentId", agentId);
    const accountId = await targetAccount(v.principal, accountIdArg);
    if (agentOid) {
      const agent = await v.loaders.agent.load(agentOid);
      if (!agent || !agent.accountId.equals(accountId)) throw new NotFoundError("Agent", agentOid.toHexString());
    }
    return this.set(v, accountId, { activeInboundAgentId: agentOid });
  }

  private async set(v: Viewer, accountId: Types.ObjectId, fields: Record<string, unknown>): Promise<AccountRecord> {
    v.loaders.account.clear(accountId);
    // Locked: on FerretDB a concurrent update of another field (a rename while an admin suspends) could be lost.
    const updated = await this.locks.run(AccountModel, accountId, () =>
      AccountModel.findOneAndUpdate({ _id: accountId }, { $set: fields }, { returnDocument: "after", runValidators: true }).lean<AccountRecord>(),
    );
    if (!updated) throw new NotFoundError("Account", accountId.toHexString());
    return updated;
  }
}

function rate(value: string): number {
  return usd("ratePerMinuteUsd", value, { maxMicros: MAX_RATE_MICROS, positive: false });
}

/**
 * A forwarded call is routed by its ForwardedFrom number, so one number may forward to one
 * account only. Checked before writing; two simultaneous claims of a new number can both pass
 * (there is no unique index on this array), which an operator then sees in both accounts.
 */
async function assertForwardingNumbersFree(numbers: string[], self: Types.ObjectId | null): Promise<void> {
  if (numbers.length === 0) return;
  const other = await AccountModel.findOne({
    phoneNumbers: { $in: numbers },
    ...(self ? { _id: { $ne: self } } : {}),
  }).lean<AccountRecord>();
  if (other) {
    const taken = numbers.find((n) => other.phoneNumbers.includes(n));
    throw new ConflictError(`phoneNumbers ${taken} already forwards to another account`, "phoneNumbers");
  }
}
