import type { Redis, Result } from "ioredis";
import { storedVoiceConfig, type AgentVoiceConfig } from "../models/agent-config.js";
import { InsertBatcher } from "../infra/insert-batcher.js";
import { isDuplicateKeyError } from "../infra/mongo-errors.js";
import { defineScripts } from "../infra/redis-scripts.js";
import type { Agent } from "../models/agent.model.js";
import { Types } from "mongoose";
import { CallModel, newCallDocument } from "../models/call.model.js";
import { ROUTING_VERSION_KEY } from "../infra/routing-version.js";
import { ADMIT_SCRIPT } from "./admission.scripts.js";
import { OPEN_CALLS_KEY } from "./open-calls.js";
import { reservationKeys, type ReservationKeys } from "./reservation.service.js";

/** How long an admission record outlives its start: longer than any call plus late callbacks. */
const RECORD_TTL_MS = 2 * 24 * 3600 * 1000;
/** Calls admitted but not yet in the database, scored by when a writer should next try. */
const PENDING_KEY = "c247:admissions:pending";
/** Milliseconds a Call insert waits for others to share its batch. */
const CALL_INSERT_LINGER_MS = 20;
/** Time the admitting process has to write the call itself before any process may. */
const FIRST_WRITE_GRACE_MS = 5_000;

/** The agent as a media session runs it, copied at admission so a stream needs no database. */
export interface AgentSnapshot {
  name: string;
  instructions: string;
  language: string;
  voice: AgentVoiceConfig;
}

/** What admission decided about a call: everything its Call document and its stream need. */
export interface AdmissionRecord {
  callId: string;
  callSid: string;
  accountId: string;
  agentId: string;
  from: string;
  to: string;
  forwardedFrom: string | null;
  externalCallId: string | null;
  /** The webhook's AccountSid when it is a valid Twilio account id, else null. */
  twilioAccountSid: string | null;
  ratePerMinuteMicros: number;
  /** ISO 8601; the stream token's expiry derives from it, so a retry gets the same TwiML. */
  startedAt: string;
  agent: AgentSnapshot;
}

/** The agent's fields that a session uses, as authorizeStream reads them from the database. */
export function agentSnapshot(
  agent: Pick<Agent, "name" | "instructions" | "language"> & Parameters<typeof storedVoiceConfig>[0],
): AgentSnapshot {
  return {
    name: agent.name,
    instructions: agent.instructions ?? "",
    language: agent.language ?? "en-US",
    voice: storedVoiceConfig(agent),
  };
}

const SCRIPTS = {
  /** SET NX, else the record that won: one round trip, and every delivery learns the winner. */
  c247AdmissionClaim: {
    numberOfKeys: 1,
    lua: `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, ARGV[1]} end
return {0, redis.call('GET', KEYS[1])}
`,
  },
  c247Admit: { numberOfKeys: 9, lua: ADMIT_SCRIPT },
};

declare module "ioredis" {
  interface RedisCommander<Context> {
    /** [1 created, 0 admitted before; the record JSON that stands]. */
    c247AdmissionClaim(recordKey: string, json: string, ttlMs: number): Result<[created: number, json: string], Context>;
    /** [outcome (admission.scripts.ts), the earlier record JSON or '']. */
    c247Admit(
      ...args: [
        ...reservation: ReservationKeys,
        recordKey: string,
        pending: string,
        openCalls: string,
        routingVersion: string,
        callId: string,
        json: string,
        recordTtlMs: number,
        pendingScore: number,
        openCallScore: number,
        cachedRoutingVersion: string,
        callKey: string,
        amountMicros: number,
        holdTtlMs: number,
        requiredMicros: number,
        snapshotMaxAgeMs: number,
        maxConcurrentCalls: number,
      ]
    ): Result<[outcome: number, json: string], Context>;
  }
}

