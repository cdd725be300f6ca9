import type { Types } from "mongoose";
import { isDuplicateKeyError } from "../../schema/lib/mongo-errors.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import type { Viewer } from "../graphql/context.js";
import type { ConnectionResult, PageArgs } from "../graphql/connection.type.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../graphql/errors.js";
import { paginate } from "../graphql/pagination.js";
import { assertVisible, listScope, scopeFilter, targetAccount } from "../graphql/scope.js";
import { e164, objectId, optionalObjectId, text } from "../graphql/validate.js";
import type { CreatePhoneNumberInput, UpdatePhoneNumberInput } from "./phone-number.input.js";
import type { PhoneNumberRecord } from "./phone-number.type.js";

export class PhoneNumberService {
  constructor(private readonly limits: { maxPageSize: number }) {}

  async get(v: Viewer, id: string): Promise<PhoneNumberRecord> {
    const number = await PhoneNumberModel.findById(objectId("id", id)).lean<PhoneNumberRecord>();
    if (!number) throw new NotFoundError("PhoneNumber", id);
    assertVisible(v.principal, number.accountId, "PhoneNumber", id);
    return number;
  }

  list(v: Viewer, args: PageArgs, accountId?: string | null): Promise<ConnectionResult<PhoneNumberRecord>> {
    const filter = scopeFilter(listScope(v.principal, accountId));
    return paginate<PhoneNumberRecord>({ model: PhoneNumberModel, filter, sortField: "createdAt", args, maxPageSize: this.limits.maxPageSize });
  }

  /** The unique e164 index decides between two accounts claiming one number at the same moment. */
  async create(v: Viewer, input: CreatePhoneNumberInput): Promise<PhoneNumberRecord> {
    const number = e164("e164", input.e164);
    const friendlyName = input.friendlyName != null ? text("friendlyName", input.friendlyName, { min: 0, max: 200 }) : "";
    const agentId = optionalObjectId("agentId", input.agentId);
    const shared = sharedFlag(v, input.shared) ?? false;
    const accountId = await targetAccount(v.principal, input.accountId);
    if (agentId) await assertAgentOf(v, agentId, accountId);
    try {
      const doc = await PhoneNumberModel.create({ e164: number, accountId, agentId, friendlyName, shared });
      return doc.toObject() as PhoneNumberRecord;
    } catch (err) {
      // e164 is the collection's only unique key besides _id, which is generated here.
      if (isDuplicateKeyError(err)) throw new ConflictError(`e164 ${number} is already registered`, "e164");
      throw err;
    }
  }

  async update(v: Viewer, id: string, input: UpdatePhoneNumberInput): Promise<PhoneNumberRecord> {
    const fields: Record<string, unknown> = {};
    if (input.friendlyName != null) fields.friendlyName = text("friendlyName", input.friendlyName, { min: 0, max: 200 });
    const agentId = optionalObjectId("agentId", input.agentId);
    const shared = sharedFlag(v, input.shared);
    if (shared !== null) fields.shared = shared;
    const number = await this.get(v, id);
    if (input.agentId !== undefined) {
      if (agentId) await assertAgentOf(v, agentId, number.accountId);
      fields.agentId = agentId;
    }
    if (Object.keys(fields).length === 0) return number;
    const updated = await PhoneNumberModel.findOneAndUpdate(
      { _id: number._id, accountId: number.accountId },
      { $set: fields },
      { returnDocument: "after", runValidators: true },
    ).lean<PhoneNumberRecord>();
    if (!updated) throw new NotFoundError("PhoneNumber", id);
    return updated;
  }

  async delete(v: Viewer, id: string): Promise<boolean> {
    const number = await this.get(v, id);
    await PhoneNumberModel.deleteOne({ _id: number._id });
    return true;
  }
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
