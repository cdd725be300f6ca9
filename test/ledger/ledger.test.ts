import { expect } from "chai";
import { Types } from "mongoose";
import { LedgerService } from "../../schema/ledger/ledger.service.js";
import { LedgerEntryModel } from "../../schema/models/ledger-entry.model.js";

describe("Ledger", () => {
  const newAccount = () => new Types.ObjectId();

  describe("when 50 credits and charges hit one account at once from several writers", () => {
    it("then the balance and the ledger are exact, duplicates applied once, seq gapless", async () => {
      const accountId = newAccount();
      // Separate instances act as separate processes: no shared in-process lock between them.
      const writers = Array.from({ length: 5 }, () => new LedgerService());
      const ops: { kind: "credit" | "call_charge"; amountMicros: number; reference: string }[] = [];
      for (let i = 0; i < 35; i++) {
        const credit = i % 2 === 0;
        ops.push({
          kind: credit ? "credit" : "call_charge",
          amountMicros: credit ? 1_000_000 + i : -(2_500 * (i + 1)),
          reference: credit ? `topup-${i}` : `call:${i}`,
        });
      }
      // 15 duplicates of earlier movements, sent concurrently with the originals.
      const requests = [...ops, ...ops.slice(0, 15)];
      const results = await Promise.all(
        requests.map((op, i) => writers[i % writers.length]!.append({ accountId, ...op, floorMicros: null })),
      );
      expect(results.filter((r) => r.created)).to.have.length(35);

      const expected = ops.reduce((sum, op) => sum + op.amountMicros, 0);
      const entries = await LedgerEntryModel.find({ accountId }).sort({ seq: 1 }).lean();
      expect(entries).to.have.length(35);
      expect(entries.map((e) => e.seq)).to.deep.equal(Array.from({ length: 35 }, (_, i) => i + 1));
      let running = 0;
      for (const e of entries) {
        running += e.amountMicros;
        expect(e.balanceAfterMicros).to.equal(running);
      }
      expect(running).to.equal(expected);
      expect((await writers[0]!.balance(accountId)).balanceMicros).to.equal(expected);
      expect(new Set(entries.map((e) => e.reference)).size).to.equal(35);
    });
  });

  describe("when the same reference arrives twice at the same moment", () => {
    it("then it is credited once and both callers see the same entry", async () => {
      const accountId = newAccount();
      const [a, b] = await Promise.all(
        [new LedgerService(), new LedgerService()].map((l) =>
          l.append({ accountId, kind: "credit", amountMicros: 7_000_000, reference: "stripe:pi_1", floorMicros: null }),
        ),
      );
      expect(String(a!.entry._id)).to.equal(String(b!.entry._id));
      expect([a!.created, b!.created].sort()).to.deep.equal([false, true]);
      expect((await new LedgerService().balance(accountId)).balanceMicros).to.equal(7_000_000);
    });
  });

  describe("when a reference is reused for a different amount", () => {
    it("then IDEMPOTENCY_CONFLICT and nothing is written", async () => {
      const accountId = newAccount();
      const l = new LedgerService();
      await l.append({ accountId, kind: "credit", amountMicros: 1_000_000, reference: "r1", floorMicros: null });
      try {
        await l.append({ accountId, kind: "credit", amountMicros: 2_000_000, reference: "r1", floorMicros: null });
        expect.fail("should have thrown");
      } catch (err) {
        expect((err as { code?: string }).code).to.equal("IDEMPOTENCY_CONFLICT");
      }
      expect(await LedgerEntryModel.countDocuments({ accountId })).to.equal(1);
    });
  });

  describe("when debits race for the last dollar", () => {
    it("then the balance never goes below the floor and the losers get INSUFFICIENT_BALANCE", async () => {
      const accountId = newAccount();
      await new LedgerService().append({ accountId, kind: "credit", amountMicros: 1_000_000, reference: "seed", floorMicros: null });
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          new LedgerService().append({ accountId, kind: "debit", amountMicros: -400_000, reference: `adj-${i}`, floorMicros: 0 }),
        ),
      );
      const ok = results.filter((r) => r.status === "fulfilled");
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(ok).to.have.length(2);
      for (const r of refused) expect((r.reason as { code?: string }).code).to.equal("INSUFFICIENT_BALANCE");
      expect((await new LedgerService().balance(accountId)).balanceMicros).to.equal(200_000);
    });

    it("then a replayed debit that was already applied is returned, not refused", async () => {
      const accountId = newAccount();
      const l = new LedgerService();
      await l.append({ accountId, kind: "credit", amountMicros: 500_000, reference: "seed", floorMicros: null });
      const first = await l.append({ accountId, kind: "debit", amountMicros: -500_000, reference: "adj", floorMicros: 0 });
      const again = await l.append({ accountId, kind: "debit", amountMicros: -500_000, reference: "adj", floorMicros: 0 });
      expect(again.created).to.equal(false);
      expect(String(again.entry._id)).to.equal(String(first.entry._id));
    });
  });

  describe("when an account has no entries", () => {
    it("then its balance is zero at seq 0", async () => {
      expect(await new LedgerService().balance(newAccount())).to.deep.equal({ balanceMicros: 0, seq: 0 });
    });
  });
});
