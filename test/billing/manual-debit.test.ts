import { expect } from "chai";
import { Redis } from "ioredis";
import { Types } from "mongoose";
import { ReservationService } from "../../schema/billing/reservation.service.js";
import { LedgerService, type Balance } from "../../schema/ledger/ledger.service.js";
import { DatabaseUnavailableError } from "../../schema/infra/errors.js";
import { LedgerEntryModel } from "../../schema/models/ledger-entry.model.js";
import { testEnv } from "../helpers/env.js";

const codeOf = (r: PromiseSettledResult<unknown>) => (r.status === "rejected" ? (r.reason as { code?: string }).code : "ok");

describe("ReservationService.debit: manual debits against the available balance", () => {
  let redis: Redis;
  const ledger = new LedgerService();

  before(() => {
    redis = new Redis(testEnv().redisUrl);
  });
  after(() => redis.disconnect());

  async function funded(micros: number) {
    const accountId = new Types.ObjectId();
    await ledger.append({ accountId, kind: "credit", amountMicros: micros, reference: "seed", floorMicros: null });
    return accountId;
  }
  const hold = (svc: ReservationService, accountId: Types.ObjectId, callKey: string) =>
    svc.reserve({ accountId, callKey, once: true, amountMicros: 150_000, requiredMicros: 150_000, ttlMs: 60_000 });

  it("when a live call holds $0.15 of $1, then a $0.90 debit is refused with nothing written and $0.85 is accepted", async () => {
    const svc = new ReservationService(redis, ledger);
    const accountId = await funded(1_000_000);
    await hold(svc, accountId, "CAlive");
    const refused = await svc.debit({ accountId, amountMicros: 900_000, reference: "too-much" }).then(
      () => null,
      (err: unknown) => err,
    );
    expect((refused as { code?: string }).code).to.equal("INSUFFICIENT_BALANCE");
    expect(await LedgerEntryModel.countDocuments({ accountId })).to.equal(1);
    expect(await svc.reservedMicros(accountId)).to.equal(150_000);

    const { entry } = await svc.debit({ accountId, amountMicros: 850_000, reference: "fits" });
    expect(entry).to.include({ kind: "debit", amountMicros: -850_000, balanceAfterMicros: 150_000 });
    // The debit's own hold is gone; the call's is untouched.
    expect(await svc.reservedMicros(accountId)).to.equal(150_000);
    expect(await svc.heldByCall(accountId, "CAlive")).to.equal(150_000);
    expect(await svc.availableMicros(accountId)).to.equal(0);
  });

  it("when an admission and a debit reach for the same money at the same moment, in separate processes, then never both get it", async () => {
    let admitted = 0;
    let debited = 0;
    for (let round = 0; round < 20; round++) {
      const accountId = await funded(1_000_000);
      // Each side its own ledger and reservation service: as two processes.
      const web = new ReservationService(redis, new LedgerService());
      const admin = new ReservationService(redis, new LedgerService());
      const [call, debit] = await Promise.allSettled([
        hold(web, accountId, `CA${round}`),
        admin.debit({ accountId, amountMicros: 900_000, reference: `r${round}` }),
      ]);
      const outcome = [codeOf(call), codeOf(debit)];
      // $0.15 + $0.90 > $1: exactly one of them, whichever came first.
      expect(
        outcome.filter((c) => c === "ok"),
        `round ${round}: ${outcome.join(", ")}`,
      ).to.have.length(1);
      expect(outcome.filter((c) => c === "INSUFFICIENT_BALANCE")).to.have.length(1);
      expect(await web.availableMicros(accountId)).to.be.at.least(0);
      if (codeOf(call) === "ok") admitted++;
      else debited++;
    }
    expect(admitted + debited).to.equal(20);
  });

  it("when a debit is written after a balance snapshot was taken, then admission no longer goes on that snapshot", async () => {
    const svc = new ReservationService(redis, ledger);
    const accountId = await funded(1_000_000);
    // An admission reads $1 and leaves it in the snapshot; the call ends without a charge.
    await hold(svc, accountId, "CAfirst");
    await svc.release(accountId, "CAfirst");
    await svc.debit({ accountId, amountMicros: 900_000, reference: "after-snapshot" });
    // The ledger now does not answer: only the snapshot ($1, from before the debit) is left.
    class Unreachable extends LedgerService {
      override balance(): Promise<Balance> {
        return Promise.reject(new DatabaseUnavailableError());
      }
    }
    const blind = new ReservationService(redis, new Unreachable());
    const blindResult = await hold(blind, accountId, "CAsecond").then(
      () => "admitted",
      (err: { code?: string }) => err.code,
    );
    expect(blindResult).to.equal("DATABASE_UNAVAILABLE");
    // With the ledger back, the true balance ($0.10) refuses the call.
    const seeing = await hold(svc, accountId, "CAsecond").then(
      () => "admitted",
      (err: { code?: string }) => err.code,
    );
    expect(seeing).to.equal("INSUFFICIENT_BALANCE");
  });

  it("when a debit is retried after it was written, then it answers the first entry even though less is available now", async () => {
    const svc = new ReservationService(redis, ledger);
    const accountId = await funded(1_000_000);
    const first = await svc.debit({ accountId, amountMicros: 900_000, reference: "once" });
    const again = await svc.debit({ accountId, amountMicros: 900_000, reference: "once" });
    expect(again.created).to.equal(false);
    expect(again.entry._id).to.equal(first.entry._id);
    expect((await ledger.balance(accountId)).balanceMicros).to.equal(100_000);
    expect(await svc.reservedMicros(accountId)).to.equal(0);
  });

  it("when the append is refused, then the debit's hold is released", async () => {
    const svc = new ReservationService(redis, ledger);
    const accountId = await funded(1_000_000);
    // "seed" is the credit's reference: reusing it for a debit is a conflict.
    const err = await svc.debit({ accountId, amountMicros: 100_000, reference: "seed" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as { code?: string }).code).to.equal("IDEMPOTENCY_CONFLICT");
    expect(await svc.reservedMicros(accountId)).to.equal(0);
    expect(await svc.availableMicros(accountId)).to.equal(1_000_000);
  });

  it("when the amount is not a positive whole number of micro-dollars, then nothing is held or written", async () => {
    const svc = new ReservationService(redis, ledger);
    const accountId = await funded(1_000_000);
    for (const amountMicros of [0, -5, 1.5]) {
      const err = await svc.debit({ accountId, amountMicros, reference: `bad-${amountMicros}` }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(RangeError);
    }
    expect(await svc.reservedMicros(accountId)).to.equal(0);
    expect(await LedgerEntryModel.countDocuments({ accountId })).to.equal(1);
  });
});
