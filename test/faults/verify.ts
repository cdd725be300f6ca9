import type { Types } from "mongoose";
import { ReservationService } from "../../schema/billing/reservation.service.js";
import { LedgerService } from "../../schema/ledger/ledger.service.js";
import { costMicros, DEFAULT_RATE_PER_MINUTE_MICROS } from "../../schema/billing/rating.js";
import { CallModel } from "../../schema/models/call.model.js";
import { LedgerEntryModel } from "../../schema/models/ledger-entry.model.js";
import { sleep, within } from "./processes.js";
import type { SimCall } from "./sim-call.js";
import { START_BALANCE_MICROS, type FaultStack } from "./stack.js";

/** Every account of the suite is on the default rate. */
const RATE = DEFAULT_RATE_PER_MINUTE_MICROS;

export type Outcome = "billed-right" | "lost" | "double-billed" | "misbilled";

export interface CallVerdict {
  call: SimCall;
  outcome: Outcome;
  /** Whole seconds the call streamed, rounded up; 0 when it never streamed. */
  expectedSeconds: number;
  /** What the database says, for the report. */
  state: string;
}

export interface ScenarioVerdict {
  calls: CallVerdict[];
  /** Account-level failures: ledger not summing to the balance, reservations left held, stray charges. */
  accountProblems: string[];
}

type StoredCall = {
  _id: Types.ObjectId;
  status: string;
  endedAt: Date | null;
  endedReason: string | null;
  answeredAt: Date | null;
  billedSeconds: number;
  costMicros: number;
};
type Charge = { _id: string; amountMicros: number; reference: string; callId: Types.ObjectId | null };

const expectedSeconds = (c: SimCall): number => {
  const ms = c.streamedMs;
  return ms === null ? 0 : Math.ceil(ms / 1000);
};

/** Every database read of the checks is bounded, so a dead database fails the check instead of hanging the suite. */
function bounded<T>(p: Promise<T>): Promise<T> {
  return within(5_000, p, Symbol.for("timeout")).then((v) => {
    if (v === Symbol.for("timeout")) throw new Error("database read timed out");
    return v as T;
  });
}

async function callAndCharges(c: SimCall): Promise<{ doc: StoredCall | null; charges: Charge[] }> {
  const [doc, charges] = await Promise.all([
    bounded(CallModel.findById(c.callId).lean<StoredCall>()),
    bounded(LedgerEntryModel.find({ callId: c.callId, kind: "call_charge" }).lean<Charge[]>()),
  ]);
  return { doc, charges };
}

/** The call looks finished: closed, and charged when it streamed. */
async function settled(c: SimCall): Promise<boolean> {
  const { doc, charges } = await callAndCharges(c);
  if (!doc) return c.admitted === null;
  if (!doc.endedAt) return false;
  return expectedSeconds(c) === 0 || charges.length > 0;
}

/**
 * Waits (bounded) until every call is closed out and no reservation is held, then a little longer
 * so that a late second charge would be seen.
 */
export async function waitUntilSettled(stack: FaultStack, calls: SimCall[], timeoutMs: number, graceMs = 2_000): Promise<number> {
  const t0 = Date.now();
  const reservations = new ReservationService(stack.redis, new LedgerService());
  for (;;) {
    const done = await (async () => {
      for (const c of calls) if (!(await settled(c))) return false;
      for (const f of stack.fixtures) if ((await reservations.reservedMicros(f.accountId)) !== 0) return false;
      return true;
    })().catch(() => false);
    if (done || Date.now() - t0 > timeoutMs) break;
    await sleep(250);
  }
  const waited = Date.now() - t0;
  await sleep(graceMs);
  return waited;
}

function describe(doc: StoredCall | null, charges: Charge[]): string {
  if (!doc) return "no call document";
  const fmt = (d: Date | null) => (d ? d.toISOString().slice(11, 23) : "null");
  return (
    `status=${doc.status} endedReason=${doc.endedReason} endedAt=${fmt(doc.endedAt)} answeredAt=${fmt(doc.answeredAt)} ` +
    `billedSeconds=${doc.billedSeconds} costMicros=${doc.costMicros} charges=[${charges.map((c) => c.amountMicros).join(", ")}]`
  );
}

