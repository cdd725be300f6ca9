import mongoose from "mongoose";
import { AccountModel } from "./models/account.model.js";
import { AgentModel } from "./models/agent.model.js";
import { ApiKeyModel } from "./models/api-key.model.js";
import { ApiKeyUsageModel } from "./models/api-key-usage.model.js";
import { CallModel } from "./models/call.model.js";
import { CallStatusReportModel } from "./models/call-status-report.model.js";
import { LedgerEntryModel, LedgerHeadModel } from "./models/ledger-entry.model.js";
import { PhoneNumberModel } from "./models/phone-number.model.js";

export const ALL_MODELS = [AccountModel, AgentModel, ApiKeyModel, ApiKeyUsageModel, CallModel, CallStatusReportModel, LedgerEntryModel, LedgerHeadModel, PhoneNumberModel];

export interface ConnectOptions {
  /** Emit the driver's commandStarted events (tests and benchmarks count database round trips). */
  monitorCommands?: boolean;
}

/** Connects the process-wide mongoose connection. Fails fast when the server is unreachable. */
export async function connectDatabase(uri: string, opts: ConnectOptions = {}): Promise<typeof mongoose> {
  mongoose.set("strictQuery", true);
  return mongoose.connect(uri, {
    serverSelectionTimeoutMS: 5_000,
    autoIndex: false,
    monitorCommands: opts.monitorCommands ?? false,
  });
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
  if (!db || mongoose.connection.readyState !== 1) return false;
  try {
    await Promise.race([
      db.admin().ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("ping timeout")), timeoutMs)),
    ]);
    return true;
  } catch {
    return false;
  }
}
