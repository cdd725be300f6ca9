// Admin-only operations are marked @Authorized("ADMIN") and refused by the schema's authChecker
// with our FORBIDDEN (never type-graphql's own UNAUTHORIZED), before any argument is looked at.
import { expect } from "chai";
import { Types } from "mongoose";
import type { GraphQLResolveInfo } from "graphql";
import { authChecker, type Role } from "../../api/graphql/auth-checker.js";
import type { GraphqlContext } from "../../api/graphql/context.js";
import { ForbiddenError, UnauthenticatedError } from "../../api/graphql/errors.js";
import { AccountModel } from "../../schema/models/account.model.js";
import { LedgerEntryModel } from "../../schema/models/ledger-entry.model.js";
import { ForwardingNumberModel } from "../../schema/models/forwarding-number.model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { uniqueNumber } from "../helpers/fixtures.js";
import { createAccount, gql, gqlError, type ApiAccount } from "../helpers/graphql.js";

const ADMIN_ONLY: { name: string; query: string; variables: (a: ApiAccount) => Record<string, unknown> }[] = [
  {
    name: "createAccount",
    query: `mutation ($input: CreateAccountInput!) { createAccount(input: $input) { apiKey } }`,
    variables: () => ({ input: { name: "Nope", email: "not an email" } }),
  },
  { name: "accounts", query: `{ accounts(first: -5) { totalCount } }`, variables: () => ({}) },
  {
    name: "creditBalance",
    query: `mutation ($id: ID!) { creditBalance(accountId: $id, amountUsd: "not money", reference: "self") { id } }`,
    variables: (a) => ({ id: a.id }),
  },
  {
    name: "debitBalance",
    query: `mutation ($id: ID!) { debitBalance(accountId: $id, amountUsd: "1", reference: "self") { id } }`,
    variables: (a) => ({ id: a.id }),
  },
  {
    name: "setForwardingNumberVerified",
    query: `mutation ($id: ID!, $e: String!) { setForwardingNumberVerified(accountId: $id, e164: $e) { e164 } }`,
    variables: (a) => ({ id: a.id, e: uniqueNumber() }),
  },
];

describe("GraphQL authorization: admin-only operations", () => {
  let t: TestApp;
  let a: ApiAccount;

  before(async () => {
    t = await startTestApp();
    a = await createAccount(t);
  });
  after(async () => {
    await t.close();
  });

  for (const op of ADMIN_ONLY) {
    it(`when an account key calls ${op.name}, even with invalid arguments, then it is FORBIDDEN at its path and nothing is written`, async () => {
      const counts = () =>
        Promise.all([AccountModel.countDocuments({}), LedgerEntryModel.countDocuments({}), ForwardingNumberModel.countDocuments({})]);
      const before = await counts();
      const error = await gqlError(t, "FORBIDDEN", op.query, op.variables(a), { key: a.key });
      expect(error.message).to.equal("This operation needs an admin key");
      expect(error.path).to.deep.equal([op.name]);
      expect(await counts()).to.deep.equal(before);
    });
  }

  it("when no key is sent, then the request is UNAUTHENTICATED (401) before anything runs", async () => {
    const res = await gql(t, `{ accounts { totalCount } }`, {}, { key: null });
    expect(res.status).to.equal(401);
    expect(res.errors?.[0]?.extensions?.code).to.equal("UNAUTHENTICATED");
  });
});

describe("authChecker", () => {
  const check = (principal: GraphqlContext["principal"], roles: string[]) =>
    authChecker({ root: undefined, args: {}, context: { principal } as GraphqlContext, info: {} as GraphQLResolveInfo }, roles as Role[]);
  const admin = { kind: "admin", keyId: null } as const;
  const account = { kind: "account", accountId: new Types.ObjectId(), keyId: new Types.ObjectId() } as const;

  it("when the caller has no key, then it throws our UNAUTHENTICATED, with or without roles", () => {
    expect(() => check(null, [])).to.throw(UnauthenticatedError);
    expect(() => check(null, ["ADMIN"])).to.throw(UnauthenticatedError);
  });

  it("when ADMIN is required, then an admin key passes and an account key is FORBIDDEN", () => {
    expect(check(admin, ["ADMIN"])).to.equal(true);
    expect(() => check(account, ["ADMIN"])).to.throw(ForbiddenError, "This operation needs an admin key");
    expect(check(account, [])).to.equal(true);
  });

  it("when a role is unknown (a typo in @Authorized), then nobody passes, admins included", () => {
    expect(() => check(admin, ["ADMN"])).to.throw(/unknown role/);
  });
});
