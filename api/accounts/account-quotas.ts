import type { Types } from "mongoose";
import { effectiveLimits, type AccountLimitName } from "../../schema/models/account-limits.js";
import type { DocumentLocks } from "../../schema/infra/document-lock.js";
import { AccountModel } from "../../schema/models/account.model.js";
import { AgentModel } from "../../schema/models/agent.model.js";
import { ApiKeyModel } from "../../schema/models/api-key.model.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import { LimitExceededError } from "../graphql/errors.js";

/** What an account's count limits cover. */
export type CountedThing = "apiKeys" | "agents" | "phoneNumbers";

interface Counted {
  limit: Exclude<AccountLimitName, "maxConcurrentCalls">;
  what: string;
  /** The lock's name: creations of one thing for one account take turns, other things do not wait. */
  lock: { modelName: string };
  /** The account's documents that count; read through the (accountId, createdAt, _id) index. */
  find(accountId: Types.ObjectId, max: number): Promise<unknown[]>;
}

const COUNTED: Record<CountedThing, Counted> = {
  apiKeys: {
    limit: "maxApiKeys",
    what: "active API keys",
    lock: { modelName: "AccountApiKeys" },
    // Revoked keys do not count; revokedAt is filtered after the index lookup, so no limit is pushed.
    find: (accountId) => ApiKeyModel.find({ accountId, revokedAt: null }, { _id: 1 }).lean(),
  },
  agents: {
    limit: "maxAgents",
    what: "agents",
    lock: { modelName: "AccountAgents" },
    find: (accountId, max) => AgentModel.find({ accountId }, { _id: 1 }).limit(max).lean(),
  },
  phoneNumbers: {
    limit: "maxPhoneNumbers",
    what: "phone numbers",
    lock: { modelName: "AccountPhoneNumbers" },
    find: (accountId, max) => PhoneNumberModel.find({ accountId }, { _id: 1 }).limit(max).lean(),
  },
};

/**
 * The count limits of Account.limits (API keys, agents, phone numbers). A guarded insert or an
 * `$inc` cannot enforce a count on FerretDB (its updates are not atomic), so creations of one
 * thing for one account run one at a time across processes, under a DocumentLocks lock keyed by
 * the account, and count what exists first: two creations at 199 agents make 200 and a refusal,
 * never 201. Deletions and revocations need no lock: they only lower the count. Should Redis lose
 * the lock meanwhile, two creations could both pass, as with every DocumentLocks lock.
 */
export class AccountQuotas {
  constructor(private readonly locks: DocumentLocks) {}

  /**
   * Runs `create` while the account is under its limit of `thing`, holding the account's lock for
   * that thing until `create` settles; LIMIT_EXCEEDED, with nothing written, at the limit.
   */
  within<T>(thing: CountedThing, accountId: Types.ObjectId, create: () => Promise<T>): Promise<T> {
    const counted = COUNTED[thing];
    return this.locks.run(counted.lock, accountId, async () => {
      const account = await AccountModel.findById(accountId, { limits: 1 }).lean();
      const max = effectiveLimits(account?.limits)[counted.limit];
      if (max === 0 || (await counted.find(accountId, max)).length >= max) throw new LimitExceededError(counted.limit, max, counted.what);
      return create();
    });
  }
}
