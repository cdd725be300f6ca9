import { randomBytes } from "node:crypto";
import type { Redis, Result } from "ioredis";
import { AppError } from "./errors.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { defineScripts } from "./redis-scripts.js";

const SCRIPTS = {
  /** KEYS[1] the lock, ARGV[1] the holder's token: deletes the lock only while that holder has it. */
  c247LockRelease: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
  },
  /** KEYS[1] the lock, ARGV[1] the token, ARGV[2] ms: extends the lock only while that holder has it. */
  c247LockExtend: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`,
  },
};

declare module "ioredis" {
  interface RedisCommander<Context> {
    /** 1 when the lock was the token's and is gone, else 0. */
    c247LockRelease(lock: string, token: string): Result<number, Context>;
    /** 1 when the lock is the token's and now lives `ttlMs` more, else 0. */
    c247LockExtend(lock: string, token: string, ttlMs: number): Result<number, Context>;
  }
}

export interface DocumentLockOptions {
  /** Milliseconds a lock lives unless its holder extends it: what a dead process blocks a document for. */
  ttlMs: number;
  /** Milliseconds a writer waits for the lock before giving up with DOCUMENT_BUSY. */
  waitMs: number;
}

const DEFAULT_OPTIONS: DocumentLockOptions = { ttlMs: 10_000, waitMs: 5_000 };

/** Another writer held the document for longer than the wait: nothing was changed. */
export class DocumentBusyError extends AppError {
  constructor(what: string) {
    super("DOCUMENT_BUSY", `${what} is being changed by another request; try again`, { status: 503, retryable: true });
  }
}

/**
 * One writer at a time per document, across processes. FerretDB runs an update as read, modify,
 * write back the whole document, with no check at the write (FerretDB issue #3040; a filter such
 * as `{ _id, __v: n }` is only matched at the read, so version guards do not help either): two
 * concurrent `$set`s of different fields of one document can lose one. Updates of the documents
 * people edit (accounts, agents, phone numbers) therefore run inside `run()`.
 *
 * The lock is a Redis key set with NX and a TTL, holding a random token; it is released and
 * extended by scripts that compare the token, so a holder never frees a lock it no longer has.
 * Its holder extends it while the task runs, so a slow write keeps it and a dead process frees it
 * after `ttlMs`. Waiters in this process queue on a local mutex and poll Redis only one at a time.
 * Money never relies on this (the ledger and reservations are atomic on their own): if Redis lost
 * the key during a write, two profile edits could still race, as they would without it.
 */
export class DocumentLocks {
  private readonly options: DocumentLockOptions;
  private readonly local = new KeyedMutex();

  constructor(
    private readonly redis: Redis,
    options: Partial<DocumentLockOptions> = {},
  ) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
    defineScripts(redis, SCRIPTS);
  }

  /** Runs `task` holding the lock of document `id` of `model`; DOCUMENT_BUSY when it cannot be had in time. */
  run<T>(model: { modelName: string }, id: { toString(): string }, task: () => Promise<T>): Promise<T> {
    const name = `${model.modelName} ${String(id)}`;
    // The hash tag keeps one document's lock in one Redis Cluster slot.
    const key = `c247:lock:{${model.modelName}:${String(id)}}`;
    const deadline = Date.now() + this.options.waitMs;
    return this.local.run(key, async () => {
      const token = await this.acquire(key, name, deadline);
      const { ttlMs } = this.options;
      const keeper = setInterval(() => void this.redis.c247LockExtend(key, token, ttlMs).catch(() => undefined), ttlMs / 3).unref();
      try {
        return await task();
      } finally {
        clearInterval(keeper);
        await this.redis.c247LockRelease(key, token).catch(() => undefined);
      }
    });
  }

  private async acquire(key: string, name: string, deadline: number): Promise<string> {
    const token = randomBytes(12).toString("base64url");
    for (let attempt = 0; ; attempt++) {
      if ((await this.redis.set(key, token, "PX", this.options.ttlMs, "NX")) === "OK") return token;
      const left = deadline - Date.now();
      if (left <= 0) throw new DocumentBusyError(name);
      // Short, growing, jittered pauses: a profile edit takes a few milliseconds.
      await new Promise((r) => setTimeout(r, Math.min(left, Math.random() * Math.min(50, 2 + 2 * attempt))));
    }
  }
}
