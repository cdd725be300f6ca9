import { expect } from "chai";
import { Redis } from "ioredis";
import { Types } from "mongoose";
import { ReservationService } from "../../schema/billing/reservation.service.js";
import { LedgerService } from "../../schema/ledger/ledger.service.js";
import { testEnv } from "../helpers/env.js";

describe("ReservationService: live calls", () => {
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
    return { accountId, svc: new ReservationService(redis, ledger) };
  }
  const admit = (svc: ReservationService, accountId: Types.ObjectId, callKey: string, ttlMs = 60_000) =>
    svc.reserve({ accountId, callKey, once: true, amountMicros: 150_000, requiredMicros: 150_000, ttlMs });
  const chunk = (svc: ReservationService, accountId: Types.ObjectId, callKey: string) =>
    svc.reserve({ accountId, callKey, once: false, amountMicros: 75_000, requiredMicros: 75_000, ttlMs: 60_000 });

  it("when a live call extends, then each chunk adds to its hold while the balance covers it, then it is refused", async () => {
    const { accountId, svc } = await funded(300_000);
    await admit(svc, accountId, "CAlive");
    await chunk(svc, accountId, "CAlive");
    await chunk(svc, accountId, "CAlive");
    expect(await svc.heldByCall(accountId, "CAlive")).to.equal(300_000);
    try {
      await chunk(svc, accountId, "CAlive");
      expect.fail("should have been refused");
    } catch (err) {
      expect((err as { code?: string }).code).to.equal("INSUFFICIENT_BALANCE");
    }
    expect(await svc.heldByCall(accountId, "CAlive")).to.equal(300_000);
    expect(await svc.availableMicros(accountId)).to.equal(0);
  });

  it("when two live calls race for the last chunk, then only one gets it", async () => {
    const { accountId, svc } = await funded(375_000);
    await admit(svc, accountId, "CAa");
    await admit(svc, accountId, "CAb");
    const results = await Promise.allSettled([chunk(svc, accountId, "CAa"), chunk(svc, accountId, "CAb")]);
    expect(results.filter((r) => r.status === "fulfilled")).to.have.length(1);
    expect(await svc.reservedMicros(accountId)).to.equal(375_000);
  });

  it("when a live call is touched, then its hold outlives the original TTL without growing", async () => {
    const { accountId, svc } = await funded(150_000);
    await admit(svc, accountId, "CAkeep", 150);
    expect(await svc.touch(accountId, "CAkeep", 5_000)).to.equal(true);
    await new Promise((r) => setTimeout(r, 250));
    expect(await svc.heldByCall(accountId, "CAkeep")).to.equal(150_000);
    expect(await svc.reservedMicros(accountId)).to.equal(150_000);
  });

  it("when a call holds nothing, then touching it reserves nothing", async () => {
    const { accountId, svc } = await funded(150_000);
    expect(await svc.touch(accountId, "CAnone", 5_000)).to.equal(false);
    expect(await svc.heldByCall(accountId, "CAnone")).to.equal(0);
    expect(await svc.reservedMicros(accountId)).to.equal(0);
  });

  it("when an untouched hold lapses, then the call holds nothing", async () => {
    const { accountId, svc } = await funded(150_000);
    await admit(svc, accountId, "CAgone", 50);
    await new Promise((r) => setTimeout(r, 100));
    expect(await svc.heldByCall(accountId, "CAgone")).to.equal(0);
  });
});
