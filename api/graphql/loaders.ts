import DataLoader from "dataloader";
import { Types, type Model } from "mongoose";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import { ledger, type Balance } from "../../schema/ledger/ledger.service.js";
import { AccountModel } from "../../schema/models/account.model.js";
import { AgentModel } from "../../schema/models/agent.model.js";
import { ApiKeyUsageModel, type ApiKeyUsage } from "../../schema/models/api-key-usage.model.js";
import { CallModel } from "../../schema/models/call.model.js";
import { ForwardingNumberModel } from "../../schema/models/forwarding-number.model.js";
import type { AccountRecord } from "../accounts/account.type.js";
import type { AgentRecord } from "../agents/agent.type.js";
import type { CallRecord } from "../calls/call.type.js";

/**
 * Per-request batching: every `load` made while resolving one level of a query becomes one
 * database read, so a page of 100 calls with their agents costs one read for the agents.
 * Loaders cache for the request only; they never check tenancy (callers do).
 */
export interface Loaders {
  account: DataLoader<Types.ObjectId, AccountRecord | null, string>;
  agent: DataLoader<Types.ObjectId, AgentRecord | null, string>;
  call: DataLoader<Types.ObjectId, CallRecord | null, string>;
  /** When each API key was last used, by key id; null for a key never used. */
  apiKeyUsage: DataLoader<Types.ObjectId, ApiKeyUsage | null, string>;
  /** Ledger balance per account. */
  balance: DataLoader<Types.ObjectId, Balance, string>;
  /** Micro-dollars held for the account's live calls (Redis). */
  reserved: DataLoader<Types.ObjectId, number, string>;
  /** Verified forwarding numbers per account, oldest first. */
  forwardingNumbers: DataLoader<Types.ObjectId, string[], string>;
}

export function createLoaders(reservations: ReservationService): Loaders {
  const cacheKeyFn = (id: Types.ObjectId) => id.toHexString();
  return {
    account: new DataLoader((ids) => byIds<AccountRecord>(AccountModel, ids), { cacheKeyFn }),
    agent: new DataLoader((ids) => byIds<AgentRecord>(AgentModel, ids), { cacheKeyFn }),
    call: new DataLoader((ids) => byIds<CallRecord>(CallModel, ids), { cacheKeyFn }),
    apiKeyUsage: new DataLoader((ids) => byIds<ApiKeyUsage>(ApiKeyUsageModel, ids), { cacheKeyFn }),
    balance: new DataLoader(balances, { cacheKeyFn }),
    reserved: new DataLoader((ids) => Promise.all(ids.map((id) => reservations.reservedMicros(id))), { cacheKeyFn }),
    forwardingNumbers: new DataLoader(forwardingNumbers, { cacheKeyFn }),
  };
}

async function forwardingNumbers(ids: readonly Types.ObjectId[]): Promise<string[][]> {
  const filter = ids.length === 1 ? { accountId: ids[0] } : { accountId: { $in: ids } };
  const rows = await ForwardingNumberModel.find(filter, { accountId: 1, e164: 1 }).sort({ createdAt: 1, _id: 1 }).lean();
  const byAccount = new Map<string, string[]>();
  for (const row of rows) {
    const key = row.accountId.toHexString();
    byAccount.set(key, [...(byAccount.get(key) ?? []), row.e164]);
  }
  return ids.map((id) => byAccount.get(id.toHexString()) ?? []);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any collection: a Model of one document type is no Model<unknown>
async function byIds<T extends { _id: Types.ObjectId }>(model: Model<any>, ids: readonly Types.ObjectId[]): Promise<(T | null)[]> {
  // A plain _id match is the one filter FerretDB's SQLite backend pushes down; $in scans.
  if (ids.length === 1) return [await model.findById(ids[0]).lean<T>()];
  const rows = await model.find({ _id: { $in: ids } }).lean<T[]>();
  const found = new Map(rows.map((r) => [r._id.toHexString(), r]));
  return ids.map((id) => found.get(id.toHexString()) ?? null);
}

/** One account reads its newest ledger entry; several share one aggregate. */
async function balances(ids: readonly Types.ObjectId[]): Promise<Balance[]> {
  if (ids.length === 1) return [await ledger.balance(ids[0]!)];
  const found = await ledger.balances([...ids]);
  return ids.map((id) => found.get(id.toHexString()) ?? { balanceMicros: 0, seq: 0 });
}
