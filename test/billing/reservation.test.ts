import { expect } from "chai";
import { Redis } from "ioredis";
import { Types } from "mongoose";
import { ReservationService } from "../../schema/billing/reservation.service.js";
import { LedgerService } from "../../schema/ledger/ledger.service.js";
import { testEnv } from "../helpers/env.js";

describe("ReservationService", () => {
  let redis: Redis;
  const ledger = new LedgerService();

  before(() => {
    redis = new Redis(testEnv().redisUrl);
  });
  after(async () => {
    await redis.quit();
  });

  async function funded(micros: number) {
    const accountId = new Types.ObjectId();
    await ledger.append({ accountId, kind: "credit", amountMicros: micros, reference: "seed", floorMicros: null });
    return accountId;
  }
  const reserve = (
    svc: ReservationService,
    accountId: Types.ObjectId,
    callKey: string,
    extra: Partial<{ once: boolean; ttlMs: number; amountMicros: number; maxConcurrentCalls: number }> = {},
  ) => svc.reserve({ accountId, callKey, once: true, amountMicros: 150_000, requiredMicros: 150_000, ttlMs: 60_000, ...extra });

  it("when 20 calls reserve at once on money for 3, then exactly 3 get through", async () => {
    const svc = new ReservationService(redis, ledger);
    const accountId = await funded(450_000);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => reserve(svc, accountId, `CA${i}`)));
    expect(results.filter((r) => r.status === "fulfilled")).to.have.length(3);
    expect(await svc.availableMicros(accountId)).to.equal(0);
  });

  it("when the same call reserves twice with once, then it holds one minute", async () => {
    const svc = new ReservationService(redis, ledger);
    const accountId = await funded(1_000_000);
    await reserve(svc, accountId, "CAx");
    await reserve(svc, accountId, "CAx");
    expect(await svc.reservedMicros(accountId)).to.equal(150_000);
  });

  it("when a reservation is not extended before its TTL, then it lapses", async () => {
    const svc = new ReservationService(redis, ledger);
    const accountId = await funded(150_000);
    await reserve(svc, accountId, "CAshort", { ttlMs: 50 });
    await new Promise((r) => setTimeout(r, 80));
    expect(await svc.reservedMicros(accountId)).to.equal(0);
    await reserve(svc, accountId, "CAnext");
  });

  it("when a charge is written and its hold released after the balance was read, then the stale read is retried", async () => {
    const accountId = await funded(300_000);
    const stale = await ledger.balance(accountId);
    // The real ledger, except that its first read returns the balance as it was before the charge.
    class SlowReader extends LedgerService {
      private served = false;
      override async balance(id: Types.ObjectId) {
        if (!this.served) {
          this.served = true;
          return stale;
        }
        return super.balance(id);
      }
    }
    const svc = new ReservationService(redis, new SlowReader());
    await new ReservationService(redis, ledger).reserve({
      accountId,
      callKey: "CAa",
      once: true,
      amountMicros: 150_000,
      requiredMicros: 150_000,
      ttlMs: 60_000,
    });
    // The call ends: charge 200,000 then release with the charge's seq.
    const charge = await ledger.append({ accountId, kind: "call_charge", amountMicros: -200_000, reference: "call:a", floorMicros: null });
    await svc.release(accountId, "CAa", charge.entry.seq);
    // Balance is now 100,000: a new call needing 150,000 must be refused.
    try {
      await reserve(svc, accountId, "CAb");
      expect.fail("should have been refused");
    } catch (err) {
      expect((err as { code?: string }).code).to.equal("INSUFFICIENT_BALANCE");
    }
  });

  describe("with a limit of concurrent calls (maxConcurrentCalls)", () => {
    const refusal = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        return (err as { code?: string }).code;
      }
      return "admitted";
    };

    it("when 25 calls reserve at once under a limit of 10, then exactly 10 hold money and the others hold nothing", async () => {
      const svc = new ReservationService(redis, ledger);
      const accountId = await funded(100_000_000);
      const results = await Promise.all(
        Array.from({ length: 25 }, (_, i) => refusal(reserve(svc, accountId, `CAburst${i}`, { maxConcurrentCalls: 10 }))),
      );
      expect(results.filter((r) => r === "admitted")).to.have.length(10);
      expect(results.filter((r) => r === "CONCURRENCY_LIMIT")).to.have.length(15);
      expect(await svc.reservedMicros(accountId)).to.equal(10 * 150_000);
    });

    it("when a call at the limit already holds money, then its repeat is still admitted and adds nothing", async () => {
      const svc = new ReservationService(redis, ledger);
      const accountId = await funded(10_000_000);
      for (let i = 0; i < 3; i++) await reserve(svc, accountId, `CArep${i}`, { maxConcurrentCalls: 3 });
      expect(await refusal(reserve(svc, accountId, "CArep1", { maxConcurrentCalls: 3 }))).to.equal("admitted");
      expect(await refusal(reserve(svc, accountId, "CArep3", { maxConcurrentCalls: 3 }))).to.equal("CONCURRENCY_LIMIT");
      expect(await svc.reservedMicros(accountId)).to.equal(3 * 150_000);
    });

    it("when calls are released or lapse, then their places are free again", async () => {
      const svc = new ReservationService(redis, ledger);
      const accountId = await funded(10_000_000);
      await reserve(svc, accountId, "CAend", { maxConcurrentCalls: 2 });
      await reserve(svc, accountId, "CAlapse", { maxConcurrentCalls: 2, ttlMs: 50 });
      expect(await refusal(reserve(svc, accountId, "CAnew1", { maxConcurrentCalls: 2 }))).to.equal("CONCURRENCY_LIMIT");
      await svc.release(accountId, "CAend");
      expect(await refusal(reserve(svc, accountId, "CAnew1", { maxConcurrentCalls: 2 }))).to.equal("admitted");
      await new Promise((r) => setTimeout(r, 80));
      expect(await refusal(reserve(svc, accountId, "CAnew2", { maxConcurrentCalls: 2 }))).to.equal("admitted");
    });

    it("when manual debits hold money at the same time, then their holds are not counted as calls", async () => {
      const svc = new ReservationService(redis, ledger);
      const accountId = await funded(10_000_000);
      // A debit's hold lives while its ledger append runs: hold two through a slow ledger.
      let finish!: () => void;
      const gate = new Promise<void>((r) => (finish = r));
      class SlowAppends extends LedgerService {
        override async append(input: Parameters<LedgerService["append"]>[0]) {
          await gate;
          return super.append(input);
        }
      }
      const debits = new ReservationService(redis, new SlowAppends());
      const pending = [1, 2].map((n) => debits.debit({ accountId, amountMicros: 100_000, reference: `manual:limit-${n}`, note: null }));
      for (let i = 0; i < 50 && (await svc.reservedMicros(accountId)) < 200_000; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await svc.reservedMicros(accountId)).to.equal(200_000);
      expect(await refusal(reserve(svc, accountId, "CAd1", { maxConcurrentCalls: 2 }))).to.equal("admitted");
      expect(await refusal(reserve(svc, accountId, "CAd2", { maxConcurrentCalls: 2 }))).to.equal("admitted");
      expect(await refusal(reserve(svc, accountId, "CAd3", { maxConcurrentCalls: 2 }))).to.equal("CONCURRENCY_LIMIT");
      finish();
      await Promise.all(pending);
    });

    it("when the limit is 0, then no call is admitted, and a live call's next chunk is never limited", async () => {
      const svc = new ReservationService(redis, ledger);
      const accountId = await funded(10_000_000);
      expect(await refusal(reserve(svc, accountId, "CAzero", { maxConcurrentCalls: 0 }))).to.equal("CONCURRENCY_LIMIT");
      expect(await svc.reservedMicros(accountId)).to.equal(0);
      await reserve(svc, accountId, "CAlive");
      await reserve(svc, accountId, "CAlive", { once: false });
      expect(await svc.heldByCall(accountId, "CAlive")).to.equal(300_000);
    });
  });
});
