import type { Types } from "mongoose";
import type { Logger } from "../../schema/infra/logger.js";
import type { DocumentLocks } from "../../schema/infra/document-lock.js";
import { isDuplicateKeyError } from "../../schema/infra/mongo-errors.js";
import { PhoneNumberModel, type PhoneNumberSource } from "../../schema/models/phone-number.model.js";
import type { AccountQuotas } from "../accounts/account-quotas.js";
import type { Viewer } from "../graphql/context.js";
import type { ConnectionResult, PageArgs } from "../graphql/connection.type.js";
import { ConflictError, ForbiddenError, NotFoundError, NumberNotStoredError } from "../graphql/errors.js";
import { paginate } from "../graphql/pagination.js";
import { assertVisible, listScope, scopeFilter, targetAccount } from "../graphql/scope.js";
import { e164, objectId, optionalObjectId, text } from "../graphql/validate.js";
import { localSearch } from "./available-search.js";
import type { NumberProvisioning } from "./number-provisioning.js";
import type {
  AvailablePhoneNumbersArgs,
  BuyPhoneNumberArgs,
  CreatePhoneNumberInput,
  UpdatePhoneNumberInput,
} from "./phone-number.input.js";
import type { PhoneNumberRecord } from "./phone-number.type.js";
import type { AvailableNumber } from "./twilio-numbers.client.js";

/** What a new number's document holds besides its source. */
interface Claim {
  e164: string;
  accountId: Types.ObjectId;
  agentId: Types.ObjectId | null;
  friendlyName: string;
  shared: boolean;
}

export class PhoneNumberService {
  constructor(
    private readonly limits: { maxPageSize: number },
    private readonly provisioning: NumberProvisioning,
    private readonly log: Logger,
    private readonly locks: DocumentLocks,
    private readonly quotas: AccountQuotas,
  ) {}

  async get(v: Viewer, id: string): Promise<PhoneNumberRecord> {
    const number = await PhoneNumberModel.findById(objectId("id", id)).lean<PhoneNumberRecord>();
    if (!number) throw new NotFoundError("PhoneNumber", id);
    assertVisible(v.principal, number.accountId, "PhoneNumber", id);
    return number;
  }

  list(v: Viewer, args: PageArgs, accountId?: string | null): Promise<ConnectionResult<PhoneNumberRecord>> {
    const filter = scopeFilter(listScope(v.principal, accountId));
    return paginate<PhoneNumberRecord>({
      model: PhoneNumberModel,
      filter,
      sortField: "createdAt",
      args,
      maxPageSize: this.limits.maxPageSize,
    });
  }

  /**
   * Admin keys register any number as it is. Account keys only one the platform's Twilio account
   * holds: claimed in our database once Twilio confirms it (the unique e164 index decides between
   * two accounts claiming it at once), then pointed at us; if that fails the claim is withdrawn.
   * Either way within the account's maxPhoneNumbers, counted before Twilio is asked anything.
   */
  async create(v: Viewer, input: CreatePhoneNumberInput): Promise<PhoneNumberRecord> {
    const claim = await this.claimOf(v, input);
    if (v.principal.kind === "admin") return this.quotas.within("phoneNumbers", claim.accountId, () => this.insert(claim, "admin", null));
    this.provisioning.requireConfigured("Registering a number with an account key");
    const { record, held } = await this.quotas.within("phoneNumbers", claim.accountId, async () => {
      await assertUnclaimed(claim.e164);
      const proven = await this.provisioning.prove(claim.e164);
      return { record: await this.insert(claim, "verified", proven.sid), held: proven };
    });
    try {
      await this.provisioning.pointAtUs(held);
    } catch (err) {
      await this.withdraw(record);
      throw err;
    }
    return record;
  }

  /**
   * Buys the number at Twilio (already pointed at us), then stores it for the account. The limit
   * is counted before the purchase, and the lock held until the number is stored, so a number is
   * never bought that the account may not have.
   */
  async buy(v: Viewer, args: BuyPhoneNumberArgs): Promise<PhoneNumberRecord> {
    const claim = await this.claimOf(v, args);
    this.provisioning.requireConfigured("Buying a number");
    return this.quotas.within("phoneNumbers", claim.accountId, async () => {
      await assertUnclaimed(claim.e164);
      const bought = await this.provisioning.buy(claim.e164);
      try {
        return await this.insert(claim, "purchased", bought.sid);
      } catch (err) {
        // Paid for and pointed at us, but nobody's: an operator may want to release it at Twilio.
        this.log.error(
          { err, twilioSid: bought.sid, accountId: claim.accountId.toHexString(), pii: { e164: claim.e164 } },
          "bought phone number not stored",
        );
        throw new NumberNotStoredError(claim.e164, bought.sid);
      }
    });
  }

  async available(args: AvailablePhoneNumbersArgs): Promise<AvailableNumber[]> {
    const { country, search } = localSearch(args);
    this.provisioning.requireConfigured("Searching numbers to buy");
    return this.provisioning.search(country, search);
  }

