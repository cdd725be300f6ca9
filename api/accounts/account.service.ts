import { Types } from "mongoose";
import { ACCOUNT_LIMIT_NAMES, MAX_ACCOUNT_LIMIT } from "../../schema/models/account-limits.js";
import type { DocumentLocks } from "../../schema/infra/document-lock.js";
import { AccountModel, type Account as AccountFields } from "../../schema/models/account.model.js";
import { ForwardingNumberModel } from "../../schema/models/forwarding-number.model.js";
import type { ApiKeyAuthenticator } from "../auth/api-key-authenticator.js";
import { MAX_FORWARDING_NUMBERS, replaceForwardingNumbers, verifiedNumbersOf } from "../forwarding-numbers/forwarding-number.claims.js";
import type { Viewer } from "../graphql/context.js";
import type { ConnectionResult, PageArgs } from "../graphql/connection.type.js";
import { ForbiddenError, NotFoundError } from "../graphql/errors.js";
import { paginate } from "../graphql/pagination.js";
import { assertVisible, targetAccount } from "../graphql/scope.js";
import { e164List, email, intRange, objectId, optionalObjectId, text, usd } from "../graphql/validate.js";
import type { AccountLimitsInput } from "./account-limits.input.js";
import type { CreateAccountInput, UpdateAccountInput } from "./account.input.js";
import type { AccountRecord } from "./account.type.js";

/** Highest per-minute rate accepted: $100. */
const MAX_RATE_MICROS = 100_000_000;

export interface AccountServiceConfig {
  maxPageSize: number;
  defaultRatePerMinuteMicros: number;
}

type AccountWritable = Partial<Pick<AccountFields, "name" | "email" | "ratePerMinuteMicros" | "status">>;

export class AccountService {
  constructor(
    private readonly config: AccountServiceConfig,
    private readonly apiKeys: ApiKeyAuthenticator,
    private readonly locks: DocumentLocks,
  ) {}

  /**
   * Creates the account, its forwarding numbers (verified by the admin's word) and its first key.
   * The numbers are claimed first, under the account's id-to-be, so a taken one writes nothing;
   * when a later step fails, what was written is removed again.
   */
  async create(input: CreateAccountInput): Promise<{ account: AccountRecord; apiKey: string }> {
    const fields = {
      _id: new Types.ObjectId(),
      name: text("name", input.name, { max: 200 }),
      email: email("email", input.email),
      ratePerMinuteMicros: input.ratePerMinuteUsd != null ? rate(input.ratePerMinuteUsd) : this.config.defaultRatePerMinuteMicros,
    };
    const numbers = e164List("phoneNumbers", input.phoneNumbers, MAX_FORWARDING_NUMBERS);
    await replaceForwardingNumbers(fields._id, numbers);
    let doc;
    try {
      doc = await AccountModel.create(fields);
    } catch (err) {
      await ForwardingNumberModel.deleteMany({ accountId: fields._id });
      throw err;
    }
    try {
      const { key } = await this.apiKeys.create({ accountId: doc._id, scope: "account", name: "default" });
      return { account: doc.toObject(), apiKey: key };
    } catch (err) {
      await ForwardingNumberModel.deleteMany({ accountId: doc._id });
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

  list(args: PageArgs): Promise<ConnectionResult<AccountRecord>> {
    return paginate<AccountRecord>({ model: AccountModel, filter: {}, sortField: "createdAt", args, maxPageSize: this.config.maxPageSize });
  }

  async update(v: Viewer, id: string | null | undefined, input: UpdateAccountInput): Promise<AccountRecord> {
    const fields: AccountWritable = {};
    if (input.name != null) fields.name = text("name", input.name, { max: 200 });
    if (input.email != null) fields.email = email("email", input.email);
    const numbers = input.phoneNumbers != null ? e164List("phoneNumbers", input.phoneNumbers, MAX_FORWARDING_NUMBERS) : null;
    if (input.ratePerMinuteUsd != null) fields.ratePerMinuteMicros = rate(input.ratePerMinuteUsd);
    if (input.status != null) fields.status = input.status;
    const limits = input.limits != null ? limitFields(input.limits) : {};
    if ((fields.ratePerMinuteMicros !== undefined || fields.status !== undefined || input.limits != null) && v.principal.kind !== "admin") {
      throw new ForbiddenError("Only admin keys may change ratePerMinuteUsd, status or limits");
    }
    const accountId = await targetAccount(v.principal, id);
    if (numbers) {
      if (v.principal.kind !== "admin") await assertOnlyDropped(accountId, numbers);
      await replaceForwardingNumbers(accountId, numbers);
    }
    return this.set(v, accountId, { ...fields, ...limits });
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
    v.loaders.forwardingNumbers.clear(accountId);
    if (Object.keys(fields).length === 0) {
      const account = await AccountModel.findById(accountId).lean<AccountRecord>();
      if (!account) throw new NotFoundError("Account", accountId.toHexString());
      return account;
    }
    // Locked: on FerretDB a concurrent update of another field (a rename while an admin suspends) could be lost.
    const updated = await this.locks.run(AccountModel, accountId, () =>
      AccountModel.findOneAndUpdate(
        { _id: accountId },
        { $set: fields },
        { returnDocument: "after", runValidators: true },
      ).lean<AccountRecord>(),
    );
    if (!updated) throw new NotFoundError("Account", accountId.toHexString());
    return updated;
  }
}

/**
 * The `$set` of the limits named in the input, by dotted path: a number sets one, null unsets it
 * (the platform default again), an absent one is left as it is.
 */
function limitFields(input: AccountLimitsInput): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const name of ACCOUNT_LIMIT_NAMES) {
    const value = input[name];
    if (value === undefined) continue;
    out[`limits.${name}`] = value === null ? null : intRange(`limits.${name}`, value, 0, MAX_ACCOUNT_LIMIT);
  }
  return out;
}

function rate(value: string): number {
  return usd("ratePerMinuteUsd", value, { maxMicros: MAX_RATE_MICROS, positive: false });
}

/**
 * An account key's phoneNumbers may keep or drop its verified numbers, never add one: a number
 * written by the account itself proves nothing, and it once let an account take the calls
 * forwarded from a stranger's line (issue 12).
 */
async function assertOnlyDropped(accountId: Types.ObjectId, numbers: string[]): Promise<void> {
  const verified = new Set(await verifiedNumbersOf(accountId));
  const added = numbers.find((n) => !verified.has(n));
  if (added) {
    throw new ForbiddenError(
      `phoneNumbers ${added} is not a verified forwarding number of this account: prove it with startForwardingNumberVerification(e164) ` +
        "(an admin key may mark it verified)",
    );
  }
}
