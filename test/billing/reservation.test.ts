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
  const reserve = (svc: ReservationService, accountId: Types.ObjectId, callKey: string, extra: Partial<{ once: boolean; ttlMs: number; amountMicros: number }> = {}) =>
    svc.reserve({ accountId, callKey, once: true, amountMicros: 150_000, requiredMicros: 150_000, ttlMs: 60_000, ...extra });

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
    await new ReservationService(redis, ledger).reserve({ accountId, callKey: "CAa", once: true, amountMicros: 150_000, requiredMicros: 150_000, ttlMs: 60_000 });
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
});