/** The first minute's hold that admission takes, as ReservationService.reserve takes it. */
export interface AdmissionHold {
  amountMicros: number;
  requiredMicros: number;
  ttlMs: number;
  /** Milliseconds old the balance snapshot may be. */
  snapshotMaxAgeMs: number;
  /** The account's limit of concurrent calls: a new call over it holds nothing and is refused. */
  maxConcurrentCalls: number;
}

/**
 * What the one-round-trip admission did. "admitted" and "earlier" are final; the others changed
 * nothing and send the webhook down the general path (routing re-read, the ledger if need be).
 */
export type QuickAdmission =
  | { outcome: "admitted"; record: AdmissionRecord }
  | { outcome: "earlier"; record: AdmissionRecord }
  | { outcome: "concurrency-limit" }
  | { outcome: "routing-changed" | "not-enough-on-snapshot" | "snapshot-stale" | "no-snapshot" };

const QUICK_REFUSALS = {
  3: "routing-changed",
  [-3]: "concurrency-limit",
  0: "not-enough-on-snapshot",
  [-1]: "snapshot-stale",
  [-2]: "no-snapshot",
} as const;

// One hash tag per call, like CallLiveness, keeps a call's keys in one slot on Redis Cluster.
const recordKey = (callId: string): string => `c247:{call:${callId}}:admission`;

/**
 * Admitted calls, held in Redis so a call is answered while the database is away: the CallSid
 * claim (first delivery wins, a retry reads the same record and gets the same TwiML), the facts
 * its Call document is written from, and the set of calls whose document is not written yet.
 * Writing the document is idempotent (E11000 on _id or callSid means it is there), so any
 * process may do it, as often as it likes: the web process that admitted the call, the web
 * processes draining the pending set, the worker whose stream found no document.
 */
export class CallAdmissions {
  // Nobody waits on these writes (the webhook has answered): 20 ms of linger lets the calls of a
  // busy second share one insert, which costs FerretDB a fraction of the CPU the webhook competes for.
  // Each call's document is built and checked as it is admitted (newCallDocument); the batch only
  // serializes them, so no request waits behind a whole batch's validation.
  private readonly calls = new InsertBatcher<Record<string, unknown>>(CallModel, 100, CALL_INSERT_LINGER_MS, true);
  /** Calls written whose pending entries go in the next ZREM: one command for a whole batch. */
  private forgetting: { ids: string[]; done: Promise<void> } | null = null;
  /** Writes in flight in this process, so a drain and a stream never queue the same insert twice. */
  private readonly writing = new Map<string, Promise<boolean>>();

  constructor(private readonly redis: Redis) {
    defineScripts(redis, SCRIPTS);
  }

  /**
   * Records the admission unless the call was admitted before. Returns the record that stands
   * (the earlier one for a retry) and whether this call created it. The call goes into the
   * pending set first, so no record can exist that no writer would find.
   */
  async admit(record: AdmissionRecord): Promise<{ record: AdmissionRecord; created: boolean }> {
    const [, claimed] = await Promise.all([
      this.redis.zadd(PENDING_KEY, "NX", Date.now() + FIRST_WRITE_GRACE_MS, record.callId),
      this.redis.c247AdmissionClaim(recordKey(record.callId), JSON.stringify(record), RECORD_TTL_MS),
    ]);
    const [created, json] = claimed;
    return { record: Number(created) === 1 ? record : (JSON.parse(json) as AdmissionRecord), created: Number(created) === 1 };
  }

