// Mocha root hooks: one database connection for the whole run, indexes in place before tests.
import "reflect-metadata";
import { connectDatabase, disconnectDatabase, syncIndexes } from "../../schema/db.js";
import { testEnv } from "./env.js";

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    await connectDatabase(testEnv().mongodbUri);
    await syncIndexes();
  },
  async afterAll() {
    await disconnectDatabase();
  },
};
