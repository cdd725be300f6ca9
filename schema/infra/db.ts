import mongoose from "mongoose";
import type { Logger } from "./logger.js";
import { setWritesSerialized } from "./write-gate.js";
import { AccountModel } from "../models/account.model.js";
import { AgentModel } from "../models/agent.model.js";
import { ApiKeyModel } from "../models/api-key.model.js";
import { ApiKeyUsageModel } from "../models/api-key-usage.model.js";
import { CallModel } from "../models/call.model.js";
import { CallStatusReportModel } from "../models/call-status-report.model.js";
import { ForwardingNumberModel } from "../models/forwarding-number.model.js";
import { LedgerEntryModel, LedgerHeadModel } from "../models/ledger-entry.model.js";
import { PhoneNumberModel } from "../models/phone-number.model.js";

export const ALL_MODELS = [
  AccountModel,
  AgentModel,
  ApiKeyModel,
  ApiKeyUsageModel,
  CallModel,
  CallStatusReportModel,
  ForwardingNumberModel,
  LedgerEntryModel,
  LedgerHeadModel,
  PhoneNumberModel,
];

export interface ConnectOptions {
  /** Emit the driver's commandStarted events (tests and benchmarks count database round trips). */
  monitorCommands?: boolean;
  /** Milliseconds to find a server before an operation fails (default 5,000); outage tests shorten it. */
  serverSelectionTimeoutMS?: number;
  /** Milliseconds mongoose holds an operation while disconnected before failing it (mongoose's default 10,000). */
  bufferTimeoutMS?: number;
}

/**
 * Connects the process-wide mongoose connection. Fails fast when the server is unreachable.
 * Asks the server what it is: writes are serialized in this process (schema/infra/write-gate.ts)
 * only on FerretDB, whose SQLite backend has one writer; a real MongoDB gets them concurrently.
 */
export async function connectDatabase(uri: string, opts: ConnectOptions = {}): Promise<typeof mongoose> {
  mongoose.set("strictQuery", true);
  const connected = await mongoose.connect(uri, {
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 5_000,
    autoIndex: false,
    monitorCommands: opts.monitorCommands ?? false,
    ...(opts.bufferTimeoutMS !== undefined ? { bufferTimeoutMS: opts.bufferTimeoutMS } : {}),
  });
  await adaptToServer();
  return connected;
}

/** Serializes this process's writes when the connected server is FerretDB, and only then. */
export async function adaptToServer(db = mongoose.connection.db): Promise<void> {
  if (!db) throw new Error("adaptToServer: not connected");
  setWritesSerialized(isFerretDB(await db.admin().buildInfo()));
}

/** FerretDB answers buildInfo as MongoDB 7.0 does, plus fields of its own (`ferretdbVersion`). */
export function isFerretDB(buildInfo: Record<string, unknown>): boolean {
  return "ferretdbVersion" in buildInfo || "ferretdbFeatures" in buildInfo;
}

export async function disconnectDatabase(): Promise<void> {
  await mongoose.disconnect();
}

/** Creates the indexes declared in the schemas and drops stale ones (the `release` step). */
export async function syncIndexes(): Promise<void> {
  for (const m of ALL_MODELS) await m.syncIndexes();
}

/** Round-trips a ping to the server, for health checks. */
export async function pingDatabase(timeoutMs: number): Promise<boolean> {
  const db = mongoose.connection.db;
  if (!db || mongoose.connection.readyState !== mongoose.ConnectionStates.connected) return false;
  try {
    await Promise.race([db.admin().ping(), new Promise((_, reject) => setTimeout(() => reject(new Error("ping timeout")), timeoutMs))]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Unique indexes that keep money right: without them a retry could charge or admit twice, or a
 * forwarded call be answered (and billed) by an account that does not own the line.
 */
const MONEY_INDEXES: { model: { collection: { collectionName: string } }; key: Record<string, number>; why: string }[] = [
  { model: LedgerEntryModel, key: { _id: 1 }, why: "one ledger entry per account and seq" },
  { model: LedgerEntryModel, key: { accountId: 1, reference: 1 }, why: "one charge per call" },
  { model: CallModel, key: { callSid: 1 }, why: "one call per CallSid" },
  { model: ForwardingNumberModel, key: { e164: 1 }, why: "one account per verified forwarding number" },
];

/**
 * Refuses to run without the indexes money relies on: each process calls it at boot, so a
 * deployment that skipped the release step fails loudly instead of double-billing quietly.
 */
export async function assertMoneyIndexes(db = mongoose.connection.db): Promise<void> {
  if (!db) throw new Error("assertMoneyIndexes: not connected");
  const missing: string[] = [];
  for (const { model, key, why } of MONEY_INDEXES) {
    const name = model.collection.collectionName;
    const indexes = await db
      .collection(name)
      .indexes()
      .catch(() => []);
    const wanted = JSON.stringify(key);
    const found = indexes.some((ix) => JSON.stringify(ix.key) === wanted && (ix.unique === true || wanted === '{"_id":1}'));
    if (!found) missing.push(`${name} ${wanted} (${why})`);
  }
  if (missing.length > 0) {
    throw new MissingIndexError(
      `missing unique index(es): ${missing.join("; ")}. Run \`npm run release\` (it creates them) before starting the processes`,
    );
  }
}

/**
 * A process's database start-up: connects, then refuses to run (exit 1, naming what is missing)
 * without the indexes money relies on.
 */
export async function connectForProcess(uri: string, logger: Pick<Logger, "fatal">): Promise<void> {
  await connectDatabase(uri);
  try {
    await assertMoneyIndexes();
  } catch (err) {
    logger.fatal({ err }, "refusing to start: an index money relies on is missing");
    console.error(`Startup error: ${(err as Error).message}`);
    process.exit(1);
  }
}

export class MissingIndexError extends Error {
  readonly code = "MISSING_INDEX";
}