  async update(v: Viewer, id: string, input: UpdatePhoneNumberInput): Promise<PhoneNumberRecord> {
    const fields: Record<string, unknown> = {};
    if (input.friendlyName != null) fields.friendlyName = text("friendlyName", input.friendlyName, { min: 0, max: 200 });
    const agentId = optionalObjectId("agentId", input.agentId);
    const shared = sharedFlag(v, input.shared);
    if (shared !== null) fields.shared = shared;
    const number = await this.get(v, id);
    let accountId = number.accountId;
    if (input.accountId != null) {
      // Account keys may name only their own account (anything else is NOT_FOUND): only admins move numbers.
      const target = await targetAccount(v.principal, input.accountId);
      if (!target.equals(number.accountId)) {
        accountId = target;
        fields.accountId = target;
        // The old account's agent must not answer the new account's number.
        if (input.agentId === undefined) fields.agentId = null;
      }
    }
    if (input.agentId !== undefined) {
      if (agentId) await assertAgentOf(v, agentId, accountId);
      fields.agentId = agentId;
    }
    if (Object.keys(fields).length === 0) return number;
    // Locked: on FerretDB a concurrent update of the other field could be lost.
    const write = () =>
      this.locks.run(PhoneNumberModel, number._id, () =>
        PhoneNumberModel.findOneAndUpdate(
          { _id: number._id, accountId: number.accountId },
          { $set: fields },
          { returnDocument: "after", runValidators: true },
        ).lean<PhoneNumberRecord>(),
      );
    // A number moved to another account counts against that account's maxPhoneNumbers.
    const updated = fields.accountId ? await this.quotas.within("phoneNumbers", accountId, write) : await write();
    if (!updated) throw new NotFoundError("PhoneNumber", id);
    return updated;
  }

  /** Takes our URLs off the number at Twilio first; if that fails the number stays, and a retry finishes. */
  async delete(v: Viewer, id: string): Promise<boolean> {
    const number = await this.get(v, id);
    if (number.twilioSid) await this.provisioning.release(number.twilioSid);
    await PhoneNumberModel.deleteOne({ _id: number._id });
    return true;
  }

  /** The validated number, name, account and agent of a create or buy; nothing is asked of Twilio yet. */
  private async claimOf(
    v: Viewer,
    input: { e164: string; agentId?: string | null; friendlyName?: string | null; accountId?: string | null; shared?: boolean | null },
  ): Promise<Claim> {
    const number = e164("e164", input.e164);
    const friendlyName = input.friendlyName != null ? text("friendlyName", input.friendlyName, { min: 0, max: 200 }) : "";
    const agentId = optionalObjectId("agentId", input.agentId);
    const shared = sharedFlag(v, input.shared) ?? false;
    const accountId = await targetAccount(v.principal, input.accountId);
    if (agentId) await assertAgentOf(v, agentId, accountId);
    return { e164: number, accountId, agentId, friendlyName, shared };
  }

  private async insert(claim: Claim, source: PhoneNumberSource, twilioSid: string | null): Promise<PhoneNumberRecord> {
    try {
      const doc = await PhoneNumberModel.create({ ...claim, source, twilioSid });
      return doc.toObject();
    } catch (err) {
      // e164 is the collection's only unique key besides _id, which is generated here.
      if (isDuplicateKeyError(err)) throw alreadyRegistered(claim.e164);
      throw err;
    }
  }

  /** Removes a claim whose number could not be pointed at us, so nothing half-done is left. */
  private async withdraw(record: PhoneNumberRecord): Promise<void> {
    try {
      await PhoneNumberModel.deleteOne({ _id: record._id, twilioSid: record.twilioSid });
    } catch (err) {
      this.log.error(
        { err, phoneNumberId: record._id.toHexString(), twilioSid: record.twilioSid },
        "claim of an unconfigured phone number not withdrawn",
      );
    }
  }
}

function alreadyRegistered(number: string): ConflictError {
  return new ConflictError(`e164 ${number} is already registered`, "e164");
}

/** Refuses a number some account (this one included) already has, before Twilio is asked anything. */
async function assertUnclaimed(number: string): Promise<void> {
  if (await PhoneNumberModel.exists({ e164: number })) throw alreadyRegistered(number);
}

/**
 * A shared number takes calls forwarded from any account's verified lines, so only the platform
 * decides which numbers are shared; an account key sending the flag at all is refused.
 */
function sharedFlag(v: Viewer, value: boolean | null | undefined): boolean | null {
  if (value === null || value === undefined) return null;
  if (v.principal.kind !== "admin") throw new ForbiddenError("Only admin keys may set shared");
  return value;
}

async function assertAgentOf(v: Viewer, agentId: Types.ObjectId, accountId: Types.ObjectId): Promise<void> {
  const agent = await v.loaders.agent.load(agentId);
  if (!agent || !agent.accountId.equals(accountId)) throw new NotFoundError("Agent", agentId.toHexString());
}