  /**
   * Admission in one round trip (admission.scripts.ts): the retry check, the routing version the
   * caller's cached routing was read under, the first minute's hold on the balance snapshot, the
   * claim and the watches, atomically. The webhook's fast path for a number it has cached.
   */
  async admitHolding(record: AdmissionRecord, hold: AdmissionHold, routingVersion: string): Promise<QuickAdmission> {
    const now = Date.now();
    const [code, json] = await this.redis.c247Admit(
      ...reservationKeys(record.accountId),
      recordKey(record.callId),
      PENDING_KEY,
      OPEN_CALLS_KEY,
      ROUTING_VERSION_KEY,
      record.callId,
      JSON.stringify(record),
      RECORD_TTL_MS,
      now + FIRST_WRITE_GRACE_MS,
      now,
      routingVersion,
      record.callSid,
      hold.amountMicros,
      hold.ttlMs,
      hold.requiredMicros,
      hold.snapshotMaxAgeMs,
      hold.maxConcurrentCalls,
    );
    if (code === 1) return { outcome: "admitted", record };
    if (code === 2) return { outcome: "earlier", record: JSON.parse(json) as AdmissionRecord };
    const refusal = QUICK_REFUSALS[code as keyof typeof QUICK_REFUSALS];
    if (!refusal) throw new Error(`admission script answered ${code}`);
    return { outcome: refusal };
  }

  async get(callId: string): Promise<AdmissionRecord | null> {
    const json = await this.redis.get(recordKey(callId));
    return json ? (JSON.parse(json) as AdmissionRecord) : null;
  }

  /**
   * Inserts the call's document from its admission record; idempotent. Resolves to whether a
   * document now exists (false: no record and no document, e.g. Redis lost the record before
   * the call was written). Throws while the database fails; the call then stays pending.
   * `known`: the record the caller just admitted, which spares reading it back from Redis.
   */
  persist(callId: string, known?: AdmissionRecord): Promise<boolean> {
    let write = this.writing.get(callId);
    if (!write) {
      write = this.write(callId, known).finally(() => this.writing.delete(callId));
      this.writing.set(callId, write);
    }
    return write;
  }

  /** Pending calls whose next write attempt is due, oldest first. */
  async due(nowMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(PENDING_KEY, "-inf", nowMs, "LIMIT", 0, limit);
  }

  /** Leaves the call pending, next tried at `atMs` (by whichever process gets there first). */
  async retryAt(callId: string, atMs: number): Promise<void> {
    await this.redis.zadd(PENDING_KEY, "XX", atMs, callId);
  }

  /** Stops trying to write the call (it is written, or it can never be). */
  async forget(callId: string): Promise<void> {
    await this.redis.zrem(PENDING_KEY, callId);
  }

  async isPending(callId: string): Promise<boolean> {
    return (await this.redis.zscore(PENDING_KEY, callId)) !== null;
  }

  private async write(callId: string, known?: AdmissionRecord): Promise<boolean> {
    const record = known ?? (await this.get(callId));
    if (!record) {
      // By _id: the one lookup FerretDB answers without a scan.
      const exists = (await CallModel.exists({ _id: callId })) !== null;
      if (exists) await this.forget(callId);
      return exists;
    }
    try {
      await this.calls.insert(
        newCallDocument({
          _id: new Types.ObjectId(record.callId),
          callSid: record.callSid,
          accountId: new Types.ObjectId(record.accountId),
          agentId: new Types.ObjectId(record.agentId),
          from: record.from,
          to: record.to,
          forwardedFrom: record.forwardedFrom,
          externalCallId: record.externalCallId,
          twilioAccountSid: record.twilioAccountSid,
          ratePerMinuteMicros: record.ratePerMinuteMicros,
          startedAt: new Date(record.startedAt),
        }),
      );
    } catch (err) {
      // Already written, by this or another process: the unique _id or callSid says so.
      if (!isDuplicateKeyError(err)) throw err;
    }
    await this.forgetSoon(callId);
    return true;
  }

  /** forget(), for the calls of a batch together: their inserts all resolve in one turn of the loop. */
  private forgetSoon(callId: string): Promise<void> {
    if (!this.forgetting) {
      const ids: string[] = [];
      const done = new Promise<void>((resolve, reject) =>
        setImmediate(() => {
          this.forgetting = null;
          this.redis.zrem(PENDING_KEY, ...ids).then(() => resolve(), reject);
        }),
      );
      this.forgetting = { ids, done };
    }
    this.forgetting.ids.push(callId);
    return this.forgetting.done;
  }
}
