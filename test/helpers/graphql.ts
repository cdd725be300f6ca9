import { expect } from "chai";
import { TEST_ADMIN_KEY, type TestApp } from "./app.js";
import { uniqueNumber } from "./fixtures.js";

export interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; field?: string; [key: string]: unknown };
}

export interface GqlResult<T> {
  status: number;
  data: T | null | undefined;
  errors: GqlError[] | undefined;
}

export interface GqlOptions {
  /** Bearer key; default the admin key, null for none. */
  key?: string | null;
  headers?: Record<string, string>;
}

type AnyData = any;

/** POSTs one GraphQL operation to the running app, as a client would. */
export async function gql<T = AnyData>(
  t: Pick<TestApp, "url">,
  query: string,
  variables: Record<string, unknown> = {},
  opts: GqlOptions = {},
): Promise<GqlResult<T>> {
  const key = opts.key === undefined ? TEST_ADMIN_KEY : opts.key;
  const headers: Record<string, string> = { "content-type": "application/json", ...opts.headers };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${t.url}/graphql`, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T | null; errors?: GqlError[] };
  return { status: res.status, data: body.data, errors: body.errors };
}

/** The data of a call that must succeed; fails the test with the errors otherwise. */
export async function gqlOk<T = AnyData>(
  t: Pick<TestApp, "url">,
  query: string,
  variables: Record<string, unknown> = {},
  opts: GqlOptions = {},
): Promise<T> {
  const res = await gql<T>(t, query, variables, opts);
  expect(res.errors, JSON.stringify(res.errors)).to.equal(undefined);
  return res.data as T;
}

/** The first error of a call that must fail; checks its code. */
export async function gqlError(
  t: TestApp,
  code: string,
  query: string,
  variables: Record<string, unknown> = {},
  opts: GqlOptions = {},
): Promise<GqlError> {
  const res = await gql(t, query, variables, opts);
  expect(res.errors, `expected ${code}, got data ${JSON.stringify(res.data)}`)
    .to.be.an("array")
    .with.length.above(0);
  const error = res.errors![0]!;
  expect(error.extensions?.code, error.message).to.equal(code);
  return error;
}

export interface ApiAccount {
  id: string;
  key: string;
}

let accountCounter = 0;

/** Creates an account through the API (admin key) and returns its id and first key. */
export async function createAccount(t: Pick<TestApp, "url">, input: Record<string, unknown> = {}): Promise<ApiAccount> {
  accountCounter += 1;
  const data = await gqlOk(t, `mutation ($input: CreateAccountInput!) { createAccount(input: $input) { account { id } apiKey } }`, {
    input: { name: `Account ${accountCounter}`, email: `owner${accountCounter}@example.com`, phoneNumbers: [uniqueNumber()], ...input },
  });
  return { id: data.createAccount.account.id, key: data.createAccount.apiKey };
}

/** Creates an agent in the key's account and returns its id. */
export async function createAgent(t: TestApp, key: string, input: Record<string, unknown> = {}): Promise<string> {
  const data = await gqlOk(
    t,
    `mutation ($input: CreateAgentInput!) { createAgent(input: $input) { id } }`,
    { input: { name: "Front desk", ...input } },
    { key },
  );
  return data.createAgent.id;
}
