import { expect } from "chai";
import { loadApiConfig } from "../../api/config.js";
import { ConfigError } from "../../schema/infra/config-error.js";
import { TEST_ADMIN_KEY, startTestApp, type TestApp } from "../helpers/app.js";
import { createAccount, createAgent, gql, gqlOk } from "../helpers/graphql.js";

const CALL_PAGE = `calls(first: 100) { nodes { id callSid status from to startedAt costUsd agent { id name greeting } } }`;

/** Account → activeInboundAgent → account → ... nested `levels` times. */
function nested(levels: number): string {
  let inner = "id";
  for (let i = 0; i < levels; i++) inner = `activeInboundAgent { account { ${inner} } }`;
  return `{ me { ${inner} } }`;
}

describe("GraphQL limits and switches", () => {
  let t: TestApp;

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  describe("when a query nests deeper than GRAPHQL_MAX_DEPTH (8)", () => {
    it("then it is refused before running, and a query at the limit runs", async () => {
      const a = await createAccount(t);
      const deep = await gql(t, nested(4), {}, { key: a.key }); // 1 + 4 × 2 + 1 = 10 levels
      expect(deep.status).to.equal(400);
      expect(deep.errors?.[0]?.extensions?.code).to.equal("GRAPHQL_VALIDATION_FAILED");
      expect(deep.errors?.[0]?.message).to.equal("Query depth 10 exceeds the maximum of 8");
      const atLimit = await gql(t, nested(3), {}, { key: a.key }); // 8 levels
      expect(atLimit.errors).to.equal(undefined);
    });

    it("then depth hidden in fragments counts too", async () => {
      const query = `
        fragment A on Account { activeInboundAgent { account { ...B } } }
        fragment B on Account { activeInboundAgent { account { ...C } } }
        fragment C on Account { activeInboundAgent { account { activeInboundAgent { account { id } } } } }
        { me { ...A } }`;
      const res = await gql(t, query);
      // me (1), two levels each in A and B, five in C counting its id
      expect(res.errors?.[0]?.message).to.equal("Query depth 10 exceeds the maximum of 8");
    });

    it("then a fragment spread many times over is measured without blowing up", async () => {
      const fragments = [`fragment F0 on Agent { id name }`];
      for (let i = 1; i <= 30; i++) fragments.push(`fragment F${i} on Agent { ...F${i - 1} a${i}: account { id } ...F${i - 1} }`);
      const a = await createAccount(t);
      await createAgent(t, a.key, { name: "Bomb target" });
      // 2^30 paths if walked naively; measured once per fragment it passes the depth rule and runs.
      const res = await gql(t, `${fragments.join("\n")}\n{ agents(first: 1) { nodes { ...F30 } } }`, {}, { key: a.key });
      expect(res.errors).to.equal(undefined);
      expect(res.data.agents.nodes[0]).to.include({ name: "Bomb target" });
      expect(res.data.agents.nodes[0].a30).to.deep.equal({ id: a.id });
    });
  });

  describe("when a query costs more than GRAPHQL_MAX_COMPLEXITY (5000)", () => {
    it("then several 100-item pages in one request are refused, while one is allowed", async () => {
      const one = await gql(t, `{ ${CALL_PAGE} }`);
      expect(one.errors).to.equal(undefined);
      const many = await gql(t, `{ a: ${CALL_PAGE} b: ${CALL_PAGE} c: ${CALL_PAGE} d: ${CALL_PAGE} e: ${CALL_PAGE} }`);
      expect(many.status).to.equal(400);
      expect(many.errors?.[0]?.extensions?.code).to.equal("GRAPHQL_VALIDATION_FAILED");
      expect(many.errors?.[0]?.message).to.match(/^Query complexity \d+ exceeds the maximum of 5000/);
      expect(many.data).to.equal(undefined);
    });

    it("then page sizes passed as variables are costed too", async () => {
      const page = CALL_PAGE.replace("first: 100", "first: $n");
      const query = `query ($n: Int) { a: ${page} b: ${page} c: ${page} d: ${page} e: ${page} }`;
      expect((await gql(t, query, { n: 10 })).errors).to.equal(undefined);
      const big = await gql(t, query, { n: 100 });
      expect(big.errors?.[0]?.message).to.match(/^Query complexity/);
    });
  });

  describe("when the request itself is abusive", () => {
    it("then a body over GRAPHQL_MAX_BODY_BYTES is refused with 413", async () => {
      const res = await fetch(`${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TEST_ADMIN_KEY}` },
        body: JSON.stringify({ query: `{ me { id } }`, variables: { pad: "x".repeat(300 * 1024) } }),
      });
      expect(res.status).to.equal(413);
      expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).to.equal(
        "PAYLOAD_TOO_LARGE",
      );
    });

    it("then a body over the limit sent without Content-Length (chunked) is refused with 413 too", async () => {
      const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 8) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const res = await fetch(`${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TEST_ADMIN_KEY}` },
        body,
        duplex: "half",
      });
      expect(res.status).to.equal(413);
      expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).to.equal(
        "PAYLOAD_TOO_LARGE",
      );
    });

    it("then malformed JSON, batches and non-JSON bodies are refused with 400", async () => {
      const post = (body: string, type = "application/json") =>
        fetch(`${t.url}/graphql`, { method: "POST", headers: { "content-type": type, authorization: `Bearer ${TEST_ADMIN_KEY}` }, body });
      const bad = await post("{ not json");
      expect(bad.status).to.equal(400);
      expect(((await bad.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).to.equal("BAD_REQUEST");
      expect((await post(JSON.stringify([{ query: "{ me { id } }" }, { query: "{ me { id } }" }]))).status).to.equal(400);
      expect((await post(`{ me { id } }`, "text/plain")).status).to.equal(400);
    });

    it("then a query with too many tokens is refused while parsing", async () => {
      const fields = Array.from({ length: 3000 }, (_, i) => `f${i}: __typename`).join(" ");
      const res = await gql(t, `{ ${fields} }`);
      expect(res.status).to.equal(400);
      expect(res.errors?.[0]?.extensions?.code).to.equal("GRAPHQL_PARSE_FAILED");
    });
  });

  describe("when introspection and the landing page are on (the default outside production)", () => {
    it("then an authenticated client can introspect and a browser gets the landing page", async () => {
      const data = await gqlOk(t, `{ __schema { queryType { name } } }`);
      expect(data.__schema.queryType.name).to.equal("Query");
      const page = await fetch(`${t.url}/graphql`, { headers: { accept: "text/html" } });
      expect(page.status).to.equal(200);
      expect(page.headers.get("content-type")).to.match(/text\/html/);
    });
  });

  describe("when GRAPHQL_INTROSPECTION, GRAPHQL_LANDING_PAGE and GRAPHQL_MAX_PAGE_SIZE are set", () => {
    let locked: TestApp;
    before(async () => {
      locked = await startTestApp({ GRAPHQL_INTROSPECTION: "false", GRAPHQL_LANDING_PAGE: "false", GRAPHQL_MAX_PAGE_SIZE: "10" });
    });
    after(async () => {
      await locked.close();
    });

    it("then introspection is refused, no landing page is served, and pages are capped", async () => {
      const res = await gql(locked, `{ __schema { queryType { name } } }`);
      expect(res.errors?.[0]?.extensions?.code).to.equal("GRAPHQL_VALIDATION_FAILED");
      expect(res.errors?.[0]?.message).to.match(/introspection/i);
      const page = await fetch(`${locked.url}/graphql`, { headers: { accept: "text/html" } });
      expect(page.headers.get("content-type") ?? "").to.not.match(/text\/html/);
      const tooBig = await gql(locked, `{ agents(first: 11) { totalCount } }`);
      expect(tooBig.errors?.[0]?.message).to.equal("first must be between 1 and 10");
      expect((await gql(locked, `{ agents(first: 10) { totalCount } }`)).errors).to.equal(undefined);
    });
  });

  describe("when the configuration is loaded", () => {
    const base = { MONGODB_URI: "mongodb://127.0.0.1/x", REDIS_URL: "redis://127.0.0.1" };

    it("then production turns introspection and the landing page off unless asked", () => {
      const prod = {
        ...base,
        NODE_ENV: "production",
        ADMIN_API_KEY: "a".repeat(32),
        STREAM_TOKEN_SECRET: "s".repeat(32),
        PUBLIC_BASE_URL: "https://voice.example.com",
        MEDIA_PUBLIC_URL: "wss://media.example.com",
        TWILIO_AUTH_TOKEN: "t".repeat(32),
      };
      expect(loadApiConfig(prod).graphql).to.include({ introspection: false, landingPage: false });
      expect(loadApiConfig({ ...prod, GRAPHQL_INTROSPECTION: "true" }).graphql.introspection).to.equal(true);
      expect(loadApiConfig(base).graphql).to.deep.equal({
        introspection: true,
        landingPage: true,
        maxDepth: 8,
        maxComplexity: 5000,
        maxPageSize: 100,
        maxBodyBytes: 256 * 1024,
      });
    });

    it("then a bad value names the variable", () => {
      for (const [name, value] of [
        ["GRAPHQL_INTROSPECTION", "maybe"],
        ["GRAPHQL_MAX_DEPTH", "1"],
        ["GRAPHQL_MAX_COMPLEXITY", "lots"],
        ["GRAPHQL_MAX_PAGE_SIZE", "0"],
        ["GRAPHQL_MAX_BODY_BYTES", "-5"],
      ] as const) {
        expect(() => loadApiConfig({ ...base, [name]: value }))
          .to.throw(ConfigError)
          .with.property("variable", name);
      }
    });
  });
});
