import { readFileSync } from "node:fs";
import { expect } from "chai";
import { printGraphqlSchema, schemaFilePath } from "../../api/graphql/schema-file.js";

describe("GraphQL schema file", () => {
  it("when the code's schema is printed, then it equals the committed schema/schema.graphql (run `npm run schema:emit`)", () => {
    const committed = readFileSync(schemaFilePath(), "utf8");
    const printed = printGraphqlSchema();
    if (printed !== committed) {
      const a = committed.split("\n");
      const b = printed.split("\n");
      const line = a.findIndex((l, i) => l !== b[i]);
      expect.fail(
        `schema/schema.graphql is out of date; run \`npm run schema:emit\` and commit it. First difference at line ${line + 1}:\n` +
          `  committed: ${a[line] ?? "<end of file>"}\n  code:      ${b[line] ?? "<end of file>"}`,
      );
    }
    expect(printed).to.include("type Query");
  });

  it("when the schema is printed, then the contract's operations are in it", () => {
    const sdl = printGraphqlSchema();
    for (const field of [
      "createAccount(input: CreateAccountInput!): CreateAccountPayload!",
      "creditBalance(",
      "debitBalance(",
      "createApiKey(",
      "revokeApiKey(id: ID!): ApiKey!",
      "deleteAgent(id: ID!): Boolean!",
      "deletePhoneNumber(id: ID!): Boolean!",
      "setActiveInboundAgent(",
      "me: Account",
    ]) {
      expect(sdl).to.include(field);
    }
  });
});
