import type { Types } from "mongoose";
import { isDuplicateKeyError } from "../../schema/infra/mongo-errors.js";
import { ForwardingNumberModel, type ForwardingNumberMethod } from "../../schema/models/forwarding-number.model.js";
import { ConflictError } from "../graphql/errors.js";

/** Verified forwarding numbers one account may have. */
export const MAX_FORWARDING_NUMBERS = 20;

/** "claimed": this insert made the number the account's; "yours": it already was; "taken": another account's. */
export type ClaimResult = "claimed" | "yours" | "taken";

/**
 * Makes `e164` a verified forwarding number of the account. The unique e164 index decides
 * between two accounts claiming one number at the same moment: exactly one insert succeeds.
 */
export async function claimForwardingNumber(accountId: Types.ObjectId, e164: string, method: ForwardingNumberMethod): Promise<ClaimResult> {
  try {
    await ForwardingNumberModel.create({ accountId, e164, method, verifiedAt: new Date() });
    return "claimed";
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    const holder = await ForwardingNumberModel.findOne({ e164 }).lean();
    // Released between the insert and this read: not ours; the caller may try again.
    return holder?.accountId.equals(accountId) ? "yours" : "taken";
  }
}

/** Stops routing calls forwarded from `e164` to the account; false when it was not the account's. */
export async function releaseForwardingNumber(accountId: Types.ObjectId, e164: string): Promise<boolean> {
  const { deletedCount } = await ForwardingNumberModel.deleteOne({ accountId, e164 });
  return deletedCount > 0;
}

/** The account's verified forwarding numbers, oldest first. */
export async function verifiedNumbersOf(accountId: Types.ObjectId): Promise<string[]> {
  const rows = await ForwardingNumberModel.find({ accountId }, { e164: 1 }).sort({ createdAt: 1, _id: 1 }).lean();
  return rows.map((r) => r.e164);
}

/**
 * Makes `numbers` the account's verified list, as an admin's word (createAccount and
 * updateAccount with an admin key). Claims first; when one is taken, the claims this call made
 * are taken back and nothing else changes.
 */
export async function replaceForwardingNumbers(accountId: Types.ObjectId, numbers: string[]): Promise<void> {
  const current = new Set(await verifiedNumbersOf(accountId));
  const claimed: string[] = [];
  for (const e164 of numbers.filter((n) => !current.has(n))) {
    const result = await claimForwardingNumber(accountId, e164, "admin");
    if (result === "taken") {
      if (claimed.length > 0) await ForwardingNumberModel.deleteMany({ accountId, e164: { $in: claimed } });
      throw new ConflictError(`phoneNumbers ${e164} already forwards to another account`, "phoneNumbers");
    }
    if (result === "claimed") claimed.push(e164);
  }
  const dropped = [...current].filter((n) => !numbers.includes(n));
  if (dropped.length > 0) await ForwardingNumberModel.deleteMany({ accountId, e164: { $in: dropped } });
}
