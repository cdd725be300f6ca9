import { expect } from "chai";
import { Types } from "mongoose";
import { LedgerService, ledger } from "../../schema/ledger/ledger.service.js";
import { LedgerEntryModel } from "../../schema/models/ledger-entry.model.js";
import { CallModel } from "../../schema/models/call.model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { uniqueCallSid, uniqueNumber } from "../helpers/fixtures.js";
import { createAccount, createAgent, gql, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";

const CREDIT = `mutation ($accountId: ID!, $amountUsd: String!, $reference: String!, $note: String) {
  creditBalance(accountId: $accountId, amountUsd: $amountUsd, reference: $reference, note: $note) { id balanceUsd availableBalanceUsd }
}`;
const DEBIT = `mutation ($accountId: ID!, $amountUsd: String!, $reference: String!) {
  debitBalance(accountId: $accountId, amountUsd: $amountUsd, reference: $reference) { id balanceUsd }
}`;
const LEDGER = `query ($accountId: ID, $first: Int, $after: String) {
  ledger(accountId: $accountId, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { seq kind amountUsd balanceAfterUsd reference note createdAt call { id callSid } }
  }
}`;

describe("GraphQL balance: credits, debits and the ledger", () => {
  let t: TestApp;
  let a: ApiAccount;

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    a = await createAccount(t);
  });

  const balanceMicros = async (account: ApiAccount) => (await ledger.balance(new Types.ObjectId(account.id))).balanceMicros;

  describe("when the admin credits an account", () => {
    it("then the balance grows by the amount and the ledger shows a CREDIT entry", async () => {
      const data = await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "12.3456", reference: "inv-1", note: "first top-up" });
      expect(data.creditBalance).to.deep.equal({ id: a.id, balanceUsd: "12.345600", availableBalanceUsd: "12.345600" });
      const entries = await gqlOk(t, LEDGER, {}, { key: a.key });
      expect(entries.ledger.nodes).to.have.length(1);
      expect(entries.ledger.nodes[0]).to.deep.include({
        seq: 1,
        kind: "CREDIT",
        amountUsd: "12.345600",
        balanceAfterUsd: "12.345600",
        reference: "manual:inv-1",
        note: "first top-up",
        call: null,
      });
    });

    it("then the same reference twice credits once", async () => {
      await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "10", reference: "dup" });
      const again = await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "10", reference: "dup" });
      expect(again.creditBalance.balanceUsd).to.equal("10.000000");
      expect(await LedgerEntryModel.countDocuments({ accountId: a.id })).to.equal(1);
    });

    it("then concurrent duplicate requests credit once and all answer the same balance", async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, () => gql(t, CREDIT, { accountId: a.id, amountUsd: "7.50", reference: "race" })),
      );
      for (const r of results) {
        expect(r.errors, JSON.stringify(r.errors)).to.equal(undefined);
        expect(r.data.creditBalance.balanceUsd).to.equal("7.500000");
      }
      expect(await balanceMicros(a)).to.equal(7_500_000);
      expect(await LedgerEntryModel.countDocuments({ accountId: a.id })).to.equal(1);
    });

    it("then a duplicate applied at the same moment by another process (its own ledger writer) credits once", async () => {
      const otherProcess = new LedgerService();
      const [api, other] = await Promise.all([
        gql(t, CREDIT, { accountId: a.id, amountUsd: "2", reference: "cross" }),
        otherProcess.append({
          accountId: new Types.ObjectId(a.id),
          kind: "credit",
          amountMicros: 2_000_000,
          reference: "manual:cross",
          floorMicros: null,
        }),
        gql(t, CREDIT, { accountId: a.id, amountUsd: "2", reference: "cross" }),
      ]);
      expect(api.errors).to.equal(undefined);
      expect(other.entry.reference).to.equal("manual:cross");
      expect(await balanceMicros(a)).to.equal(2_000_000);
      expect(await LedgerEntryModel.countDocuments({ accountId: a.id })).to.equal(1);
    });

    it("then concurrent credits with different references all count", async () => {
      await Promise.all(
        Array.from({ length: 6 }, (_, i) => gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "1.000001", reference: `r${i}` })),
      );
      expect(await balanceMicros(a)).to.equal(6_000_006);
      const seqs = (await LedgerEntryModel.find({ accountId: a.id }).lean()).map((e) => e.seq).sort();
      expect(seqs).to.deep.equal([1, 2, 3, 4, 5, 6]);
    });

    it("then a reference reused with another amount is refused (IDEMPOTENCY_CONFLICT)", async () => {
      await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "5", reference: "same" });
      await gqlError(t, "IDEMPOTENCY_CONFLICT", CREDIT, { accountId: a.id, amountUsd: "6", reference: "same" });
      await gqlError(t, "IDEMPOTENCY_CONFLICT", DEBIT, { accountId: a.id, amountUsd: "5", reference: "same" });
      expect(await balanceMicros(a)).to.equal(5_000_000);
    });

    it("then references are scoped per account", async () => {
      const b = await createAccount(t);
      await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "3", reference: "shared-ref" });
      await gqlOk(t, CREDIT, { accountId: b.id, amountUsd: "4", reference: "shared-ref" });
      expect(await balanceMicros(a)).to.equal(3_000_000);
      expect(await balanceMicros(b)).to.equal(4_000_000);
    });

    const badAmounts: [string, string][] = [
      ["-1", "negative"],
      ["-0.000001", "negative"],
      ["0", "zero"],
      ["0.000000", "zero"],
      ["1.1234567", "seven decimals"],
      ["1e3", "an exponent"],
      ["", "empty"],
      ["abc", "not a number"],
      ["1,000.00", "a thousands separator"],
      [".5", "no whole part"],
      ["5.", "a trailing dot"],
      ["1000000.000001", "over the maximum"],
      ["99999999999999", "far over the maximum"],
      ["NaN", "NaN"],
      ["Infinity", "Infinity"],
      ["0x10", "hexadecimal"],
    ];
    for (const [amountUsd, what] of badAmounts) {
      it(`then an amount that is ${what} ("${amountUsd}") is BAD_USER_INPUT naming amountUsd, and nothing is written`, async () => {
        const error = await gqlError(t, "BAD_USER_INPUT", CREDIT, { accountId: a.id, amountUsd, reference: `bad-${what}` });
        expect(error.message).to.match(/^amountUsd /);
        expect(await LedgerEntryModel.countDocuments({ accountId: a.id })).to.equal(0);
      });
    }

    it("then the largest amount and surrounding spaces are accepted", async () => {
      const data = await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: " 1000000.000000 ", reference: "max" });
      expect(data.creditBalance.balanceUsd).to.equal("1000000.000000");
    });

    it("then an empty or overlong reference is BAD_USER_INPUT naming reference", async () => {
      for (const reference of ["", "   ", "r".repeat(151)]) {
        const error = await gqlError(t, "BAD_USER_INPUT", CREDIT, { accountId: a.id, amountUsd: "1", reference });
        expect(error.message).to.match(/^reference /);
      }
    });

    it("then an unknown account is NOT_FOUND and an account key is FORBIDDEN", async () => {
      await gqlError(t, "NOT_FOUND", CREDIT, { accountId: "0123456789abcdef01234567", amountUsd: "1", reference: "x" });
      await gqlError(t, "FORBIDDEN", CREDIT, { accountId: a.id, amountUsd: "1", reference: "self-service" }, { key: a.key });
      expect(await LedgerEntryModel.countDocuments({ accountId: a.id })).to.equal(0);
    });
  });

  describe("when the admin debits an account", () => {
    it("then the balance shrinks and the ledger shows a negative DEBIT entry", async () => {
      await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "10", reference: "top-up" });
      const data = await gqlOk(t, DEBIT, { accountId: a.id, amountUsd: "2.5", reference: "refund-fix" });
      expect(data.debitBalance.balanceUsd).to.equal("7.500000");
      const entries = await gqlOk(t, LEDGER, {}, { key: a.key });
      expect(entries.ledger.nodes[0]).to.deep.include({ kind: "DEBIT", amountUsd: "-2.500000", balanceAfterUsd: "7.500000" });
    });

    it("then a debit below zero is refused (INSUFFICIENT_BALANCE) and nothing is written", async () => {
      await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "1", reference: "small" });
      await gqlError(t, "INSUFFICIENT_BALANCE", DEBIT, { accountId: a.id, amountUsd: "1.000001", reference: "too-much" });
      expect(await balanceMicros(a)).to.equal(1_000_000);
      expect(await LedgerEntryModel.countDocuments({ accountId: a.id })).to.equal(1);
      const exact = await gqlOk(t, DEBIT, { accountId: a.id, amountUsd: "1", reference: "all-of-it" });
      expect(exact.debitBalance.balanceUsd).to.equal("0.000000");
    });

    it("then what live calls hold cannot be debited: with $0.15 held of $1, $0.90 is refused and $0.85 accepted", async () => {
      await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "1", reference: "base" });
      const accountId = new Types.ObjectId(a.id);
      await t.app.reservations.reserve({
        accountId,
        callKey: uniqueCallSid(),
        once: true,
        amountMicros: 150_000,
        requiredMicros: 150_000,
        ttlMs: 60_000,
      });
      const error = await gqlError(t, "INSUFFICIENT_BALANCE", DEBIT, { accountId: a.id, amountUsd: "0.90", reference: "over-available" });
      expect(error.message).to.match(/available/);
      expect(await balanceMicros(a)).to.equal(1_000_000);
      expect(await LedgerEntryModel.countDocuments({ accountId: a.id })).to.equal(1);
      const ok = await gqlOk(t, DEBIT, { accountId: a.id, amountUsd: "0.85", reference: "within-available" });
      expect(ok.debitBalance.balanceUsd).to.equal("0.150000");
      const me = await gqlOk(t, `{ me { balanceUsd availableBalanceUsd } }`, {}, { key: a.key });
      expect(me.me).to.deep.equal({ balanceUsd: "0.150000", availableBalanceUsd: "0.000000" });
    });

    it("then concurrent debits never take the balance below zero", async () => {
      await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "3", reference: "base" });
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => gql(t, DEBIT, { accountId: a.id, amountUsd: "1", reference: `d${i}` })),
      );
      const ok = results.filter((r) => !r.errors).length;
      expect(ok).to.equal(3);
      expect(results.filter((r) => r.errors?.[0]?.extensions?.code === "INSUFFICIENT_BALANCE")).to.have.length(2);
      expect(await balanceMicros(a)).to.equal(0);
    });
  });

  describe("when the ledger is read", () => {
    it("then entries come newest first across pages, with call charges linked to their call", async () => {
      const agentId = await createAgent(t, a.key);
      const call = await CallModel.create({
        callSid: uniqueCallSid(),
        accountId: a.id,
        agentId,
        to: uniqueNumber(),
        startedAt: new Date(),
        status: "completed",
        billedSeconds: 30,
        costMicros: 75_000,
      });
      await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "5", reference: "p1" });
      await ledger.append({
        accountId: new Types.ObjectId(a.id),
        kind: "call_charge",
        amountMicros: -75_000,
        reference: `test-charge-${call.id}`,
        callId: call._id,
        floorMicros: null,
      });
      await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "1", reference: "p2" });
      const first = await gqlOk(t, LEDGER, { first: 2 }, { key: a.key });
      expect(first.ledger.totalCount).to.equal(3);
      expect(first.ledger.pageInfo.hasNextPage).to.equal(true);
      expect(first.ledger.nodes.map((n: { seq: number }) => n.seq)).to.deep.equal([3, 2]);
      expect(first.ledger.nodes[1]).to.deep.include({ kind: "CALL_CHARGE", amountUsd: "-0.075000", balanceAfterUsd: "4.925000" });
      expect(first.ledger.nodes[1].call).to.deep.equal({ id: call.id, callSid: call.callSid });
      const second = await gqlOk(t, LEDGER, { first: 2, after: first.ledger.pageInfo.endCursor }, { key: a.key });
      expect(second.ledger.nodes.map((n: { seq: number }) => n.seq)).to.deep.equal([1]);
      expect(second.ledger.pageInfo.hasNextPage).to.equal(false);
      // The end cursor is the last entry's: nothing comes after it.
      expect(second.ledger.pageInfo.endCursor).to.be.a("string").and.not.equal(first.ledger.pageInfo.endCursor);
      const after = await gqlOk(t, LEDGER, { first: 2, after: second.ledger.pageInfo.endCursor }, { key: a.key });
      expect(after.ledger.nodes).to.deep.equal([]);
      expect(after.ledger.pageInfo).to.deep.equal({ hasNextPage: false, endCursor: null });
    });

    it("then the admin must name the account", async () => {
      const error = await gqlError(t, "BAD_USER_INPUT", LEDGER, {});
      expect(error.message).to.match(/^accountId /);
      const data = await gqlOk(t, LEDGER, { accountId: a.id });
      expect(data.ledger.totalCount).to.equal(0);
    });

    it("then availableBalanceUsd subtracts what live calls hold", async () => {
      await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "2", reference: "avail" });
      await t.app.reservations.reserve({
        accountId: new Types.ObjectId(a.id),
        callKey: uniqueCallSid(),
        once: true,
        amountMicros: 150_000,
        requiredMicros: 150_000,
        ttlMs: 60_000,
      });
      const data = await gqlOk(t, `{ me { balanceUsd availableBalanceUsd } }`, {}, { key: a.key });
      expect(data.me).to.deep.equal({ balanceUsd: "2.000000", availableBalanceUsd: "1.850000" });
    });

    it("then balances listed for many accounts equal each account's own ledger balance", async () => {
      const b = await createAccount(t);
      await gqlOk(t, CREDIT, { accountId: a.id, amountUsd: "1.25", reference: "l1" });
      await gqlOk(t, CREDIT, { accountId: b.id, amountUsd: "9", reference: "l1" });
      await gqlOk(t, DEBIT, { accountId: b.id, amountUsd: "0.5", reference: "l2" });
      const data = await gqlOk(t, `{ accounts(first: 100) { nodes { id balanceUsd } } }`);
      const listed = new Map(data.accounts.nodes.map((n: { id: string; balanceUsd: string }) => [n.id, n.balanceUsd]));
      expect(listed.get(a.id)).to.equal("1.250000");
      expect(listed.get(b.id)).to.equal("8.500000");
    });
  });
});