/** Judges one call from the database: closed out exactly once, for its streamed seconds ±1 s. */
async function judge(c: SimCall): Promise<CallVerdict> {
  const expected = expectedSeconds(c);
  const { doc, charges } = await callAndCharges(c);
  const state = describe(doc, charges);
  const verdict = (outcome: Outcome): CallVerdict => ({ call: c, outcome, expectedSeconds: expected, state });
  if (charges.length > 1) return verdict("double-billed");
  const closed = doc !== null && doc.endedAt !== null && (doc.status === "completed" || doc.status === "failed");
  if (expected === 0) {
    // Never streamed: free, and closed if it was ever stored.
    if (charges.length > 0) return verdict("misbilled");
    if (doc && !closed) return verdict("lost");
    return verdict("billed-right");
  }
  if (!closed || charges.length === 0) return verdict("lost");
  const charged = -charges[0]!.amountMicros;
  const seconds = Math.round((charged * 60) / RATE);
  const right =
    costMicros(seconds, RATE) === charged &&
    Math.abs(seconds - expected) <= 1 &&
    doc.billedSeconds === seconds &&
    doc.costMicros === charged &&
    doc.answeredAt !== null;
  return verdict(right ? "billed-right" : "misbilled");
}

/** Account-level checks: the ledger sums to the balance, nothing held, every charge belongs to one known call. */
async function checkAccounts(stack: FaultStack, calls: SimCall[]): Promise<string[]> {
  const problems: string[] = [];
  const reservations = new ReservationService(stack.redis, new LedgerService());
  const known = new Set(calls.map((c) => c.callId));
  for (const f of stack.fixtures) {
    const acct = String(f.accountId);
    const entries = await bounded(
      LedgerEntryModel.find({ accountId: f.accountId })
        .sort({ seq: 1 })
        .lean<(Charge & { seq: number; kind: string; balanceAfterMicros: number })[]>(),
    );
    let running = 0;
    entries.forEach((e, i) => {
      running += e.amountMicros;
      if (e.seq !== i + 1) problems.push(`account ${acct}: ledger seq ${e.seq} at position ${i + 1} (gap or duplicate)`);
      if (e.balanceAfterMicros !== running)
        problems.push(`account ${acct}: entry ${e.seq} says balance ${e.balanceAfterMicros}, entries sum to ${running}`);
    });
    const balance = await bounded(new LedgerService().balance(f.accountId));
    if (balance.balanceMicros !== running) problems.push(`account ${acct}: balance ${balance.balanceMicros} but entries sum to ${running}`);
    const charges = entries.filter((e) => e.kind === "call_charge");
    const expectedBalance = START_BALANCE_MICROS + charges.reduce((s, e) => s + e.amountMicros, 0);
    if (running !== expectedBalance || entries.length !== charges.length + 1)
      problems.push(`account ${acct}: entries other than the starting credit and call charges`);
    const perCall = new Map<string, number>();
    for (const e of charges) {
      const id = String(e.callId);
      perCall.set(id, (perCall.get(id) ?? 0) + 1);
      if (!known.has(id)) problems.push(`account ${acct}: charge ${e._id} for a call the suite never made (${id})`);
      if (e.reference !== `call:${id}`) problems.push(`account ${acct}: charge ${e._id} under reference ${e.reference}, not call:${id}`);
    }
    for (const [id, n] of perCall) if (n > 1) problems.push(`account ${acct}: call ${id} charged ${n} times`);
    const held = await reservations.reservedMicros(f.accountId).catch((err: Error) => `unreadable (${err.message})`);
    if (held !== 0) problems.push(`account ${acct}: ${held} micro-dollars still reserved after every call closed`);
  }
  return problems;
}

export async function verifyScenario(stack: FaultStack, calls: SimCall[]): Promise<ScenarioVerdict> {
  const verdicts: CallVerdict[] = [];
  for (const c of calls) {
    verdicts.push(
      await judge(c).catch((err: Error) => ({
        call: c,
        outcome: "lost" as const,
        expectedSeconds: expectedSeconds(c),
        state: `unreadable: ${err.message}`,
      })),
    );
  }
  const accountProblems = await checkAccounts(stack, calls).catch((err: Error) => [`account checks failed: ${err.message}`]);
  return { calls: verdicts, accountProblems };
}
